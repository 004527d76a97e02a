// Runs the MicroPython WebAssembly interpreter as a child of a Python process.
//
// Protocol: one JSON request per line on stdin, one JSON reply per line on
// stdout.  Requests:
//   {"op": "mkdir", "path": "/x"}
//   {"op": "write", "path": "/x/y.py", "data": "<text>"}        (text files)
//   {"op": "write", "path": "/x/y.bin", "b64": "<base64>"}      (binary)
//   {"op": "exec", "code": "<python source>"}
//   {"op": "quit"}
// Replies: {"ok": true, "out": "<stdout>"} or
//          {"ok": false, "out": "<stdout>", "error": "<MicroPython traceback>"}
// Output printed by MicroPython is captured per request, so that a reply
// carries exactly what that request printed.
import readline from "node:readline";
import { pathToFileURL } from "node:url";

// The interpreter's location is passed in by the Python side, so this script
// works wherever the host package is installed.
const modulePath = process.env.INVERSA_MPY_MJS;
const { loadMicroPython } = await import(
  modulePath ? pathToFileURL(modulePath).href : "@micropython/micropython-webassembly-pyscript"
);

const heapsize = Number(process.env.INVERSA_MPY_HEAP || 4 * 1024 * 1024);
let captured = [];
const mp = await loadMicroPython({
  heapsize,
  linebuffer: true,
  stdout: (line) => captured.push(line),
  stderr: (line) => captured.push(line),
});

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function mkdirs(path) {
  let cur = "";
  for (const part of path.split("/").filter(Boolean)) {
    cur += "/" + part;
    try {
      mp.FS.mkdir(cur);
    } catch (e) {
      /* exists */
    }
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
reply({ ok: true, out: "ready", heapsize });
for await (const line of rl) {
  if (!line.trim()) continue;
  const req = JSON.parse(line);
  captured = [];
  try {
    if (req.op === "mkdir") {
      mkdirs(req.path);
    } else if (req.op === "write") {
      mkdirs(req.path.split("/").slice(0, -1).join("/"));
      const data = req.b64 !== undefined ? Buffer.from(req.b64, "base64") : req.data;
      mp.FS.writeFile(req.path, data);
    } else if (req.op === "exec") {
      mp.runPython(req.code);
    } else if (req.op === "quit") {
      reply({ ok: true, out: "" });
      break;
    } else {
      throw new Error("unknown op " + req.op);
    }
    reply({ ok: true, out: captured.join("\n") });
  } catch (e) {
    reply({ ok: false, out: captured.join("\n"), error: String(e.message || e) });
  }
}
process.exit(0);
