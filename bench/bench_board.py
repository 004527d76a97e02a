"""The firmware on the board itself: timing and memory on an emulated Pico, and
the live heap in the 32-bit fixed-heap MicroPython interpreter.

Where each figure comes from:

* ``rp2040_*``: the stock MicroPython RPI_PICO image in rp2040js, running the
  deployed ``.mpy`` files (``inversa_host.rp2emu``).  Emulated time is charged
  per instruction at 125 MHz; flash-cache misses, bus contention and wait
  states are not modelled, so a real Pico is, if anything, slower.
  Period = from the period's first I2C transfer (the IMU read that opens the
  step) to the watchdog feed that closes it; overruns are the firmware's own
  count (telemetry), so they include the boot's first periods, but not the
  flash pauses: a flash write the firmware announces (EV_PAUSE) and makes
  after its period's feed, counted from outside (the emulated flash's
  erase/program times) in ``rp2040_flash_pauses`` with the longest gap
  between feeds it made.  Every period over 10 ms and every gap between
  feeds over 15 ms is printed and kept per scenario with what the flash
  did meanwhile (``late_periods``, ``flash_pause_gaps``,
  ``long_gaps_no_flash``).
* ``unix32_*``: the 32-bit unix port with a fixed heap (-X heapsize=...):
  the same object model as rp2/esp32; the .mpy files compiled for x86 there
  (bytecode is the same; the viper twins need the host's arch).

The emulator runs 5-30x slower than real time with the machine's load, so
the library's quick_session runs its first seconds (boot, SELFTEST, IDLE, a
fault, the maximum telemetry rate) and two short whole sessions written for
this bench (``bench/scenarios/``) cover every state a person is on the table
for, motorized and manual (``--seconds`` caps every scenario; see SCENARIOS).
``rp2040_by_state`` merges the states over the default-rate scenarios.

    python bench/bench_board.py [--seconds 40] [--only quick_session,...]  # -> out/bench/
    python bench/bench_board.py --jobs 2 --reference   # -> bench/results/board.json, to commit
    python bench/bench_board.py --heap-only   # the heap figures alone (minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from inversa_host.vm.chip_standin import CHIP_CLASS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from outdir import results_path

HERE = Path(__file__).resolve().parent
RESULTS = results_path("board.json")  # bench/results/ with --reference
UNIX32 = Path(
    os.environ.get("INVERSA_UNIX32")
    or HERE.parent.parent / "shared" / "tools" / "micropython-unix32" / "micropython"
)
DEADLINE_P99_US = 5000
PERIOD_US = 10000

# (label, library scenario, emulated seconds or None for the whole scenario,
#  telemetry Hz, extra events).  The emulator runs 5-30x slower than real time
# depending on the machine's load, so the scenarios run their first seconds.
SCENARIOS: list[tuple[str, str, float | None, int, list[Any]]] = [
    # boot, SELFTEST, IDLE, then the session armed at 2 s (BASELINE, READY)
    ("quick_session", "quick_session", 12.0, 20, []),
    # a fault: the IMU's I2C bus fails at 4 s (the tilt sensor is lost)
    ("fault_imu_bus", "quick_session", 8.0, 20, [(4000, "imu_bus_errors", {})]),
    ("max_rate_50hz", "quick_session", 3.0, 50, []),  # link load at the maximum rate
    # the host keeps the USB port open but reads nothing for 1.5 s (IDLE), then
    # reads again: no write may wait for it (issue 10 item 5)
    (
        "host_stops_reading",
        "quick_session",
        6.0,
        20,
        [(3500, "host_stops_reading", {}), (5000, "host_reads", {})],
    ),
    # whole short sessions with a person on the table (bench/scenarios/):
    # BASELINE, READY, the descent, the hold, the return, the rest, the rise
    ("board_session", str(HERE / "scenarios" / "board_session.toml"), None, 20, []),
    # the manual table: the person tilts to 15 deg and back
    ("board_manual", str(HERE / "scenarios" / "board_manual.toml"), None, 20, []),
]

# After the build's measurement (probes.LIVE_AFTER_BUILD, the same text as
# tests/board/test_rp2_heap.py's, so both report one figure): the
# collections and some periods.  Compiled after the build, so its names
# are interned after the measurement.
PROBE_LOOP = r"""
import time
# a collection from here (the REPL) marks in the order the roots give, the
# loop's (app.collect_timed, inversa.gcorder) its modules first
t0 = time.ticks_us(); gc.collect(); gc_repl_us = time.ticks_diff(time.ticks_us(), t0)
app.collect_timed()
gc_us = app.gc_pause_max_us
free_min = gc.mem_free()
for i in range(300):
    app.step()
    port.drop_tx()
    f = gc.mem_free()
    if f < free_min:
        free_min = f
    if i % 50 == 49:
        app.gc_in_slack()
gc.collect()
print("free_in_loop", gc.mem_free())
print("gc_us", gc_us)
print("gc_repl_us", gc_repl_us)
print("free_min", free_min)
print("gc_runs", app.gc_runs)
"""


def percentile(sorted_vals: list[int], q: float) -> int:
    if not sorted_vals:
        return 0
    return sorted_vals[min(len(sorted_vals) - 1, int(len(sorted_vals) * q))]


def run_scenario(job: tuple[str, str, float | None, int, list[Any]]) -> dict[str, Any]:
    from inversa_host.link.names import state_name
    from inversa_host.rp2emu.session import Rp2Session
    from inversa_host.sim.runner import build_spec
    from inversa_host.sim.scenario import find_scenario, load_scenario

    label, name, seconds, hz, extra = job
    sc = load_scenario(find_scenario(name))
    spec = build_spec(sc)
    spec["telemetry_hz"] = hz
    if extra:
        spec["events"] = sorted(list(spec["events"]) + list(extra), key=lambda e: e[0])
    spec["host_connected"] = True  # the deadline holds with a host connected
    if seconds is not None:
        spec["duration_ms"] = min(spec["duration_ms"], round(seconds * 1000))
    t0 = time.monotonic()
    s = Rp2Session(spec)
    try:
        while not s.finished:
            s.run_for(1000)
    finally:
        s.close()
    host_s = time.monotonic() - t0
    st = s.stats
    by_state: dict[str, list[int]] = {}
    boot_end = st.first_telemetry_us or 0
    for t, work, state in st.periods_us:
        if t <= boot_end:
            continue
        by_state.setdefault(state_name(state) if state >= 0 else "boot", []).append(work)
    states = {}
    for k, v in by_state.items():
        v.sort()
        states[k] = {
            "periods": len(v),
            "mean_us": round(sum(v) / len(v)),
            "p99_us": percentile(v, 0.99),
            "max_us": v[-1],
        }
    allw = sorted(w for v in by_state.values() for w in v)
    # Every period over budget (the boot's too) and every long gap between
    # watchdog feeds, with what the emulated flash did meanwhile: a flash
    # write the firmware announced and made after its period (a pause,
    # EV_PAUSE) lies in a gap, between a feed and the next period; one
    # inside a period makes that period late.
    fl = st.flash_us

    def flash_in(a: int, b: int) -> int:
        return sum(1 for x in fl if a < x <= b)

    late = []
    for t, work, state in st.periods_us:
        if work > PERIOD_US:
            n = flash_in(t - work, t)
            why = f"{n} flash erase/program(s) in it" if n else ""
            if t <= boot_end:
                why = "boot (before the first telemetry)" + (", " + why if why else "")
            late.append([round(t / 1000), work, state_name(state) if state >= 0 else "boot", why])
    pauses = []
    other_gaps = []
    for t, gap, state in st.long_gaps_us:
        n = flash_in(t - gap, t)
        row = [round(t / 1000), round(gap / 1000, 1), state_name(state) if state >= 0 else "boot"]
        (pauses if n else other_gaps).append([*row, n] if n else row)
    tele = st.telemetry
    emu_s = s.t_ms / 1000
    link_s = emu_s - boot_end / 1e6
    return {
        "scenario": label,
        "library_scenario": os.path.relpath(name, HERE.parent) if os.sep in name else name,
        "extra_events": [list(e[:2]) for e in extra],
        "telemetry_hz": hz,
        "emulated_s": emu_s,
        "host_s": round(host_s, 1),
        "whole": seconds is None,
        "periods": len(allw),
        "period_mean_us": round(sum(allw) / max(1, len(allw))),
        "period_p99_us": percentile(allw, 0.99),
        "period_max_us": allw[-1] if allw else 0,
        "periods_over_5ms": sum(1 for w in allw if w > DEADLINE_P99_US),
        "periods_over_10ms": sum(1 for w in allw if w > PERIOD_US),
        "overruns_fw": tele[-1]["overruns"] if tele else None,
        "loop_max_us_fw": tele[-1]["loop_max_us"] if tele else None,
        "tx_stalls_fw": tele[-1]["tx_stalls"] if tele else None,  # host silences (USB)
        "watchdog_gap_max_ms": round(st.max_feed_gap_us() / 1000, 1),
        "late_periods": late,  # [t_ms, work_us, state, why]
        "flash_pauses": len(pauses),
        "flash_pause_max_ms": max((p[1] for p in pauses), default=0),
        "flash_pause_gaps": pauses,  # [t_ms, gap_ms, state, flash ops]
        "long_gaps_no_flash": other_gaps,  # [t_ms, gap_ms, state]
        "watchdog_fired": st.wdt_fired,
        "boot_to_first_telemetry_ms": round(boot_end / 1000),
        "link_board_to_host_bytes_per_s": round(st.rx_bytes / link_s) if link_s > 0 else 0,
        "link_frames_lost": s._decoder.lost_frames,
        "link_crc_errors": s._decoder.crc_errors,
        "final_state": state_name(tele[-1]["state"]) if tele else None,
        "states": states,
    }


def merge_states(results: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per state over several scenarios: periods, mean, p99 (the worst
    scenario's p99: periods are not kept), max, in us."""
    out: dict[str, dict[str, int]] = {}
    for r in results:
        for k, v in r["states"].items():
            m = out.setdefault(k, {"periods": 0, "mean_us": 0, "p99_us": 0, "max_us": 0})
            n = m["periods"] + v["periods"]
            m["mean_us"] = round((m["mean_us"] * m["periods"] + v["mean_us"] * v["periods"]) / n)
            m["periods"] = n
            m["p99_us"] = max(m["p99_us"], v["p99_us"])
            m["max_us"] = max(m["max_us"], v["max_us"])
    return out


def heap_probe_rp2040() -> dict[str, int]:
    from inversa_host.rp2emu.probes import LIVE_AFTER_BUILD, run_probe

    out = run_probe(LIVE_AFTER_BUILD, then=(PROBE_LOOP,))
    vals = {}
    for line in out.splitlines():
        k, _, v = line.partition(" ")
        if v.strip().lstrip("-").isdigit():
            vals[k] = int(v)
    return vals


UNIX32_PROBE = (
    r"""
import gc
gc.collect()
free0 = gc.mem_free()
"""
    + CHIP_CLASS
    + r"""

machine.I2C.attach(0, 0x68, Chip(((0x75, 0x68),)))
machine.I2C.attach(0, 0x57, Chip(((0xFF, 0x15),)))
gc.collect()
free1 = gc.mem_free()
from inversa.app_build import build_app
from inversa.board.build import build_board
import time
from inversa.board.config import parse_config
from inversa.link.port import MemoryPort
cfg = parse_config('{"board": "pico", "imu": "mpu6050", "hr": "max30102", "motor": "hbridge", "brake": true}')
board = build_board(cfg, machine)
app = build_app(cfg, board, time, "tmp/", MemoryPort(512, 256), shed=True)
gc.collect()
print("live_kept", free1 - gc.mem_free())
from inversa.app import settle_heap
del build_app, build_board, parse_config, cfg, board
settle_heap()
gc.collect()
print("live", free1 - gc.mem_free())
print("free", gc.mem_free())
"""
)


def heap_probe_unix32(heaps: tuple[str, ...]) -> dict[str, Any]:
    if not UNIX32.is_file():
        return {"skipped": f"{UNIX32} not found"}
    from inversa_host.boardtools.mpybuild import BOARD_OPTIMIZE, compile_tree
    from inversa_host.vm import firmware_dir, mpylib_dir

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib"
        # as deployed: constants folded, no line numbers
        res = compile_tree(
            firmware_dir(), lib, "x86", inline=True, optimize=BOARD_OPTIMIZE, short_names=True
        )
        bad = [r for r in res if not r.ok]
        if bad:
            return {"skipped": f"mpy-cross failed: {bad[0].error}"}
        shutil.copy(mpylib_dir() / "machine.py", lib / "machine.py")
        probe = Path(tmp) / "probe.py"
        probe.write_text(UNIX32_PROBE)
        (Path(tmp) / "tmp").mkdir()
        for h in heaps:
            env = dict(os.environ, MICROPYPATH=f".frozen:{lib}")
            p = subprocess.run(
                [str(UNIX32), "-X", f"heapsize={h}", str(probe)],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp,
                check=False,
            )
            vals = {}
            for line in p.stdout.splitlines():
                k, _, v = line.partition(" ")
                if v.strip().isdigit():
                    vals[k] = int(v)
            if p.returncode or "live" not in vals:
                out[h] = {"fits": False, "error": (p.stderr or p.stdout).strip()[-300:]}
            else:
                out[h] = {
                    "fits": True,
                    "live_bytes": vals["live"],
                    "live_bytes_before_shedding": vals.get("live_kept"),
                    "free_bytes": vals["free"],
                }
    return out


def heap_figures(probe: dict[str, int], unix32: dict[str, Any] | None) -> dict[str, Any]:
    """The heap keys of board.json from the emulated Pico's probe (and the
    32-bit interpreter's figures when given)."""
    out: dict[str, Any] = {
        "rp2040_free_heap_boot_bytes": probe.get("free_boot"),
        "rp2040_free_heap_after_build_bytes": probe.get("free_after_build"),
        "rp2040_free_heap_min_bytes": probe.get("free_min"),
        "fw_live_heap_after_build_bytes": probe.get("free_boot", 0)
        - probe.get("free_after_build", 0),
        # after a collection while the loop runs (300 periods): what the
        # boot's collection left in place by stale stack pointers is gone
        "fw_live_heap_in_loop_bytes": probe.get("free_boot", 0) - probe.get("free_in_loop", 0),
        # the same before run() drops the boot-only modules (settle.BOOT_ONLY_MODULES)
        "fw_live_heap_before_shedding_bytes": probe.get("free_boot", 0)
        - probe.get("free_after_build_kept", 0),
    }
    if unix32 is not None:
        out["unix32_live_heap_after_build"] = unix32
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=None, help="cap every scenario")
    ap.add_argument("--only", default="", help="comma-separated scenario names")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--heap-only",
        action="store_true",
        help="only the heap figures (the emulated Pico's probe and the 32-bit "
        "interpreter's live heap), printed; no results file is written",
    )
    ap.add_argument(
        "--reference",
        action="store_true",
        help="write bench/results/board.json (the committed figures) instead of out/bench/",
    )
    args = ap.parse_args(argv if argv is not None else [])
    from inversa_host.rp2emu.tools import Rp2Unavailable, find_rp2_tools, node_and_rp2040js

    try:
        node_and_rp2040js()
        find_rp2_tools()
    except Rp2Unavailable as e:
        print(f"board benchmark skipped: {e}")
        return 0
    if args.heap_only:
        unix32 = heap_probe_unix32(("224k", "56k", "112k", "140k"))
        probe = heap_probe_rp2040()
        print(json.dumps(heap_figures(probe, unix32), indent=1))
        return 0
    jobs = SCENARIOS
    if args.only:
        names = set(args.only.split(","))
        jobs = [j for j in jobs if j[0] in names]
    if args.seconds is not None:
        jobs = [(lb, n, args.seconds, hz, ex) for lb, n, _s, hz, ex in jobs]
    t0 = time.monotonic()
    # by reference from an importable module (bench/run.py loads this one by path)
    sys.path.insert(0, str(HERE))
    import bench_board as me

    with ProcessPoolExecutor(max_workers=args.jobs + 1) as ex:
        probe_f = ex.submit(me.heap_probe_rp2040)
        unix32 = heap_probe_unix32(("224k", "56k", "112k", "140k"))
        print("unix32 live heap after build:", json.dumps(unix32), flush=True)
        results = list(ex.map(me.run_scenario, jobs))
        probe = probe_f.result()
    print("emulated Pico heap probe:", probe)
    default = [r for r in results if r["telemetry_hz"] == 20]
    maxrate = [r for r in results if r["telemetry_hz"] == 50]
    print(
        f"\n{'scenario':<18}{'Hz':>4}{'emu s':>7}{'mean':>7}{'p99':>7}{'max':>7}"
        f"{'>5ms':>6}{'overr':>6}{'wdgap':>7}  states"
    )
    for r in results:
        print(
            f"{r['scenario']:<18}{r['telemetry_hz']:>4}{r['emulated_s']:>7.1f}"
            f"{r['period_mean_us']:>7}{r['period_p99_us']:>7}{r['period_max_us']:>7}"
            f"{r['periods_over_5ms']:>6}{r['overruns_fw']!s:>6}{r['watchdog_gap_max_ms']:>7}  "
            + ", ".join(f"{k} p99 {v['p99_us']}" for k, v in r["states"].items())
        )
    for r in results:
        for t, work, state, why in r["late_periods"]:
            print(f"  {r['scenario']}: late period at {t} ms: {work} us in {state}: {why or '?'}")
        for t, gap, state, n in r["flash_pause_gaps"]:
            print(
                f"  {r['scenario']}: flash pause ending {t} ms: {gap} ms between feeds, {state}, {n} flash op(s)"
            )
        for t, gap, state in r["long_gaps_no_flash"]:
            print(f"  {r['scenario']}: long gap ending {t} ms: {gap} ms between feeds, {state}")
    by_state = merge_states(default)
    print("\nper state, every scenario at the default rate (us):")
    for k, v in by_state.items():
        print(
            f"  {k:<10}{v['periods']:>7} periods  mean {v['mean_us']:>6}  p99 {v['p99_us']:>6}  max {v['max_us']:>6}"
        )
    summary = {
        "rp2040_period_p99_us": max(r["period_p99_us"] for r in default),
        "rp2040_period_max_us": max(r["period_max_us"] for r in default),
        "rp2040_state_p99_max_us": max(v["p99_us"] for r in default for v in r["states"].values()),
        "rp2040_by_state": by_state,
        "rp2040_overruns": max(r["overruns_fw"] or 0 for r in default),
        # flash writes made as announced pauses after a calm period (EV_PAUSE),
        # not counted in the firmware's overruns; the most in one scenario
        "rp2040_flash_pauses": max(r["flash_pauses"] for r in default),
        "rp2040_flash_pause_max_ms": max(r["flash_pause_max_ms"] for r in default),
        "rp2040_watchdog_gap_max_ms": max(r["watchdog_gap_max_ms"] for r in default),
        "rp2040_watchdog_fired": sum(r["watchdog_fired"] for r in results),
        "rp2040_gc_pause_max_us": probe.get("gc_us"),  # the loop's collection
        "rp2040_gc_pause_repl_us": probe.get("gc_repl_us"),  # gc.collect() from the REPL
        **heap_figures(probe, None),
        "rp2040_boot_to_first_telemetry_ms": max(r["boot_to_first_telemetry_ms"] for r in results),
        "rp2040_link_bytes_per_s_default_rate": max(
            r["link_board_to_host_bytes_per_s"] for r in default
        ),
        "rp2040_link_bytes_per_s_max_rate": max(
            (r["link_board_to_host_bytes_per_s"] for r in maxrate), default=None
        ),
        "unix32_live_heap_after_build": unix32,
        "targets": {
            "period_p99_us_max": DEADLINE_P99_US,
            "overruns": 0,
            "watchdog_gap_ms_max": 100,
            "fw_live_heap_after_build_bytes_max": 90 * 1024,
        },
        "where": {
            "rp2040": "stock MicroPython 1.29 RPI_PICO in rp2040js 1.4.1, deployed .mpy on littlefs; "
            "emulated time at 125 MHz, no flash-cache misses",
            "unix32": "MicroPython unix port, 32-bit, fixed heap (-X heapsize), .mpy for x86",
        },
        "host_s": round(time.monotonic() - t0, 1),
        "scenarios": results,
    }
    out = results_path("board.json", True) if args.reference else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print(
        json.dumps({k: v for k, v in summary.items() if k.startswith(("rp2040", "fw_"))}, indent=1)
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
