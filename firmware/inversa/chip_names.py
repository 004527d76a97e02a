# Part names of the IMU chips the MPU-6050 driver accepts, keyed by their
# WHO_AM_I code (inversa.drivers.mpu6050.CHIP_IDS), for the host and the
# tests.  The board never imports this module: there the names were a dozen
# interned strings (never freed) that nothing on the board reads (issue 10).
# A code added to CHIP_IDS gets its name here (tests/mpy/test_drv_imu.py).
#
# Usage (host):
#     from inversa.chip_names import mpu6050_chip
#     mpu6050_chip(imu.who_am_i)   # "MPU-6500"

MPU6050_CHIPS = {
    0x68: "MPU-6050",
    0x70: "MPU-6500",
    0x71: "MPU-9250",
    0x73: "MPU-9255",
    0x74: "MPU-6515",
    0x78: "MPU-6880",
    0x11: "ICM-20600",
    0x12: "ICM-20602",
    0xAF: "ICM-20608",
    0xAE: "ICM-20608-D",
    0xA6: "ICM-20609",
    0x98: "ICM-20689",
    0xA9: "IAM-20680",
}


def mpu6050_chip(who_am_i):
    """The part name for an MPU-6050-class WHO_AM_I code ("0x.." if unknown)."""
    return MPU6050_CHIPS.get(who_am_i, "0x%02x" % who_am_i)
