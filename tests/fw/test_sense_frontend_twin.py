"""The front end with its IMU map on arrays (the part a viper twin runs on a
board: frontend._map_raw, sense/imath_native.py's map_v) behaves exactly as the
version it replaced (tests/fw/frontend_ref.py: main of 30 Nov), run side by
side poll by poll on the same reads: the sensing bench's tilt runs (both
IMUs, still and vibrating, through the real drivers), the real IMU
recordings (BROAD, as bench/sensing_robust.py replays them) and random raw
samples under random mount calibrations (saturation, stuck data, bus
errors).  Every poll's tilt output (angle, rate, ok, faults), the
front end's counters and the estimator's state must be the same."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import frontend_ref as fref
import pytest

from inversa.sense import frontend

ROOT = Path(__file__).resolve().parents[2]
BENCH = str(ROOT / "bench")


def _same(a, b, where):
    got = (a.angle_udeg, a.angle_cdeg, a.rate_cdps, a.faults, a.fast_events, a.disagree_events)
    want = (b.angle_udeg, b.angle_cdeg, b.rate_cdps, b.faults, b.fast_events, b.disagree_events)
    assert got == want, (where, got, want)
    assert a.bias_mdps() == b.bias_mdps(), where


def test_the_map_runs_on_arrays():
    # the change under test: the raw sample goes through _map_raw (or its
    # viper twin) on the map array; a chip's own calibration is within the
    # twin's ranges (m[23])
    from inversa.board.clock import VirtualClock
    from inversa.drivers.mpu6050 import MPU6050
    from inversa_world.devices import FakeI2CBus, FakeMPU6050

    clock = VirtualClock()
    bus = FakeI2CBus(1)
    bus.attach(0x68, FakeMPU6050(clock, seed=1))
    fe = frontend.SensorFrontEnd(clock, MPU6050(bus), None, None)
    assert len(fe._map) == 30 and fe._map[23] == 1
    assert frontend._map_raw(fe.imu.raw, fe._map) == 0


class Mirror:
    """The IMU as the reference front end sees it: the firmware's front end
    reads the chip, this repeats that read (its result, its raw sample)."""

    def __init__(self, imu):
        self.raw = imu.raw
        self.accel_mg_num = imu.accel_mg_num
        self.accel_mg_den = imu.accel_mg_den
        self.gyro_mdps_num = imu.gyro_mdps_num
        self.gyro_mdps_den = imu.gyro_mdps_den
        self.full_scale = imu.full_scale
        self.changed = None  # None: the read failed
        read = imu.read

        def tapped():
            self.changed = None
            c = read()
            self.changed = c
            return c

        imu.read = tapped

    def read(self):
        if self.changed is None:
            raise OSError(5)
        return self.changed


class TwinFE(frontend.SensorFrontEnd):
    """The firmware's front end (and estimator), checked against the
    reference front end (and estimator) after every poll."""

    made = []

    def __init__(self, clock, imu, hr, cal, *a, **kw):
        self.ref = None
        self.n = 0
        super().__init__(clock, imu, hr, cal, *a, **kw)
        self.ref = fref.SensorFrontEnd(clock, Mirror(imu), None, cal, *a, **kw)
        TwinFE.made.append(self)

    def set_calibration(self, cal):
        super().set_calibration(cal)
        if self.ref is not None:
            self.ref.set_calibration(cal)

    def poll(self, busy=False):
        super().poll(busy)
        self.ref.poll(busy)
        self.n += 1
        a, b = self, self.ref
        got = (vars(a.tilt), a.imu_reads, a.imu_bus_errors, a.stuck_events, a.saturation_events)
        want = (vars(b.tilt), b.imu_reads, b.imu_bus_errors, b.stuck_events, b.saturation_events)
        assert got == want, (self.n, list(a.imu.raw), got, want)
        assert a.internal_errors == b.internal_errors == 0
        _same(a.tilt_est, b.tilt_est, (self.n, list(a.imu.raw)))


@pytest.mark.parametrize("kind", ["MPU-6050", "LSM6DSOX"])
@pytest.mark.parametrize("vib", [0.0, 0.3])
def test_same_as_reference_on_the_sensing_benchs_tilt_runs(kind, vib, monkeypatch):
    # the sensing bench imports its reference filters (`make .venv/.stamps/bench`)
    pytest.importorskip("ahrs", reason="the bench's extras: make .venv/.stamps/bench")
    sys.path.insert(0, BENCH)
    try:
        import bench_sensing
    finally:
        sys.path.remove(BENCH)
    TwinFE.made = []
    monkeypatch.setattr(bench_sensing, "SensorFrontEnd", TwinFE)
    for seed in (1, 2):
        bench_sensing.tilt_run((kind, seed, vib))
    assert len(TwinFE.made) == 2 and sum(t.n for t in TwinFE.made) > 2000


def _broad():
    sys.path.insert(0, BENCH)
    try:
        import sensing_robust as sr
    finally:
        sys.path.remove(BENCH)
    d = sr.data_dir(None) / "broad"
    files = sorted(d.glob("*.mat")) if d.is_dir() else []
    return sr, files


def test_same_as_reference_on_the_real_imu_recordings(monkeypatch):
    sr, files = _broad()
    if not files:
        pytest.skip("no BROAD data (../shared/data/broad; see bench/sensing_robust.py)")
    pytest.importorskip("scipy")
    TwinFE.made = []
    monkeypatch.setattr(frontend, "SensorFrontEnd", TwinFE)
    lsb_g, lsb_dps = sr._driver_scales()
    for path in files:
        A, W, *_ = sr._prepare(path, lsb_g, lsb_dps)
        sr._ours(A, W)
    assert len(TwinFE.made) == len(files) and sum(t.n for t in TwinFE.made) > 100000


def test_same_as_reference_on_random_raw_samples_and_calibrations():
    # the front end's map: every axis assignment, offsets, scales, both
    # chips' scales; saturation, stuck data, bus errors
    from inversa.board.clock import VirtualClock
    from inversa.drivers.lsm6dsox import LSM6DSOX
    from inversa.drivers.mpu6050 import MPU6050
    from inversa.sense.calibration import Calibration
    from inversa_world.devices import FakeI2CBus, FakeLSM6DSOX, FakeMPU6050

    rng = random.Random(11)
    axes = ((0, 2), (2, 0), (1, 2), (0, 1), (2, 1), (1, 0))
    for trial in range(12):
        clock = VirtualClock()
        bus = FakeI2CBus(trial)
        if trial % 2:
            bus.attach(0x6A, FakeLSM6DSOX(clock, seed=trial))
            imu = LSM6DSOX(bus)
        else:
            bus.attach(0x68, FakeMPU6050(clock, seed=trial))
            imu = MPU6050(bus)
        lo, up = axes[trial % 6]
        cal = Calibration(
            long_axis=lo,
            long_sign=rng.choice((1, -1)),
            up_axis=up,
            up_sign=rng.choice((1, -1)),
            zero_cdeg=rng.randint(-500, 500),
            gyro_bias_mdps=[rng.randint(-3000, 3000) for _ in range(3)],
            # trial 7: offsets beyond the viper twin's ranges (m[23] 0: plain map)
            accel_bias_mg=[rng.randint(-80, 80) for _ in range(3)]
            if trial != 7
            else [32000, -32000, 31000],
            scale_q14=rng.randint(15800, 17000),
        )
        fe = TwinFE(clock, imu, None, None if trial == 4 else cal)
        assert fe._map[23] == (0 if trial == 7 else 1)
        state = [0, 0, 16384, 0, 0, 0]

        def read(raw=imu.raw, state=state):
            r = rng.random()
            if r < 0.01:
                raise OSError(5)
            if r > 0.03:  # else: the same sample again (stuck a while)
                for k in range(6):
                    state[k] += rng.randint(-900, 900)
                    state[k] = max(-33000, min(33000, state[k]))
                    raw[k] = max(-32768, min(32767, state[k]))
            return r > 0.03

        imu.read = read
        fe.ref.imu = Mirror(imu)
        fe.ref._imu_check = None
        fe._imu_check = None
        for _ in range(1500):
            clock.advance_ms(10)
            fe.poll()
        assert fe.n == 1500
