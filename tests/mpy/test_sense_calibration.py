# Mount calibration: storage (CRC, corrupt or missing file -> None), the
# one-position and multi-position procedures against the IMU fake.
from inversa.board.clock import VirtualClock
from inversa.drivers.mpu6050 import MPU6050
from inversa.sense.calibration import (
    FLAG_AXES,
    FLAG_LEVEL,
    FLAG_OFFSETS,
    FLAG_SCALE,
    Calibration,
)
from inversa.sense.calibrator import Calibrator
from inversa_world.devices import FakeI2CBus, FakeMPU6050
from mpyunit import raises


def test_round_trip_and_pivot():
    cal = Calibration(
        long_axis=1,
        long_sign=-1,
        up_axis=0,
        up_sign=1,
        zero_cdeg=-123,
        gyro_bias_mdps=(100, -2000, 30000),
        accel_bias_mg=(5, -40, 0),
        scale_q14=16500,
        flags=FLAG_LEVEL | FLAG_OFFSETS,
        positions=3,
    )
    back = Calibration.from_bytes(cal.to_bytes())
    assert back == cal
    assert back.zero_cdeg == -123 and back.gyro_bias_mdps == [100, -2000, 30000]
    # up = +x, long = -y: pivot = up x long = x cross -y = -z
    assert cal.pivot() == (2, -1)
    assert Calibration().pivot() == (1, 1)  # up +z, long +x: pivot +y


def test_corrupt_or_foreign_records_are_refused():
    good = Calibration(zero_cdeg=50).to_bytes()
    assert Calibration.from_bytes(good) is not None
    bad = bytearray(good)
    bad[10] ^= 0x01
    assert Calibration.from_bytes(bytes(bad)) is None  # CRC
    assert Calibration.from_bytes(good[:-1]) is None  # length
    assert Calibration.from_bytes(b"") is None
    assert Calibration.from_bytes(None) is None
    raises(ValueError, Calibration, long_axis=2, up_axis=2)


def test_missing_file_means_not_calibrated():
    assert Calibration.load("/no/such/calibration.bin") is None


def test_save_and_load(tmp="cal_test.bin"):
    cal = Calibration(zero_cdeg=77, flags=FLAG_LEVEL)
    cal.save(tmp)
    assert Calibration.load(tmp) == cal
    with open(tmp, "wb") as f:
        f.write(b"garbage")
    assert Calibration.load(tmp) is None
    import os

    os.remove(tmp)


def _setup(seed):
    clock = VirtualClock()
    bus = FakeI2CBus()
    fake = bus.attach(0x68, FakeMPU6050(clock, seed=seed))
    return clock, fake, MPU6050(bus)


def _hold(cal, clock, fake, imu, angle_deg, n=150):
    fake.set_truth(angle_deg, 0.0, 0.0)
    for _ in range(20):
        clock.advance_ms(10)
        imu.read()
    cal.begin(round(angle_deg * 100))
    for _ in range(n):
        clock.advance_ms(10)
        imu.read()
        cal.add(imu.raw)
    return cal.end(imu)


def test_level_only_finds_gyro_bias_and_up_axis():
    clock, fake, imu = _setup(11)
    cal = Calibrator()
    assert _hold(cal, clock, fake, imu, 0.0)
    c = cal.finish(imu)
    assert c.flags == FLAG_LEVEL
    assert (c.up_axis, c.up_sign, c.long_axis, c.long_sign) == (2, 1, 0, 1)
    true = fake.true_gyro_bias_dps()
    for i in range(3):
        assert abs(c.gyro_bias_mdps[i] - true[i] * 1000) < 60, (c.gyro_bias_mdps, true)


def test_second_position_finds_a_rotated_mount():
    clock = VirtualClock()
    bus = FakeI2CBus()
    # sensor y towards the feet, x up (mounted on its side)
    fake = bus.attach(0x68, FakeMPU6050(clock, seed=12, mount=(1, -1, 0, 1)))
    imu = MPU6050(bus)
    cal = Calibrator()
    _hold(cal, clock, fake, imu, 0.0)
    _hold(cal, clock, fake, imu, -40.0)
    c = cal.finish(imu)
    assert c.flags & FLAG_AXES
    assert (c.long_axis, c.long_sign, c.up_axis, c.up_sign) == (1, -1, 0, 1)


def test_five_positions_fit_offsets_and_scale():
    clock, fake, imu = _setup(13)
    cal = Calibrator()
    for a in (0.0, -60.0, -30.0, 30.0, 60.0):
        assert _hold(cal, clock, fake, imu, a), cal.error
    c = cal.finish(imu)
    assert c.flags & (FLAG_OFFSETS | FLAG_SCALE) == FLAG_OFFSETS | FLAG_SCALE
    # fitted offsets close to the fake's (in the bed plane: x and z)
    assert abs(c.accel_bias_mg[0] - fake.accel_offset_mg[0]) < 6, (c, fake.accel_offset_mg)
    assert abs(c.accel_bias_mg[2] - fake.accel_offset_mg[2]) < 6, (c, fake.accel_offset_mg)
    ex, ez = fake.accel_scale_err[0], fake.accel_scale_err[2]
    assert abs(c.scale_q14 / 16384 - (1 + ez) / (1 + ex)) < 0.006


def test_moving_during_a_position_is_refused():
    clock, fake, imu = _setup(14)
    cal = Calibrator()
    fake.set_truth(0.0, 5.0, 0.0)  # turning at 5 deg/s
    cal.begin(0)
    for _ in range(100):
        clock.advance_ms(10)
        imu.read()
        cal.add(imu.raw)
    fake.set_truth(0.0, -5.0, 0.0)
    for _ in range(100):
        clock.advance_ms(10)
        imu.read()
        cal.add(imu.raw)
    assert not cal.end(imu)
    assert "still" in cal.error
    raises(ValueError, cal.finish, imu)  # nothing usable recorded
