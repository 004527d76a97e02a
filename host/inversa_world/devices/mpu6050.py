# Register-level fake of the InvenSense MPU-6050, for the real driver
# (inversa.drivers.mpu6050) to run against in tests and the simulator.
#
# It answers exactly the registers the driver uses: WHO_AM_I (0x75),
# PWR_MGMT_1 (0x6B: DEVICE_RESET self-clears, SLEEP after reset),
# SMPLRT_DIV/CONFIG/GYRO_CONFIG/ACCEL_CONFIG (0x19-0x1C: rate, DLPF, ranges,
# all of which shape the model), and the 14 data bytes from ACCEL_XOUT_H
# (0x3B), big-endian.  Datasheet figures: accelerometer noise 400 ug/sqrt(Hz),
# gyro 0.005 deg/s/sqrt(Hz), offsets up to +-50 mg and +-20 deg/s,
# sensitivity tolerance +-3 %.
#
# Usage:
#     bus = FakeI2CBus(); fake = bus.attach(0x68, FakeMPU6050(clock, seed=3))
#     imu = MPU6050(bus)
#     fake.set_truth(angle_deg=30.0, rate_dps=0.0, vibration_g=0.3)
#     fake.stuck = True          # registers freeze (a hung sensor)
#     fake.brownout()            # the chip resets itself: asleep, data frozen
#
# who_am_i picks the part: 0x68 an MPU-6050; any other value a 6500-class
# chip (MPU-6500/9250/9255, ICM-206xx): its accelerometer low-pass is
# ACCEL_CONFIG2 (0x1D; reset value = 218 Hz, whatever CONFIG says), and it
# comes out of reset awake (PWR_MGMT_1 0x01; the ICM-206xx asleep, 0x41)
# with default ranges, so a reset it went through is only visible in the
# configuration registers.
#
# Mount: (long axis, long sign, up axis, up sign) of the sensor on the bed;
# the default (0, 1, 2, 1) is x towards the head, z up.

import struct

from inversa_world.devices.imu_model import IMUChip

_DATA = 0x3B
_BE7 = ">7h"
_TEMP_RAW = int((25.0 - 36.53) * 340)  # 25 degC


class FakeMPU6050(IMUChip):
    WHO_AM_I = 0x68
    DRIFT_DPS = 0.05
    WHO_AM_I_REG = 0x75
    DATA = _DATA
    DATA_END = 0x49
    SAMPLE_FROM = _DATA
    RESET_REG = 0x6B  # PWR_MGMT_1: DEVICE_RESET
    RESET_BIT = 0x80
    CONFIG_FIRST = 0x19  # SMPLRT_DIV .. ACCEL_CONFIG2
    CONFIG_LAST = 0x1D

    def _defaults(self, r):
        # After a power-on or reset (brownout() too): an MPU-6050 asleep with
        # its data frozen at 0; a 6500-class chip awake at +-2 g, +-250 deg/s,
        # filters wide open.
        w = self.who_am_i
        if w == 0x68 or w >= 0x98 or w in (0x11, 0x12):
            r[0x6B] = 0x40 | (0 if w == 0x68 else 1)  # asleep after power-on/reset
        else:
            r[0x6B] = 0x01  # MPU-6500/9250/9255...: awake, default configuration

    def _awake(self):
        return not self.regs[0x6B] & 0x40

    def _reconfigure(self):
        r = self.regs
        dlpf = r[0x1A] & 7
        accel_bw = (260, 184, 94, 44, 21, 10, 5, 260)[dlpf]
        if self.who_am_i != 0x68:  # 6500 class: ACCEL_CONFIG2 sets the accelerometer's
            a2 = r[0x1D]
            accel_bw = 1046 if a2 & 8 else (218, 218, 99, 45, 21, 10, 5, 420)[a2 & 7]
        gyro_bw = (256, 188, 98, 42, 20, 10, 5, 256)[dlpf]
        base = 8000 if dlpf in (0, 7) else 1000
        gyro_odr = base / (1 + r[0x19])
        odr = min(gyro_odr, 1000.0)  # the accelerometer runs at 1 kHz at most
        afs = (r[0x1C] >> 3) & 3
        gfs = (r[0x1B] >> 3) & 3
        self._configure_model(16384 >> afs, 131.0 / (1 << gfs), accel_bw, gyro_bw, odr)

    @property
    def asleep(self):
        return bool(self.regs[0x6B] & 0x40)

    def _store(self, ax, ay, az, gx, gy, gz):
        struct.pack_into(_BE7, self.regs, _DATA, ax, ay, az, _TEMP_RAW, gx, gy, gz)
