# IMU drivers (MPU-6050, LSM6DSOX) against the register-level fakes: ID
# checks, configuration, burst reads, scaling, bus errors, no allocation.
from inversa.board.clock import VirtualClock
from inversa.chip_names import MPU6050_CHIPS, mpu6050_chip
from inversa.drivers.lsm6dsox import LSM6DSOX
from inversa.drivers.mpu6050 import CHIP_IDS, MPU6050
from inversa_world.devices import FakeI2CBus, FakeLSM6DSOX, FakeMPU6050
from mpyunit import assert_no_alloc, raises


def _mpu(seed=1, **kw):
    clock = VirtualClock()
    bus = FakeI2CBus()
    fake = bus.attach(0x68, FakeMPU6050(clock, seed=seed, **kw))
    return clock, bus, fake


def _lsm(seed=1, **kw):
    clock = VirtualClock()
    bus = FakeI2CBus()
    fake = bus.attach(0x6A, FakeLSM6DSOX(clock, seed=seed, **kw))
    return clock, bus, fake


class StaticDevice:
    """Holds registers; reads copy them without allocating (for the alloc probes).

    Reset bits clear themselves as on the chips; successive data reads differ."""

    def __init__(self, regs, data_reg):
        self.regs = regs
        self.data_reg = data_reg
        self.flip = 0

    def readfrom_mem_into(self, memaddr, buf):
        r = self.regs
        if memaddr == self.data_reg:
            self.flip ^= 1
            r[memaddr + 1] = self.flip
        for i in range(len(buf)):
            buf[i] = r[(memaddr + i) & 0xFF]

    def writeto_mem(self, memaddr, buf):
        r = self.regs
        for i in range(len(buf)):
            r[memaddr + i] = buf[i]
        r[0x6B] &= 0x7F  # MPU-6050 DEVICE_RESET
        r[0x12] &= 0xFE  # LSM6DSOX SW_RESET


def test_mpu6050_id_check_raises_on_wrong_chip():
    _clock, bus, _fake = _mpu(who_am_i=0xEA)  # an ICM-20948: another register map
    e = raises(OSError, MPU6050, bus)
    assert "WHO_AM_I" in str(e)


def test_every_accepted_mpu6050_code_has_a_part_name_and_no_other():
    # one source per fact: the board keeps the codes (CHIP_IDS), the host
    # the names (inversa/chip_names.py); a code added on one side only fails here
    assert len(set(CHIP_IDS)) == len(CHIP_IDS)
    assert sorted(MPU6050_CHIPS) == sorted(CHIP_IDS)
    assert mpu6050_chip(0x70) == "MPU-6500" and mpu6050_chip(0x55) == "0x55"


def test_mpu6500_family_is_accepted_and_named():
    # boards sold as MPU-6050 often carry one of these (WHO_AM_I per datasheet)
    for who, name in (
        (0x68, "MPU-6050"),
        (0x70, "MPU-6500"),
        (0x71, "MPU-9250"),
        (0x73, "MPU-9255"),
        (0x12, "ICM-20602"),
        (0xAF, "ICM-20608"),
    ):
        clock, bus, fake = _mpu(who_am_i=who, offsets=False, noise=False, misalign_deg=0)
        imu = MPU6050(bus)
        assert mpu6050_chip(imu.who_am_i) == name and imu.who_am_i == who
        fake.set_truth(0.0, 0.0, 0.0)
        clock.advance_ms(10)
        assert imu.read()
        one_g = 1000 * imu.accel_mg_den // imu.accel_mg_num
        assert abs(imu.raw[2] - one_g) < one_g * 4 // 100


def test_mpu6500_accelerometer_low_pass_is_set():
    # on the 6500 class the accelerometer's filter is ACCEL_CONFIG2 (0x1D);
    # left at reset it is 218 Hz whatever CONFIG says
    _clock, bus, fake = _mpu(who_am_i=0x70)
    MPU6050(bus, dlpf_hz=10)
    assert fake.regs[0x1D] & 0x0F == 5  # A_DLPF_CFG 5: 10 Hz
    assert fake.accel_bw_hz == 10
    _clock, bus, fake = _mpu()  # an MPU-6050 has no such register: left alone
    MPU6050(bus, dlpf_hz=10)
    assert fake.regs[0x1D] == 0 and fake.accel_bw_hz == 10


def test_mpu_reset_is_detected_and_reinitialised():
    for who in (0x68, 0x70, 0x12):
        clock, bus, fake = _mpu(who_am_i=who)
        imu = MPU6050(bus)
        assert not imu.check() and imu.resets == 0
        want = bytes(fake.regs[0x19:0x1E])
        fake.brownout()
        assert imu.check() and imu.resets == 1
        assert bytes(fake.regs[0x19:0x1E]) == want and not fake.asleep
        clock.advance_ms(10)
        assert imu.read()
        assert not imu.check() and imu.resets == 1


def test_a_6500_class_chip_that_reset_gives_no_sample_until_reinitialised():
    # found by trying (sensattack): a 6500-class chip comes back from a reset
    # awake at +-250 deg/s, so its samples went on, read as +-1000 (4x the
    # rate), until the next check a second later: 9-30 deg off while ok.
    # Its burst now carries INT_ENABLE's mark, which a reset clears.
    for who in (0x70, 0x71, 0x73, 0x74, 0x12, 0x98):
        clock, bus, fake = _mpu(who_am_i=who)
        imu = MPU6050(bus)
        fake.set_truth(10.0, 0.0, 0.0)
        clock.advance_ms(10)
        assert imu.read()
        before = list(imu.raw)
        fake.brownout()
        for _ in range(3):
            clock.advance_ms(10)
            assert not imu.read(), hex(who)  # no sample at the wrong scale
        assert imu.check() and imu.resets == 1
        clock.advance_ms(10)
        assert imu.read()
        assert abs(imu.raw[0] - before[0]) < 400 and abs(imu.raw[2] - before[2]) < 400


def test_mpu_check_allocates_nothing():
    regs = bytearray(256)
    regs[0x75] = 0x70
    bus = FakeI2CBus()
    bus.attach(0x68, StaticDevice(regs, 0x3B))
    imu = MPU6050(bus)
    assert_no_alloc(imu.check)


def test_mpu6050_missing_device_raises_enodev():
    bus = FakeI2CBus()
    e = raises(OSError, MPU6050, bus)
    assert e.args[0] == 19


def test_mpu6050_configures_ranges_and_filter():
    _clock, bus, fake = _mpu()
    MPU6050(bus, accel_range_g=4, gyro_range_dps=500, dlpf_hz=21, rate_hz=200)
    r = fake.regs
    assert r[0x6B] == 0x01  # awake, PLL clock
    assert r[0x1A] & 7 == 4  # DLPF 21 Hz
    assert r[0x19] == 4  # 1 kHz / (1 + 4) = 200 Hz
    assert (r[0x1B] >> 3) & 3 == 1 and (r[0x1C] >> 3) & 3 == 1
    assert fake.odr_hz == 200


def test_mpu6050_rejects_bad_configuration():
    _clock, bus, _fake = _mpu()
    raises(ValueError, MPU6050, bus, accel_range_g=3)
    raises(ValueError, MPU6050, bus, gyro_range_dps=300)
    raises(ValueError, MPU6050, bus, dlpf_hz=30)
    raises(ValueError, MPU6050, bus, rate_hz=300)


def test_mpu6050_reads_gravity_and_rate_in_one_burst():
    clock, bus, fake = _mpu(offsets=False, noise=False, misalign_deg=0, lever_m=0)
    imu = MPU6050(bus)
    fake.set_truth(0.0, 10.0, 0.0)
    clock.advance_ms(10)
    assert imu.read()
    ax, ay, az, _gx, gy, _gz = imu.raw
    one_g = 1000 * imu.accel_mg_den // imu.accel_mg_num
    # level: gravity on +z (sensitivity error at most 3 %); 10 deg/s about +y
    assert abs(az - one_g) < one_g * 4 // 100, az
    assert abs(ax) < 30 and abs(ay) < 30
    mdps = gy * imu.gyro_mdps_num // imu.gyro_mdps_den
    assert abs(mdps - 10000) < 400, mdps
    before = bus.transfers
    imu.read()
    assert bus.transfers == before + 1  # accel and gyro together


def test_mpu6050_head_down_tilt_moves_gravity_to_minus_x():
    clock, bus, fake = _mpu(offsets=False, noise=False, misalign_deg=0)
    imu = MPU6050(bus)
    fake.set_truth(90.0, 0.0, 0.0)
    clock.advance_ms(10)
    imu.read()
    one_g = 1000 * imu.accel_mg_den // imu.accel_mg_num
    assert imu.raw[0] < -one_g * 96 // 100 and abs(imu.raw[2]) < 200


def test_mpu6050_read_reports_unchanged_data():
    clock, bus, fake = _mpu()
    imu = MPU6050(bus)
    clock.advance_ms(10)
    assert imu.read()
    assert not imu.read()  # no time passed: the registers hold the same sample
    clock.advance_ms(10)
    assert imu.read()
    fake.stuck = True
    clock.advance_ms(10)
    assert not imu.read()


def test_mpu6050_bus_error_raises_oserror():
    clock, bus, _fake = _mpu()
    imu = MPU6050(bus)
    bus.fail_next(1)
    e = raises(OSError, imu.read)
    assert e.args[0] == 5
    clock.advance_ms(10)
    assert imu.read()  # and the next read works again


def test_mpu6050_saturates_at_full_scale():
    clock, bus, fake = _mpu(noise=False)
    imu = MPU6050(bus, gyro_range_dps=250)
    fake.set_truth(0.0, 400.0, 0.0)  # beyond +-250 deg/s
    clock.advance_ms(10)
    imu.read()
    assert max(abs(imu.raw[3]), abs(imu.raw[4]), abs(imu.raw[5])) >= 32767


def test_mpu6050_read_allocates_nothing():
    regs = bytearray(256)
    regs[0x75] = 0x68
    bus = FakeI2CBus()
    bus.attach(0x68, StaticDevice(regs, 0x3B))
    imu = MPU6050(bus)
    assert_no_alloc(imu.read)


def test_lsm6dsox_id_check_and_configuration():
    _clock, bus, _fake = _lsm(who_am_i=0x69)  # an LSM6DS3 answers 0x69
    raises(OSError, LSM6DSOX, bus)
    _clock, bus, fake = _lsm()
    imu = LSM6DSOX(bus, accel_range_g=4, gyro_range_dps=500, odr_hz=416, accel_lpf_div=10)
    r = fake.regs
    assert r[0x10] >> 4 == 6 and (r[0x10] >> 2) & 3 == 2 and r[0x10] & 2
    assert r[0x11] >> 4 == 6 and (r[0x11] >> 2) & 3 == 1
    assert r[0x12] & 0x44 == 0x44  # block data update, auto-increment
    assert r[0x17] >> 5 == 1
    assert imu.accel_lpf_hz == 41
    raises(ValueError, LSM6DSOX, bus, odr_hz=52)  # slower than the control loop


def test_lsm6dsox_reads_gravity_and_rate():
    clock, bus, fake = _lsm(offsets=False, noise=False, misalign_deg=0, lever_m=0)
    imu = LSM6DSOX(bus)
    fake.set_truth(-30.0, 5.0, 0.0)
    clock.advance_ms(10)
    assert imu.read()
    ax, _ay, az, _gx, gy, _gz = imu.raw
    mg_x = ax * imu.accel_mg_num // imu.accel_mg_den
    mg_z = az * imu.accel_mg_num // imu.accel_mg_den
    assert abs(mg_x - 500) < 15 and abs(mg_z - 866) < 15, (mg_x, mg_z)
    mdps = gy * imu.gyro_mdps_num // imu.gyro_mdps_den
    assert abs(mdps - 5000) < 100, mdps


def test_lsm6dsox_reset_is_detected_and_reinitialised():
    clock, bus, fake = _lsm()
    imu = LSM6DSOX(bus)
    assert imu.chip == "LSM6DSOX"
    assert not imu.check() and imu.resets == 0
    want = bytes(fake.regs[0x10:0x13])
    fake.brownout()  # powered down, defaults
    assert imu.check() and imu.resets == 1
    assert bytes(fake.regs[0x10:0x13]) == want
    clock.advance_ms(10)
    assert imu.read()


def test_lsm6dsox_read_allocates_nothing():
    regs = bytearray(256)
    regs[0x0F] = 0x6C
    bus = FakeI2CBus()
    bus.attach(0x6A, StaticDevice(regs, 0x22))
    imu = LSM6DSOX(bus)
    assert_no_alloc(imu.read)


def test_default_gyro_range_covers_a_tip_over():
    # +-1000 deg/s by default on both chips (issue 11: real fast rotations
    # exceed 500 deg/s and clipped at +-500).  Full scale from the driver's
    # own scale factors, and the range code written to the chip.
    _clock, bus, fake = _mpu()
    imu = MPU6050(bus)
    assert 32767 * imu.gyro_mdps_num // imu.gyro_mdps_den >= 999000
    assert (fake.regs[0x1B] >> 3) & 3 == 2
    _clock, bus, fake = _lsm()
    imu = LSM6DSOX(bus)
    assert 32767 * imu.gyro_mdps_num // imu.gyro_mdps_den >= 999000
    assert (fake.regs[0x11] >> 2) & 3 == 2
