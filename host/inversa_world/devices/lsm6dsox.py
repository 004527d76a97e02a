# Register-level fake of the ST LSM6DSOX, for the real driver
# (inversa.drivers.lsm6dsox) to run against in tests and the simulator.
#
# It answers the registers the driver uses: WHO_AM_I (0x0F = 0x6C),
# CTRL1_XL/CTRL2_G (0x10/0x11: output rate, ranges, LPF2 enable), CTRL3_C
# (0x12: SW_RESET self-clears), CTRL8_XL (0x17: LPF2 bandwidth) and the 12
# data bytes from OUTX_L_G (0x22: gyro x y z then accel x y z,
# little-endian).  Power-down (output rate 0) freezes the data.  Datasheet
# figures: accelerometer noise 70 ug/sqrt(Hz), gyro 3.8 mdps/sqrt(Hz), offsets
# up to +-20 mg and +-1 deg/s, sensitivity tolerance +-1 %.
#
# Usage: as FakeMPU6050 (see there), at address 0x6A.

import struct

from inversa_world.devices.imu_model import IMUChip

_DATA = 0x20  # OUT_TEMP_L, then gyro at 0x22 and accel at 0x28
_LE7 = "<7h"
_ODRS = (0, 12.5, 26, 52, 104, 208, 416, 833, 1666, 3333, 6666, 0, 0, 0, 0, 0)
_XL_FS_G = (2, 16, 4, 8)
_G_FS_DPS = (250, 500, 1000, 2000)
_LPF2_DIV = (4, 10, 20, 45, 100, 200, 400, 800)


class FakeLSM6DSOX(IMUChip):
    ACCEL_DENSITY_UG = 70.0
    GYRO_DENSITY_DPS = 0.0038
    ACCEL_OFFSET_MG = 20.0
    GYRO_OFFSET_DPS = 1.0
    SCALE_ERR_PCT = 1.0
    WHO_AM_I = 0x6C
    DRIFT_DPS = 0.01
    WHO_AM_I_REG = 0x0F
    DATA = _DATA
    DATA_END = 0x2E
    SAMPLE_FROM = 0x22  # the temperature alone takes no sample
    RESET_REG = 0x12  # CTRL3_C: SW_RESET
    RESET_BIT = 0x01
    CONFIG_FIRST = 0x10  # CTRL1_XL .. CTRL8_XL
    CONFIG_LAST = 0x17

    def _defaults(self, r):
        r[0x12] = 0x04  # IF_INC
        r[0x18] = 0xE0  # CTRL9_XL default

    def _awake(self):
        return self.powered

    def _reconfigure(self):
        r = self.regs
        xl_odr = _ODRS[r[0x10] >> 4]
        g_odr = _ODRS[r[0x11] >> 4]
        self.powered = xl_odr > 0 and g_odr > 0
        odr = min(xl_odr, g_odr) if self.powered else 104
        if r[0x10] & 0x02:  # LPF2 on: bandwidth ODR / div
            accel_bw = odr / _LPF2_DIV[r[0x17] >> 5]
        else:
            accel_bw = odr / 2
        gyro_bw = odr / 3  # LPF1 default, approximately
        xl_fs = _XL_FS_G[(r[0x10] >> 2) & 3]
        g_fs = 125 if r[0x11] & 0x02 else _G_FS_DPS[(r[0x11] >> 2) & 3]
        self._configure_model(
            1000.0 / (0.061 * xl_fs / 2), 1000.0 / (8.75 * g_fs / 250), accel_bw, gyro_bw, odr
        )

    def _store(self, ax, ay, az, gx, gy, gz):
        struct.pack_into(_LE7, self.regs, _DATA, 0, gx, gy, gz, ax, ay, az)
