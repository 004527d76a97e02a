# Tilt about the table's pivot axis from one accelerometer plane and one gyro
# axis: a complementary filter with a proportional-integral correction (a
# one-axis Mahony filter), so a constant gyro bias is estimated and removed
# instead of leaving a lag.  Integer fixed point throughout: angles in
# micro-degrees, rates in milli-degrees per second; no float anywhere in the
# step, nothing allocated.
#
# The gravity angle comes from the accelerometer *after* a linear low-pass
# (two cascaded first-order sections, -28 dB at 25 Hz at 100 Hz sampling).
# Filtering the vector components before atan2 matters: atan2 of a vibrating
# vector has a biased mean (the vibration is rectified), low-passing the
# components first does not.  The low-pass delays the gravity angle by six
# samples; the correction compares it with the estimate of six samples ago
# (the current one less the gyro's motion over that time), so moving at a
# steady rate leaves no lag.
#
# Usage (the front end does this every 10 ms):
#     est = TiltEstimator()
#     est.update(a_long, a_up, rate_mdps, dt_us)   # a_*: accel in any units
#     est.angle_cdeg, est.rate_cdps, est.faults     # with ~2**14 per g
#
# Axes (see docs/SENSING.md): a_long is the specific force along the bed
# towards the head, a_up perpendicular to the bed, rate_mdps the rate about
# the pivot axis, positive head-down.  theta = atan2(-a_long, a_up).

from inversa.compat import const
from inversa.sense.flags import TILT_DISAGREE, TILT_IMPLAUSIBLE, TILT_NOT_READY, TILT_VIBRATION
from inversa.sense.imath import atan2_udeg

_DEG180 = const(180000000)  # micro-degrees
_DEG360 = const(360000000)
_I_LIMIT = const(1 << 29)  # integral state clamp (= 26 deg/s of residual bias at 100 Hz)
_DISAGREE_UDEG = const(5000000)  # 5 deg between gyro path and gravity angle
_MAX_RATE_MDPS = const(60000)  # no inversion table turns at 60 deg/s


class TiltEstimator:
    """One-axis complementary filter with gyro-bias estimation (integers only).

    kp_shift: correction gain 2**-kp_shift per sample (7: time constant 1.28 s
    at 100 Hz); the integral gain is chosen for critical damping.
    one_g: accelerometer units per g in the a_* inputs (for plausibility).
    """

    def __init__(self, rate_hz=100, kp_shift=7, one_g=16384, zero_udeg=0):
        if not 1 <= kp_shift <= 12:
            raise ValueError("kp_shift must be within 1..12")
        if rate_hz < 10:
            raise ValueError("rate_hz must be >= 10")
        self.kp_shift = kp_shift
        # Critical damping: Ki = Kp**2 / 4 = 2**-(2*kp+2), applied as
        # (I >> ki_out) with I accumulating (e >> 5).
        self._ki_out = 2 * kp_shift + 2 - 5
        self.rate_hz = rate_hz
        self.zero_udeg = zero_udeg
        self.set_one_g(one_g)
        self._dt_max_us = 5 * 1000000 // rate_hz
        self.settle_samples = rate_hz  # 1 s of fast convergence after a restart
        self.restart()

    def set_one_g(self, one_g):
        if one_g < 256:
            raise ValueError("one_g must be >= 256 (scale the accelerometer up)")
        # The plausibility check works on values scaled to ~1024 per g.
        s = 0
        while (one_g >> s) > 2047:
            s += 1
        self._norm_shift = s
        g = one_g >> s
        self._n2_lo = g * g * 9 // 16  # |a| < 0.75 g
        self._n2_hi = g * g * 25 // 16  # |a| > 1.25 g
        self._vib_lim = one_g // 5  # mean |a_up - low-passed| > 0.05 g (4x scaled)
        self.one_g = one_g

    def restart(self):
        """Forget the state: the next update re-initialises from gravity."""
        self.angle_udeg = 0
        self.angle_cdeg = 0
        self.rate_cdps = 0
        self.faults = TILT_NOT_READY
        self._i = 0  # integral of the correction (bias estimate)
        self._f1l = self._f1u = self._f2l = self._f2u = 0
        self._vib = 0
        self._k4 = 0
        self._pfaults = 0
        self._settle = 0
        self._started = False
        self._bad_norm = 0
        self._disagree = 0
        self._rate_f = 0

    def set_bias_mdps(self, bias_mdps):
        """Preset the integral with a known residual gyro bias (mdps, + = reads high)."""
        # per-sample angle step in udeg = bias_mdps * 1000 / rate_hz
        self._i = -(bias_mdps * 1000 // self.rate_hz) << self._ki_out

    def bias_mdps(self):
        """The residual gyro bias the filter has learned (mdps, + = gyro reads high)."""
        return -((self._i >> self._ki_out) * self.rate_hz // 1000)

    def update(self, a_long, a_up, rate_mdps, dt_us):
        # -- accelerometer low-pass (state keeps 2 extra bits) ----------------
        a_long <<= 2
        a_up <<= 2
        if not self._started:
            self._f1l = self._f2l = a_long
            self._f1u = self._f2u = a_up
        f1l = self._f1l
        f1l += (a_long - f1l) >> 2
        self._f1l = f1l
        f1u = self._f1u
        f1u += (a_up - f1u) >> 2
        self._f1u = f1u
        f2l = self._f2l
        f2l += (f1l - f2l) >> 2
        self._f2l = f2l
        f2u = self._f2u
        f2u += (f1u - f2u) >> 2
        self._f2u = f2u
        g_ang = atan2_udeg(-f2l, f2u) - self.zero_udeg
        faults = 0

        # -- gyro propagation -------------------------------------------------
        if not -_MAX_RATE_MDPS <= rate_mdps <= _MAX_RATE_MDPS:
            faults = TILT_IMPLAUSIBLE
            rate_mdps = _MAX_RATE_MDPS if rate_mdps > 0 else -_MAX_RATE_MDPS
        if not 0 <= dt_us <= self._dt_max_us:
            dt_us = 0 if dt_us < 0 else self._dt_max_us
        # mdps * (10 us) = 1e-8 deg; /100 -> micro-degrees (rounded)
        inc = (rate_mdps * (dt_us // 10) + 50) // 100
        if self._started:
            ang = self.angle_udeg + inc
        else:
            ang = g_ang
            self._started = True

        # -- correction towards gravity, PI -----------------------------------
        # The low-pass delays the gravity angle by 6 samples: compare it with
        # where the estimate was then (the gyro says how far it has moved).
        e = g_ang - ang + 6 * inc
        if not -_DEG180 <= e <= _DEG180:
            e += _DEG360 if e < 0 else -_DEG360
        i = self._i
        if self._settle < self.settle_samples:
            self._settle += 1
            ang += e >> 3  # converge fast after a restart
            faults |= TILT_NOT_READY
        else:
            i += e >> 5
            if not -_I_LIMIT <= i <= _I_LIMIT:
                i = _I_LIMIT if i > 0 else -_I_LIMIT
            self._i = i
            ang += (e >> self.kp_shift) + (i >> self._ki_out)
        if not -_DEG180 < ang <= _DEG180:
            ang += _DEG360 if ang <= 0 else -_DEG360
        self.angle_udeg = ang
        self.angle_cdeg = (ang + 5000) // 10000

        # rate output: gyro less the learned bias, lightly smoothed (cdps)
        rf = self._rate_f
        rf += (rate_mdps + (i >> self._ki_out) * self.rate_hz // 1000 - rf) >> 2
        self._rate_f = rf
        self.rate_cdps = rf // 10

        # -- plausibility (every 4th sample; the verdict holds in between) ----
        k4 = self._k4 + 1
        if k4 < 4:
            self._k4 = k4
            self.faults = faults | self._pfaults
            return
        self._k4 = 0
        self._plausibility(f2l, f2u, a_up, e)
        self.faults = faults | self._pfaults

    def _plausibility(self, f2l, f2u, a_up, e):
        pf = 0
        s = self._norm_shift + 2
        nl = f2l >> s
        nu = f2u >> s
        n2 = nl * nl + nu * nu
        if n2 < self._n2_lo or n2 > self._n2_hi:
            self._bad_norm += 1
            if self._bad_norm >= 13:  # ~0.5 s at 100 Hz
                pf = TILT_IMPLAUSIBLE
        elif self._bad_norm:
            self._bad_norm = 0
        if e > _DISAGREE_UDEG or e < -_DISAGREE_UDEG:
            self._disagree += 1
            if self._disagree >= self.rate_hz >> 2:  # ~1 s
                pf |= TILT_DISAGREE
        elif self._disagree:
            self._disagree = 0
        d = a_up - f2u
        vib = self._vib
        vib += ((d if d >= 0 else -d) - vib) >> 2
        self._vib = vib
        if vib > self._vib_lim:
            pf |= TILT_VIBRATION
        self._pfaults = pf
