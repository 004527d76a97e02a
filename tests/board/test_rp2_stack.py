"""The C stack's margin on the emulated Pico (stock MicroPython RPI_PICO in
rp2040js, the deployed .mpy files, the real run() loop).

On the board App.step runs the sensors, the panel, the controller and the
actuators with the heap locked (inversa.app._lock), so MicroPython keeps
their call frames on the C stack (8 KB on rp2: `stack: ... out of 7936`);
past it MicroPython raises RuntimeError (maximum recursion depth): in the
sensors' poll an internal error with both estimates untrusted, elsewhere
the loop ends and the watchdog resets the board.  Here main.py first takes
STACK_TAKEN_B of the C stack (a recursion) and then runs the loop through a
session (BASELINE, READY, the descent) and a fault (the IMU's bus fails in
the descent: the open-loop return): no reset, and no tilt alarm before
that fault.  The figures (docs/ARCHITECTURE.md "The loop on the RP2040")
come from the same run with more taken.  Emulated time is counted in CPU
cycles, so they do not depend on the host's load.  Skipped, with the
reason, where the emulated Pico is unavailable."""

from __future__ import annotations

from pathlib import Path

import pytest

from inversa.control import states as S
from inversa.control.alarms import A_TILT

# Emulated Pico, 1 Dec, this scenario (main.py alone uses ~680 B): the
# session ran with the stack at 3,676 B when run() was called (3,000 B more
# taken); at 5,476 B when the loop began (4,800 more) the poll's deepest
# calls overflowed, counted as internal errors (the tilt alarm in IDLE, a
# FAULT, no session); at 6,676 B the loop ended at once (watchdog resets).
# The loop's margin is 3.0-4.8 KB.  Taken here: 2,000 B more, so a change
# that deepens the loop's frames by over ~1 KB fails this test.
STACK_TAKEN_B = 2000
_LEVEL_B = 200  # one level of the recursion below (measured: stack_use per level)
_FAULT_MS = 30000
_RUN_MS = 34000

_MAIN = """import micropython as _mp
_mp.kbd_intr(-1)
from inversa.app import _start
app = _start('/board.json', '/')
def _take(n, a, b, c):
    if n:
        return _take(n - 1, a, b, c) + 1
    print('STACK_TAKEN', _mp.stack_use())
    try:
        app.scheduler.run()
    finally:
        app.safe()
    return 0
_take(%d, 0, 0, 0)
"""


@pytest.fixture(scope="module")
def run(emulated_pico):
    import inversa_host.rp2emu.session as session
    from inversa_host.sim.runner import build_spec
    from inversa_host.sim.scenario import load_scenario

    deploy = session.deploy_files

    def with_stack_taken(*a, **k):
        files = deploy(*a, **k)
        files["/main.py"] = (_MAIN % (STACK_TAKEN_B // _LEVEL_B)).encode()
        return files

    toml = Path(__file__).resolve().parents[2] / "bench" / "scenarios" / "board_session.toml"
    spec = build_spec(load_scenario(toml))
    spec["telemetry_hz"] = 20
    spec["host_connected"] = True
    spec["duration_ms"] = _RUN_MS
    spec["events"] = sorted(
        [*spec["events"], (_FAULT_MS, "imu_bus_errors", {})], key=lambda e: e[0]
    )
    session.deploy_files = with_stack_taken
    try:
        s = session.Rp2Session(spec)
    finally:
        session.deploy_files = deploy
    wire = bytearray()
    try:
        while not s.finished:
            wire += s.run_for(1000)[0]
    finally:
        s.close()
    return s, bytes(wire)


def test_the_loop_runs_a_session_and_a_fault_with_the_stack_taken(run):
    s, wire = run
    i = wire.find(b"STACK_TAKEN ")
    assert i >= 0, wire[:400]
    taken = int(wire[i + 12 : wire.index(b"\r", i)])
    print(f"\nemulated Pico: {taken} B of the C stack taken before the loop")
    assert taken >= STACK_TAKEN_B
    st = s.stats
    assert st.resets == 0 and st.wdt_fired == 0, (st.resets, st.wdt_fired)
    before = [d for d in st.telemetry if d["t_ms"] < _FAULT_MS]
    seen = {d["state"] for d in before}
    assert {S.BASELINE, S.READY, S.DESCENT} <= seen, seen
    # (an overflow in the poll is an internal error: the tilt alarm)
    tilt = [d for d in before if d["alarm_bits"] & (1 << A_TILT)]
    assert not tilt, tilt[:1]
    last = st.telemetry[-1]
    assert last["state"] == S.OPEN_LOOP, last
    assert last["alarm_bits"] & (1 << A_TILT), last
