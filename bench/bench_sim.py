"""Simulator speed: a 10-minute motorized session in CPython, and how fast the
same session runs inside the MicroPython interpreter.

Prints a table and writes out/bench/sim.json (bench/results/ with INVERSA_BENCH_REFERENCE=1):
  sim_10min_wall_s       wall time of a 10-minute session, world + firmware +
                         link decoding + store (target <= 1.2 s)
  sim_engine_10min_wall_s  the same without decoding and storing
  sim_us_per_period      CPython cost of one 10 ms period (engine only)
  sim_vm_speed_factor    simulated seconds per wall second inside MicroPython
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from inversa_host.sessions.store import Store
from inversa_host.sim.runner import CPythonEngine, VMEngine, build_spec, run_scenario
from inversa_host.sim.scenario import find_scenario, load_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from outdir import results_path

RESULTS = results_path("sim.json")  # bench/results/ with --reference
TEN_MIN_S = 600.0


def ten_minute_scenario():
    sc = load_scenario(find_scenario("intermediate"))
    return replace(sc, duration_s=TEN_MIN_S, expect={})


def main() -> int:
    sc = ten_minute_scenario()
    # 1. the whole path: world + firmware + decoder + SQLite store
    runs = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as d, Store(Path(d) / "b.db") as store:
            t0 = time.perf_counter()
            run_scenario(sc, store)
            runs.append(time.perf_counter() - t0)
    full = min(runs)
    # 2. the engine alone (world + firmware)
    spec = build_spec(sc)
    engine = CPythonEngine(spec)
    t0 = time.perf_counter()
    done = False
    while not done:
        _, _, done = engine.run_for(10_000)
    eng = time.perf_counter() - t0
    engine.close()
    periods = int(TEN_MIN_S * 100)
    # 3. inside MicroPython: 20 simulated seconds
    vm_spec = dict(spec, duration_ms=20_000)
    vm = VMEngine(vm_spec)
    t0 = time.perf_counter()
    done = False
    while not done:
        _, _, done = vm.run_for(5_000)
    vm_wall = time.perf_counter() - t0
    vm.close()
    result = {
        "sim_10min_wall_s": round(full, 3),
        "sim_engine_10min_wall_s": round(eng, 3),
        "sim_us_per_period": round(eng / periods * 1e6, 2),
        "sim_vm_speed_factor": round(20.0 / vm_wall, 2),
        "target_sim_10min_wall_s": 1.2,
    }
    print(f"{'figure':<28} {'measured':>10}  target")
    print(f"{'sim_10min_wall_s':<28} {full:>10.2f}  <= 1.2 s")
    print(f"{'sim_engine_10min_wall_s':<28} {eng:>10.2f}")
    print(f"{'sim_us_per_period':<28} {eng / periods * 1e6:>10.1f}")
    print(f"{'sim_vm_speed_factor':<28} {20.0 / vm_wall:>10.2f}  (simulated s per wall s)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
