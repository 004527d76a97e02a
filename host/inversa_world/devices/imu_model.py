# The physics and error model shared by the IMU fakes (MPU-6050, LSM6DSOX),
# and their register file (IMUChip).
#
# Truth comes from the world each step through set_truth(angle_deg,
# rate_dps, vibration_g): the bed's inversion angle and rate about the pivot
# (see docs/SENSING.md for axes), and the amplitude of motor vibration.  A
# sample is generated when a data register is read and at least one output
# period has passed (otherwise the registers hold the last sample, as a real
# chip's do).  The sample is
#
#   specific force on the bed axes   gravity + the lever-arm acceleration of a
#                                    sensor `lever_m` from the pivot + vibration
#   -> mount (axis permutation and sign, plus a small random misalignment)
#   -> per-axis sensitivity error, offset, white noise of the datasheet
#      density over the configured bandwidth -> LSB, saturated to int16.
#
# Vibration is a sine near 25 Hz (random phase and frequency per seed),
# mostly perpendicular to the bed, attenuated by the chip's configured
# low-pass filter (first-order magnitude at that frequency); it also rocks
# the gyro a little.  Gyro offsets drift slowly (a sine of `drift_dps` over
# 10 minutes).  Noise comes from tables drawn once (4093 samples, prime,
# read with a stride that changes every lap: period ~16.7 million samples).

import math

from inversa.compat import ticks_diff
from inversa_world.rng import Rng

_NOISE_N = 4093
_DEG = math.pi / 180.0


class IMUModel:
    # datasheet figures; subclasses override
    ACCEL_DENSITY_UG = 400.0  # ug / sqrt(Hz)
    GYRO_DENSITY_DPS = 0.005  # (deg/s) / sqrt(Hz)
    ACCEL_OFFSET_MG = 50.0  # initial offset tolerance, uniform +-
    GYRO_OFFSET_DPS = 20.0
    SCALE_ERR_PCT = 3.0  # sensitivity tolerance (a 1-sigma of a third of it is drawn)

    def _init_model(
        self,
        clock,
        seed,
        mount,
        misalign_deg,
        lever_m,
        vib_hz,
        drift_dps,
        offsets,
        noise,
    ):
        self.clock = clock
        rng = Rng(seed)
        self._rng = rng
        la, ls, ua, us = mount
        if la == ua:
            raise ValueError("mount: long and up axes must differ")
        self.mount = mount
        pa = 3 - la - ua
        ps = us * ls * (1 if (la - ua) % 3 == 1 else -1)
        # bed axes (L, P, U) -> sensor axes, then a small misalignment
        r = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
        r[la][0] = float(ls)
        r[pa][1] = float(ps)
        r[ua][2] = float(us)
        m = misalign_deg * _DEG
        roll = rng.uniform_range(-m, m)  # about L
        yaw = rng.uniform_range(-m, m)  # about U
        cr, sr, cy, sy = math.cos(roll), math.sin(roll), math.cos(yaw), math.sin(yaw)
        # rot = Rz(yaw) * Rx(roll) in bed coordinates (x=L, y=P, z=U)
        rot = [
            [cy, -sy * cr, sy * sr],
            [sy, cy * cr, -cy * sr],
            [0.0, sr, cr],
        ]
        self._r = [[sum(r[i][k] * rot[k][j] for k in range(3)) for j in range(3)] for i in range(3)]
        self.misalign_deg = (roll / _DEG, yaw / _DEG)
        sig = self.SCALE_ERR_PCT / 300.0
        self.accel_scale_err = [max(-3 * sig, min(3 * sig, rng.gauss() * sig)) for _ in range(3)]
        self.gyro_scale_err = [max(-3 * sig, min(3 * sig, rng.gauss() * sig)) for _ in range(3)]
        if offsets:
            self.accel_offset_mg = [
                rng.uniform_range(-1, 1) * self.ACCEL_OFFSET_MG for _ in range(3)
            ]
            self.gyro_offset_dps = [
                rng.uniform_range(-1, 1) * self.GYRO_OFFSET_DPS for _ in range(3)
            ]
        else:
            self.accel_offset_mg = [0.0, 0.0, 0.0]
            self.gyro_offset_dps = [0.0, 0.0, 0.0]
        self._drift_amp = [drift_dps * rng.uniform_range(-1, 1) for _ in range(3)]
        self._drift_w = 2 * math.pi / 600.0
        self._drift_ph = rng.uniform() * 2 * math.pi
        self.vib_hz = vib_hz if vib_hz else rng.uniform_range(23.0, 27.0)
        self._vib_w = 2 * math.pi * self.vib_hz * 1e-6  # rad per us
        self._vib_ph = rng.uniform() * 2 * math.pi
        self.lever_m = lever_m
        self.noise = noise
        self._tabs = [rng.gauss_table(_NOISE_N) for _ in range(6)]
        self._j = rng.randint(0, _NOISE_N - 1)
        self._stride = rng.randint(1, 16)
        self._lap = 0
        # time and truth
        self._last_us = clock.ticks_us()
        self._t_us = 0  # elapsed virtual time, unbounded
        self._t_sample = -(10**9)
        self._angle = 0.0
        self._rate = 0.0
        self._vib = 0.0
        self._prev_t = 0
        self._c_angle = None
        self._c_rate = 0.0
        self._last_rate = 0.0
        self._c_s = 0.0
        self._c_c = 1.0
        self._cen = 0.0
        self._check = False
        self._base = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        self._lr = lever_m / 9.80665
        self._t_drift = 0
        self._ogx = self._ogy = self._ogz = 0.0
        self.stuck = False
        self.samples = 0

    # -- the world's side ---------------------------------------------------
    def set_truth(self, angle_deg, rate_dps, vibration_g=0.0):
        """Bed angle (deg, + head down), rate about the pivot (deg/s), vibration (g)."""
        self._angle = angle_deg
        self._rate = rate_dps
        self._vib = vibration_g

    def _advance(self):
        now = self.clock.ticks_us()
        d = now - self._last_us
        if d < 0 or d > 0x1FFFFFFF:
            d = ticks_diff(now, self._last_us)
        self._last_us = now
        self._t_us += d
        return self._t_us

    def _configure_model(self, accel_lsb_per_g, gyro_lsb_per_dps, accel_bw_hz, gyro_bw_hz, odr_hz):
        self.accel_bw_hz = accel_bw_hz
        self.gyro_bw_hz = gyro_bw_hz
        # rows: sensor axis i <- bed axes (L, P, U), in LSB per g / LSB per dps
        ea = self.accel_scale_err
        eg = self.gyro_scale_err
        r = self._r
        self._ma = [[r[i][j] * accel_lsb_per_g * (1 + ea[i]) for j in range(3)] for i in range(3)]
        self._mg = [r[i][1] * gyro_lsb_per_dps * (1 + eg[i]) for i in range(3)]
        self._oa = [self.accel_offset_mg[i] * accel_lsb_per_g / 1000.0 for i in range(3)]
        self._og = [self.gyro_offset_dps[i] * gyro_lsb_per_dps for i in range(3)]
        self._dg = [self._drift_amp[i] * gyro_lsb_per_dps for i in range(3)]
        self._g_lsb = gyro_lsb_per_dps
        if self.noise:
            na = self.ACCEL_DENSITY_UG * 1e-6 * math.sqrt(accel_bw_hz * math.pi / 2)
            ng = self.GYRO_DENSITY_DPS * math.sqrt(gyro_bw_hz * math.pi / 2)
        else:
            na = ng = 0.0
        self.accel_noise_g = na
        self.gyro_noise_dps = ng
        a = na * accel_lsb_per_g
        g = ng * gyro_lsb_per_dps
        # below these, no channel can leave int16 (so no saturation test)
        worst_a = max(abs(x) for x in self._oa) + 6 * a + 64
        self._vib_safe = (32767 - worst_a) / (accel_lsb_per_g * 1.1) - 1.2
        worst_g = max(abs(x) for x in self._og) + max(abs(x) for x in self._dg) + 6 * g
        self._rate_safe = (32767 - worst_g) / (gyro_lsb_per_dps * 1.1) - 2.0 * self._vib_safe
        tabs = self._tabs
        self._ntabs = [[v * (a if k < 3 else g) for v in tabs[k]] for k in range(6)]
        f = self.vib_hz
        self._vib_att = 1.0 / math.sqrt(1.0 + (f / accel_bw_hz) ** 2)
        self._rock = 2.0 / math.sqrt(1.0 + (f / gyro_bw_hz) ** 2)  # deg/s per g of vibration
        ma = self._ma
        va = [
            (0.30 * ma[i][0] + 0.15 * ma[i][1] + 0.94 * ma[i][2]) * self._vib_att for i in range(3)
        ]
        self._vcoef = tuple(va + [self._mg[i] * self._rock for i in range(3)])
        oa = self._oa
        mg = self._mg
        self._coef = (
            ma[0][0], ma[0][2], ma[1][0], ma[1][2], ma[2][0], ma[2][2],
            oa[0], oa[1], oa[2], mg[0], mg[1], mg[2],
        )  # fmt: skip
        self._c_angle = None  # recompute the noise-free part at the next sample
        self._t_drift = 0
        self._odr_us = 1e6 / odr_hz
        self.odr_hz = odr_hz

    def _sample(self):
        """Compute a new sample if an output period has passed; False if not."""
        now = self.clock.ticks_us()
        d = now - self._last_us
        if not 0 <= d <= 0x1FFFFFFF:
            d = ticks_diff(now, self._last_us)
        self._last_us = now
        t_us = self._t_us + d
        self._t_us = t_us
        if t_us - self._t_sample < self._odr_us or self.stuck:
            return False
        self._t_sample = t_us
        if self._angle != self._c_angle or self._rate != self._c_rate or t_us >= self._t_drift:
            self._rebase(t_us)
        j = self._j + self._stride
        if j >= _NOISE_N:
            j = self._lap_end(j)
        self._j = j
        t0, t1, t2, t3, t4, t5 = self._ntabs
        bx, by, bz, gx, gy, gz = self._base
        vib = self._vib
        if vib:
            ph = self._vib_w * t_us + self._vib_ph
            v = vib * math.sin(ph)
            r = vib * math.cos(ph)
            va0, va1, va2, vg0, vg1, vg2 = self._vcoef
            ax = round(bx + v * va0 + t0[j])
            ay = round(by + v * va1 + t1[j])
            az = round(bz + v * va2 + t2[j])
            gx = round(gx + r * vg0 + t3[j])
            gy = round(gy + r * vg1 + t4[j])
            gz = round(gz + r * vg2 + t5[j])
            if vib > self._vib_safe:
                self._check = True
        else:
            ax = round(bx + t0[j])
            ay = round(by + t1[j])
            az = round(bz + t2[j])
            gx = round(gx + t3[j])
            gy = round(gy + t4[j])
            gz = round(gz + t5[j])
        self.samples += 1
        if self._check:  # might be out of range: saturate as the chip's registers do
            ax, ay, az, gx, gy, gz = _sat(ax), _sat(ay), _sat(az), _sat(gx), _sat(gy), _sat(gz)
        self._store(ax, ay, az, gx, gy, gz)
        return True

    def _rebase(self, t_us):
        # The noise-free part of each channel for the current truth, recomputed
        # only when the truth moved (or the offsets drifted).  Vibration along
        # (0.30, 0.15, 0.94) on (L, P, U): mostly perpendicular to the bed.
        angle = self._angle
        rate = self._rate
        if angle != self._c_angle:
            th = angle * _DEG
            self._c_s = math.sin(th)
            self._c_c = math.cos(th)
            self._c_angle = angle
        tan = 0.0
        if rate != self._last_rate:  # lever arm: tangential and centripetal acceleration
            dt = t_us - self._prev_t
            w = rate * _DEG
            if self.samples and dt > 0:  # (no history at the first sample)
                tan = self._lr * (w - self._last_rate * _DEG) / (dt * 1e-6)
            self._cen = self._lr * w * w
            self._last_rate = rate
        self._prev_t = t_us
        self._c_rate = rate if not tan else None  # a jolt lasts one sample
        if t_us >= self._t_drift:
            self._update_drift(t_us)
        f_l = -self._c_s - self._cen
        f_u = self._c_c - tan
        m00, m02, m10, m12, m20, m22, o0, o1, o2, g0, g1, g2 = self._coef
        self._base = (
            m00 * f_l + m02 * f_u + o0,
            m10 * f_l + m12 * f_u + o1,
            m20 * f_l + m22 * f_u + o2,
            g0 * rate + self._ogx,
            g1 * rate + self._ogy,
            g2 * rate + self._ogz,
        )
        self._check = not (-0.15 < tan < 0.15) or not (-self._rate_safe < rate < self._rate_safe)

    def _lap_end(self, j):
        j -= _NOISE_N
        self._lap += 1
        if self._lap == _NOISE_N:
            self._lap = 0
            self._stride = self._stride % 16 + 1
        return j

    def _update_drift(self, t_us):
        self._t_drift = t_us + 1000000  # once a second
        drift = math.sin(self._drift_w * t_us * 1e-6 + self._drift_ph)
        og = self._og
        dg = self._dg
        self._ogx = og[0] + dg[0] * drift
        self._ogy = og[1] + dg[1] * drift
        self._ogz = og[2] + dg[2] * drift

    def true_gyro_bias_dps(self):
        """The gyro offsets now (deg/s, sensor axes), drift included."""
        t = self._t_us * 1e-6
        drift = math.sin(self._drift_w * t + self._drift_ph)
        return [self.gyro_offset_dps[i] + self._drift_amp[i] * drift for i in range(3)]


class IMUChip(IMUModel):
    """The register file and bus side both IMU fakes share: 128 registers,
    WHO_AM_I and the data registers read-only, a reset bit that restores the
    power-on values, configuration registers that reshape the model, and a
    read of the data registers that takes a fresh sample while the chip is
    awake.  A subclass gives the register map (the class attributes), its
    power-on values (_defaults), _awake, _reconfigure and _store."""

    WHO_AM_I = 0  # the part's own ID (the default of who_am_i)
    DRIFT_DPS = 0.0  # the default of drift_dps
    WHO_AM_I_REG = 0
    DATA = 0  # the data registers: DATA .. DATA_END - 1 (read-only)
    DATA_END = 0
    SAMPLE_FROM = 0  # a read reaching past this register takes a fresh sample
    RESET_REG = 0  # writing RESET_BIT here resets the chip (the bit self-clears)
    RESET_BIT = 0
    CONFIG_FIRST = 0  # a write touching CONFIG_FIRST .. CONFIG_LAST reconfigures
    CONFIG_LAST = 0

    def __init__(
        self,
        clock,
        seed=1,
        who_am_i=None,
        mount=(0, 1, 2, 1),
        misalign_deg=2.0,
        lever_m=0.5,
        vib_hz=None,
        drift_dps=None,
        offsets=True,
        noise=True,
    ):
        self.regs = bytearray(128)
        self.who_am_i = self.WHO_AM_I if who_am_i is None else who_am_i
        if drift_dps is None:
            drift_dps = self.DRIFT_DPS
        self._init_model(
            clock, seed, mount, misalign_deg, lever_m, vib_hz, drift_dps, offsets, noise
        )
        self._power_on()

    def _power_on(self):
        r = self.regs
        for i in range(128):
            r[i] = 0
        r[self.WHO_AM_I_REG] = self.who_am_i
        self._defaults(r)
        self._reconfigure()

    def brownout(self):
        """The chip reset itself (supply dip): registers at their power-on values."""
        self._power_on()

    # -- bus side -------------------------------------------------------
    def readfrom_mem_into(self, memaddr, buf):
        n = len(buf)
        if memaddr < self.DATA_END and memaddr + n > self.SAMPLE_FROM and self._awake():
            self._sample()
        buf[:] = self.regs[memaddr : memaddr + n]

    def writeto_mem(self, memaddr, buf):
        r = self.regs
        for i in range(len(buf)):
            a = memaddr + i
            if a == self.WHO_AM_I_REG or self.DATA <= a < self.DATA_END:
                continue  # read-only
            r[a] = buf[i]
            if a == self.RESET_REG and buf[i] & self.RESET_BIT:
                self._power_on()  # defaults, the reset bit self-clears
        if memaddr <= self.CONFIG_LAST and memaddr + len(buf) > self.CONFIG_FIRST:
            self._reconfigure()


def _sat(v):
    # saturate to int16, as the chip's output registers do
    if v > 32767:
        return 32767
    if v < -32768:
        return -32768
    return v
