"""Where the firmware's live heap goes: per module and per big object.

Runs the firmware's ``.mpy`` files in the 32-bit fixed-heap MicroPython
interpreter (``../shared/tools/micropython-unix32``, the same object model
as rp2/esp32: 4-byte pointers, 16-byte GC blocks) and, with ``--rp2040``,
on the emulated Pico (stock RPI_PICO in rp2040js, the deployed files), and
prints sorted tables:

* modules: every firmware module the built App loads, imported one at a time
  in dependency order (a module's imports first), with the bytes each one
  keeps after a collection: bytecode, constants, the interned names (qstrs)
  it adds and its globals (tables built at import count here).  A name two
  modules share is charged to the first.
* build (the link's port is a MemoryPort of 512 + 256 bytes: the board's
  USB port keeps no buffers of its own): what ``build_app`` allocates that stays (the App's objects), then
  what ``settle_heap`` frees (the boot-only modules: their code, not their
  qstrs, which stay interned).
* objects: the App's objects, knocked out one at a time (an attribute set to
  None, then a collection): the bytes each one alone keeps alive, children
  before their parent (a parent's row is what is left of it: its instance
  and attribute table).  An object two parents share is charged where its
  last reference went.

    python bench/heap_account.py [--heap 224k] [--rp2040] [--min 256] [--json FILE]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from inversa_host.vm.chip_standin import CHIP_CLASS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
UNIX32 = Path(
    os.environ.get("INVERSA_UNIX32")
    or ROOT.parent / "shared" / "tools" / "micropython-unix32" / "micropython"
)

BOARD_JSON = (
    '{"board": "pico", "imu": "mpu6050", "hr": "max30102", "motor": "hbridge", "brake": true}'
)

# Emulated MPU-6050 and MAX30102 for the unix port's machine stand-in.
UNIX32_SETUP = (
    CHIP_CLASS
    + r"""

machine.I2C.attach(0, 0x68, Chip(((0x75, 0x68),)))
machine.I2C.attach(0, 0x57, Chip(((0xFF, 0x15),)))
STORAGE = "tmp/"  # below the run's own directory
"""
)
RP2040_SETUP = r"""
import machine
STORAGE = "/"
"""

# The probe: %(modules)s is the import order; the world is ready (SETUP).
PROBE = r"""
import gc
import micropython
gc.collect()
free0 = gc.mem_free()
micropython.qstr_info()
MODS = %(modules)r
for name in MODS:
    gc.collect()
    a0 = gc.mem_alloc()
    __import__(name)
    gc.collect()
    micropython.qstr_info()
    print("M", name, gc.mem_alloc() - a0)
gc.collect()
a0 = gc.mem_alloc()
from inversa.app_build import build_app
from inversa.board.build import build_board
import time
from inversa.board.config import parse_config
from inversa.link.port import MemoryPort
cfg = parse_config(%(board_json)r)
board = build_board(cfg, machine)
app = build_app(cfg, board, time, STORAGE, MemoryPort(512, 256))
del cfg, board, build_app, build_board, parse_config
gc.collect()
micropython.qstr_info()
print("B build_app", gc.mem_alloc() - a0)
print("T live_before_shedding", free0 - gc.mem_free())
a0 = gc.mem_alloc()
from inversa.app import settle_heap
settle_heap()
gc.collect()
micropython.qstr_info()
print("S settle_heap", gc.mem_alloc() - a0)
print("T live_after_build", free0 - gc.mem_free())
for i in range(20):
    app.step()
gc.collect()
print("T live_after_20_steps", free0 - gc.mem_free())
MOD_T = type(gc)


class Root:
    pass


root = Root()
root.app = app
del app
WORK = []  # (path keys, path text, type, len), children before their parent


def walk(v, keys, text, depth, seen):
    kind = type(v).__name__
    n = -1
    try:
        n = len(v)
    except Exception:
        pass
    if id(v) not in seen:
        seen.add(id(v))
        if depth < 6:
            d = getattr(v, "__dict__", None)
            if d is not None:
                for k in sorted(d):
                    c = d[k]
                    if c is not None and not isinstance(c, (int, bool, type, MOD_T)):
                        walk(c, keys + (k,), text + "." + k, depth + 1, seen)
            elif isinstance(v, list) and n <= 64:
                for i in range(n):
                    c = v[i]
                    if c is not None and not isinstance(c, (int, bool, type, MOD_T)):
                        walk(c, keys + (i,), text + "[" + str(i) + "]", depth + 1, seen)
    WORK.append((keys, text, kind, n))


def holder_of(keys):
    h = root
    for k in keys[:-1]:
        h = h[k] if isinstance(k, int) else getattr(h, k)
    return h


walk(root.app, ("app",), "app", 0, set())
# Knock out in a flat loop that never loads the target itself: a stale copy
# of its pointer in this frame would keep it alive (the collector is
# conservative).
for keys, text, kind, n in WORK:
    h = holder_of(keys)
    k = keys[-1]
    gc.collect()
    a0 = gc.mem_alloc()
    if isinstance(k, int):
        h[k] = None
    else:
        setattr(h, k, None)
    h = None
    gc.collect()
    print("O", text, a0 - gc.mem_alloc(), kind, n)
gc.collect()
print("T live_after_knockout", free0 - gc.mem_free())
"""


def firmware_dir() -> Path:
    return ROOT / "firmware"


def module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """{module: firmware modules it imports at module level (not in functions)}."""
    fw = firmware_dir()
    names = {module_name(p.relative_to(fw)) for p in fw.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for p in fw.rglob("*.py"):
        mod = module_name(p.relative_to(fw))
        deps: set[str] = set()
        tree = ast.parse(p.read_text())
        for node in tree.body:
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for t in targets:
                parts = t.split(".")
                for i in range(1, len(parts) + 1):  # a package's __init__ runs first
                    if ".".join(parts[:i]) in names:
                        deps.add(".".join(parts[:i]))
        deps.discard(mod)
        graph[mod] = deps
    return graph


def topo_order(mods: list[str], graph: dict[str, set[str]]) -> list[str]:
    out: list[str] = []
    done: set[str] = set()

    def visit(m: str) -> None:
        if m in done:
            return
        done.add(m)
        for d in sorted(graph.get(m, ())):
            visit(d)
        out.append(m)

    for m in sorted(mods):
        visit(m)
    # only what the build loaded: a module the sources import but the board's
    # folded build does not (inversa.reasons, link/messages.py) is not charged
    return [m for m in out if m in set(mods)]


LOADED_PROBE = r"""
import sys
from inversa.app_build import build_app
from inversa.board.build import build_board
import time
from inversa.board.config import parse_config
from inversa.link.port import MemoryPort
cfg = parse_config(%(board_json)r)
board = build_board(cfg, machine)
app = build_app(cfg, board, time, STORAGE, MemoryPort(512, 256))
for i in range(20):
    app.step()
for k in sys.modules:
    if k.startswith("inversa"):
        print("L", k)
"""


def run_unix32(lib: Path, tmp: Path, code: str, heap: str) -> str:
    probe = tmp / "probe.py"
    probe.write_text(UNIX32_SETUP + code)
    env = dict(os.environ, MICROPYPATH=f".frozen:{lib}")
    p = subprocess.run(
        [str(UNIX32), "-X", f"heapsize={heap}", str(probe)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp,
        check=False,
    )
    if p.returncode:
        raise SystemExit(f"the unix32 probe failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p.stdout


def run_rp2040(code: str, debug_lines: bool = False) -> str:
    from inversa_host.rp2emu.probes import run_probe

    return run_probe(
        RP2040_SETUP + code,
        json.loads(BOARD_JSON),
        debug_lines=debug_lines,
        timeout_us=600_000_000,
    )


def parse(out: str) -> dict[str, Any]:
    res: dict[str, Any] = {"modules": [], "steps": [], "totals": {}, "objects": []}
    q_prev = q_now = (0, 0, 0)
    for line in out.splitlines():
        if line.startswith("qstr pool:"):
            kv = dict(x.strip().split("=") for x in line.split(":", 1)[1].split(","))
            q_prev, q_now = (
                q_now,
                (
                    int(kv["n_qstr"]),
                    int(kv["n_str_data_bytes"]),
                    int(kv["n_total_bytes"]),
                ),
            )
            continue
        f = line.split()
        if not f:
            continue
        dq = [q_now[i] - q_prev[i] for i in range(3)]
        if f[0] == "M" and len(f) == 3:
            # bytes kept, new qstrs, their text bytes, qstr pool growth
            res["modules"].append((f[1], int(f[2]), dq[0], dq[1], dq[2]))
        elif f[0] in ("B", "S") and len(f) == 3:
            res["steps"].append((f[1], int(f[2]), dq[0], dq[1], dq[2]))
        elif f[0] == "T" and len(f) == 3:
            res["totals"][f[1]] = int(f[2])
        elif f[0] == "O" and len(f) == 5:
            res["objects"].append((f[1], int(f[2]), f[3], int(f[4])))
    return res


def group_of(path: str) -> str:
    parts = path.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else path


def report(res: dict[str, Any], where: str, min_bytes: int) -> None:
    print(f"\n== {where} ==")
    for k, v in res["totals"].items():
        print(f"{k:<28}{v:>9}")
    # qstr pools grow by doubling: the module that triggers a new pool is
    # charged all of it, so the table splits each import into the bytes of
    # its code and globals (kept - pool growth) and its new qstrs.
    mods = sorted(res["modules"], key=lambda m: -(m[1] - m[4]))
    head = f"{'module (import, kept)':<34}{'kept':>7}{'code+glob':>10}{'qstrs':>7}{'q text':>7}{'q pool':>7}"
    print("\n" + head)
    for name, b, nq, qtext, qpool in mods + [("", 0, 0, 0, 0)] + res["steps"]:
        if name:
            print(f"{name:<34}{b:>7}{b - qpool:>10}{nq:>7}{qtext:>7}{qpool:>7}")
        else:
            t = [sum(m[i] for m in mods) for i in range(1, 5)]
            print(f"{'total modules':<34}{t[0]:>7}{t[0] - t[3]:>10}{t[1]:>7}{t[2]:>7}{t[3]:>7}\n")
    objs = res["objects"]
    groups: dict[str, int] = {}
    for path, b, _k, _n in objs:
        groups[group_of(path)] = groups.get(group_of(path), 0) + b
    print(f"\n{'App component (all below it)':<40}{'bytes':>8}")
    for g, b in sorted(groups.items(), key=lambda x: -x[1]):
        print(f"{g:<40}{b:>8}")
    print(f"{'total App objects':<40}{sum(groups.values()):>8}")
    title = f"object (alone; >= {min_bytes} B)"
    print(f"\n{title:<56}{'bytes':>8}  type(len)")
    for path, b, kind, n in sorted(objs, key=lambda o: -o[1]):
        if b >= min_bytes:
            print(f"{path:<56}{b:>8}  {kind}({n})" if n >= 0 else f"{path:<56}{b:>8}  {kind}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Where the firmware's live heap goes.")
    ap.add_argument("--heap", default="224k", help="unix32 heap size (default 224k, a Pico)")
    ap.add_argument("--rp2040", action="store_true", help="also on the emulated Pico (minutes)")
    ap.add_argument("--min", type=int, default=256, help="smallest object row to print")
    ap.add_argument(
        "--no-inline", action="store_true", help="keep the constants' names (the tests' build)"
    )
    ap.add_argument(
        "--debug-lines",
        action="store_true",
        help="keep the line numbers (inversa deploy --debug-lines; default: -O3 as deployed)",
    )
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args(argv)
    if not UNIX32.is_file():
        print(f"heap account: {UNIX32} not found (see ../shared/tools)", file=sys.stderr)
        return 2
    sys.path[:0] = [str(ROOT / "host"), str(ROOT / "firmware")]
    from inversa_host.boardtools.mpybuild import BOARD_OPTIMIZE, compile_tree
    from inversa_host.vm import mpylib_dir

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        lib = tmp / "lib"
        bad = [
            r
            for r in compile_tree(
                firmware_dir(),
                lib,
                "x86",
                inline=not args.no_inline,
                optimize=0 if args.debug_lines else BOARD_OPTIMIZE,
                short_names=not args.debug_lines,
            )
            if not r.ok
        ]
        if bad:
            print(f"mpy-cross failed: {bad[0].error}", file=sys.stderr)
            return 1
        shutil.copy(mpylib_dir() / "machine.py", lib / "machine.py")
        (tmp / "tmp").mkdir()
        vals = {"board_json": BOARD_JSON}
        out = run_unix32(lib, tmp, LOADED_PROBE % vals, "8M")
        loaded = [ln.split()[1] for ln in out.splitlines() if ln.startswith("L ")]
        order = topo_order(loaded, import_graph())
        code = PROBE % dict(vals, modules=order)
        results["unix32"] = parse(run_unix32(lib, tmp, code, args.heap))
        report(results["unix32"], f"unix32, heap {args.heap}", args.min)
    if args.rp2040:
        results["rp2040"] = parse(run_rp2040(code, args.debug_lines))
        report(results["rp2040"], "emulated Pico (rp2040js, deployed .mpy)", args.min)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
