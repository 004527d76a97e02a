# What the two I2C IMU drivers (MPU6050, LSM6DSOX) share: the check of the
# ranges both chips have, the sample buffers, and the wait for a soft reset
# to finish.  read() stays in each driver: it decodes the chip's own register
# layout, and it runs every control period, where a call fewer counts.
#
# Interface shared by every IMU driver (MPU6050, LSM6DSOX, InjectedIMU):
#   read() -> True if the data changed since the previous read;
#   raw: 6 signed ints, accel x y z then gyro x y z, in LSB;
#   accel_mg_num / accel_mg_den, gyro_mdps_num / gyro_mdps_den: LSB -> mg, mdps;
#   full_scale: the LSB value at which a channel saturates (32767).
#
# Usage (in a driver):
#     class MPU6050(I2CIMU):
#         def __init__(self, i2c, address=ADDR, accel_range_g=2, gyro_range_dps=500):
#             check_ranges(accel_range_g, ACCEL_RANGES_G, gyro_range_dps, GYRO_RANGES_DPS)
#             I2CIMU.__init__(self, i2c, address, 14)    # 14-byte burst

from array import array

from inversa.drivers.i2cdev import I2CDevice


def check_ranges(accel_range_g, accel_ranges, gyro_range_dps, gyro_ranges):
    """ValueError unless accel_range_g (g) is in accel_ranges and
    gyro_range_dps (deg/s) in gyro_ranges (the chip's range tables: 2, 4, 8,
    16 g and 250, 500, 1000, 2000 deg/s on both chips)."""
    if accel_range_g not in accel_ranges:
        from inversa.error_text import text

        raise ValueError(text(13))
    if gyro_range_dps not in gyro_ranges:
        from inversa.error_text import text

        raise ValueError(text(14))


class I2CIMU(I2CDevice):
    """An I2CDevice with the IMU interface's sample: `raw` (6 ints), the
    burst buffer and the previous burst (`nbytes` each, compared by read()),
    full_scale 32767."""

    def __init__(self, i2c, address, nbytes):
        I2CDevice.__init__(self, i2c, address)
        self._buf = bytearray(nbytes)
        self._prev = bytearray(nbytes)
        self.raw = array("i", (0, 0, 0, 0, 0, 0))
        self.full_scale = 32767

    def _await_reset(self, reg, bit, wait_ms, sleep_ms, part):
        # Up to 20 reads of `reg` (each after sleep_ms(wait_ms) when sleep_ms
        # is given) until the soft-reset `bit` clears; OSError if it never does.
        for _ in range(20):
            if sleep_ms is not None:
                sleep_ms(wait_ms)
            if not self._read_u8(reg) & bit:
                return
        from inversa.error_text import text

        raise OSError(text(15, part))
