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
# Validity (docs/SENSING.md section 4): a turn faster than 60 deg/s about any
# of the three gyro axes clears validity (TILT_FAST_MOTION: the lever-arm
# acceleration of a fast turn and its sudden stop corrupt the gravity angle);
# the correction keeps running at
# the tracking gain meanwhile (a gyro scale error over a long turn is
# otherwise never corrected until it ends), the bias is not learned.
# Gravity more than 2 deg from the gyro path (5 deg while turning faster than
# 10 deg/s) is not used; if that lasts 0.5 s (1 s) validity is cleared
# (TILT_DISAGREE: a linear acceleration, or a gyro fault).  After either, the
# estimate is pulled to gravity quickly once the table is still with |a|
# near 1 g (after a disagreement while still it is first held on the gyro
# path for up to 30 s, since gravity is the suspect); while it still moves,
# gravity carries the motion's acceleration and is followed at the tracking
# gain only,
# and stays untrusted (TILT_RECOVERING) until the two agree within 0.3 deg for
# 0.5 s with |a| (all three axes) within 5 % of 1 g.  The gyro bias is learned only while
# tracking, while gravity says the table is still and the two agree within
# 1 deg (anti-windup), and is clamped to +-8 deg/s, so a lost rotation is
# never learned as bias and the rate output stays right.
#
# Usage (the front end does this every 10 ms):
#     est = TiltEstimator()
#     est.update(a_long, a_up, rate_mdps, dt_us,   # a_*: accel in any units
#                a_across, rate_long_mdps, rate_up_mdps)  # with ~2**14 per g
#     est.angle_cdeg, est.rate_cdps, est.faults
#
# Axes (see docs/SENSING.md): a_long is the specific force along the bed
# towards the head, a_up perpendicular to the bed, a_across along the pivot
# axis (long, across, up: a right-handed frame), rate_mdps the rate about the
# pivot axis, positive head-down, rate_long_mdps and rate_up_mdps the rates
# about the other two.  theta = atan2(-a_long, a_up).
#
# Rotations about the other two axes (a mount that is not square, a table
# that twists, a sensor carried by hand) also move theta once gravity has a
# component along the pivot axis: d(theta)/dt = w_pivot - g_across * (g_long
# * w_long + g_up * w_up) / (g_long**2 + g_up**2).  A one-axis filter misses
# that term, and near the pivot axis it is unbounded (theta jumps by up to
# 180 deg as gravity passes it).  So the direction of gravity is also tracked
# as a vector in the bed's frame (Q14, rotated by all three rates at once to
# second order, pulled towards the accelerometer with a 1.28 s time
# constant, renormalised), and each sample theta moves, besides the pivot
# rate, by what the off-pivot rotation did to that vector's angle (nothing
# while gravity is within 1.8 deg of the bed's plane: a square mount on a
# table; there the one-axis filter is unchanged).  Theta and that vector are
# one estimate: every 4th sample the vector is turned about the pivot axis
# to where theta is (theta carries the gating and the bias; corrected apart,
# a jolt split them and a later roll moved theta by the vector's wrong
# geometry).  Its length is renormalised every 4th sample too.  Measured on
# real hand-held data (BROAD, sensing_robust): 27 -> 6.15 deg RMS while
# moving, the best 3-D reference (Mahony) 6.22.

from inversa.compat import const
from inversa.sense.flags import (
    TILT_DISAGREE,
    TILT_FAST_MOTION,
    TILT_IMPLAUSIBLE,
    TILT_NOT_READY,
    TILT_RECOVERING,
    TILT_VIBRATION,
)
from inversa.sense.imath import atan2_udeg

_DEG180 = const(180000000)  # micro-degrees
_DEG360 = const(360000000)
# |inc| below this (60 deg a sample): e's sum stays a small int (< 2**30)
_INC_SAFE = const(60000000)
_BIAS_LIMIT_MDPS = const(8000)  # anti-windup: the integral never claims more bias
_MAX_RATE_MDPS = const(2000000)  # input clamp (beyond any gyro range)
_FAST_MDPS = const(60000)  # faster than this: gyro only, not trusted
_DISAGREE_UDEG = const(2000000)  # gravity vs gyro path: beyond 2 deg = suspect
_DISAGREE_FAR_UDEG = const(5000000)  # turning: beyond 5 deg for 1 s
_AGREE_UDEG = const(300000)  # recovered: within 0.3 deg ...
_AGREE_N = const(50)  # ... for this many samples in a row (0.5 s at 100 Hz)
_LEARN_UDEG = const(1000000)  # the bias is learned only within 1 deg of agreement
_STILL_UDEG = const(250000)  # still: gravity moved < 0.25 deg over _STILL_N samples
_STILL_N = const(20)
_RECOVER_SLOW_MDPS = const(10000)  # recovery completes only below 10 deg/s
_QUIET_MDPS = const(3000)  # below 3 deg/s the gyro says "not turning"
_Q14 = const(16384)  # the gravity vector's unit
_PHI_DEN = const(6830)
_UDEG_PER_Q14 = const(3497)  # 1 rad * 2**-14 in micro-degrees
_VA_MIN = const(
    512
)  # gravity within 1.8 deg of the bed's plane: no 3-D term  # (mdps >> 3) * (us >> 6) / 6830 = rad * 2**14

_DT6_SAFE = const(7400)  # (7500 * 7400 + 3415) // 6830 < 8192: see the clamp
_TRACK = const(0)
_FAST = const(1)
_RECOVER = const(2)


class TiltEstimator:
    """One-axis complementary filter with gyro-bias estimation (integers only).

    kp_shift: correction gain 2**-kp_shift per sample (7: time constant 1.28 s
    at 100 Hz); the integral gain is chosen for critical damping.
    one_g: accelerometer units per g in the a_* inputs (for plausibility).
    """

    def __init__(self, rate_hz=100, kp_shift=7, one_g=16384, zero_udeg=0):
        if not 1 <= kp_shift <= 12:
            from inversa.error_text import text

            raise ValueError(text(33))
        if rate_hz < 10:
            from inversa.error_text import text

            raise ValueError(text(34))
        self.kp_shift = kp_shift
        # Critical damping: Ki = Kp**2 / 4 = 2**-(2*kp+2), applied as
        # (I >> ki_out) with I accumulating (e >> 5).
        self._ki_out = 2 * kp_shift + 2 - 5
        self.rate_hz = rate_hz
        self.zero_udeg = zero_udeg
        self.set_one_g(one_g)
        self._dt_max_us = 5 * 1000000 // rate_hz
        self.settle_samples = rate_hz  # 1 s of fast convergence after a restart
        self._hold_max = 30 * rate_hz  # a disagreement held on the gyro for 30 s at most
        # integral clamp: _BIAS_LIMIT_MDPS as a per-sample step (udeg) << ki_out
        lim = (_BIAS_LIMIT_MDPS * 1000 // rate_hz) << self._ki_out
        self._i_limit = lim if lim < (1 << 29) else 1 << 29  # stays a small int
        # counters (telemetry): how often validity was cleared, and why
        self.fast_events = 0
        self.disagree_events = 0
        self.restart()

    def set_one_g(self, one_g):
        if one_g < 256:
            from inversa.error_text import text

            raise ValueError(text(35))
        # The plausibility check works on values scaled to ~1024 per g.
        s = 0
        while (one_g >> s) > 2047:
            s += 1
        self._norm_shift = s
        g = one_g >> s
        self._n2_lo = g * g * 9 // 16  # |a| < 0.75 g
        self._n2_hi = g * g * 25 // 16  # |a| > 1.25 g
        self._n2_tlo = g * g * 361 // 400  # |a| < 0.95 g
        self._n2_thi = g * g * 441 // 400  # |a| > 1.05 g
        self._vib_lim = one_g // 5  # mean |a_up - low-passed| > 0.05 g (4x scaled)
        self.one_g = one_g
        self._og16 = one_g >> 4  # (a << 10) // _og16: accel in Q14 g

    def restart(self):
        """Forget the state: the next update re-initialises from gravity."""
        self.angle_udeg = 0
        self.angle_cdeg = 0
        self.rate_cdps = 0
        self.faults = TILT_NOT_READY
        self._i = 0  # integral of the correction (bias estimate)
        self._f1l = self._f1u = self._f2l = self._f2u = 0
        self._fa = 0
        self._vang = None  # the vector's angle (udeg) when it was last set to theta
        self._vib = 0
        self._k4 = 0
        self._pfaults = 0
        self._settle = 0
        self._started = False
        self._bad_norm = 0
        self._norm_tight = False
        self._rate_f = 0
        self._mode = _TRACK
        self._why = 0
        self._dis_n = 0
        self._agree_n = 0
        self._hold_n = 0
        self._quiet_n = 0
        self._g_snap = 0
        self._still_k = 0
        self._still = False
        self._vl = self._va = 0  # gravity in the bed's frame (Q14), see the top
        self._vu = _Q14

    def set_bias_mdps(self, mdps):
        """Preset the integral with a known residual gyro bias (mdps, + = reads high)."""
        # per-sample angle step in udeg = mdps * 1000 / rate_hz
        self._i = -(mdps * 1000 // self.rate_hz) << self._ki_out

    def bias_mdps(self):
        """The residual gyro bias the filter has learned (mdps, + = gyro reads high)."""
        return -((self._i >> self._ki_out) * self.rate_hz // 1000)

    def update(self, a_long, a_up, rate_mdps, dt_us, a_across=0, rate_long_mdps=0, rate_up_mdps=0):
        # -- gravity as a vector (Q14, bed frame), before a_* are rescaled -----
        # attributes read more than once are read once (~3 us each on an RP2040)
        started = self._started
        ki_out = self._ki_out
        kp = self.kp_shift
        k4 = self._k4
        og = self._og16
        if og == 1024:  # 1 g = 2**14 (both chips at 2 g): (a << 10) // 1024 is a
            sl = a_long
            sa = a_across
            su = a_up
        else:
            sl = (a_long << 10) // og
            sa = (a_across << 10) // og
            su = (a_up << 10) // og
        # -- accelerometer low-pass (state keeps 2 extra bits) ----------------
        a_long <<= 2
        a_up <<= 2
        a_across <<= 2
        if not started:
            self._f1l = self._f2l = a_long
            self._f1u = self._f2u = a_up
            self._fa = a_across
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
        fa = self._fa  # the third axis, only for |a| (plausibility): one section
        fa += (a_across - fa) >> 3
        self._fa = fa
        g_ang = atan2_udeg(-f2l, f2u) - self.zero_udeg

        # -- gyro propagation -------------------------------------------------
        if rate_mdps > _MAX_RATE_MDPS or rate_mdps < -_MAX_RATE_MDPS:
            rate_mdps = _MAX_RATE_MDPS if rate_mdps > 0 else -_MAX_RATE_MDPS
        if dt_us < 0 or dt_us > self._dt_max_us:
            dt_us = 0 if dt_us < 0 else self._dt_max_us
        i = self._i
        corr = (i >> ki_out) * self.rate_hz // 1000  # learned bias (mdps, to add)
        rate_c = rate_mdps + corr
        if rate_mdps < 100000 and rate_mdps > -100000:
            # mdps * (10 us) = 1e-8 deg; /100 -> micro-degrees (rounded)
            inc = (rate_mdps * (dt_us // 10) + 50) // 100
        else:  # fast: coarser, keeps every product a small int
            inc = ((rate_mdps + 5) // 10) * (dt_us // 100)
        # -- off-pivot rotation: what it does to theta (see the top) ----------
        if not started:
            vl = -_Q14 if sl < -_Q14 else (_Q14 if sl > _Q14 else sl)
            va = -_Q14 if sa < -_Q14 else (_Q14 if sa > _Q14 else sa)
            vu = -_Q14 if su < -_Q14 else (_Q14 if su > _Q14 else su)
        else:
            vl = self._vl
            va = self._va
            vu = self._vu
        dt6 = dt_us >> 6
        # a turn about any axis the estimate follows can be too fast (below)
        fast = False
        if rate_long_mdps > _FAST_MDPS or rate_long_mdps < -_FAST_MDPS:
            fast = True
            if rate_long_mdps > _MAX_RATE_MDPS or rate_long_mdps < -_MAX_RATE_MDPS:
                rate_long_mdps = _MAX_RATE_MDPS if rate_long_mdps > 0 else -_MAX_RATE_MDPS
        if rate_up_mdps > _FAST_MDPS or rate_up_mdps < -_FAST_MDPS:
            fast = True
            if rate_up_mdps > _MAX_RATE_MDPS or rate_up_mdps < -_MAX_RATE_MDPS:
                rate_up_mdps = _MAX_RATE_MDPS if rate_up_mdps > 0 else -_MAX_RATE_MDPS
        if rate_c > _FAST_MDPS or rate_c < -_FAST_MDPS:
            fast = True  # (the pivot's own rate: the same test as before, moved up)
        # rotation over this sample, rad * 2**14 (rounded)
        pl = ((rate_long_mdps >> 3) * dt6 + 3415) // _PHI_DEN
        pu = ((rate_up_mdps >> 3) * dt6 + 3415) // _PHI_DEN
        pp = ((rate_c >> 3) * dt6 + 3415) // _PHI_DEN
        # at most 0.5 rad a sample (a gap at 2000 deg/s): keeps every product
        # below 2**30 (a small int).  Not fast (all three within 60 deg/s:
        # |mdps >> 3| <= 7500) and dt6 <= _DT6_SAFE: |p| <= 8126, no clamp.
        if fast or dt6 > _DT6_SAFE:
            if pl > 8192 or pl < -8192:
                pl = 8192 if pl > 0 else -8192
            if pu > 8192 or pu < -8192:
                pu = 8192 if pu > 0 else -8192
            if pp > 8192 or pp < -8192:
                pp = 8192 if pp > 0 else -8192
        d = 0
        if pl or pu:
            # v <- v + v x phi + (v x phi) x phi / 2, phi = (pl, pp, pu):
            # all three at once, to second order (one sample of a fast
            # hand-held turn is up to 10 deg)
            wl = (va * pu - vu * pp + 8192) >> 14
            wa = (vu * pl - vl * pu + 8192) >> 14
            wu = (vl * pp - va * pl + 8192) >> 14
            nl = vl + wl + ((wa * pu - wu * pp + 16384) >> 15)
            va += wa + ((wu * pl - wl * pu + 16384) >> 15)
            nu = vu + wu + ((wl * pp - wa * pl + 16384) >> 15)
            if va > _VA_MIN or va < -_VA_MIN:
                # theta's change less the pivot's own share (inc has it exactly)
                a0 = self._vang  # set at the end of the last step (or None)
                if a0 is None:
                    a0 = atan2_udeg(-vl, vu)
                d = atan2_udeg(-nl, nu) - a0 - pp * _UDEG_PER_Q14
                if not -_DEG180 <= d <= _DEG180:
                    d += _DEG360 if d < 0 else -_DEG360
            vl = nl
            vu = nu
        elif pp:
            # only the pivot turns (a table; the general step above with pl =
            # pu = 0: wa = 0 and va unchanged), fewer operations
            wl = (8192 - vu * pp) >> 14
            wu = (vl * pp + 8192) >> 14
            vl += wl + ((16384 - wu * pp) >> 15)
            vu += wu + ((wl * pp + 16384) >> 15)
        # towards the accelerometer (2**-7 per sample), then back to unit length
        vl += (sl - vl) >> 7
        va += (sa - va) >> 7
        vu += (su - vu) >> 7
        if k4 == 1 or not started:  # length drifts slowly
            n2 = vl * vl + va * va + vu * vu
            while n2 > 1 << 29:  # far too long (cannot happen in steady state)
                vl >>= 1
                va >>= 1
                vu >>= 1
                n2 >>= 2
            if n2 < 1 << 24:  # (nearly) nothing: start again from level
                vl = va = 0
                vu = _Q14
            else:
                f = ((3 << 28) - n2) >> 14  # one Newton step towards |v| = 2**14
                vl = (vl * f) >> 15
                va = (va * f) >> 15
                vu = (vu * f) >> 15
        self._vl = vl
        self._va = va
        self._vu = vu
        inc += d

        if started:
            ang = self.angle_udeg + inc
        else:
            ang = g_ang
            self._started = True
            self._g_snap = g_ang

        # -- still?  Gravity (not the gyro, whose bias is what is learned) ----
        k = self._still_k + 1
        if k >= _STILL_N:
            d = g_ang - self._g_snap
            self._still = -_STILL_UDEG < d < _STILL_UDEG
            self._g_snap = g_ang
            k = 0
        self._still_k = k

        # -- correction towards gravity, PI -----------------------------------
        # The low-pass delays the gravity angle by 6 samples: compare it with
        # where the estimate was then (the gyro says how far it has moved).
        if -_INC_SAFE < inc < _INC_SAFE:
            e = g_ang - ang + 6 * inc
            if e > _DEG180 or e < -_DEG180:
                e += _DEG360 if e < 0 else -_DEG360
        else:
            # over 60 deg in one sample (a hard off-pivot turn over a gap):
            # 6 * inc would pass 2**30, a big int, which allocates, and the
            # heap is locked here on the board (MemoryError: a sensor
            # fault).  Reduced modulo 360 deg first, then wrapped fully.
            r = inc % 60000000
            e = g_ang - ang + 6 * (r - 60000000 if r > 30000000 else r)
            while e > _DEG180:
                e -= _DEG360
            while e < -_DEG180:
                e += _DEG360
        ae = e if e >= 0 else -e
        if rate_c < _QUIET_MDPS and rate_c > -_QUIET_MDPS:
            if self._quiet_n < 30000:
                self._quiet_n += 1
        else:
            self._quiet_n = 0
        mode = self._mode
        if fast:
            if mode != _FAST:
                self.fast_events += 1
            mode = _FAST
        elif mode == _FAST:
            mode = _RECOVER  # the turn ended: gravity must confirm the angle
            self._why = TILT_FAST_MOTION
            self._agree_n = 0
        faults = 0
        if self._settle < self.settle_samples:
            self._settle += 1
            ang += e >> 3  # converge fast after a restart
            faults = TILT_NOT_READY
            mode = _TRACK
        elif mode == _FAST:
            faults = TILT_FAST_MOTION  # no bias learning; correction as tracking
            ang += (e >> kp) + (i >> ki_out)
        else:
            if mode == _TRACK and self._still and ae < _LEARN_UDEG:
                i += e >> 5
                if not -self._i_limit <= i <= self._i_limit:
                    i = self._i_limit if i > 0 else -self._i_limit
                self._i = i
            if mode == _RECOVER:
                if (
                    self._why == TILT_DISAGREE
                    and ae >= _LEARN_UDEG
                    and self._hold_n < self._hold_max
                ):
                    # gravity moved while the gyro did not: a linear
                    # acceleration (or a gyro fault).  Hold the gyro path;
                    # only a disagreement that lasts (no table accelerates
                    # for seconds) makes gravity the judge.
                    self._hold_n += 1
                    ang += i >> ki_out
                elif self._norm_tight and (self._still or self._quiet_n >= 10):
                    # still, |a| near 1 g: gravity is right, converge fast
                    ang += (e >> 4) + (i >> ki_out)
                else:
                    # still moving: gravity carries the motion's own
                    # acceleration, the (3-D) gyro path is better; correct
                    # at the tracking gain
                    ang += (e >> kp) + (i >> ki_out)
                if (
                    ae < _AGREE_UDEG
                    and self._norm_tight
                    and rate_c < _RECOVER_SLOW_MDPS
                    and rate_c > -_RECOVER_SLOW_MDPS
                ):
                    self._agree_n += 1
                    if self._agree_n >= _AGREE_N:
                        mode = _TRACK
                else:
                    self._agree_n = 0
                if mode == _RECOVER:
                    faults = TILT_RECOVERING
                    if self._why != TILT_FAST_MOTION:
                        faults = TILT_RECOVERING | TILT_DISAGREE
            else:
                # Gravity more than 2 deg from the gyro path (5 deg when turning
                # faster than 10 deg/s: the lever arm's acceleration moves it
                # by degrees) is suspect: a start or stop jolt, a linear
                # acceleration.  Ride on the gyro meanwhile; a suspicion that
                # lasts 0.5 s (1 s turning) clears validity.
                slow = rate_c < _RECOVER_SLOW_MDPS and rate_c > -_RECOVER_SLOW_MDPS
                if (ae > _DISAGREE_UDEG and slow) or ae > _DISAGREE_FAR_UDEG:
                    ang += i >> ki_out
                    self._dis_n += 1
                    if self._dis_n >= (self.rate_hz >> 1 if slow else self.rate_hz):
                        mode = _RECOVER
                        # turning within the last second: the gyro path (its
                        # scale) is the suspect, so gravity judges at once;
                        # still: gravity (a linear acceleration) is
                        self._why = TILT_DISAGREE if self._quiet_n >= self.rate_hz else 0
                        self._agree_n = 0
                        self._dis_n = 0
                        self._hold_n = 0
                        self.disagree_events += 1
                        faults = TILT_RECOVERING | TILT_DISAGREE
                else:
                    ang += (e >> kp) + (i >> ki_out)
                    self._dis_n = 0
        self._mode = mode
        if ang > _DEG180 or ang <= -_DEG180:
            ang += _DEG360 if ang <= 0 else -_DEG360
        self.angle_udeg = ang
        self.angle_cdeg = (ang + 5000) // 10000
        if k4 != 2 or (va <= _VA_MIN and va >= -_VA_MIN):
            self._vang = None
        else:
            # Keep the vector's angle about the pivot where theta is: the two
            # are one estimate (theta is the gated, bias-corrected part of it),
            # and the off-pivot term above is only right on a vector that
            # agrees with theta.  A small rotation about the pivot axis, every
            # 4th sample (the two drift apart slowly; an atan2 costs).
            a0 = atan2_udeg(-vl, vu)
            dl = ang + self.zero_udeg - a0
            if not -_DEG180 <= dl <= _DEG180:
                dl += _DEG360 if dl < 0 else -_DEG360
            q = dl // _UDEG_PER_Q14
            if -4096 <= q <= 4096:
                # the vector's angle after the turn (to first order): the
                # next step's off-pivot term starts from it
                a0 += q * _UDEG_PER_Q14
                if not -_DEG180 < a0 <= _DEG180:
                    a0 += _DEG360 if a0 <= 0 else -_DEG360
                self._vang = a0
            else:  # 14 deg a sample at most (after a restart)
                q = 4096 if q > 0 else -4096
                self._vang = None
            self._vl = vl - ((vu * q + 8192) >> 14)
            self._vu = vu + ((vl * q + 8192) >> 14)

        # rate output: gyro less the learned bias, lightly smoothed (cdps)
        rf = self._rate_f
        rf += (rate_c - rf) >> 2
        self._rate_f = rf
        self.rate_cdps = rf // 10

        # -- plausibility (every 4th sample; the verdict holds in between) ----
        k4 += 1
        # (returns the faults: the front end's copy needs no second read)
        if k4 < 4:
            self._k4 = k4
            faults |= self._pfaults
            self.faults = faults
            return faults
        self._k4 = 0
        self._plausibility(f2l, f2u, fa, a_up)
        faults |= self._pfaults
        self.faults = faults
        return faults

    def _plausibility(self, f2l, f2u, fa, a_up):
        pf = 0
        s = self._norm_shift + 2
        nl = f2l >> s
        nu = f2u >> s
        n2 = nl * nl + nu * nu
        # |a| near 1 g (no linear acceleration: gravity may judge) is a 3-D
        # question; "too far from 1 g" stays in the bed's plane: gravity far
        # out of it (a table on its side) leaves no trustworthy angle.
        na = fa >> s
        n3 = n2 + na * na
        self._norm_tight = self._n2_tlo <= n3 <= self._n2_thi
        if n2 < self._n2_lo or n2 > self._n2_hi:
            self._bad_norm += 1
            if self._bad_norm >= 13:  # ~0.5 s at 100 Hz
                pf = TILT_IMPLAUSIBLE
        elif self._bad_norm:
            self._bad_norm = 0
        d = a_up - f2u
        vib = self._vib
        vib += ((d if d >= 0 else -d) - vib) >> 2
        self._vib = vib
        if vib > self._vib_lim:
            pf |= TILT_VIBRATION
        self._pfaults = pf
