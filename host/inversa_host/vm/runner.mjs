// Runs the MicroPython WebAssembly interpreter as a child of a Python process.
//
// Protocol: one JSON request per line on stdin, one JSON reply per line on
// stdout.  Requests:
//   {"op": "mkdir", "path": "/x"}
//   {"op": "write", "path": "/x/y.py", "data": "<text>"}        (text files)
//   {"op": "write", "path": "/x/y.bin", "b64": "<base64>"}      (binary)
//   {"op": "exec", "code": "<python source>"}
//   {"op": "quit"}
// REPL ops (for the virtual board, host/inversa_host/vboards/repl.py; they need
// INVERSA_MPY_RAW_OUT=1 so that output is kept byte for byte, prompts too):
//   {"op": "repl_init", "hook": "<python run after every soft reset>"}
//   {"op": "repl_input", "b64": "<keystrokes>"}
//     -> {"ok": true, "b64": "<REPL output>", "soft_resets": n, "hard_reset": bool}
//   A soft reset (Ctrl-D at an empty raw REPL, or SystemExit) prints
//   "MPY: soft reboot", runs the hook and restarts the REPL in the same mode.
//   Python code calling `vboard.hard_reset()` (a JS module registered here)
//   and then raising SystemExit asks for a hard reset: the remaining input is
//   dropped and the REPL restarts in friendly mode.
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
const rawOut = process.env.INVERSA_MPY_RAW_OUT === "1";
let captured = [];
let capturedBytes = [];
const mp = rawOut
  ? await loadMicroPython({
      heapsize,
      linebuffer: false,
      stdout: (b) => capturedBytes.push(...b),
      stderr: (b) => capturedBytes.push(...b),
    })
  : await loadMicroPython({
      heapsize,
      linebuffer: true,
      stdout: (line) => captured.push(line),
      stderr: (line) => captured.push(line),
    });
let hardResetRequested = false;
let replHook = "";
if (rawOut) {
  mp.registerJsModule("vboard", {
    hard_reset: () => {
      hardResetRequested = true;
    },
  });
}

function takeOutput() {
  // Raw mode: the text printed since the last request, as the line-buffered
  // mode would have given it (lines joined by "\n", no trailing newline).
  if (!rawOut) return captured.join("\n");
  let text = Buffer.from(capturedBytes).toString("utf8");
  capturedBytes = [];
  if (text.endsWith("\n")) text = text.slice(0, -1);
  return text;
}

function takeBytes() {
  const b = Buffer.from(capturedBytes);
  capturedBytes = [];
  return b;
}

function softReset() {
  capturedBytes.push(...Buffer.from("MPY: soft reboot\r\n"));
  if (replHook) {
    try {
      mp.runPython(replHook);
    } catch (e) {
      capturedBytes.push(...Buffer.from(String(e.message || e) + "\r\n"));
    }
  }
}

function replInput(data) {
  let softResets = 0;
  let hard = false;
  for (let i = 0; i < data.length; i++) {
    const r = mp.replProcessChar(data[i]);
    if (r !== 0) {
      softResets++;
      const beforeReset = capturedBytes;
      capturedBytes = [];
      softReset();
      mp.replInit();
      if (hardResetRequested) {
        // What was sent before the reset reaches the host; the reboot banner
        // is lost with the USB connection.
        hardResetRequested = false;
        hard = true;
        mp.replProcessChar(2); // ctrl-B: a rebooted board starts in the friendly REPL
        capturedBytes = beforeReset;
        break;
      }
      capturedBytes = beforeReset.concat(capturedBytes);
    }
  }
  return { softResets, hard };
}

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
  if (rawOut && req.op !== "repl_input") capturedBytes = [];
  try {
    if (req.op === "mkdir") {
      mkdirs(req.path);
    } else if (req.op === "write") {
      mkdirs(req.path.split("/").slice(0, -1).join("/"));
      const data = req.b64 !== undefined ? Buffer.from(req.b64, "base64") : req.data;
      mp.FS.writeFile(req.path, data);
    } else if (req.op === "exec") {
      mp.runPython(req.code);
    } else if (req.op === "repl_init") {
      if (!rawOut) throw new Error("repl ops need INVERSA_MPY_RAW_OUT=1");
      replHook = req.hook || "";
      capturedBytes = [];
      softReset();
      mp.replInit();
      reply({ ok: true, b64: takeBytes().toString("base64") });
      continue;
    } else if (req.op === "repl_input") {
      if (!rawOut) throw new Error("repl ops need INVERSA_MPY_RAW_OUT=1");
      const { softResets, hard } = replInput(Buffer.from(req.b64, "base64"));
      reply({
        ok: true,
        b64: takeBytes().toString("base64"),
        soft_resets: softResets,
        hard_reset: hard,
      });
      continue;
    } else if (req.op === "quit") {
      reply({ ok: true, out: "" });
      break;
    } else {
      throw new Error("unknown op " + req.op);
    }
    reply({ ok: true, out: takeOutput() });
  } catch (e) {
    reply({ ok: false, out: takeOutput(), error: String(e.message || e) });
  }
}
process.exit(0);
