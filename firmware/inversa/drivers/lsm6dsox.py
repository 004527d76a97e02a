# STMicroelectronics LSM6DSOX accelerometer + gyroscope over I2C.
#
# Gyroscope and accelerometer are read in one 12-byte burst (OUTX_L_G ..
# OUTZ_H_A) with block data update on, so the six values belong to the same
# sample.  Buffers are allocated once; `read()` allocates nothing on
# MicroPython.
#
# Usage:
#     from machine import I2C, Pin
#     from inversa.drivers.lsm6dsox import LSM6DSOX
#     imu = LSM6DSOX(I2C(0, scl=Pin(5), sda=Pin(4), freq=400000), odr_hz=208)
#     imu.read()                     # raises OSError on a bus error
#     ax, ay, az, gx, gy, gz = imu.raw   # signed LSB
#
# The IMU drivers' interface (inversa.drivers.imu, see there).  The output
# rate must stay above the 100 Hz control rate, or consecutive reads return
# the same sample and look stuck: 208 Hz is the default.  The gyro range
# defaults to +-1000 deg/s so that a tip-over of a manual table is measured,
# not clipped (real fast rotations exceed 500 deg/s: BROAD trial 09 clips
# 2.7 % of its samples at +-500, see docs/SENSING.md); 35 mdps per LSB is
# still finer than the gyro's noise.  A chip that resets itself comes back powered down: `check()`
# finds CTRL1_XL/CTRL2_G/CTRL3_C at their reset values, re-initialises it and
# counts it in `resets`; `chip` names the part (for `doctor`).

import struct

from inversa.compat import IS_MICROPYTHON, const
from inversa.drivers.imu import I2CIMU, check_ranges

ADDR = const(0x6A)  # SA0 low; 0x6B with SA0 high
WHO_AM_I_VALUE = const(0x6C)

_WHO_AM_I = const(0x0F)
_CTRL1_XL = const(0x10)
_CTRL2_G = const(0x11)
_CTRL3_C = const(0x12)
_CTRL8_XL = const(0x17)
_OUTX_L_G = const(0x22)

_SW_RESET = const(0x01)
_BDU_IF_INC = const(0x44)  # block data update + register address auto-increment
_LPF2_XL_EN = const(0x02)

ODRS_HZ = (0, 12, 26, 52, 104, 208, 416, 833, 1666)  # index = ODR code (12 = 12.5 Hz)
ACCEL_RANGES_G = (2, 16, 4, 8)  # index = FS_XL code
GYRO_RANGES_DPS = (250, 500, 1000, 2000)  # index = FS_G code
# Accelerometer LPF2 bandwidth = ODR / div; index = HPCF_XL code.
ACCEL_LPF_DIVS = (4, 10, 20, 45, 100, 200, 400, 800)

_LE = "<hhhhhh"  # CPython path only (MicroPython would allocate a tuple)


class LSM6DSOX(I2CIMU):
    """ST LSM6DSOX IMU on I2C (datasheet DS12814).  Sample: raw = [ax,
    ay, az, gx, gy, gz] in counts at the configured ranges (full_scale =
    32767 counts at accel_range_g g and gyro_range_dps deg/s).  OSError if
    WHO_AM_I is not 0x6C, the chip does not come out of reset or does not
    keep its configuration; ValueError for a setting the chip does not
    have."""

    def __init__(
        self,
        i2c,
        address=ADDR,
        accel_range_g=2,
        gyro_range_dps=1000,
        odr_hz=208,
        accel_lpf_div=20,
        sleep_ms=None,
    ):
        check_ranges(accel_range_g, ACCEL_RANGES_G, gyro_range_dps, GYRO_RANGES_DPS)
        if odr_hz not in ODRS_HZ or odr_hz < 104:
            from inversa.error_text import text

            raise ValueError(text(40))
        if accel_lpf_div not in ACCEL_LPF_DIVS:
            from inversa.error_text import text

            raise ValueError(text(41))
        I2CIMU.__init__(self, i2c, address, 12)

        who = self._read_u8(_WHO_AM_I)
        if who != WHO_AM_I_VALUE:
            from inversa.error_text import text

            raise OSError(text(42, address, who))
        self.who_am_i = who
        self.chip = "LSM6DSOX"
        self._chk = bytearray(3)
        self._write_u8(_CTRL3_C, self._read_u8(_CTRL3_C) | _SW_RESET)
        self._await_reset(_CTRL3_C, _SW_RESET, 1, sleep_ms, "LSM6DSOX")
        odr = ODRS_HZ.index(odr_hz)
        xl = (odr << 4) | (ACCEL_RANGES_G.index(accel_range_g) << 2) | _LPF2_XL_EN
        g = (odr << 4) | (GYRO_RANGES_DPS.index(gyro_range_dps) << 2)
        self._want = bytes((xl, g, _BDU_IF_INC))  # CTRL1_XL, CTRL2_G, CTRL3_C
        self._lpf = ACCEL_LPF_DIVS.index(accel_lpf_div) << 5
        self._configure()
        if self._read_u8(_CTRL1_XL) != xl:
            from inversa.error_text import text

            raise OSError(text(43))
        self.rate_hz = odr_hz
        self.accel_lpf_hz = odr_hz // accel_lpf_div
        # Datasheet sensitivities: 0.061 mg/LSB at +-2 g, 8.75 mdps/LSB at +-250 deg/s.
        self.accel_mg_num = 61 * accel_range_g // 2
        self.accel_mg_den = 1000
        self.gyro_mdps_num = 7 * gyro_range_dps // 2
        self.gyro_mdps_den = 100
        if IS_MICROPYTHON:  # the class's: the plain read's code is freed (no bound method kept)
            LSM6DSOX.read = LSM6DSOX._read_mpy  # pyright: ignore[reportAttributeAccessIssue]

    def _configure(self):
        w = self._want
        self._write_u8(_CTRL3_C, w[2])
        self._write_u8(_CTRL8_XL, self._lpf)
        self._write_u8(_CTRL1_XL, w[0])
        self._write_u8(_CTRL2_G, w[1])

    def _config_lost(self):
        # after a reset the chip is powered down (CTRL1_XL = CTRL2_G = 0)
        c = self._chk
        self.i2c.readfrom_mem_into(self.address, _CTRL1_XL, c)
        w = self._want
        return not (c[0] == w[0] and c[1] == w[1] and c[2] & 0x44 == 0x44)

    def read(self):
        """Burst-read one sample into `raw`; True if it differs from the last one."""
        self._buf, self._prev = self._prev, self._buf
        b = self._buf
        self.i2c.readfrom_mem_into(self.address, _OUTX_L_G, b)
        r = self.raw
        r[3], r[4], r[5], r[0], r[1], r[2] = struct.unpack_from(_LE, b)
        return b != self._prev

    def _read_mpy(self):
        self._buf, self._prev = self._prev, self._buf
        b = self._buf
        self.i2c.readfrom_mem_into(self.address, _OUTX_L_G, b)
        r = self.raw
        r[3] = ((b[1] << 8 | b[0]) ^ 0x8000) - 0x8000
        r[4] = ((b[3] << 8 | b[2]) ^ 0x8000) - 0x8000
        r[5] = ((b[5] << 8 | b[4]) ^ 0x8000) - 0x8000
        r[0] = ((b[7] << 8 | b[6]) ^ 0x8000) - 0x8000
        r[1] = ((b[9] << 8 | b[8]) ^ 0x8000) - 0x8000
        r[2] = ((b[11] << 8 | b[10]) ^ 0x8000) - 0x8000
        return b != self._prev
