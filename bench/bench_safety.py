"""Safety-controller benchmark: allocation, time per step, limit-to-stop latency.

* ``control_step_alloc_bytes``: heap bytes per ``Controller.step`` inside the
  MicroPython VM (``inversa_host.vm.alloc.measure_alloc``), the worst over the
  states measured (idle, descent, hold, return).  Target 0.
* ``mpy_us_per_step``: MicroPython-interpreter (WebAssembly, on this PC) time
  per period of the probe rig (step + an ideal table + clock; the VM timer is
  coarse, so this is an average over 300 periods), worst state.  A rough
  guide only: an RP2040 is slower.
* ``cpython_us_per_step``: CPython time per step, worst state.  Target <= 5
  (the simulator runs 60,000 periods in ~1.2 s overall).
* ``limit_to_stop_periods``: control periods from the period whose debounced
  over-limit alarm is raised to the first period commanding no deeper motion,
  worst over several descent speeds.  Target <= 1.

Run: ``python bench/bench_safety.py`` -> out/bench/safety.json (bench/results/ with INVERSA_BENCH_REFERENCE=1)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from inversa.control import alarms as A
from inversa.control import states as S
from inversa.control.controller import Controller
from inversa.control.io import ControlInputs, ControlOutputs
from inversa.control.profile import HR_OFF, Profile
from inversa.events import EventLog

sys.path.insert(0, str(Path(__file__).resolve().parent))
from outdir import results_path

RESULTS = results_path("safety.json")  # bench/results/ with --reference

# A clock whose ticks stay small ints (the allocation probe must see only the
# controller).  The same class is defined inside the VM below.
_CLOCK_SRC = """
class BenchClock:
    def __init__(self):
        self.t = 0
    def ticks_ms(self):
        return self.t
    def tick(self):
        self.t = (self.t + 10) & 0x3FFFFFFF
"""

# Drives the controller with an ideal table into a given state, in the VM and
# in CPython alike.
_RIG_SRC = (
    _CLOCK_SRC
    + """
from inversa.control.controller import Controller
from inversa.control.io import ControlInputs, ControlOutputs
from inversa.control.profile import Profile
from inversa.control import states as S
from inversa.events import EventLog

def make_rig(target_state):
    clk = BenchClock()
    ev = EventLog(64)
    prof = Profile(hr_mode=0, max_angle_cdeg=6000, hold_ms=600000, descent_cdps=100,
                   return_ms=180000)
    ctrl = Controller(clk, ev, prof)
    inp = ControlInputs()
    out = ControlOutputs()
    inp.estop_pressed = False
    inp.tilt_ok = True
    inp.host_lease_ok = True
    state = [prof.loading_cdeg * 1000]

    def period():
        inp.angle_cdeg = state[0] // 1000
        inp.home_switch = inp.angle_cdeg <= prof.loading_cdeg + 50
        ctrl.step(inp, out)
        v = out.motor_cmd_cdps if out.motor_enable else 0
        inp.rate_cdps = v
        state[0] += v * 10
        clk.tick()
        while ev.pop_into(rec):
            pass

    rec = [0, 0, 0, 0]
    for _ in range(200):
        period()
    if target_state != S.IDLE:
        ctrl.request_start()
        for _ in range(10):
            period()
        inp.hold_down = True
        n = 0
        while out.state != target_state and n < 200000:
            if out.state == S.HOLD and target_state == S.RETURN:
                ctrl.request_return()
            if out.state == S.DESCENT and target_state != S.DESCENT and state[0] > 2000000:
                inp.hold_down = False
            period()
            n += 1
        for _ in range(300):
            period()
    return ctrl, inp, out, period
"""
)

STATES = (S.IDLE, S.DESCENT, S.HOLD, S.RETURN)


def cpython_us_per_step(state: int, n: int = 20000) -> float:
    ns: dict[str, object] = {}
    exec(_RIG_SRC, ns)
    ctrl, inp, out, _period = ns["make_rig"](state)  # type: ignore[operator]
    assert out.state == state, (S.STATE_NAMES[out.state], S.STATE_NAMES[state])
    clk = ctrl._clock
    step = ctrl.step
    # Hold the inputs still (the table where the setpoint is) and time the step alone.
    t0 = time.perf_counter()
    for _ in range(n):
        step(inp, out)
        clk.tick()
    return (time.perf_counter() - t0) / n * 1e6


def vm_figures() -> dict[str, dict[str, float]] | str:
    try:
        from inversa_host.vm import MicroPythonVM, VMUnavailable
        from inversa_host.vm.alloc import measure_alloc
    except ImportError as e:  # pragma: no cover
        return f"VM harness not importable: {e}"
    out: dict[str, dict[str, float]] = {}
    try:
        for state in STATES:
            with MicroPythonVM() as vm:
                vm.install_firmware()
                setup = _RIG_SRC + f"\nctrl, inp, out, period = make_rig({state})\n"
                r = measure_alloc(vm, setup, "period()", n=300)
                got = vm.exec("print(out.state)").strip()
                out[S.STATE_NAMES[state]] = {
                    "bytes_per_step": r.bytes_per_call,
                    "us_per_step": r.us_per_call,
                    "state_after": float(got),
                }
    except VMUnavailable as e:
        return f"MicroPython VM unavailable: {e}"
    return out


def limit_to_stop_periods(descent_cdps: int) -> int:
    """Descend towards a 30 deg limit; at 20 deg the measured angle jumps 15 deg
    (a sensor step) while the table moves deeper at full speed."""
    clk_ns: dict[str, object] = {}
    exec(_CLOCK_SRC, clk_ns)
    clk = clk_ns["BenchClock"]()  # type: ignore[operator]
    prof = Profile(hr_mode=HR_OFF, max_angle_cdeg=3000, hold_ms=600000, descent_cdps=descent_cdps)
    ctrl = Controller(clk, EventLog(64), prof)
    inp, out = ControlInputs(), ControlOutputs()
    inp.estop_pressed = False
    inp.tilt_ok = True
    inp.host_lease_ok = True
    angle_k = prof.loading_cdeg * 1000
    raised_at = -1
    for k in range(400000):
        angle = angle_k // 1000
        inp.angle_cdeg = angle + (1500 if angle >= 2000 else 0)
        inp.home_switch = angle <= prof.loading_cdeg + 50
        ctrl.step(inp, out)
        if k == 150:
            ctrl.request_start()
        if out.state == S.READY:
            inp.hold_down = True
        if raised_at < 0 and out.alarm_bits & (1 << A.A_OVER_LIMIT):
            raised_at = k
        if raised_at >= 0 and out.motor_cmd_cdps <= 0:
            return k - raised_at
        v = out.motor_cmd_cdps if out.motor_enable else 0
        inp.rate_cdps = v
        angle_k += v * 10
        clk.tick()
    raise RuntimeError("no over-limit breach happened")


def main() -> int:
    results: dict[str, object] = {}
    cpy = {S.STATE_NAMES[s]: round(cpython_us_per_step(s), 2) for s in STATES}
    vm = vm_figures()
    speeds = (100, 300, 600)
    l2s = {str(v): limit_to_stop_periods(v) for v in speeds}
    results["cpython_us_per_step_by_state"] = cpy
    results["cpython_us_per_step"] = max(cpy.values())
    if isinstance(vm, str):
        results["vm_error"] = vm
    else:
        results["vm_by_state"] = vm
        results["control_step_alloc_bytes"] = max(v["bytes_per_step"] for v in vm.values())
        results["mpy_us_per_step"] = round(max(v["us_per_step"] for v in vm.values()), 1)
    results["limit_to_stop_periods_by_descent_cdps"] = l2s
    results["limit_to_stop_periods"] = max(l2s.values())
    results["python"] = sys.version.split()[0]

    print("Safety controller benchmark")
    print(f"{'figure':<34} {'measured':>12} {'target':>10}")
    rows = (
        ("control_step_alloc_bytes (VM)", results.get("control_step_alloc_bytes", "n/a"), "0"),
        ("mpy_us_per_step (VM, worst state)", results.get("mpy_us_per_step", "n/a"), "-"),
        ("cpython_us_per_step (worst state)", results["cpython_us_per_step"], "<= 5"),
        ("limit_to_stop_periods (worst)", results["limit_to_stop_periods"], "<= 1"),
    )
    for name, val, target in rows:
        print(f"{name:<34} {val!s:>12} {target:>10}")
    print("per state (CPython us):", cpy)
    if not isinstance(vm, str):
        print(
            "per state (VM bytes, us):",
            {k: (v["bytes_per_step"], round(v["us_per_step"], 1)) for k, v in vm.items()},
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("wrote", RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
