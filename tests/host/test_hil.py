"""Hardware in the loop: the bench-mode firmware path (injector, jitter buffer,
sensor scales), the world the bench runs on the PC, and `inversa bench`
end to end against a bench-mode virtual board over a real socket."""

from __future__ import annotations

import sqlite3
import struct
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from inversa import reasons
from inversa.bench_sensors import (
    _BENCH_IMU_SCALE,
    _BENCH_PPG,
    _INJECT_IMU,
    BenchInjector,
    _JitterIMU,
    build_bench_sensors,
)
from inversa.board.clock import VirtualClock
from inversa.board.config import validate
from inversa.drivers.injected import InjectedIMU, InjectedPPG
from inversa.link import messages as M
from inversa.link.wire import encode_frame
from inversa_host.link.client import LinkClient
from inversa_host.link.codec import Frame
from inversa_host.sessions.store import Store
from inversa_host.sim.runner import build_spec
from inversa_host.sim.scenario import find_scenario, load_scenario, parse_scenario
from inversa_host.vboards.hil import (
    BenchWorld,
    HilBench,
    HilError,
    NotBenchModeError,
    VirtualPanel,
    check_bench_scenario,
)
from inversa_host.vboards.vboard import CPythonRig, VBoardConfig, VirtualBoard
from inversa_world.devices.bus import FakeI2CBus


def _cfg(imu: str = "mpu6050", hr: str = "max30102") -> Any:
    return validate(
        {"board": "pico", "imu": imu, "hr": hr, "motor": "hbridge", "bench": True}, "test"
    )


# -- the firmware's bench-mode path ------------------------------------------------


def test_inject_imu_decodes_signed_little_endian_samples() -> None:
    imu = InjectedIMU()
    inj = BenchInjector(imu, None)
    payload = struct.pack("<6h6h", 1, -2, 32767, -32768, 300, -301, 7, 8, 9, 10, 11, -12)
    buf = bytearray(b"\xaa" + payload)  # offset 1, as the endpoint passes it
    assert inj.inject(M.INJECT_IMU, buf, 1, 2) == reasons.OK
    assert inj.imu_samples == 2
    assert imu.read() is True
    assert list(imu.raw) == [7, 8, 9, 10, 11, -12]  # the register holds the newest


def test_inject_ppg_decodes_and_refuses_out_of_range_without_change() -> None:
    ppg = InjectedPPG()
    inj = BenchInjector(InjectedIMU(), ppg)
    good = struct.pack("<3i", 120000, -5, 0x1FFFFFFF)
    assert inj.inject(M.INJECT_PPG, bytearray(good), 0, 3) == reasons.OK
    assert ppg.read_fifo() == 3
    assert list(ppg.ir[:3]) == [120000, -5, 0x1FFFFFFF]
    bad = struct.pack("<2i", 5, 0x20000000)  # beyond +-2**29: not a small int on a board
    assert inj.inject(M.INJECT_PPG, bytearray(bad), 0, 2) == reasons.OUT_OF_RANGE
    assert ppg.read_fifo() == 0  # the good first sample was not pushed either
    assert inj.ppg_samples == 3


def test_inject_ppg_without_a_heart_rate_sensor_is_refused() -> None:
    inj = BenchInjector(InjectedIMU(), None)
    assert inj.inject(M.INJECT_PPG, bytearray(4), 0, 1) == reasons.UNKNOWN_COMMAND


def test_inject_imu_type_matches_the_protocol() -> None:
    assert _INJECT_IMU == M.INJECT_IMU


def test_jitter_buffer_hands_out_one_sample_per_period_and_drops_the_oldest() -> None:
    imu = InjectedIMU()
    j = _JitterIMU(imu, depth=3)
    j.push(1, 0, 0, 0, 0, 0)
    j.push(2, 0, 0, 0, 0, 0)  # two arrive in the same period
    j.release()
    assert imu.read() and imu.raw[0] == 1
    j.release()
    assert imu.read() and imu.raw[0] == 2
    j.release()
    assert imu.read() is False  # nothing new: the board sees the same sample
    for v in (3, 4, 5, 6):  # one more than fits
        j.push(v, 0, 0, 0, 0, 0)
    assert j.drops == 1
    got = []
    for _ in range(3):
        j.release()
        imu.read()
        got.append(imu.raw[0])
    assert got == [4, 5, 6]


@pytest.mark.parametrize("imu", ["mpu6050", "lsm6dsox"])
def test_bench_imu_scale_is_the_real_drivers(imu: str) -> None:
    # The host sends the chip's raw counts; the bench board must read them
    # with the very scale the real driver (at its defaults) would use.
    bus = FakeI2CBus(seed=1)
    clock = VirtualClock(0)
    if imu == "mpu6050":
        from inversa.drivers.mpu6050 import MPU6050
        from inversa_world.devices.mpu6050 import FakeMPU6050

        bus.attach(0x68, FakeMPU6050(clock))
        drv: Any = MPU6050(bus)
    else:
        from inversa.drivers.lsm6dsox import LSM6DSOX
        from inversa_world.devices.lsm6dsox import FakeLSM6DSOX

        bus.attach(0x6A, FakeLSM6DSOX(clock))
        drv = LSM6DSOX(bus)
    real = (drv.accel_mg_num, drv.accel_mg_den, drv.gyro_mdps_num, drv.gyro_mdps_den)
    assert _BENCH_IMU_SCALE[imu] == real
    fe, _inject = build_bench_sensors(_cfg(imu=imu), clock)
    b = fe.fe.imu
    assert (b.accel_mg_num, b.accel_mg_den, b.gyro_mdps_num, b.gyro_mdps_den) == real


def test_bench_ppg_settings_are_the_real_drivers() -> None:
    from inversa.drivers.max30102 import MAX30102
    from inversa_world.devices.max30102 import FakeMAX30102

    bus = FakeI2CBus(seed=1)
    bus.attach(0x57, FakeMAX30102(VirtualClock(0)))
    drv = MAX30102(bus)
    assert _BENCH_PPG["max30102"] == (drv.period_us, drv.polarity, drv.contact_min, drv.full_scale)
    fe, _ = build_bench_sensors(_cfg(), VirtualClock(0))
    p = fe.fe.ppg
    assert p is not None
    assert (p.period_us, p.polarity, p.contact_min, p.full_scale) == _BENCH_PPG["max30102"]
    fe_none, _ = build_bench_sensors(_cfg(hr="none"), VirtualClock(0))
    assert fe_none.fe.ppg is None


@pytest.mark.mpy
def test_bench_injection_allocates_nothing_in_micropython() -> None:
    from inversa_host.vm import MicroPythonVM
    from inversa_host.vm.alloc import heap_lock_check, measure_alloc

    setup = textwrap.dedent(
        """
        import struct
        from inversa.bench_sensors import BenchInjector, _JitterIMU
        from inversa.drivers.injected import InjectedIMU, InjectedPPG
        imu = InjectedIMU()
        ppg = InjectedPPG()
        j = _JitterIMU(imu)
        inj = BenchInjector(j, ppg)
        f = inj.inject
        bi = bytearray(struct.pack('<B6h', 1, 100, -200, 16000, -5, 6, -7))
        bp = bytearray(struct.pack('<B2i', 2, 120000, -3))
        def period():
            f(0x30, bi, 1, 1)
            f(0x31, bp, 1, 2)
            j.release()
            imu.read()
            ppg.read_fifo()
        """
    )
    with MicroPythonVM() as vm:
        vm.install_firmware()
        r = measure_alloc(vm, setup, "period()", n=200)
        assert r.bytes_per_call == 0, r
        assert heap_lock_check(vm, "period()") is None
        out = vm.exec("print(list(imu.raw))\nprint(list(ppg.ir[:2]))").split("\n")
        assert out[0].strip() == "[100, -200, 16000, -5, 6, -7]"
        assert out[1].strip() == "[120000, -3]"


# -- what the bench plays, and the world it runs -----------------------------------


def _scenario(body: str, name: str = "t") -> Any:
    head = f'[scenario]\nname = "{name}"\nduration_s = 40\ntable = "motorized"\n'
    return parse_scenario(head + textwrap.dedent(body), f"{name}.toml")


def test_bench_refuses_what_cannot_be_done_over_the_link() -> None:
    with pytest.raises(HilError, match=r"host_silent.*lease"):
        check_bench_scenario(_scenario('[[events]]\nt_s = 1\naction = "host_silent"\n'))
    with pytest.raises(HilError, match="hr_fifo_overflow"):
        check_bench_scenario(_scenario('[[events]]\nt_s = 1\naction = "hr_fifo_overflow"\n'))
    with pytest.raises(HilError, match="pulse_adc"):
        check_bench_scenario(_scenario('[table]\nhr_sensor = "pulse_adc"\n'))
    notes = check_bench_scenario(_scenario('[[events]]\nt_s = 2\naction = "imu_bus_errors"\n'))
    assert len(notes) == 1 and "silence" in notes[0]


def test_every_library_scenario_is_either_played_or_refused_with_a_reason() -> None:
    from inversa_host.sim.scenario import library

    refused = set()
    for path in library():
        sc = load_scenario(path)
        try:
            check_bench_scenario(sc)
        except HilError as e:
            assert str(path) in str(e) and ("cannot" in str(e) or "simulated only" in str(e))
            refused.add(path.stem)
    # What the bench cannot show, each for its own reason: the host lease (its
    # sensor stream is host traffic), a stuck limit switch (simulated only),
    # a stuck I2C bus (the bench board's sensors come over the link).
    assert refused == {
        "host_silent",
        "home_switch_stuck",
        "end_switch_stuck",
        "reboot_bus_stuck",
        "review_home_stuck_imu_lost",  # a stuck home switch too
    }


def _world(**person: float) -> BenchWorld:
    sc = load_scenario(find_scenario("quick_session"))
    spec = build_spec(sc)
    spec["person"].update(person)
    return BenchWorld(spec)


def test_world_moves_only_as_the_boards_outputs_say() -> None:
    w = _world()
    start = w.table.angle_deg
    # brake on, motor off: the table stays
    w.set_outputs(300, M.IO_BRAKE_ON)
    for _ in range(100):
        w.step()
    assert w.table.angle_deg == pytest.approx(start, abs=0.01)
    # enabled, brake released, 300 of the H-bridge's 600 cdps full scale:
    # half duty, so about half the motor's no-load speed, for 3 s
    for _ in range(300):
        w.set_outputs(300, M.IO_MOTOR_ENABLE)
        w.step()
    moved = w.table.angle_deg - start
    no_load = 0.5 * w.table.p.motor_no_load_dps * 3.0
    assert 0.8 * no_load < moved <= no_load  # less the motor's lag and load
    # the same command the other way brings it back up
    before = w.table.angle_deg
    for _ in range(100):
        w.set_outputs(-300, M.IO_MOTOR_ENABLE)
        w.step()
    assert w.table.angle_deg < before - 2.0
    # e-stop: the contactor cuts motor power whatever the command
    before = w.table.angle_deg
    for _ in range(100):
        w.set_outputs(300, M.IO_MOTOR_ENABLE | M.IO_ESTOP)
        w.step()
    assert w.table.angle_deg - before < 0.3  # coasts to a stop, no drive


def test_world_sensor_faults_look_like_the_chips_would() -> None:
    w = _world()
    raw1, ppg1 = w.step()
    raw2, _ = w.step()
    assert raw1 is not None and raw2 is not None and raw1 != raw2  # noise: fresh samples
    assert len(ppg1) == 1 and ppg1[0] > _BENCH_PPG["max30102"][2]  # skin on the sensor
    w.apply("imu_stuck", {})
    frozen = [w.step()[0] for _ in range(5)]
    assert all(r == frozen[0] for r in frozen)
    w.apply("imu_disconnect", {})
    assert w.step()[0] is None
    w.apply("imu_restore", {})
    assert w.step()[0] != frozen[0]
    w.apply("lose_pulse", {})
    ppg: list[int] = []
    for _ in range(20):
        _, ppg = w.step()
    assert ppg and max(ppg) < _BENCH_PPG["max30102"][2]  # below the contact level


def test_bench_board_reads_the_worlds_angle_in_lock_step() -> None:
    # No socket: the world's samples straight into a bench-mode firmware's
    # port, one period at a time; the board's angle must be the world's.
    w = _world()
    rig = CPythonRig(VBoardConfig(bench=True))
    try:
        board = rig.rig
        seq = 0
        errors = []
        for k in range(600):
            drive = 250 if 200 <= k < 500 else 0
            w.set_outputs(drive, M.IO_MOTOR_ENABLE if drive else M.IO_BRAKE_ON)
            raw, ppg = w.step()
            assert raw is not None
            seq += 1
            board.port.feed_rx(encode_frame(M.INJECT_IMU, seq, struct.pack("<B6h", 1, *raw)))
            seq += 1
            board.port.feed_rx(
                encode_frame(M.INJECT_PPG, seq, struct.pack(f"<B{len(ppg)}i", len(ppg), *ppg))
            )
            board.step()
            if k >= 150:
                assert board.app.inp.tilt_ok, hex(board.app.inp.tilt_faults)
                errors.append(board.app.inp.angle_cdeg / 100 - w.table.angle_deg)
        assert w.table.angle_deg > -35.0  # it did move (from -40)
        rms = (sum(e * e for e in errors) / len(errors)) ** 0.5
        assert rms < 0.5, rms
        assert max(abs(e) for e in errors) < 1.0
        assert board.app.link.refused == 0
    finally:
        rig.close()


# -- over a real socket ----------------------------------------------------------


def test_bench_refuses_a_board_not_in_bench_mode(tmp_path: Path) -> None:
    sc = load_scenario(find_scenario("quick_session"))
    with (
        VirtualBoard(VBoardConfig()) as vb,
        Store(tmp_path / "s.db") as store,
        LinkClient.open(vb.url) as client,
    ):
        bench = HilBench(client, sc, store, url=vb.url, panel=VirtualPanel(vb.press))
        with pytest.raises(NotBenchModeError, match="did not boot in bench mode"):
            bench.run()
        assert bench.counters["imu_frames"] == 0  # not one simulated sample was sent
        assert store.latest_session_id() is None


_E2E = """\
[scenario]
name = "bench_e2e"
description = "Short motorized session for the bench test (no heart-rate baseline)."
duration_s = 20
table = "motorized"
seed = 3

[table]
loading_deg = -40

[profile]
max_angle_cdeg = 1000
hold_ms = 60000
descent_cdps = 400
return_ms = 30000
hr_mode = 0

[[events]]
t_s = 0.5
action = "press_start"

[[events]]
t_s = 1.5
action = "hold_down"

[[events]]
t_s = 17
action = "host_return"

[expect]
alarms_exclude = ["over-limit", "tilt-sensor", "estop", "too-fast"]
max_angle_deg = 10.6
min_angle_reached_deg = 9.0
states_include = ["descent", "return"]
"""


@pytest.mark.slow
def test_bench_command_end_to_end_against_the_virtual_board(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from inversa_host.cli import main

    path = tmp_path / "bench_e2e.toml"
    path.write_text(_E2E)
    db = tmp_path / "bench.db"
    code = main(
        [
            "bench",
            "--vboard",
            "--scenario",
            str(path),
            "--speed",
            "3",  # a stall of 33 ms of ours is 100 ms of the board's: its stuck-data limit
            "--db",
            str(db),
            "--no-report",
        ]
    )
    out = capsys.readouterr().out
    # --vboard runs in lock-step virtual time: a loaded PC is slower, never late
    assert "lock-step virtual time" in out
    assert "late periods (PC too slow)      0" in out
    assert code == 0, out
    assert "expectations: PASS" in out
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    s = con.execute("SELECT * FROM sessions").fetchone()
    assert s["bench"] == 1 and s["port"].startswith("bench:socket://127.0.0.1:")
    n, deepest = con.execute(
        "SELECT COUNT(*), MAX(angle_cdeg) FROM samples WHERE session_id = ?", (s["id"],)
    ).fetchone()
    assert n > 20 * M.MAX_TELEMETRY_HZ * 0.8  # 50 Hz telemetry, recorded
    assert 900 <= deepest <= 1060
    cmds = {
        (r["cmd"], r["reason"])
        for r in con.execute("SELECT cmd, reason FROM commands WHERE session_id = ?", (s["id"],))
    }
    assert (M.CMD_SET_PROFILE, reasons.OK) in cmds
    assert (M.CMD_RETURN, reasons.OK) in cmds  # the scenario's host command got there
    con.close()


def test_a_stalling_pc_does_not_fail_a_lock_step_bench(tmp_path: Path) -> None:
    # The PC stalls 60 ms every 50 periods (a loaded machine): in lock-step
    # virtual time the board never sees a late or missing sample.
    sc = parse_scenario(_E2E.replace("duration_s = 20", "duration_s = 18"))
    vb = VirtualBoard(VBoardConfig(bench=True, table=sc.table), lockstep_only=True).start()
    try:
        with Store(tmp_path / "s.db") as store, LinkClient.open(vb.url) as client:
            calls = [0]

            def stalling() -> list[Frame]:
                calls[0] += 1
                if calls[0] % 50 == 0:
                    time.sleep(0.06)  # the stall itself, not a wait for anything
                return vb.lockstep(client)

            bench = HilBench(
                client,
                sc,
                store,
                url=vb.url,
                panel=VirtualPanel(vb.press),
                speed=1000.0,
                lockstep=stalling,
            )
            result = bench.run()
        assert result.counters["late_periods"] == 0
        assert result.counters["inject_refused"] == 0 and result.counters["lost_frames"] == 0
        tele = result.trace
        assert len(tele) > 18 * 50 * 0.8  # 50 Hz telemetry, every period's answer read
        assert result.summary is not None and result.summary.deepest_deg >= 9.0
        assert "tilt-sensor" not in result.summary.alarms, result.summary
    finally:
        vb.stop()


def test_the_bench_refuses_the_bus_faults_it_cannot_show(tmp_path) -> None:
    from inversa_host.sim.scenario import parse_scenario
    from inversa_host.vboards.hil import HilError, check_bench_scenario

    for action in ("hr_disconnect", "i2c_stuck", "button_stuck"):
        args = '\nbutton = "down"' if action == "button_stuck" else ""
        sc = parse_scenario(
            '[scenario]\nname = "b"\nduration_s = 10\ntable = "motorized"\n'
            f'[[events]]\nt_s = 1\naction = "{action}"{args}\n',
            "b.toml",
        )
        try:
            check_bench_scenario(sc)
        except HilError as e:
            assert action in str(e)
        else:
            raise AssertionError(f"{action} accepted by the bench")
