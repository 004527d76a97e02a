"""Properties of the sensing code (CPython, hypothesis): integer ranges that
keep MicroPython's small ints, exact round trips, and a front end that
never raises whatever the bus does."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from inversa.board.clock import VirtualClock
from inversa.drivers.max30102 import MAX30102
from inversa.drivers.mpu6050 import MPU6050
from inversa.sense.calibration import Calibration
from inversa.sense.frontend import SensorFrontEnd
from inversa.sense.heartrate import HeartRateEstimator
from inversa.sense.imath import atan2_udeg
from inversa.sense.tilt import TiltEstimator
from inversa_world.devices import FakeI2CBus, FakeMAX30102, FakeMPU6050
from inversa_world.ppg import PPGSynth

SMALL = 1 << 30  # MicroPython small ints (31-bit on 32-bit ports)


def _small_ints(obj) -> None:
    for k, v in vars(obj).items():
        if isinstance(v, int) and not isinstance(v, bool):
            assert -SMALL <= v < SMALL, (k, v)


@given(st.integers(-(1 << 20), 1 << 20), st.integers(-(1 << 20), 1 << 20))
def test_atan2_matches_math(y: int, x: int) -> None:
    got = atan2_udeg(y, x)
    assert -180_000_000 < got <= 180_000_000
    if abs(x) < 64 and abs(y) < 64:
        return
    want = math.degrees(math.atan2(y, x))
    err = abs(got / 1e6 - want)
    assert min(err, 360 - err) < 0.01


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-40000, 40000),
            st.integers(-40000, 40000),
            st.integers(-300000, 300000),
            st.integers(-1000, 60000),
        ),
        min_size=1,
        max_size=300,
    )
)
def test_tilt_state_stays_in_small_ints(samples) -> None:
    est = TiltEstimator()
    for al, au, w, dt in samples:
        est.update(al, au, w, dt)
        assert -18000 <= est.angle_cdeg <= 18000
        _small_ints(est)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(4000, 50000),
    st.lists(st.integers(0, (1 << 18) - 1), min_size=1, max_size=1500),
)
def test_heart_rate_state_stays_in_small_ints(period_us, xs) -> None:
    est = HeartRateEstimator(period_us=period_us)
    for x in xs:
        est.add(x)
        _small_ints(est)
        assert est.dbpm == 0 or 300 <= est.dbpm <= 2400
        assert 0 <= est.quality_pct <= 100
    for arr in (est._acc, est._hist, est._tmpl, est._raw):
        assert all(-SMALL <= v < SMALL for v in arr)


@given(
    st.sampled_from([(0, 1, 2, 1), (1, -1, 0, 1), (2, 1, 1, -1), (0, -1, 1, 1)]),
    st.integers(-32768, 32767),
    st.lists(st.integers(-32768, 32767), min_size=3, max_size=3),
    st.lists(st.integers(-32768, 32767), min_size=3, max_size=3),
    st.integers(0, 65535),
    st.integers(0, 255),
    st.integers(0, 255),
)
def test_calibration_round_trip(axes, zero, gyro, accel, scale, flags, positions) -> None:
    la, ls, ua, us = axes
    cal = Calibration(la, ls, ua, us, zero, gyro, accel, scale, flags, positions)
    data = cal.to_bytes()
    assert Calibration.from_bytes(data) == cal
    # any single flipped bit is caught
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 1 << (i % 8)
        assert Calibration.from_bytes(bytes(bad)) is None


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 1000),
    st.lists(st.sampled_from(["ok", "eio", "gone", "back", "stuck", "free", "stall"]), max_size=60),
)
def test_front_end_never_raises(seed, script) -> None:
    clock = VirtualClock()
    bus = FakeI2CBus(seed)
    fi = bus.attach(0x68, FakeMPU6050(clock, seed=seed))
    fp = bus.attach(0x57, FakeMAX30102(clock, seed=seed, source=PPGSynth(seed, 70)))
    fe = SensorFrontEnd(clock, MPU6050(bus), MAX30102(bus), Calibration(flags=1))
    bus.set_error_rate(20000)
    for action in script:
        if action == "eio":
            bus.fail_next(3)
        elif action == "gone":
            bus.disconnect(0x68 if seed & 1 else 0x57)
        elif action == "back":
            bus.reconnect(0x68)
            bus.reconnect(0x57)
        elif action == "stuck":
            fi.stuck = fp.stuck = True
        elif action == "free":
            fi.stuck = fp.stuck = False
        elif action == "stall":
            clock.advance_ms(700)
        for _ in range(10):
            clock.advance_ms(10)
            fe.poll()
            assert fe.internal_errors == 0
            assert fe.tilt.ok == (not fe.tilt.faults & 0xFF)
            assert fe.hr.ok or fe.hr.hr_bpm == 0


def test_atan2_just_below_the_negative_x_axis_stays_in_range() -> None:
    # Found by hypothesis: y=-1, x=-32768 rounded to exactly -180 deg.
    assert atan2_udeg(-1, -32768) == 180_000_000
    assert -180_000_000 < atan2_udeg(-300, -32768) < -179_000_000
