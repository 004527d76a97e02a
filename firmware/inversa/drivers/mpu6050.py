# InvenSense MPU-6050 accelerometer + gyroscope over I2C, and the
# register-compatible chips sold on "MPU-6050" boards (MPU-6500 class).
#
# Chips accepted (WHO_AM_I, as in the datasheets and Linux's inv_mpu6050
# driver, drivers/iio/imu/inv_mpu6050/inv_mpu_iio.h): 0x68 MPU-6050 (also
# MPU-6000, MPU-9150), 0x70 MPU-6500, 0x71 MPU-9250, 0x73 MPU-9255, 0x74
# MPU-6515, 0x78 MPU-6880, 0x11 ICM-20600, 0x12 ICM-20602, 0xAF ICM-20608,
# 0xAE ICM-20608-D, 0xA6 ICM-20609, 0x98 ICM-20689, 0xA9 IAM-20680.  They share
# the data layout (0x3B.., big-endian), the ranges, PWR_MGMT_1, CONFIG (gyro
# low-pass), GYRO_CONFIG and ACCEL_CONFIG.  The difference that matters: on
# the 6500 class the accelerometer's low-pass is ACCEL_CONFIG2 (0x1D,
# A_DLPF_CFG; at its reset value the bandwidth is 218 Hz, so motor vibration
# would alias in), and PWR_MGMT_1 resets to 0x01 (awake) instead of 0x40.
# `who_am_i` is the part found (inversa.chip_names.mpu6050_chip names it).
#
# A chip that resets itself (a supply dip) comes back asleep (MPU-6050) or
# awake with default ranges and filters (6500 class): `check()` reads the
# power and configuration registers back, re-initialises the chip if they are
# at their power-on values, counts it in `resets` and returns True.  An
# MPU-6050's data then stop (the front end checks at once); a 6500-class
# chip's go on at +-250 deg/s, 4x the rate read at +-1000, until the next
# check (1 s): 9-30 deg off while ok (sensattack).  So on the 6500 class the
# burst starts 3 registers early, at INT_ENABLE (0x38, 0 after a reset), set
# to _MARK here: a sample without the mark is not taken (read() says "not
# changed"; ten in a row are "stuck", and the front end's check re-initialises
# the chip).  It costs 3 bytes on the bus (~68 us at 400 kHz) on those chips.
#
# Accelerometer and gyroscope are read in one 14-byte burst (ACCEL_XOUT_H ..
# GYRO_ZOUT_L), so the six values always belong to the same sample.  Buffers
# are allocated once; `read()` allocates nothing on MicroPython.
#
# Usage:
#     from machine import I2C, Pin
#     from inversa.drivers.mpu6050 import MPU6050
#     imu = MPU6050(I2C(0, scl=Pin(5), sda=Pin(4), freq=400000), dlpf_hz=10)
#     imu.read()                     # raises OSError on a bus error
#     ax, ay, az, gx, gy, gz = imu.raw   # signed LSB
#     mg = imu.raw[0] * imu.accel_mg_num // imu.accel_mg_den
#
# Interface shared by every IMU driver: see inversa.drivers.imu.

import struct

from inversa.compat import IS_MICROPYTHON, const
from inversa.drivers.imu import I2CIMU, check_ranges

ADDR = const(0x68)  # AD0 low; 0x69 with AD0 high
WHO_AM_I_VALUE = const(0x68)
# The WHO_AM_I codes accepted; every part but the MPU-6050 family has
# ACCEL_CONFIG2.  Their part names are host-side (inversa/chip_names.py): on
# the board they were a dozen interned names that nothing there reads.
# A list, not a tuple: built when the module is imported and dropped after
# the boot (settle.BOOT_METHODS); a constant tuple would stay in the
# module's constant table for good (issue 10 item 4).
CHIP_IDS = [0x68, 0x70, 0x71, 0x73, 0x74, 0x78, 0x11, 0x12, 0xAF, 0xAE, 0xA6, 0x98, 0xA9]

_SMPLRT_DIV = const(0x19)
_CONFIG = const(0x1A)
_GYRO_CONFIG = const(0x1B)
_ACCEL_CONFIG = const(0x1C)
_ACCEL_CONFIG2 = const(0x1D)  # 6500 class only: accelerometer low-pass
_INT_ENABLE = const(0x38)  # 6500 class: the burst starts here (the mark)
_MARK = const(0x10)  # FIFO_OFLOW_EN: the FIFO is off, so the INT pin stays quiet
_ACCEL_XOUT_H = const(0x3B)
_PWR_MGMT_1 = const(0x6B)
_WHO_AM_I = const(0x75)

_DEVICE_RESET = const(0x80)
_SLEEP = const(0x40)
_CLK_PLL_XGYRO = const(0x01)


_BE = ">hhhhhhh"  # CPython path only (MicroPython would allocate a tuple)

try:  # MicroPython with a native emitter: the viper twin of _read_mpy
    from inversa.drivers.native import read as _read_v
except (ImportError, SyntaxError, ValueError):  # none, or a .mpy for another arch
    _read_v = None


class MPU6050(I2CIMU):
    """InvenSense MPU-6050 / MPU-6500-class IMU on I2C (datasheets: MPU-6000/
    MPU-6050 Product Specification rev 3.4, Register Map rev 4.2; MPU-6500
    Register Map rev 2.1).  Sample: raw = [ax, ay, az, gx, gy, gz] in counts
    at the configured ranges (full_scale = 32767 counts at accel_range_g g
    and gyro_range_dps deg/s).  OSError if no supported chip answers
    (WHO_AM_I in CHIP_IDS) or it does not come out of reset; ValueError for a
    range, filter or rate the chip does not have.  The gyro range defaults
    to +-1000 deg/s: a tip-over is measured, not clipped (docs/SENSING.md)."""

    def __init__(
        self,
        i2c,
        address=ADDR,
        accel_range_g=2,
        gyro_range_dps=1000,
        dlpf_hz=10,
        rate_hz=1000,
        sleep_ms=None,
    ):
        # The chip's tables, index = register code: lists built here, so they
        # go with __init__ after the boot (constant tuples would stay in the
        # module's constant table as long as read: issue 10 item 4).
        # Full-scale ranges; sensitivities from the datasheet.
        accel_g = [2, 4, 8, 16]  # 16384, 8192, 4096, 2048 LSB/g
        gyro_dps = [250, 500, 1000, 2000]  # 131, 65.5, 32.8, 16.4 LSB/(deg/s)
        # DLPF_CFG 1..6: accelerometer bandwidth (Hz); gyro is within 2 Hz of
        # it.  6500 class, ACCEL_CONFIG2 A_DLPF_CFG 0..6: 218, 218, 99, 45,
        # 21, 10, 5 Hz (the same codes as CONFIG give the nearest bandwidths).
        dlpf = [260, 184, 94, 44, 21, 10, 5]
        check_ranges(accel_range_g, accel_g, gyro_range_dps, gyro_dps)
        if dlpf_hz not in dlpf:
            from inversa.error_text import text

            raise ValueError(text(9))
        # Output rate = 1 kHz / (1 + SMPLRT_DIV) with the DLPF on (8 kHz off).
        base = 8000 if dlpf_hz == 260 else 1000
        if rate_hz < 4 or base % rate_hz or base // rate_hz > 256:
            from inversa.error_text import text

            raise ValueError(text(10, base, base // 256))
        I2CIMU.__init__(self, i2c, address, 14)

        who = self._read_u8(_WHO_AM_I)
        if who not in CHIP_IDS:
            from inversa.error_text import text

            raise OSError(text(11, address, who))
        self.who_am_i = who
        self._chk = bytearray(4)
        # bytes before ACCEL_XOUT_H in the burst: 3 on the 6500 class (from
        # INT_ENABLE, the mark), none on an MPU-6050 (data stop after a reset)
        self._o = 0
        if who != WHO_AM_I_VALUE:
            self._o = 3
            self._buf = bytearray(17)
            self._prev = bytearray(17)
        self._write_u8(_PWR_MGMT_1, _DEVICE_RESET)
        self._await_reset(_PWR_MGMT_1, _DEVICE_RESET, 10, sleep_ms, "MPU-6050")
        cfg = 0 if dlpf_hz == 260 else dlpf.index(dlpf_hz)
        # what CONFIG, GYRO_CONFIG, ACCEL_CONFIG must hold (check() compares)
        self._want = bytes(
            (
                cfg,
                gyro_dps.index(gyro_range_dps) << 3,
                accel_g.index(accel_range_g) << 3,
            )
        )
        self._div = base // rate_hz - 1
        self._configure()
        if self._read_u8(_CONFIG) & 7 != cfg:
            from inversa.error_text import text

            raise OSError(text(12))
        # mg = raw * num // den ; mdps = raw * num // den (exact datasheet ratios)
        self.accel_mg_num = 125 * accel_range_g  # 16384 LSB/g at +-2 g
        self.accel_mg_den = 4096
        self.gyro_mdps_num = 4 * gyro_range_dps  # 131 LSB/(deg/s) at +-250 deg/s
        self.gyro_mdps_den = 131
        if IS_MICROPYTHON:  # the class's: the plain read's code is freed (no bound method kept)
            MPU6050.read = MPU6050._read_mpy if _read_v is None else _read_v  # pyright: ignore[reportAttributeAccessIssue]

    def _configure(self):
        w = self._want
        self._write_u8(_PWR_MGMT_1, _CLK_PLL_XGYRO)  # wake, PLL clock
        self._write_u8(_CONFIG, w[0])
        self._write_u8(_SMPLRT_DIV, self._div)
        self._write_u8(_GYRO_CONFIG, w[1])
        self._write_u8(_ACCEL_CONFIG, w[2])
        if self._o:
            self._write_u8(_ACCEL_CONFIG2, w[0])  # the accelerometer's low-pass too
            self._write_u8(_INT_ENABLE, _MARK)  # gone after a reset: read() sees it

    def _config_lost(self):
        # asleep again, or the rate/filter/ranges back at power-on values
        c = self._chk
        self.i2c.readfrom_mem_into(self.address, _SMPLRT_DIV, c)  # .. ACCEL_CONFIG
        w = self._want
        return not (
            not self._read_u8(_PWR_MGMT_1) & _SLEEP
            and c[0] == self._div
            and c[1] & 7 == w[0]
            and c[2] & 0x18 == w[1]
            and c[3] & 0x18 == w[2]
        )

    def read(self):
        """Burst-read one sample into `raw`; True if it differs from the last one
        (False too for a 6500-class chip that lost its mark: it reset)."""
        # CPython (simulator): one C call decodes everything.
        self._buf, self._prev = self._prev, self._buf
        b = self._buf
        o = self._o
        self.i2c.readfrom_mem_into(self.address, _ACCEL_XOUT_H - o, b)
        b[o + 6] = b[o + 7] = 0  # the temperature: it changes while the data froze
        r = self.raw
        r[0], r[1], r[2], _, r[3], r[4], r[5] = struct.unpack_from(_BE, b, o)
        if o and b[0] != _MARK:
            return False
        return b != self._prev

    _read_v = _read_v  # drivers/native.py's read (a method here), or None

    def _read_mpy(self):
        # MicroPython: unpack_from would allocate a tuple; decode by hand.
        # The plain twin of drivers/native.py's read (the reference, and the
        # method where there is no native emitter).
        self._buf, self._prev = self._prev, self._buf
        b = self._buf
        o = self._o
        self.i2c.readfrom_mem_into(self.address, _ACCEL_XOUT_H - o, b)
        # The temperature is not compared: it goes on changing while the
        # data registers froze (review attack6: never "stuck").
        b[o + 6] = b[o + 7] = 0
        r = self.raw
        r[0] = ((b[o] << 8 | b[o + 1]) ^ 0x8000) - 0x8000
        r[1] = ((b[o + 2] << 8 | b[o + 3]) ^ 0x8000) - 0x8000
        r[2] = ((b[o + 4] << 8 | b[o + 5]) ^ 0x8000) - 0x8000
        r[3] = ((b[o + 8] << 8 | b[o + 9]) ^ 0x8000) - 0x8000
        r[4] = ((b[o + 10] << 8 | b[o + 11]) ^ 0x8000) - 0x8000
        r[5] = ((b[o + 12] << 8 | b[o + 13]) ^ 0x8000) - 0x8000
        if o and b[0] != _MARK:
            return False
        return b != self._prev
