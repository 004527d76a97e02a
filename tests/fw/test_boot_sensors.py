"""Issue 14 item 1: a reset with a sensor gone (or a stuck or missing bus, or
broken storage) still starts the control loop; the missing sensor becomes
the front end's fault, its alarm and the controller's safe reaction; a stuck
I2C bus is clocked free first; a sensor that comes back is re-initialised.

The boot is the firmware's own `inversa.app_boot.boot()` (what `run()` does on the
board) on the simulated machine, inside a whole simulated session.  Handed
case: ../shared/cases/safety/reboot_with_dead_imu.toml (in the scenario
library as `reboot_with_dead_imu`, run by tests/host/test_sim_library.py).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from inversa import app as app_mod
from inversa import app_boot, storage
from inversa.board.boards import get_board
from inversa.board.clock import VirtualClock
from inversa.control import limits as L
from inversa.control import states as S
from inversa.control.profile import Profile
from inversa.drivers.lsm6dsox import LSM6DSOX
from inversa.drivers.max30102 import MAX30102
from inversa.drivers.mpu6050 import MPU6050
from inversa.drivers.pulse_adc import PulseADC
from inversa.link import messages as M
from inversa.sense.flags import TILT_BUS_ERROR
from inversa.sensor_standin import (
    HR_NOMINAL,
    IMU_NOMINAL,
    RETRY_MS,
    SENSOR_IMU,
    SENSOR_PPG,
    PendingIMU,
    PendingPPG,
)
from inversa_host.sim.judge import Rules, Sample, judge
from inversa_world.devices.bus import FakeI2CBus
from inversa_world.devices.lsm6dsox import FakeLSM6DSOX
from inversa_world.devices.max30102 import FakeMAX30102
from inversa_world.devices.mpu6050 import FakeMPU6050
from inversa_world.machine_sim import SimMachine
from inversa_world.panel import TablePanel
from inversa_world.pins import SimADC
from inversa_world.ppg import PPGSynth
from inversa_world.session import SimSession

PICO_PINS = get_board("pico")["pins"]
PROFILE = Profile(max_angle_cdeg=2500, hold_ms=180000, descent_cdps=L.MAX_CMD_RATE_CDPS)
# A session at 25 deg, then (at 40 s) the faults of each case and a reset.
AT_DEPTH = [(1000, "press_start", {}), (18000, "hold_down", {}), (39000, "release_down", {})]
RESET_MS = 40000


def _session(tmp_path: Path, faults: list, duration_ms: int = 260000) -> SimSession:
    events = AT_DEPTH + [(RESET_MS - 50, a, args) for a, args in faults]
    events.append((RESET_MS, "power_reset", {}))
    return SimSession(
        {
            "duration_ms": duration_ms,
            "events": events,
            "profile": PROFILE.to_bytes(),
            "host_connected": True,
            "seed": 5,
        },
        str(tmp_path),
    )


def _run_judged(s: SimSession) -> tuple[list[Sample], list]:
    """Run to the end; the true angle, state and alarm every 100 ms."""
    from inversa_host.link.names import state_name

    samples = []
    while not s.finished:
        s.step()
        if s.t_ms % 100 == 0:
            assert s.app is not None, "the control loop must run"
            samples.append(
                Sample(
                    s.t_ms / 1000.0,
                    s.table.angle_deg,
                    state_name(s.app.ctrl.state),
                    s.app.out.alarm_priority,
                )
            )
    events = [(t / 1000.0, a, args) for t, a, args in s.events]
    return samples, judge(samples, Rules(limit_deg=25.0, loading_deg=-60.0), events)


def test_stand_in_scales_are_the_drivers_own() -> None:
    """The front end takes a sensor's scale once at boot: a stand-in must
    carry exactly what the real driver (default settings) will have."""
    clock = VirtualClock(0)
    bus = FakeI2CBus(seed=1)
    bus.attach(0x68, FakeMPU6050(clock, seed=1))
    bus.attach(0x6A, FakeLSM6DSOX(clock, seed=1))
    bus.attach(0x57, FakeMAX30102(clock, seed=1, source=PPGSynth(seed=1, hr_bpm=60)))
    for kind, drv in (("mpu6050", MPU6050(bus)), ("lsm6dsox", LSM6DSOX(bus))):
        got = (
            drv.accel_mg_num,
            drv.accel_mg_den,
            drv.gyro_mdps_num,
            drv.gyro_mdps_den,
            drv.full_scale,
        )
        assert got == IMU_NOMINAL[kind], kind
    for kind, ppg in (("max30102", MAX30102(bus)), ("pulse_adc", PulseADC(SimADC("a")))):
        got = (ppg.period_us, ppg.fifo_depth, ppg.polarity, ppg.contact_min, ppg.full_scale)
        assert got == HR_NOMINAL[kind], kind


# (faults before the reset, what the boot must have made of each sensor)
BOOT_CASES = {
    "imu_gone": ([("imu_disconnect", {})], PendingIMU, None),
    "pulse_gone": ([("hr_disconnect", {})], None, PendingPPG),
    "both_gone": ([("imu_disconnect", {}), ("hr_disconnect", {})], PendingIMU, PendingPPG),
    "bus_stuck_for_good": ([("i2c_stuck", {"pulses": 50})], PendingIMU, PendingPPG),
}


@pytest.mark.parametrize("case", list(BOOT_CASES), ids=list(BOOT_CASES))
def test_reset_with_a_sensor_gone_runs_the_loop_with_the_faults_reaction(
    case: str, tmp_path: Path
) -> None:
    faults, imu_kind, hr_kind = BOOT_CASES[case]
    s = _session(tmp_path, faults, duration_ms=RESET_MS + L.SELFTEST_MAX_MS + 1000)
    s.run_for(RESET_MS + 10)
    assert s.boots == 2 and s.app is not None  # old code: OSError out of build_app
    fe = s.app.sensors
    if imu_kind is not None:
        assert isinstance(fe.imu, imu_kind) and not fe.imu.present
    else:
        assert not isinstance(fe.imu, PendingIMU)
    if hr_kind is not None:
        assert isinstance(fe.ppg, hr_kind) and not fe.ppg.present
    # The self-test waits up to SELFTEST_MAX_MS for a trusted angle.
    s.run_for(L.SELFTEST_MAX_MS + 500)
    out = s.app.out
    if imu_kind is not None:
        # The tilt sensor's fault, its high alarm and the open-loop return.
        assert not fe.tilt.ok and fe.tilt.faults & TILT_BUS_ERROR
        assert out.alarm_priority == 3 and s.app.ctrl.state == S.OPEN_LOOP
    else:
        assert out.alarm_priority >= 2  # the reboot's return (and the lost pulse)
        assert s.app.ctrl.state == S.RETURN
        assert s.table.rate_dps < 0  # coming up


def test_reset_with_both_sensors_gone_brings_the_person_up(tmp_path: Path) -> None:
    s = _session(tmp_path, [("imu_disconnect", {}), ("hr_disconnect", {})])
    samples, broken = _run_judged(s)
    assert max(x.angle_deg for x in samples) > 24.0  # it was at depth
    assert [v for v in broken if v.kind in ("end", "depth", "motion")] == []
    # Up at the home switch (the firmware's "at loading": within 5 deg).
    assert abs(samples[-1].angle_deg - (-60.0)) <= L.LOADING_TOL_CDEG / 100
    assert samples[-1].alarm_priority == 3  # and the tilt alarm still sounds


def test_stuck_bus_is_clocked_free_at_boot(tmp_path: Path) -> None:
    """A slave holding SDA low (it was reset mid-byte): the boot clocks SCL
    until it lets go, sends a STOP and uses the real sensors."""
    s = _session(tmp_path, [("i2c_stuck", {"pulses": 6})])
    s.run_for(RESET_MS + 10)
    assert s.bus.recoveries == 1 and not s.bus.sda_held
    fe = s.app.sensors
    assert isinstance(fe.imu, MPU6050) and isinstance(fe.ppg, MAX30102)
    s.run_for(8000)
    assert fe.tilt.ok
    assert s.app.ctrl.state == S.RETURN  # the ordinary reboot recovery


def test_bus_that_cannot_be_created_still_runs_the_loop(tmp_path: Path) -> None:
    s = _session(tmp_path, [], duration_ms=RESET_MS + 8000)
    s.run_for(RESET_MS - 100)
    s.machine.i2c_fail = OSError(5)
    s.run_for(L.SELFTEST_MAX_MS + 500)
    assert s.boots == 2 and s.app is not None
    assert isinstance(s.app.sensors.imu, PendingIMU)
    assert s.app.ctrl.state == S.OPEN_LOOP and s.app.out.alarm_priority == 3


def test_a_sensor_that_comes_back_is_reinitialised_and_counted(tmp_path: Path) -> None:
    s = _session(tmp_path, [("imu_disconnect", {}), ("hr_disconnect", {})])
    s.run_for(RESET_MS + 10)
    fe = s.app.sensors
    imu, ppg = fe.imu, fe.ppg
    assert isinstance(imu, PendingIMU) and isinstance(ppg, PendingPPG)
    s.run_for(2 * RETRY_MS)
    assert imu.attempts >= 3 and imu.reinits == 0  # tried every few seconds
    s._apply("imu_restore", {})
    s._apply("hr_restore", {})
    s.run_for(RETRY_MS + 2500)  # the next try, then the tilt filter settles (1.5 s)
    assert imu.present and imu.reinits == 1 and isinstance(imu.driver, MPU6050)
    assert ppg.present and ppg.reinits == 1 and isinstance(ppg.driver, MAX30102)
    # Reported to the host: absent at boot (value 0), then back (value 1).
    got = _sensor_events(s)
    # (the two returns in either order: a tilt sensor in error is tried at
    # every 10th period only, issue 10, so the IMU may come back after the PPG)
    assert got[:2] == [(SENSOR_IMU, 0), (SENSOR_PPG, 0)]
    assert sorted(got[2:]) == [(SENSOR_IMU, 1), (SENSOR_PPG, 1)]
    assert fe.tilt.ok  # trusted again; the tilt alarm stays latched as designed
    assert fe.hr_samples > 0


def _sensor_events(s: SimSession) -> list:
    from inversa import events as ev
    from inversa_host.link.codec import EVENT, StreamDecoder

    out = []
    for f in StreamDecoder().feed(s.take_tx()):
        if f.msg_type == M.MSG_EVENT:
            _t, kind, code, value = EVENT.unpack_from(f.payload, 0)
            if kind == ev.EV_SENSOR:
                out.append((code, value))
    return out


def test_a_driver_missing_from_the_board_is_an_absent_sensor(tmp_path: Path, monkeypatch) -> None:
    """A driver module missing on the flash (a partial deploy): the loop still
    runs with the sensor's fault instead of raising at boot."""
    s = _session(tmp_path, [], duration_ms=RESET_MS + 8000)
    s.run_for(RESET_MS - 100)
    monkeypatch.setitem(sys.modules, "inversa.drivers.mpu6050", None)  # import fails
    s.run_for(L.SELFTEST_MAX_MS + 500)
    assert s.boots == 2 and isinstance(s.app.sensors.imu, PendingIMU)
    assert "not on the board" in str(s.app.sensors.imu.last_error)
    assert s.app.ctrl.state == S.OPEN_LOOP


def test_stand_in_retries_are_bounded_and_never_raise_out_of_the_front_end() -> None:
    clock = VirtualClock(0)
    calls = []

    def make():
        calls.append(clock.ticks_ms())
        raise OSError(19)

    imu = PendingIMU(make, IMU_NOMINAL["mpu6050"], clock, retry_ms=3000)
    for _ in range(1000):  # 10 s of periods
        clock.advance_ms(10)
        with pytest.raises(OSError):
            imu.read()
    assert calls == [3000, 6000, 9000]


def _write(p: Path, data: bytes) -> None:
    p.write_bytes(data)


@pytest.mark.parametrize(
    "damage",
    ["profile_garbage", "calibration_garbage", "calibration_is_a_directory", "board_json_garbage"],
)
def test_broken_storage_at_boot_still_runs_the_loop(damage: str, tmp_path: Path) -> None:
    s = _session(tmp_path, [], duration_ms=RESET_MS + 3000)
    s.run_for(RESET_MS - 100)  # the first boot saved a good board config copy
    if damage == "profile_garbage":
        _write(tmp_path / storage.PROFILE_FILE, b"\xff" * 7)
    elif damage == "calibration_garbage":
        _write(tmp_path / storage.CALIBRATION_FILE, b"junk")
    elif damage == "calibration_is_a_directory":
        (tmp_path / storage.CALIBRATION_FILE).unlink()
        (tmp_path / storage.CALIBRATION_FILE).mkdir()
    else:
        _write(tmp_path / "board.json", b"{not json")
    s.run_for(2000)
    assert s.boots == 2 and s.app is not None
    assert s.app.steps > 100
    if damage.startswith("calibration"):
        assert not s.app.sensors.tilt.ok  # not calibrated: a tilt fault, not a crash
    if damage == "board_json_garbage":
        assert any("last good copy" in m for m in s.boot_log)


def test_board_config_with_no_good_copy_says_what_to_fix(tmp_path: Path) -> None:
    (tmp_path / "board.json").write_text("{not json")
    with pytest.raises(ValueError, match="no earlier good copy"):
        app_boot.load_board_config(str(tmp_path / "board.json"), log=lambda m: None)


def test_estop_pressed_during_a_boot_reads_pressed_at_the_first_period(tmp_path: Path) -> None:
    """The world's wiring is there before the firmware looks at its pins."""
    s = _session(tmp_path, [("press_estop", {})], duration_ms=RESET_MS + 1000)
    s.run_for(RESET_MS + 10)
    assert s.app is not None and s.app.inp.estop_pressed


def test_run_disables_ctrl_c_before_any_boot_step(tmp_path: Path, monkeypatch) -> None:
    """run() on a simulated machine: kbd_intr(-1) comes before the first pin
    is touched, and the loop is reached (WDT created) with the IMU gone."""
    order: list[str] = []
    bus = FakeI2CBus(seed=1)  # nothing on it: every sensor is gone
    m = SimMachine(bus)
    real_pin = m.Pin

    class Pin(real_pin):  # type: ignore[misc, valid-type]
        def __init__(self, *a, **k):
            order.append("pin")
            real_pin.__init__(self, *a, **k)

    for k in ("IN", "OUT", "PULL_UP", "PULL_DOWN", "OPEN_DRAIN"):
        setattr(Pin, k, getattr(real_pin, k))
    m.Pin = Pin
    # The table's wiring at rest (nothing pressed, not at a limit).
    panel, pins = TablePanel(), PICO_PINS
    rest = types.SimpleNamespace(home_switch=False, end_switch=False)
    m.on_pin_created = lambda gpio: panel.drive_one(m, pins, gpio, 0, rest)

    class Reached(Exception):
        pass

    def wdt(timeout):
        order.append("wdt")
        raise Reached

    machine = types.SimpleNamespace(
        Pin=Pin,
        PWM=m.PWM,
        ADC=m.ADC,
        I2C=m.I2C,
        UART=m.UART,
        WDT=wdt,
        reset_cause=m.reset_cause,
        unique_id=m.unique_id,
        reset=lambda: None,
    )
    micropython = types.SimpleNamespace(
        kbd_intr=lambda c: order.append(f"kbd_intr({c})"),
        heap_lock=lambda: 0,  # run() binds them for App.step (the board's heap lock)
        heap_unlock=lambda: 0,
    )
    # (run() binds these two no-ops as the app's lock for the rest of the
    # process: harmless in CPython, where the lock is a no-op anyway)
    import gc

    monkeypatch.setattr(gc, "mem_alloc", lambda: 0, raising=False)  # MicroPython's, not CPython's
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setitem(sys.modules, "micropython", micropython)
    monkeypatch.setattr(app_mod, "_open_board_port", lambda cfg, board, clock: None)
    # In CPython, forgetting modules would make new classes on re-import:
    # record the call instead (the emulated Pico's board test runs the real one).
    monkeypatch.setattr(app_mod, "settle_heap", lambda: order.append("shed"))
    (tmp_path / "board.json").write_text(
        '{"board": "pico", "imu": "mpu6050", "hr": "max30102", "motor": "hbridge", "brake": true}'
    )
    monkeypatch.setattr("time.sleep_us", lambda us: None, raising=False)
    clock = VirtualClock()  # run()'s clock is the time module (ticks_ms, ticks_us)
    monkeypatch.setattr("time.ticks_ms", clock.ticks_ms, raising=False)
    monkeypatch.setattr("time.ticks_us", clock.ticks_us, raising=False)
    with pytest.raises(Reached):
        app_mod.run(str(tmp_path / "board.json"), str(tmp_path))
    assert order[0] == "kbd_intr(-1)" and "pin" in order
    assert order[-1] == "wdt"
    assert order[-2] == "shed", "the boot-only modules are dropped before the loop"


def test_a_front_end_that_raises_at_boot_leaves_no_sensor_trusted(
    tmp_path: Path, monkeypatch
) -> None:
    """A bug in the front end's setup must not keep the loop from starting."""
    from inversa.sense import frontend

    real_init = frontend.SensorFrontEnd.__init__

    def init(self, clock, imu, hr, calibration, *a, **k):
        if imu is not None:
            raise ZeroDivisionError("a bug")
        real_init(self, clock, imu, hr, calibration, *a, **k)

    s = _session(tmp_path, [], duration_ms=RESET_MS + 8000)
    s.run_for(RESET_MS - 100)
    monkeypatch.setattr(frontend.SensorFrontEnd, "__init__", init)
    s.run_for(L.SELFTEST_MAX_MS + 500)
    assert s.boots == 2 and s.app is not None and s.app.sensors.imu is None
    assert not s.app.inp.tilt_ok and s.app.ctrl.state == S.OPEN_LOOP
