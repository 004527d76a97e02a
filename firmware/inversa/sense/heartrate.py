# Streaming heart rate from a photoplethysmogram (PPG), one sample at a
# time at the sensor's own rate, in integers with bounded memory.
#
# 1. Slope: s = x[n] - x[n-k] over ~40 ms, lightly low-passed.  The
#    difference removes the large DC level and slow baseline wander; its
#    maxima are the steepest points of the systolic upstrokes, the sharpest
#    and most repeatable fiducial of a pulse wave (the dicrotic notch and the
#    rounded top are not).
# 2. Beats: the slope rising above 60 % of the recent beat slope opens a
#    candidate; its maximum, placed to 1/64 sample by a parabola through the
#    three samples around it, is the candidate's time.  Of candidates closer
#    together than 0.4 beat interval (at least 240 ms) only the steepest is
#    kept (this drops dicrotic waves and noise bumps; the interval is the
#    last accepted one when longer than the median, which lags a slowing
#    rhythm); a candidate becomes a beat once that long has passed without
#    a steeper one.  The threshold
#    decays when beats stop coming, so a weaker signal is picked up again.
# 3. Intervals: beat-to-beat intervals within 25..240 bpm are compared with
#    the median of the last 16: within 60..150 % accepted; 170..240 % is a
#    missed beat, accepted as two halves; otherwise rejected (artifact).
#    Six rejections in a row restart the history (the rhythm changed).
#    An interval rejected as short and the next one that together make
#    80..120 % of the median (the next one alone under 80 %) are one: the
#    beat between them was a second wave or a bump, and the rest of the beat
#    alone would bias the rate up; together 170..240 % (the next one alone
#    over 120 %: the beat after a second wave lost in its gap), one with a
#    missed beat.
# 4. Rate: the mean of the accepted intervals of the last 20 s (at least 3,
#    at most 40); irregular rhythms are averaged, not censored, so the rate
#    counts every beat as an ECG does.  When the last 8 intervals depart from
#    the older ones by more than 15 % for 6 beats in a row, the older ones
#    are dropped so a real change is followed within seconds, not 20 s.
# 5. Quality: the smaller of the share of the last 16 intervals accepted as
#    normal and the share of the last 16 beats whose shape (20 points around
#    the upstroke) correlates >= 0.8 with a running template: a pulse wave
#    repeats, noise does not.  "No pulse" when no interval was accepted for
#    max(3 s, 2.5 intervals).
#    An ambiguous beat train is low quality (issue 11: never a wrong rate
#    ok), when:
#    - a quarter of the last 16 beats (any one of the first 16) had another
#      upstroke >= 32 % as steep as the beat between it and the beat before,
#      a quarter beat or more from both (weak premature beats the train
#      skipped, bigeminy; a second wave; a late dicrotic wave): is it one
#      pulse or two?  Once flagged, held while an eighth of them have one;
#    - 2 of the last 16 beats (any one of the first 16) rose at under a
#      quarter of the beats' upstroke level (which does not decay in a
#      pause): weak beats among full ones (bumps found in bigeminy's long
#      pauses, weak premature beats);
#    - the last 16 intervals (at least 6) alternate long and short (their
#      steps n to n+1 >= 4 % of an interval and 2.5 times the steps n to
#      n+2; over 16, a beat missed now and then does not break it), or the
#      beats' upstroke slopes (>= 6 %) or steepest downstrokes (>= 10 %) do:
#      bigeminy, or a second wave counted as a beat (a second wave has
#      another shape: it falls faster than a pulse);
#    - under 70 % of the last 16 intervals (at least 4) are normal: the train
#      mixes one and two beats per pulse (weak beats found now and then);
#    - the intervals rejected as short (not merged) counted in shift the
#      mean interval by > 7 %: if they were beats (premature beats), the
#      rate is wrong;
#    - a quarter of the last 16 intervals were out of range on the same side
#      (a pulse at the 2.4 s limit: the mean of the rest is biased), or
#      split as missed beats (so many are a guess: bigeminy's long pauses);
#    - the window holds an interval outside 60..150 % of the median (the
#      first ones, accepted before the rhythm was known);
#    - the window's intervals scatter by > 12 % and its split halves (a
#      split is a guess there: one long interval, or a beat missed) move
#      its rate by > 10 %, or the window mean's standard error is > 5 %
#      (a very irregular rhythm after the change rule kept the last 8).
#    - a quarter of the last 16 beats (two of the first 16) had an early
#      wave, at the same place of intervals >= 0.8 s (`_wave`: a weak
#      premature pulse the train skips, or a slow pulse's dicrotic wave),
#      or the last 16 intervals' scatter makes the mean of a window of 16
#      or fewer uncertain by > 5 % (`_rhythm`).
# 6. A second rhythm: the slope, decimated to 13-25 samples/s, minus itself
#    one beat period T earlier leaves what does not repeat at T: for a
#    pulse, noise, breathing and beat-to-beat change; when a periodic motion
#    drives the beats, the real pulse, which repeats at its own period; when
#    a second wave doubles the rate, the two halves' difference, which
#    alternates beat by beat.  Once a second the residual's autocorrelation
#    (64 samples) is checked over lags 0.24..1.6 s: a peak r >= 0.7 (0.55
#    while one is flagged), 0.4 above r near T, away from T and its
#    multiples (or at a multiple while r near T < -0.2) marks the rate low
#    quality (for 1 check, 3 when repeated).  No rate is ok before a check
#    has run at the current T.
#    A rhythm near the beat rate (a motion within ~15 % of the pulse rate,
#    the beats locked on it): the residual repeats at a lag more than half
#    a lag and up to 15 % (and a lag) off T or 2T with r >= 0.88 (0.65
#    while flagged), 0.5 above r at the lag nearest T (2T), and not within
#    the span of the last 4 intervals (the beats' own period: a changing
#    rate): low quality for 2 checks, 5 when repeated (the two rhythms
#    drift in and out of phase).
#    After the lags, the slope's harmonics 1-5 at T over whole periods of
#    the last ~4 s (when harmonic 3 is under 0.45 of the decimated rate):
#    a motion the beats lock on is nearly half-wave symmetric (triangle,
#    square: harmonics 3 + 5 over 1.5 times 2 + 4, where 4 is under 0.45);
#    a pulse is not.  Low quality for 2 such verdicts, 3 when repeated
#    (issue 11: a motion read as the rate).  A sine-like fold (1 over 2 + 3,
#    3 + 5 small against 2 + 4) at steady intervals with the residual
#    repeating near T (r >= 0.6): low quality for 5.
#
# Timing: no call does more than a small slice of work (issue 10: the check
# formed at once made one call 5.9 ms on the emulated Pico).  The check's
# residual is formed a few points per call, its autocorrelation at most one
# lag per call, in calls without beat work: a check takes ~0.6 s at 100
# samples/s (its verdict comes 0.1-0.2 s later than when formed at once;
# the same verdict).
# A beat's work runs in seven calls: the shape's points when it is committed,
# the shape's match, the slopes, the interval, the change check, the
# rate's window, the ambiguity checks and the rate (the rate 6 samples
# later); what no output of a call reads (the template's update, a third
# per call; the interval's alternation sums; the rate's window sums) rides
# with the lighter calls, so each reports what it did before.  The
# alternation checks and the change check keep their sums as values come
# and go (no loop over the window).
#
# Usage:
#     est = HeartRateEstimator(period_us=10000)    # 100 samples/s
#     for x in samples: est.add(x)                 # x rises with blood volume
#     est.dbpm, est.bpm, est.quality_pct, est.faults, est.ok
#
# Memory: a slope ring of at most 16 samples, a 256-sample raw ring for the
# shape check, a 176-sample decimated ring, a 104-sample residual and the
# harmonics' sums for the second-rhythm check, the last 6 upstrokes and a
# few small interval and slope rings (~3.3 KB); `add` allocates nothing.
# With inputs within +-2**20 (any real sensor: 18-bit counts, 16-bit ADC)
# every intermediate value stays below 2**30 (a small int).
#
# Over 600 lines on purpose: one estimator, whose six stages share one state
# (the sample counter, the reference interval and the timeouts made from it,
# the beat in flight, the two quality shares) and are described together
# above; split into modules, each stage would reach into the others' fields,
# and every sample would go through another object.

from array import array

from inversa.compat import const
from inversa.sense.flags import HR_LOW_QUALITY, HR_NO_PULSE, HR_NOT_READY
from inversa.sense.imath import harm, isqrt, lags

_WINDOW_US = const(20000000)  # the rate: the mean of the intervals of the last 20 s ...
_CHANGE_PCT = const(15)  # ... or of the last 8 when they depart from the older ones by 15 %
_CHANGE_BEATS = const(6)  # ... for 6 beats in a row
_MIN_QUALITY_PCT = const(50)  # low quality under 50 % of the intervals (beats' shapes) normal
_F_SGOOD = const(16)  # self._flags: where each kind's 16 bytes start (_F_GOOD: 0)
_F_XBEAT = const(32)
_F_SIDE = const(48)
_F_CN = const(64)
_F_WEAK = const(80)
_MASK24 = const(0xFFFFFF)  # sample counter (46 h at 100 samples/s)
_MASK30 = const(0x3FFFFFFF)  # beat time in 1/64 sample
_HIST = const(16)  # intervals behind the median reference and the quality
_MAX_ACC = const(40)  # accepted intervals kept for the rate
_SHORT = const(8)  # intervals of the "recent" mean for change detection
_IBI_MIN_US = const(250000)  # 240 bpm
_IBI_MAX_US = const(2400000)  # 25 bpm (a 30 bpm pulse's intervals are not at the limit)
_DEFAULT_REF_US = const(700000)
_RAW = const(256)  # raw sample ring (the beat-shape check looks back up to 1 s)
_W = const(20)  # points of a beat's shape
_XP = const(6)  # upstrokes remembered for the second-upstroke check
_XP_IN = const(4)  # slope peaks above this (1/16 of the beat level) are remembered ...
_XP_PCT = const(32)  # ... one this steep (% of the beat's) between beats: a second upstroke
_ONE_SIDED = const(4)  # a quarter of the intervals rejected on one side biases the rate
_ALT_N = const(16)  # beats behind the alternation checks (intervals, upstroke slopes)
_INTERVALS_OK_PCT = const(70)  # of the last 16 intervals (at least 4) accepted as normal
_EARLY_PCT = const(7)  # mean interval with the early beats this far (%) from the rate: ambiguous
_SLOPE_ALT_PCT = const(6)  # upstroke slopes alternating by this much (%): two kinds of beat
_DOWN_ALT_PCT = const(10)  # ... downstrokes
_SPLIT_DEN = const(11)  # halves x of k in the window: k / (k - x/2) > 1.1 when 11x > 2k
_SCATTER_DEN = const(69)  # the intervals' standard deviation over 12 % of their mean
_SE_DEN = const(400)  # the window mean's standard error over 1/20 of it (var/k > mean^2/400)
_R_GOOD = const(80)  # correlation (%) with the template for a beat to look right
_N2 = const(64)  # second rhythm: autocorrelation window (decimated samples)
_R2 = const(70)  # ... a residual period with r >= 0.7 (%) ...
_R2_HOLD = const(55)  # ... or r >= 0.55 while one is flagged (hysteresis)
_R2_MARGIN = const(40)  # ... and 0.4 above r near the beat period is a second rhythm
_R2_HOLD_MARGIN = const(40)  # ... 0.4 above while one is flagged, too
_RB = const(88)  # a residual period half a lag to 15 % off the beat period with r >= 0.88 ...
_RB_HOLD = const(65)  # ... (0.65 while one is flagged) ...
_RB_MARGIN = const(50)  # ... and 0.5 above r at the beat period: a rhythm near the beat rate
_RB_SINE = const(60)  # ... r >= 0.6 when the fold at T is sine-like (_harm) ...
_RB_SINE_MARGIN = const(20)  # ... and 0.2 above r at the beat period
_FOLD_PCT = const(5)  # the harmonics fold at the last 4 intervals' mean when > 5 % off T
_YS = const(104)  # _N2 + the longest lag (40)
_DR = const(184)  # decimated ring: _YS + a 2.4 s beat period + 2 + the samples
# that arrive while the residual is formed (at most 16 decimated samples)
_RES_UNITS = const(32)  # residual points formed per decimated sample's worth of adds
_LAG_UNITS = const(256)  # autocorrelation products (at most one lag) per decimated sample
_HL = const(96)  # harmonics: a window of whole beat periods within this many decimated samples
_H_UNITS = const(12)  # ... its points per decimated sample's worth of adds (3 at 100/s)
# the check's lags and harmonics in imath's kernels, in batches (each
# ~0.3 ms on the emulated Pico), when the calls' steps above reach past
# what was done
_LAG_BATCH = const(6)  # lags
_H_BATCH = const(24)  # harmonics' points (>= a call's step, _H_UNITS)
# self._cfg: the settings that follow from the sample rate (set_period_us)
# and are read now and then, in one array rather than as ~12 attributes
# (the instance's attribute table on the board's heap)
_C_GAP_MIN = const(0)
_C_LEARN_N = const(1)
_C_ST = const(2)
_C_WN = const(3)
_C_PRE = const(4)
_C_FD = const(5)
_C_LMIN = const(6)
_C_LMAX = const(7)
_C_RES_PER = const(8)
_C_LAG_PER = const(9)
_C_DECAY_SHIFT = const(10)
_C_SEP_N = const(11)
# sin in 1/64 turns, 64 + 63 sin (the harmonics' table)
_SIN = b'@FLRX^chmqtxz|~\x7f\x7f\x7f~|zxtqmhc^XRLF@:4.("\x1d\x18\x13\x0f\x0c\x08\x06\x04\x02\x01\x01\x01\x02\x04\x06\x08\x0c\x0f\x13\x18\x1d"(.4:'


class HeartRateEstimator:
    def __init__(self, period_us=10000):
        if not 4000 <= period_us <= 50000:
            from inversa.error_text import text

            raise ValueError(text(31))
        self._acc = array("i", [0] * _MAX_ACC)  # accepted intervals (us), ring
        self._hist = array("i", [0] * _HIST)  # recent in-range intervals (us), ring
        self._sorted = array("i", [0] * _HIST)  # scratch for the median
        # per interval and per beat of the last 16, 16 bytes each: [_F_GOOD:]
        # 1: accepted as normal, [_F_SGOOD:] 1: the beat matched the
        # template, [_F_XBEAT:] 1: a second upstroke within the beat's gap,
        # [_F_SIDE:] 1: interval rejected as long, 2: as short, 3: split,
        # [_F_CN:] what was accepted of it (_c_ms) as how many intervals (0,
        # 1, 2), [_F_WEAK:] 1: a weak beat (its upstroke: _bamp)
        self._flags = bytearray(6 * _HIST)
        self._ring = array("i", [0] * 16)
        self._raw = array("i", [0] * _RAW)
        self._shape = array("i", [0] * _W)
        self._tmpl = array("i", [0] * _W)
        # per classified interval: [:16] rejected as short (ms), [16:] or
        # what was accepted of it (ms)
        self._c_ms = array("H", [0] * (2 * _HIST))
        self._bamp = array("H", [0] * _ALT_N)  # upstroke slopes of the last beats (1/256 level)
        self._bdn = array("H", [0] * _ALT_N)  # ... and their steepest downstrokes
        # alternation sums (steps k to k+1, k to k+2, values) over the last
        # 16 intervals (ms), the last 16 upstroke and downstroke slopes
        self._as16 = array("i", [0] * 11)  # [3:]: early waves (_wave)
        self._asu = array("i", [0] * 3)
        self._asd = array("i", [0] * 3)
        self._xp_n = array("i", [-1] * _XP)  # the last upstrokes (sample index)
        self._xp_v = array("i", [0] * _XP)  # ... and their slopes
        self._dring = array("i", [0] * _DR)  # decimated slope, ring
        self._ys = array("h", [0] * _YS)  # comb residual of one check, newest first
        # [0:10] harmonics 1-5 (re, im), [10] their window, [11] verdicts
        # held; a beat's work carried from call to call (_beat_stage): [12]
        # [13] [14] the shape's mean, largest deviation, points (commit ->
        # match), [15] the match's points, [16] the points of the template's
        # norm (self._sw), [17] [18] [19] the rate's window: mean interval,
        # intervals, verdicts (stage 5 -> 6), [20] the template's energy so
        # far, [21] [22] [23] the interval's ring slot: its old value, index
        # (-1: none), the count before (stage 3 -> 4); the second-rhythm
        # check's [24] ring index and [25] scale at its start, [26] [27] the
        # residual's energy at lag 0 and at the lag being checked, [28] the
        # lag's (the harmonics') points reached so far, [29] verdicts in a
        # row with a sine-like fold, [30] the residual's best r near T (_near),
        # [31] the harmonics' fold period (the last 4 intervals' mean)
        self._hs = array("i", [0] * 32)
        self._rlag = array("h", [0] * 41)  # the residual's r (%) per lag of one check
        self._cfg = array("h", [0] * 12)
        self._ref = 0
        self._h_count = 0
        self.set_period_us(period_us)
        self.reset()

    def set_period_us(self, period_us):
        """The sensor's sample period (nominal, or measured against the MCU clock)."""
        self.period_us = period_us
        rate = 1000000 // period_us
        k = (rate * 40 + 500) // 1000  # ~40 ms slope span
        self._k = 1 if k < 1 else (16 if k > 16 else k)
        self._ki = 0
        self._fill = True
        self._smooth = 1 if rate >= 50 else 0
        c = self._cfg
        c[_C_GAP_MIN] = 240000 // period_us  # samples
        c[_C_LEARN_N] = 2 * rate  # 2 s to learn the amplitude
        # beat shape: _W points from 0.2 s before the steepest point to 0.2 s after
        st = (rate * 4 // 10) // _W
        st = st if st > 1 else 1
        c[_C_ST] = st
        c[_C_WN] = _W if rate * 4 // 10 >= _W else rate * 4 // 10
        c[_C_PRE] = (rate * 2 // 10) // st * st
        # second rhythm: decimate to ~25 samples/s; lags 0.24..1.6 s
        self._dec = (rate + 24) // 25  # 13..25 decimated samples/s
        fd = rate // self._dec
        c[_C_FD] = fd
        c[_C_LMIN] = fd * 6 // 25 if fd >= 9 else 2
        c[_C_LMAX] = fd * 8 // 5 if fd < 25 else 40
        # the check's work, spread evenly over the calls: so many residual
        # points and products (at most one lag) per call that a check ends
        # within ~0.9 s at every rate (one check per second)
        u = _RES_UNITS // self._dec
        c[_C_RES_PER] = u if u > 1 else 1
        u = _LAG_UNITS // self._dec
        c[_C_LAG_PER] = u if u > 4 else 4
        # Threshold decay once beats stop arriving: halve in ~0.2 s.
        d = rate * 4 // 10
        k = 1
        while (1 << (k + 1)) <= d:
            k += 1
        c[_C_DECAY_SHIFT] = k
        self._set_timeouts()

    def reset(self):
        """Forget everything (sensor restarted, contact lost)."""
        self._fill = True
        self._ki = 0
        self._sf = 0
        self._n = 0
        self._amp = 0
        self._learn = self._cfg[_C_LEARN_N]
        self._inpk = False
        self._pk_v = 0
        self._pk_prev = 0
        self._pk_next = 0
        self._pk_n = 0
        self._last_v = 0
        self._pend = False  # a candidate beat waiting for its gap to pass
        self._pend_t = 0
        self._pend_v = 0
        self._t_last = -1  # last beat (1/64 sample), -1: none
        self._n_acc = 0  # sample index of the last accepted interval
        self._h_count = 0
        self._h_head = 0
        self._g_count = 0
        self._g_sum = 0
        self._g_i = 0
        self._s_count = 0
        self._s_sum = 0
        self._s_i = 0
        self._sx_in = False  # in a slope peak (>= 25 % of the beat level)
        self._sx_v = 0
        self._sx_n = 0
        self._xp_i = 0
        for i in range(_XP):
            self._xp_n[i] = -1
        for i in range(3, 11):
            self._as16[i] = 0
        self._x_count = 0
        self._x_amb = False  # flagged for second upstrokes (held while an eighth)
        self._x_sum = 0
        self._x_i = 0
        self._rl = 0  # of the last 16 intervals: rejected as long, as short,
        self._rs = 0
        self._rm = 0  # ... split as a missed beat
        self._cr_sum = 0  # of the last 16 intervals: sum (ms) and number rejected as short
        self._cr_n = 0  # (not merged with the next one),
        self._ca_sum = 0  # ... and accepted
        self._ca_n = 0
        self._short_us = 0  # the last interval, when it was rejected as short
        self._b_i = 0  # upstroke slopes, downstrokes: next slot, count
        self._b_count = 0
        self._weak = 0  # of the last 16 beats: upstrokes under half the beat level
        self._blv = 0  # the beats' upstroke level (no decay)
        self._dmin = 0  # steepest downstroke (decimated slope) since the last beat was committed
        self._b_up = 0  # the committed beat's upstroke and downstroke (stage 1)
        self._b_dn = 0
        for i in range(3):
            self._as16[i] = self._asu[i] = self._asd[i] = 0
        self._t_n = 0  # beats averaged into the template
        self._d_acc = 0
        self._d_cnt = 0
        self._di = 0
        self._dn = 0  # decimated samples in the ring since the last gap
        self._since = 0  # decimated samples since the last check started
        self._scan = -1  # lag being checked, -1: idle
        self._form = -1  # residual point being formed, -1: not forming
        self._hk = -1  # harmonics' point being taken, -1: idle
        self._hs[11] = 0  # verdicts left with a lock on a motion flagged
        self._hs[29] = 0  # verdicts in a row that saw a sine-like motion
        hs = self._hs
        hs[28] = 0  # product of the lag's dot product reached so far
        hs[26] = 1
        hs[27] = 0  # energy of the residual window at the lag being checked
        self._stage = 0  # a beat's work left: 1 shape match, 2 slopes, 3 interval,
        # 4 change, 5 ambiguity, 6 rate
        self._st_ibi = 0
        hs[24] = 0  # the residual's newest ring index, scale
        hs[25] = 1
        self._st_n = 0
        self._sw = 0
        self._t16 = 0  # beat period (1/16 decimated sample) of the last check
        self.motion = 0  # checks left with a second rhythm flagged
        self._checked = False  # no rate is ok before the first check
        self._t_miss = 0  # template misses in a row
        self.shape_pct = 0
        f = self._flags
        for i in range(_F_WEAK):
            f[i] = 0
        f = self._c_ms
        for i in range(2 * _HIST):
            f[i] = 0
        self.beats_seen = 0
        self.accepted = 0
        self.rejected = 0
        self.last_ibi_us = 0
        self.quality_pct = 0
        self._ref = 0
        self._forget()
        self.faults = HR_NOT_READY
        self.ok = False

    def _forget(self):
        # drop the accepted intervals (start, no pulse, rhythm change)
        self._a_count = 0
        self._a_head = 0
        self._a_sum = 0  # the sum of the _a_count accepted intervals (us)
        self._rej_run = 0
        self._chg_run = 0
        self._chg_sign = 0
        self.dbpm = 0
        self.bpm = 0
        self._set_timeouts()

    def _set_timeouts(self):
        known = self._ref and self._h_count >= 3
        ref = self._ref if self._ref else _DEFAULT_REF_US
        p = self.period_us
        t = ref * 5 // 2
        self._nopulse_n = (t if t > 3000000 else 3000000) // p
        # until the rhythm is known, wait as long as a 40 bpm beat takes
        self._decay_after_n = ((ref if known else 1500000) * 3 // 2) // p
        # the gap from the last accepted interval when it is longer than the
        # median (a slowing rhythm: the median lags, and a gap from it let a
        # dicrotic wave become a beat)
        li = self.last_ibi_us if known and self.last_ibi_us <= _IBI_MAX_US else 0
        c = self._cfg
        m = c[_C_GAP_MIN]
        g = ((li if li > ref else ref) * 2 // 5) // p
        self._gap_n = g if g > m else m
        g = (ref // 4) // p
        c[_C_SEP_N] = g if g > m else m

    def gap(self, lost):
        """`lost` samples are missing (FIFO overflow): keep time, drop the beat in flight."""
        self._n = (self._n + lost) & _MASK24
        self._fill = True
        self._inpk = False
        self._pend = False
        self._t_last = -1
        self._dn = 0
        self._scan = -1
        self._form = -1
        self._hk = -1

    def add(self, x):
        """One sample, oldest first.  x: any integer scale, rising with blood volume."""
        # (methods are called through the class here and in the beat's
        # stages: on the board a method looked up through the instance
        # first misses among its ~110 attributes; a short method took 52 us
        # a call so on the emulated Pico, 22 us through the class)
        busy = self._stage
        if busy:
            HeartRateEstimator._beat_stage(self, busy)
        ring = self._ring
        if self._fill:
            for i in range(self._k):
                ring[i] = x
            self._fill = False
        k = self._ki
        old = ring[k]
        ring[k] = x
        k += 1
        self._ki = 0 if k == self._k else k
        sf = self._sf + ((x - old - self._sf) >> self._smooth)
        self._sf = sf
        n = (self._n + 1) & _MASK24
        self._n = n
        self._raw[n & 0xFF] = x
        # the decimated slope for the second-rhythm check (inline: a call
        # per sample costs more than the sum on the board)
        self._d_acc += sf
        c = self._d_cnt + 1
        if c >= self._dec:
            HeartRateEstimator._second(self)
        else:
            self._d_cnt = c

        if self._learn:
            self._learn -= 1
            if sf > self._amp:
                self._amp = sf
            self._last_v = sf
            if not self._learn:
                self._n_acc = n  # the no-pulse timer starts now
            return
        w = self._as16  # early waves: a bump's start here, the rest in _wave
        if w[3]:
            _wave(self, sf, n)
        elif sf < w[4]:
            w[4] = sf
        elif (sf - w[4]) * 16 > self._amp:
            w[3] = 1
            w[5] = sf
            w[6] = n
        if self._sx_in:
            if sf > self._sx_v:
                self._sx_v = sf
                self._sx_n = n
            elif sf < (self._sx_v >> 1):
                self._sx_in = False
                i = self._xp_i
                self._xp_n[i] = self._sx_n
                self._xp_v[i] = self._sx_v
                self._xp_i = (i + 1) % _XP
        elif sf * 16 > self._amp * _XP_IN:
            self._sx_in = True
            self._sx_v = sf
            self._sx_n = n
        if self._inpk:
            if sf > self._pk_v:
                self._pk_prev = self._last_v
                self._pk_v = sf
                self._pk_n = n
            else:
                if n == ((self._pk_n + 1) & _MASK24):
                    self._pk_next = sf
                if sf < (self._pk_v >> 1):
                    self._inpk = False
                    HeartRateEstimator._candidate(self)
        elif sf > (self._amp * 3) // 5:
            self._inpk = True
            self._pk_prev = self._last_v
            self._pk_v = sf
            self._pk_n = n
        self._last_v = sf

        if self._pend and ((n - (self._pend_t >> 6)) & _MASK24) > self._gap_n:
            HeartRateEstimator._commit(self)
        if self._stage:
            return  # the timers and the check wait until the beat is in
        since = (n - self._n_acc) & _MASK24
        if since > self._decay_after_n and not self._inpk:
            # beats stopped or got weaker: lower the threshold
            self._amp -= self._amp >> self._cfg[_C_DECAY_SHIFT]
        if since > self._nopulse_n and not self.faults & HR_NO_PULSE:
            HeartRateEstimator._forget(self)
            self.faults = HR_NO_PULSE | HR_NOT_READY | (self.faults & HR_LOW_QUALITY)
            self.ok = False
        if not busy:
            # one slice of the second-rhythm check, in a call without beat work
            if self._form >= 0:
                HeartRateEstimator._residual(self)
            elif self._scan >= 0:
                HeartRateEstimator._lag_step(self)
            elif self._hk >= 0:
                HeartRateEstimator._harm(self)

    def _second(self):
        # a decimated slope sample is complete; once a second a check of the
        # comb residual starts: `_residual` forms it a few points per call,
        # then `_lag_step` its autocorrelation, then `_harm` the harmonics
        # (these two in imath's kernels, a batch at a time; the calls in
        # between only step on)
        dr = self._dring
        i = (self._di + 1) % _DR
        self._di = i
        v = self._d_acc
        dr[i] = v
        if v < self._dmin:  # the steepest downstroke (decimated: cheaper)
            self._dmin = v
        self._d_acc = 0
        self._d_cnt = 0
        if self._dn < _DR:
            self._dn += 1
        self._since += 1
        if (
            self._scan >= 0
            or self._form >= 0
            or self._hk >= 0
            or (self._since < self._cfg[_C_FD] and self._checked)
        ):
            return  # a check under way, or not due (the beat period only then)
        t16 = HeartRateEstimator._t16_now(self)
        ti = t16 >> 4
        if ti >= 2 and self._dn >= ti + _YS + 2:
            self._since = 0
            self._form = 0
            hs = self._hs
            hs[24] = i
            hs[25] = (self._amp * self._dec >> 8) + 1
            self._t16 = t16
            hs[26] = 0
            hs[27] = 0

    def _residual(self):
        # the next few points of the residual y[k] = s[j] - s[j - T] (T in
        # 1/16 decimated sample, interpolated), k = 0 the newest; the ring
        # keeps the oldest point needed until the residual is complete
        dr = self._dring
        ys = self._ys
        hs = self._hs
        i = hs[24]
        ti = self._t16 >> 4
        f = self._t16 & 15
        sc = hs[25]
        lmin = self._cfg[_C_LMIN]
        e = hs[26]
        el = hs[27]
        k0 = self._form
        end = k0 + self._cfg[_C_RES_PER]
        if end > _YS:
            end = _YS
        g = 16 - f
        # (a negative index counts from the ring's end: j - ti - 1 >= -_DR,
        # as ti + _YS + 2 <= _DR; no modulo per point)
        j = i - k0
        for k in range(k0, end):
            b = j - ti
            a = dr[b] * g + dr[b - 1] * f
            y = (dr[j] - (a >> 4)) // sc
            j -= 1
            y = y if -2047 <= y <= 2047 else (2047 if y > 0 else -2047)
            ys[k] = y
            if k < _N2:
                e += y * y
            if lmin <= k < lmin + _N2:
                el += y * y
        hs[26] = e
        hs[27] = el
        if end < _YS:
            self._form = end
            return
        self._form = -1
        self._scan = lmin
        self._hk = 0  # then the harmonics
        hs[28] = 0

    def _lag_step(self):
        # the residual's autocorrelation: _LAG_BATCH lags' r at a time
        # (imath.lags), each lag's into _rlag[2:] (for the near-rate check,
        # _near), the best ones into _rlag[0] and [1]; the calls step on by a
        # part of a lag, as when a part was summed per call, to the verdict
        # in its own call
        lag = self._scan
        c = self._cfg
        lmax = c[_C_LMAX]
        if lag > lmax:
            HeartRateEstimator._verdict(self)
            return
        hs = self._hs
        k0 = hs[28]
        if not k0 and not (lag - c[_C_LMIN]) % _LAG_BATCH:
            rl = self._rlag
            if lag == c[_C_LMIN]:
                rl[0] = rl[1] = -200
            e = lag + _LAG_BATCH
            if e > lmax:
                e = lmax + 1
            hs[27] = lags(self._ys, rl, lag, e, hs[26], hs[27], (self._t16 + 8) >> 4, _N2)
        end = k0 + c[_C_LAG_PER]
        if end < _N2:
            hs[28] = end
            return
        hs[28] = 0
        self._scan = lag + 1  # past the last lag: the verdict, in the next call

    def _verdict(self):
        # the check's verdict (its own call: with the last lag's products it
        # made the longest call of the check)
        self._scan = -1
        self._checked = True
        r2 = _R2_HOLD if self.motion else _R2
        mg = _R2_HOLD_MARGIN if self.motion else _R2_MARGIN
        rb = _RB_HOLD if self.motion else _RB
        if self._near(rb):
            # a rhythm near the beat rate: its hits come and go as the two
            # rhythms drift in and out of phase; held for 2 checks, 5 when
            # repeated
            self.motion = 5 if self.motion else 2
            self.faults |= HR_LOW_QUALITY
            self.ok = False
        elif self._rlag[0] >= r2 and self._rlag[0] - self._rlag[1] >= mg:
            # an isolated hit withholds the rate until the next check, a
            # repeated one for two
            self.motion = 3 if self.motion else 1
            self.faults |= HR_LOW_QUALITY
            self.ok = False
        elif self.motion:
            self.motion -= 1

    def _harm(self):
        # (issue 11) the check window's harmonics 1-5 at the beat period T
        # over whole periods (at least 2) of the last _HL decimated slope
        # points, a few points per call after the lags (y: the slope scaled
        # as the residual is; phase in 1/4096 turn; sums < 2**11 * 63 * _HL),
        # the verdict in a call of its own
        hs = self._hs
        k0 = self._hk
        if not k0:
            t16 = hs[31]  # the fold's period (_near, just before)
            m = (_HL << 4) // t16
            if m < 2 or t16 * 9 < 3 * 320:
                # under 2 periods, or harmonic 3 over 0.45 of the rate
                self._hk = -1
                if hs[11]:
                    hs[11] -= 1
                return
            for i in range(10):
                hs[i] = 0
            hs[10] = (m * t16 + 8) >> 4
        t16 = hs[31]
        n = hs[10]
        if k0 < n:
            end = max(1, _H_UNITS // self._dec)
            # (twice as fast where only harmonics 1-3 count: the checks'
            # cadence there stays what it was without them)
            end = k0 + (end if t16 * 9 >= 4 * 320 else end * 2)
            w = hs[28]  # points summed (imath.harm), _H_BATCH a call when the steps reach past
            if end > w:
                e = w + _H_BATCH if w + _H_BATCH < n else n
                harm(hs, self._dring, _SIN, hs[24], hs[25], t16, w, e)
                hs[28] = e
            self._hk = end
            return
        self._hk = -1
        # |S_h| ~ max + 3/8 min of |re|, |im| (within 7 %), into hs[h - 1];
        # a harmonic over 0.45 of the decimated rate counts as 0
        for h in range(0, 10, 2):
            a = abs(hs[h])
            b = abs(hs[h + 1])
            hs[h >> 1] = a + b - (min(a, b) * 5 >> 3) if (h + 2) * 160 <= 9 * t16 else 0
        # a sine-like motion the beats lock on near the pulse rate: its fold
        # at T is harmonic 1 and, from its wobble, even harmonics (a pulse's
        # upstroke makes odd ones); the pulse stays in the comb residual,
        # near T.  |S1| > |S2| + |S3|, |S3| + |S5| < 0.15 (|S2| + |S4|) and
        # steady intervals (mean step < 10 %) twice in a row, with the
        # residual repeating near T at r >= 0.6, 0.2 above r at T (_near;
        # alone it needs 0.88, 0.5 above) or the flag held: held for 5
        # verdicts (SENSING.md §5.7)
        w = self._as16
        m = min(self._h_count, _HIST)
        b = hs[29] + 1  # the verdicts in a row that saw it
        if not (
            m >= 6
            and hs[0] > hs[1] + hs[2]
            and (hs[2] + hs[4]) * 20 < (hs[1] + hs[3]) * 3
            and w[0] * m * 10 < w[2] * (m - 1)
        ):
            b = 0
        hs[29] = b
        if b > 1 and (hs[30] >= _RB_SINE or hs[11]):
            hs[11] = 5
        elif t16 * 9 >= 4 * 320 and (hs[2] + hs[4]) * 2 > (hs[1] + hs[3]) * 3:
            # a motion the beats lock on is nearly half-wave symmetric
            # (triangle, rounded square: the even harmonics vanish); a pulse
            # is not (BIDMC: 0.4 % of the ok seconds; SENSING.md §5.7); only
            # where harmonic 4 is under 0.45 of the rate.
            # held for 2 verdicts, 3 when repeated
            hs[11] = 3 if hs[11] else 2
        else:
            if hs[11]:
                hs[11] -= 1
            return
        self.faults |= HR_LOW_QUALITY
        self.ok = False

    def _near(self, rb):
        # a rhythm near the beat rate: the residual repeats at a lag more
        # than half a lag and up to 15 % (and a lag) off T or 2T with r >=
        # 0.88, 0.5 above r at the lag nearest T (and 2T), outside the span
        # of the last 4 intervals.  Beats locked on
        # a motion close to the pulse rate leave the pulse in the residual,
        # at its own period; at T itself the pulse's difference does not
        # repeat (r near 0).  Once a check, from the r of each lag (_rlag).
        t16 = self._t16
        rl = self._rlag
        lmin = self._cfg[_C_LMIN]
        lmax = self._cfg[_C_LMAX]
        # the span of the last 4 accepted intervals (1/16 decimated sample,
        # and half a lag): a lag within it is the beats' own period (a rate
        # that changes, and the median lags; beat-to-beat change), not
        # another rhythm
        c = self._a_count
        if c > 4:
            c = 4
        a = self._acc
        i = self._a_head
        lo = _IBI_MAX_US
        hi = 0
        m = 0
        for _ in range(c):
            i = i - 1 if i else _MAX_ACC - 1
            v = a[i]
            m += v
            if v < lo:
                lo = v
            if v > hi:
                hi = v
        u = self.period_us * self._dec
        # the harmonics' fold period (_harm, next): the last 4 intervals'
        # mean where it is more than 5 % off T; while the rate changes
        # (+-20 bpm in 15 s) the median lags by ~10 % and a fold at T smears
        # the pulse into a symmetric wave; within 5 %, T (a motion's wobble
        # moves the last 4)
        m = (m << 4) // (c * u) if c else t16
        d = m - t16
        hs = self._hs
        hs[31] = m if (d if d > 0 else -d) * 100 > _FOLD_PCT * t16 else t16
        lo = ((lo << 4) // u) - 8
        hi = ((hi << 4) // u) + 8
        x = 0  # r at T, 2T (below 0 counts as 0: an irregular rhythm's residual alternates)
        best = -200  # the best r 0.2 above (for _harm's sine-like motion)
        for k in range(1, 3):
            c = k * t16
            n = (c + 8) >> 4  # the lag nearest kT
            if n > lmax:
                break
            v = rl[n] if n >= lmin else 0
            if v > x:
                x = v
            w = (15 * c + 1600) // 1600  # 15 % and a lag, in lags
            jlo = n - w
            jhi = n + w
            if jlo < lmin:
                jlo = lmin
            if jhi > lmax:
                jhi = lmax
            for j in range(jlo, jhi + 1):
                v = rl[j]
                if j != n and v > best and v - x >= _RB_SINE_MARGIN:
                    d = (j << 4) - c
                    e = (j << 4) // k
                    if (d if d > 0 else -d) > 8 and not lo <= e <= hi:
                        # more than half a lag off kT, and off the recent
                        # intervals
                        if v >= rb and v - x >= _RB_MARGIN:
                            return True
                        best = v
        hs[30] = best
        return False

    def _t16_now(self):
        # the beat period in 1/16 decimated sample, 0: not known yet
        if self._h_count < 3 or self._amp <= 0:
            return 0
        return (self._ref << 4) // (self.period_us * self._dec)

    def _candidate(self):
        # Parabola through (prev, peak, next): vertex offset in 1/64 sample.
        y0 = self._pk_prev
        y1 = self._pk_v
        y2 = self._pk_next
        den = y0 - 2 * y1 + y2
        off = 0
        if den < 0:
            off = (32 * (y0 - y2)) // den
            if off > 32:
                off = 32
            elif off < -32:
                off = -32
        t = ((self._pk_n << 6) + off) & _MASK30
        if self._pend:
            d = (t - self._pend_t) & _MASK30
            if d < (self._gap_n << 6):
                if y1 > self._pend_v:  # keep the steepest of close candidates
                    self._pend_t = t
                    self._pend_v = y1
                return
            HeartRateEstimator._commit(self)
        self._pend = True
        self._pend_t = t
        self._pend_v = y1

    def _commit(self):
        # a beat: its work in five slices, this call and the next four (at
        # once it would make one call several times longer than the rest):
        # the shape's points, the shape's match, the interval, the change
        # check, the rate
        while self._stage:
            HeartRateEstimator._beat_stage(self, self._stage)
        self._pend = False
        t = self._pend_t
        self._amp += (self._pend_v - self._amp) >> 2
        self.beats_seen += 1
        # the upstroke's and the steepest downstroke's slopes (kept in stage 2)
        self._b_up = self._pend_v
        self._b_dn = self._dmin
        self._dmin = 0
        self._st_n = self._n
        # share of recent beats with a second upstroke dropped
        i = self._x_i
        if self._x_count == _HIST:
            self._x_sum -= self._flags[_F_XBEAT + i]
        else:
            self._x_count += 1
        x = HeartRateEstimator._second_upstroke(self, t >> 6)
        self._flags[_F_XBEAT + i] = x
        self._x_sum += x
        self._x_i = (i + 1) % _HIST
        HeartRateEstimator._shape_points(self, t >> 6)
        self._st_ibi = 0
        if self._t_last >= 0:
            d64 = (t - self._t_last) & _MASK30
            if d64 < (_IBI_MAX_US // self.period_us + 2) << 6:
                self._st_ibi = (d64 * self.period_us) >> 6
            else:
                self._st_ibi = _IBI_MAX_US + 1
        self._stage = 1
        self._t_last = t

    def _second_upstroke(self, tb):
        # 1: an upstroke >= 32 % as steep as this beat's lay between the last
        # beat and this one, a quarter beat or more from both: a weak beat
        # the beat train skipped (bigeminy) or a second wave (double-peaked
        # pulse, late dicrotic wave); the rate is then ambiguous
        if self._t_last < 0:
            return 0
        ta = self._t_last >> 6
        span = (tb - ta) & _MASK24
        sep = self._cfg[_C_SEP_N]
        xp = self._xp_n
        xv = self._xp_v
        v = self._pend_v * _XP_PCT
        for i in range(_XP):
            m = xp[i]
            if m >= 0 and xv[i] * 100 >= v:
                da = (m - ta) & _MASK24
                if sep <= da < span and span - da >= sep:
                    return 1
        return 0

    def _beat_slopes(self):
        # the beat's upstroke and steepest downstroke slopes relative to the
        # beat level, into their rings and alternation sums
        lv = (self._amp >> 2) + 1
        i = self._b_i
        c = self._b_count
        a = self._b_up * 64 // lv
        a = a if 0 <= a < 1024 else (1023 if a > 0 else 0)
        _alt_push(self._asu, self._bamp, i, c, a, _ALT_N, 1)
        self._bamp[i] = a
        # a weak beat: its upstroke under half the beats' level (which, unlike
        # the detection level, does not decay in a pause)
        w = 1 if self._b_up * 4 < self._blv else 0
        if c == _ALT_N:
            self._weak -= self._flags[_F_WEAK + i]
        self._flags[_F_WEAK + i] = w
        self._weak += w
        self._blv += (self._b_up - self._blv) >> 2
        a = -self._b_dn * 64 // (lv * self._dec)
        a = a if 0 <= a < 1024 else (1023 if a > 0 else 0)
        _alt_push(self._asd, self._bdn, i, c, a, _ALT_N, 1)
        self._bdn[i] = a
        self._b_i = (i + 1) % _ALT_N
        if c < _ALT_N:
            self._b_count = c + 1

    def _beat_stage(self, st):
        # the work of the calls that report nothing new (the template, the
        # rate's window sums) sits with the lighter stages, so no call pays
        # much more than another (issue 10: p99 of a period)
        if st == 1:
            HeartRateEstimator._shape_match(self)
            self._stage = 2
        elif st == 2:
            HeartRateEstimator._beat_slopes(self)
            if self._st_ibi:
                self._stage = 3
            else:
                for k in range(3):
                    HeartRateEstimator._template(self, k)
                self._stage = 0
        elif st == 3:
            HeartRateEstimator._interval(self, self._st_ibi)
            self._stage = 4
        elif st == 4:
            HeartRateEstimator._change(self)
            HeartRateEstimator._hist_sums(self)
            HeartRateEstimator._template(self, 0)
            self._stage = 5
        elif st == 5:
            HeartRateEstimator._window(self)
            HeartRateEstimator._template(self, 1)
            self._stage = 6
        else:
            HeartRateEstimator._output(self)
            HeartRateEstimator._template(self, 2)
            self._stage = 0

    def _hist_sums(self):
        # (stage 4) the interval's alternation sums (_as16[0:3]), left by
        # _interval (stage 3): the ring's slot held hs[21] before it
        hs = self._hs
        j = hs[22]
        if j < 0:
            return  # none (out of range, or the history restarted)
        h = self._hist
        v = h[j]
        h[j] = hs[21]
        _alt_push(self._as16, h, j, hs[23], v // 1000, _HIST, 1000)
        h[j] = v

    def _shape_points(self, pk):
        # The beat's shape (raw samples around its steepest point), to be
        # correlated with a running template: a pulse wave repeats, noise
        # does not.
        wn = self._cfg[_C_WN]
        st = self._cfg[_C_ST]
        w = self._shape
        raw = self._raw
        # (the points here, normalised in the next call: _shape_match)
        j = pk - self._cfg[_C_PRE]
        acc = 0
        lo = hi = raw[j & 0xFF]
        for i in range(wn):
            v = raw[j & 0xFF]
            w[i] = v
            acc += v
            if v > hi:
                hi = v
            elif v < lo:
                lo = v
            j += st
        mean = acc // wn
        # the largest deviation from the mean (at least 1)
        hi -= mean
        lo = mean - lo
        if lo > hi:
            hi = lo
        hs = self._hs
        hs[12] = mean
        hs[13] = hi if hi > 1 else 1
        hs[14] = wn

    def _shape_match(self):
        # the shape's points normalised to +-512 (their mean and largest
        # deviation from _shape_points) and correlated with the template;
        # the template itself is updated in stage 4 (_template)
        hs = self._hs
        w = self._shape
        tm = self._tmpl
        mean = hs[12]
        dev = hs[13]
        sw = 0
        for i in range(hs[14]):
            v = ((w[i] - mean) * 512) // dev
            w[i] = v
            sw += v * v
        wn = self._cfg[_C_WN]
        hs[15] = wn
        good = 0
        if self._t_n:
            dot = 0
            for i in range(wn):
                dot += w[i] * tm[i]
            d = self._sw
            if wn != hs[16]:  # the rate changed: the template's norm over wn points
                d = 0
                for i in range(wn):
                    d += tm[i] * tm[i]
                d = isqrt(d)
            den = isqrt(sw) * d
            r = dot * 100 // den if den else 0
            good = 1 if r >= _R_GOOD else 0
        if good or self._t_n < 3 or self._t_miss >= 3:
            if not good and self._t_n >= 3:
                self._t_n = 0  # the shape changed for good: start a new template
            self._t_n += 1
            self._t_miss = 0  # (stage 4: 1 copies the shape, more blend it in)
        else:
            self._t_miss += 1
        # share of recent beats that matched
        i = self._s_i
        if self._s_count == _HIST:
            self._s_sum -= self._flags[_F_SGOOD + i]
        else:
            self._s_count += 1
        self._flags[_F_SGOOD + i] = good
        self._s_sum += good
        self._s_i = (i + 1) % _HIST
        self.shape_pct = self._s_sum * 100 // self._s_count

    def _template(self, k):
        # the template after the beat's match (_shape_match), a third of its
        # points at a time (k = 0, 1, 2; hs[15] points): the shape copied
        # (the first beat of a template), blended in, or as it was (a miss
        # counted); their energy summed in hs[20]; after the last third
        # self._sw: the integer root of the energy over hs[16] points
        hs = self._hs
        tm = self._tmpl
        w = self._shape
        n = hs[15]
        s = hs[20] if k else 0
        j = n * k // 3
        e = n * (k + 1) // 3
        if self._t_miss:
            for i in range(j, e):
                v = tm[i]
                s += v * v
        elif self._t_n == 1:
            for i in range(j, e):
                v = w[i]
                tm[i] = v
                s += v * v
        else:
            for i in range(j, e):
                v = tm[i]
                v += (w[i] - v) >> 3
                tm[i] = v
                s += v * v
        hs[20] = s
        if k == 2:
            hs[16] = n
            self._sw = isqrt(s)

    def _push_acc(self, ibi):
        h = self._a_head
        if self._a_count < _MAX_ACC:
            self._a_count += 1
        else:
            self._a_sum -= self._acc[h]
        self._a_sum += ibi
        self._acc[h] = ibi
        self._a_head = (h + 1) % _MAX_ACC
        self._n_acc = self._st_n  # the sample in which the beat was committed
        self.last_ibi_us = ibi

    def _interval(self, ibi):
        in_range = _IBI_MIN_US <= ibi <= _IBI_MAX_US
        short = self._short_us
        self._short_us = 0
        ms = ibi // 1000
        if not in_range:
            self._hs[22] = -1  # (stage 4: no alternation sums to keep)
            self.rejected += 1
            self._rej_run += 1
            if ibi > _IBI_MAX_US:
                HeartRateEstimator._classified(self, 0, 1, 0, 0, 0)
            else:
                self._short_us = ibi
                HeartRateEstimator._classified(self, 0, 2, ms, 0, 0)
            return
        ref = self._ref
        have_ref = self._h_count >= 3
        m = short + ibi
        if (
            short
            and have_ref
            and m <= _IBI_MAX_US
            and ibi * 5 < ref * 4
            and ref * 4 <= m * 5 <= ref * 6
        ):
            # the last interval was too short and this one with it makes one
            # of 80..120 % of the median: the beat between them was not one
            # (a second wave, a noise bump); accepting this one alone would
            # bias the rate up
            HeartRateEstimator._push_acc(self, m & -2)
            self.accepted += 1
            self._rej_run = 0
            HeartRateEstimator._short_taken_back(self)
            ibi = m
            HeartRateEstimator._classified(self, 1, 0, 0, m // 1000, 1)
        elif short and have_ref and ibi * 5 > ref * 6 and ref * 17 <= m * 10 <= ref * 24:
            # ... or one with a beat missed, when this one alone is long (a
            # second wave found, the next beat within its gap lost): two
            # halves, as a missed beat, rather than this one alone (biased
            # down)
            h = m >> 1
            HeartRateEstimator._push_acc(self, h | 1)
            HeartRateEstimator._push_acc(self, (m - h) | 1)
            self.accepted += 1
            self._rej_run = 0
            HeartRateEstimator._short_taken_back(self)
            HeartRateEstimator._classified(self, 0, 3, 0, m // 1000, 2)
            ibi = h
        else:
            m = 0
        # the reference: median of the recent in-range intervals (all of them),
        # kept sorted as they come and go
        h = self._hist
        srt = self._sorted
        c = self._h_count
        if c == _HIST:
            # the oldest one's slot moves to where this one belongs (the
            # values between shift by one: fewer steps than out, then in)
            old = h[self._h_head]
            j = 0
            while srt[j] != old:
                j += 1
            while j < _HIST - 1 and srt[j + 1] < ibi:
                srt[j] = srt[j + 1]
                j += 1
            while j and srt[j - 1] > ibi:
                srt[j] = srt[j - 1]
                j -= 1
            srt[j] = ibi
        else:
            j = c - 1
            while j >= 0 and srt[j] > ibi:
                srt[j + 1] = srt[j]
                j -= 1
            srt[j + 1] = ibi
        # its alternation sums in stage 4 (_hist_sums)
        hs = self._hs
        hs[21] = h[self._h_head]
        hs[22] = self._h_head
        hs[23] = self._h_count
        h[self._h_head] = ibi
        self._h_head = (self._h_head + 1) % _HIST
        if self._h_count < _HIST:
            self._h_count += 1
        if m:
            pass  # merged above
        elif not have_ref:
            HeartRateEstimator._push_acc(self, ibi & -2)
            self.accepted += 1
        elif ibi * 5 >= ref * 3 and ibi * 2 <= ref * 3:  # 60..150 %
            HeartRateEstimator._push_acc(self, ibi & -2)
            self.accepted += 1
            self._rej_run = 0
            HeartRateEstimator._classified(self, 1, 0, 0, ms, 1)
        elif ibi * 10 >= ref * 17 and ibi * 10 <= ref * 24:  # one beat missed
            h = ibi >> 1
            HeartRateEstimator._push_acc(self, h | 1)
            HeartRateEstimator._push_acc(self, (ibi - h) | 1)
            self.accepted += 1
            self._rej_run = 0
            HeartRateEstimator._classified(self, 0, 3, 0, ms, 2)
        else:
            self.rejected += 1
            self._rej_run += 1
            if ibi < ref:
                self._short_us = ibi
                HeartRateEstimator._classified(self, 0, 0, ms, 0, 0)
            else:
                HeartRateEstimator._classified(self, 0, 0, 0, 0, 0)
            if self._rej_run >= 6:
                # the rhythm changed for good: restart from this interval
                HeartRateEstimator._forget(self)
                hs[22] = -1
                self._h_count = 1
                self._h_head = 1
                self._hist[0] = ibi
                a = self._as16
                a[0] = a[1] = 0
                a[2] = ibi // 1000
                self._sorted[0] = ibi
                HeartRateEstimator._push_acc(self, ibi & -2)
        HeartRateEstimator._median(self)
        HeartRateEstimator._set_timeouts(self)

    def _short_taken_back(self):
        # the last interval, rejected as short, was no beat's (merged)
        i = self._g_i - 1 if self._g_i else _HIST - 1
        o = self._c_ms[i]
        if o:
            self._cr_sum -= o
            self._cr_n -= 1
            self._c_ms[i] = 0

    def _classified(self, good, side, short_ms, acc_ms, acc_n):
        # one more interval classified (of the last 16): accepted as normal
        # (`good`), rejected as long or short (`side`: out of range), rejected
        # as shorter than the median (`short_ms`, 0 if not) and what of it was
        # accepted (`acc_ms` as `acc_n` intervals)
        i = self._g_i
        f = self._flags
        c = self._c_ms
        if self._g_count == _HIST:
            self._g_sum -= f[i]  # (_F_GOOD: 0)
            o = f[_F_SIDE + i]
            if o == 1:
                self._rl -= 1
            elif o == 2:
                self._rs -= 1
            elif o == 3:
                self._rm -= 1
            o = c[i]
            if o:
                self._cr_sum -= o
                self._cr_n -= 1
            self._ca_sum -= c[_HIST + i]
            self._ca_n -= f[_F_CN + i]
        else:
            self._g_count += 1
        c[i] = short_ms
        c[_HIST + i] = acc_ms
        f[_F_CN + i] = acc_n
        if short_ms:
            self._cr_sum += short_ms
            self._cr_n += 1
        self._ca_sum += acc_ms
        self._ca_n += acc_n
        f[_F_SIDE + i] = side
        if side == 1:
            self._rl += 1
        elif side == 2:
            self._rs += 1
        elif side == 3:
            self._rm += 1
        f[i] = good
        self._g_sum += good
        self._g_i = (i + 1) % _HIST
        q = self._g_sum * 100 // self._g_count
        self.quality_pct = q if q < self.shape_pct or not self._s_count else self.shape_pct

    def _median(self):
        c = self._h_count
        s = self._sorted
        self._ref = s[c >> 1] if c & 1 else (s[(c >> 1) - 1] + s[c >> 1]) >> 1

    def _change(self):
        c = self._a_count
        a = self._acc
        if c >= _SHORT + 4:
            # recent (last 8) against older mean: a sustained change?
            i = self._a_head
            short = 0
            for _ in range(_SHORT):
                i = i - 1 if i else _MAX_ACC - 1
                short += a[i]
            older = self._a_sum - short  # (kept as they come and go: no loop)
            sm = short // _SHORT
            om = older // (c - _SHORT)
            sign = 0
            if (sm - om) * 100 > om * _CHANGE_PCT:
                sign = 1
            elif (om - sm) * 100 > om * _CHANGE_PCT:
                sign = -1
            if sign and sign == self._chg_sign:
                self._chg_run += 1
            else:
                self._chg_run = 0
            self._chg_sign = sign
            if sign and self._chg_run >= _CHANGE_BEATS:
                self._a_count = _SHORT
                self._a_sum = short
                self._chg_run = 0

    def _ambiguous(self):
        # (stage 6, before the rate) is the beat train ambiguous: one or two
        # beats per pulse?
        if self._g_count >= 4 and self._g_sum * 100 < _INTERVALS_OK_PCT * self._g_count:
            # a third of the intervals not normal: the beat train mixes one
            # and two beats per pulse (bigeminy with the weak beats found
            # now and then); the accepted ones are not the rate
            return True
        x = self._x_sum
        self._x_amb = x > 0 and (
            x * 4 >= self._x_count
            or self._x_count < _HIST
            or (self._x_amb and x * 8 >= self._x_count)
        )
        if self._x_amb:
            # a quarter of the beats had a second upstroke as steep as a
            # beat dropped: weak beats missed (bigeminy) or a second wave
            # (double-peaked pulse); which one is not known.  Until 16
            # beats are seen, any one: a quarter of a few is chance (weak
            # premature beats near the threshold were missed at the start).
            # Once flagged, held while an eighth are (weak premature beats
            # near the threshold: 3 of 16 for one beat read half the rate ok)
            return True
        hc = self._h_count
        bc = self._b_count
        if (
            _alt_of(self._as16, hc, _HIST, 4)
            or _alt_of(self._asu, bc, _ALT_N, _SLOPE_ALT_PCT)
            or _alt_of(self._asd, bc, _ALT_N, _DOWN_ALT_PCT)
        ):
            # long and short intervals (or steep and shallow upstrokes)
            # alternate (bigeminy, a second wave counted): the missed-beat
            # rule would split the long ones, the median sits on either side
            return True
        w = self._weak
        if w and (w * 8 >= self._b_count or self._b_count < _ALT_N):
            # 2 of the last 16 beats (any one of the first 16) rose at under
            # a quarter of the beats' level: weak beats found now and then
            # (weak premature beats; in a long pause, with the detection
            # threshold lowered, a bump in the pulse's tail): the train
            # mixes two kinds of beat
            return True
        x = self._cr_n
        n = self._ca_n
        if x and n >= 4:
            a = self._ca_sum
            d = a * x - self._cr_sum * n
            if d * 100 > _EARLY_PCT * a * (n + x):
                # the mean interval with the beats rejected as early (not
                # explained as a bump within a normal interval) counted, too,
                # is 7 % off the rate: if they were beats (premature beats
                # of bigeminy), the rate is wrong; which one is not known
                return True
        # a quarter of the intervals out of range on one side (the mean of
        # the rest is biased), or split as missed beats (so many missed
        # beats are a guess: long pauses of bigeminy)
        g = self._g_count
        return g > 0 and (
            self._rl * _ONE_SIDED >= g or self._rs * _ONE_SIDED >= g or self._rm * _ONE_SIDED >= g
        )

    def _window(self):
        # (stage 5) the rate's window: its mean interval and length into
        # hs[17], hs[18], its low-quality verdicts into hs[19] (stage 6
        # reports them)
        c = self._a_count
        a = self._acc
        hs = self._hs
        faults = 0
        if c >= 3:
            # mean of the accepted intervals of the last window (>= 3 of them)
            i = self._a_head
            total = 0
            k = 0
            lim = _WINDOW_US
            lo = _IBI_MAX_US
            hi = 0
            sq = 0  # sum of the intervals (~16 ms) << 8 | halves of split intervals
            ss = 0  # ... of their squares
            while k < c:
                i = i - 1 if i else _MAX_ACC - 1
                v = a[i]
                if total + v > lim and k >= 3:
                    break
                total += v
                k += 1
                q = v >> 14  # ~16 ms units: the sums stay small ints
                sq += (q << 8) | (v & 1)  # and the split halves, below
                ss += q * q
                if v < lo:
                    lo = v
                if v > hi:
                    hi = v
            hs[17] = total // k
            hs[18] = k
            ref = self._ref
            if lo * 5 < ref * 3 or hi * 2 > ref * 3:
                # an interval outside 60..150 % of the median in the window
                # (accepted before the rhythm was known)
                faults |= HR_LOW_QUALITY
            # k^2 times the intervals' variance (<= k * 146 * 1367 < 2**23;
            # the products below stay small ints, < 2**30)
            x = sq & 255  # halves of intervals split as a missed beat (low bit set)
            sq >>= 8
            v = ss * k - sq * sq
            if x * _SPLIT_DEN > k * 2 and v * _SCATTER_DEN > sq * sq:
                # in an irregular rhythm (the intervals scattered by > 12 %)
                # a split is a guess (a missed beat, or one long interval):
                # counted as one interval each, the window's rate would be
                # > 10 % lower; which one is not known
                faults |= HR_LOW_QUALITY
            if v > sq * sq * k // _SE_DEN:
                # the mean of so few, so scattered intervals is uncertain by
                # more than 5 % (its standard error: an irregular rhythm
                # after the change rule kept only the last 8)
                faults |= HR_LOW_QUALITY
        hs[19] = faults

    def _output(self):
        hs = self._hs
        if self._a_count >= 3:
            self.dbpm = 600000000 // hs[17]
            self.bpm = (self.dbpm + 5) // 10
            faults = hs[19]
            if _rhythm(self, hs[18]):
                faults |= HR_LOW_QUALITY  # early waves, or an irregular rhythm
        else:
            faults = HR_NOT_READY
            self.dbpm = 0
            self.bpm = 0
        if self._g_count >= 4 and self.quality_pct < _MIN_QUALITY_PCT:
            faults |= HR_LOW_QUALITY
        if self._s_count >= 4 and self.shape_pct < _MIN_QUALITY_PCT:
            faults |= HR_LOW_QUALITY
        if self.motion or hs[11]:
            faults |= HR_LOW_QUALITY
        if HeartRateEstimator._ambiguous(self):
            faults |= HR_LOW_QUALITY
        b = self._t16
        t = self._t16_now()
        if not self._checked or (t - b if t > b else b - t) * 8 > b:
            faults |= HR_NOT_READY  # not checked at this beat period yet
        self.faults = faults
        self.ok = faults == 0


def _alt_push(sums, ring, head, count, v, n, div):
    # keep `sums` (steps k to k+1, steps k to k+2, values) over the last n
    # values of a ring as `v` is written at `head` (`count` values in the
    # ring before it; ring values divided by `div`: us -> ms, the sums stay
    # small ints): the oldest of the window leaves, v enters; a few
    # operations per value instead of a loop over the window
    size = len(ring)
    if count >= n:
        j = head - n
        if j < 0:
            j += size
        o = ring[j] // div
        a = ring[(j + 1) % size] // div
        b = ring[(j + 2) % size] // div
        sums[0] -= a - o if a > o else o - a
        sums[1] -= b - o if b > o else o - b
        sums[2] -= o
    if count >= 1:
        a = ring[head - 1 if head else size - 1] // div
        sums[0] += v - a if v > a else a - v
    if count >= 2:
        a = ring[head - 2 if head > 1 else head + size - 2] // div
        sums[1] += v - a if v > a else a - v
    sums[2] += v


def _alt_of(sums, count, n, pct):
    # the last n values (at least 6; `count` in the ring) alternate: their
    # steps (k to k+1) are on average `pct` % of a value or more and 2.5
    # times the steps from k to k+2.  An irregular series has both kinds of
    # steps alike, a regular one both small, a smooth drift (breathing)
    # larger steps over two.
    m = count if count < n else n
    if m < 6:
        return False
    s1 = sums[0]
    # mean steps: s1 / (m - 1) and s2 / (m - 2); the mean value tot / m
    return s1 * (m - 2) * 2 >= sums[1] * (m - 1) * 5 and s1 * m * 100 >= sums[2] * (m - 1) * pct


# Early waves (issue 11: never a wrong rate ok).  A weak premature beat the
# beat train skips (bigeminy: its pulse 0.1-0.9 of a beat's, too weak or too
# close for a beat) and a dicrotic wave both leave a bump in the slope early
# in the interval: the rate is the beats' or twice it, which one the pulse
# wave alone does not tell.  A bump: the slope rises 1/16 of the beat level
# above its last low, and falls as much and to half its rise from its top.
# Counted when it rose >= 1/5 of the beat level, its top at 1/8..45 % of an
# interval >= 0.8 s (under 75 bpm: twice the rate is a plausible rate), the
# only one in its interval (noise on a slow pulse's flat tail makes
# several), within 1/16 interval of the place of the one 1 or 2 beats
# before (a wave that repeats).  The BIDMC pulses' dicrotic waves sit later
# or in shorter intervals (their coverage unchanged).  self._as16[3:]: 3 in
# a bump, 4 its low, 5 its top, 6 the top's sample, 7 beats with one
# counted (bits, newest in bit 0), 8 the beat of the last bump, 9 its place
# (1/64 interval; -99: a second one in its interval), 10 the beat of the
# last counted one.
def _wave(self, v, n):
    # (in a bump: add found its start)
    w = self._as16
    a = self._amp
    if v > w[5]:
        w[5] = v
        w[6] = n
        return
    r = w[5] - w[4]
    if (w[5] - v) * 16 <= a or (v * 2 > w[5] + w[4] and r * 6 >= a):
        return
    w[3] = 0
    w[4] = v
    t = self._pend_t if self._pend else self._t_last
    if r * 5 < a or self._ref < 800000 or t < 0:
        return
    d = (w[6] - (t >> 6)) & _MASK24
    n = self._ref // self.period_us
    if d * 8 < n or d * 20 > n * 9:
        return
    b = self.beats_seen + (1 if self._pend else 0)
    d = d * 64 // n
    if b == w[8]:
        d = -99  # a second one in this interval: noise
        if w[10] == b:
            w[7] &= 0xFFFE
    elif b - w[8] <= 2 and -4 <= d - w[9] <= 4:
        a = b - w[10]
        w[7] = ((w[7] << a) | 1) & 0xFFFF if a < 16 else 1
        w[10] = b
    w[8] = b
    w[9] = d


def _rhythm(self, n):
    # (the rate of n intervals) ambiguous: a quarter of the last 16 beats
    # had an early wave counted (above; two in the first 16); or, when the window holds 16 intervals or
    # fewer, the rhythm's scatter (the mean step between the last 16
    # in-range intervals: 1.13 standard deviations for independent ones)
    # makes their mean uncertain by > 5 % (its standard error): in an
    # irregular rhythm a run of long or short ones (the first ones, or those
    # the change rule kept) is not the rate, however alike they are
    w = self._as16
    v = self.beats_seen - w[10]
    v = (w[7] << v) & 0xFFFF if v < 16 else 0
    a = 0
    while v:
        v &= v - 1
        a += 1
    if a >= 4 or (a > 1 and self._b_count < _ALT_N):
        return True  # (two in the first 16 beats: a slow pulse has few)
    b = self._h_count
    if b < 6 or n > 16:
        return False
    a = w[0] // (b - 1)  # mean step (ms)
    b = w[2] // b  # mean interval (ms)
    return a * a * 100 > (b * b // 4000) * n * 1273
