"""The heart-rate estimator spreads its periodic work over the samples
(issue 10: the once-a-second second-rhythm check, formed in one sample's
`add`, made that call 5.9 ms on the emulated Pico and most of the missed
10 ms periods).

* No `add` executes more than a small bounded number of Python lines
  (CPython's line events stand in for time: the emulated Pico charges per
  instruction), while the estimator still reads the rate.
* The sliced check reaches the same verdict as the check done at once: at
  each check's start the decimated ring is snapshotted and the residual's
  autocorrelation computed here, independently, in one go."""

from __future__ import annotations

import sys

from inversa.sense import heartrate as H
from inversa.sense.heartrate import HeartRateEstimator
from inversa_world.ppg import PPGSynth


def _xs(bpm: int, seconds: int, period_us: int = 10000) -> list[int]:
    ppg = PPGSynth(seed=bpm, hr_bpm=bpm)
    return [int(ppg(k * period_us) * 20000) for k in range(seconds * 1000000 // period_us)]


def _lines_per_add(est: HeartRateEstimator, xs: list[int]) -> list[int]:
    counts: list[int] = []
    n = [0]

    def tracer(frame, event, arg):
        if frame.f_code.co_filename == H.__file__:
            if event == "line":
                n[0] += 1
            return tracer
        return None

    for x in xs:
        n[0] = 0
        sys.settrace(tracer)
        try:
            est.add(x)
        finally:
            sys.settrace(None)
        counts.append(n[0])
    return counts


# An add without periodic work executes ~30-50 lines, one with a slice up to
# ~510 (the rate's window statistics over 40 intervals, a beat's 20 shape
# points, one autocorrelation lag; each <= ~1 ms on the emulated Pico); the
# one-shot check executed 1,100-2,300 lines in one call.  With the early-wave
# and scatter checks and the harmonics check (30 Nov 20:30) the largest is
# 569 (150 bpm at 100 Hz): the bound is 600, still half the one-shot check.
_MAX_LINES = 600


def test_no_add_does_more_than_a_small_slice() -> None:
    for bpm, period_us in ((72, 10000), (150, 10000), (48, 10000), (90, 40000), (90, 5000)):
        est = HeartRateEstimator(period_us=period_us)
        counts = _lines_per_add(est, _xs(bpm, 25, period_us))
        assert max(counts) <= _MAX_LINES, (bpm, period_us, max(counts))
        assert est.ok and abs(est.dbpm - bpm * 10) <= 15, (bpm, period_us, est.dbpm, est.faults)


def _one_shot(dr, i, t16, sc, lmin, lmax, n2, ys_len, dr_len):
    # the check done at once (heartrate.py before the slices), from a copy
    ti = t16 >> 4
    f = t16 & 15
    ys = []
    for k in range(ys_len):
        j = i - k
        a = dr[(j - ti) % dr_len] * (16 - f) + dr[(j - ti - 1) % dr_len] * f
        y = (dr[j % dr_len] - (a >> 4)) // sc
        ys.append(max(-2047, min(2047, y)))
    e0 = sum(y * y for y in ys[:n2])
    t = (t16 + 8) >> 4
    best = r_t = -200
    for lag in range(lmin, lmax + 1):
        acc = sum(ys[k] * ys[k + lag] for k in range(n2))
        e = sum(ys[k + lag] ** 2 for k in range(n2))
        r = acc // ((e0 + e) // 200 + 1)
        m = lag % t
        if min(m, t - m) * 100 > 15 * t or (lag * 2 > t * 3 and r_t < -20):
            best = max(best, r)
        elif lag * 2 < t * 3:
            r_t = max(r_t, r)
    return best, r_t


def test_sliced_check_gives_the_one_shot_verdict() -> None:
    checks = 0
    for bpm, period_us in ((72, 10000), (130, 10000), (55, 20000)):
        est = HeartRateEstimator(period_us=period_us)
        want = None
        for x in _xs(bpm, 20, period_us):
            forming = est._form >= 0
            scanning = est._scan >= 0
            est.add(x)
            if not forming and est._form >= 0:
                want = _one_shot(
                    list(est._dring),
                    est._hs[24],
                    est._t16,
                    est._hs[25],
                    est._cfg[H._C_LMIN],
                    est._cfg[H._C_LMAX],
                    H._N2,
                    H._YS,
                    H._DR,
                )
            if scanning and est._scan < 0 and want is not None:
                assert (est._rlag[0], est._rlag[1]) == want
                checks += 1
    assert checks >= 30


def _window_sums(ring, head: int, count: int, n: int, div: int) -> list[int]:
    # steps k to k+1, steps k to k+2 and the values of the last n in a ring,
    # recomputed from scratch
    vals = [ring[(head - 1 - k) % len(ring)] // div for k in range(min(count, n))]
    s1 = sum(abs(vals[k] - vals[k - 1]) for k in range(1, len(vals)))
    s2 = sum(abs(vals[k] - vals[k - 2]) for k in range(2, len(vals)))
    return [s1, s2, sum(vals)]


def test_alternation_sums_kept_per_beat_equal_the_window_sums() -> None:
    # the alternation checks (intervals over 16, upstroke and
    # downstroke slopes over 16) keep their sums as values come and go
    # rather than looping over the window each beat: on a beat train with
    # rejections and restarts they equal the sums over the window
    import random

    rng = random.Random(3)
    checked = rejected = 0
    # (rejected: at least a few intervals rejected, so restarts and rejected
    # in-range intervals are among the cases)
    for bpm, period_us in ((55, 10000), (130, 10000), (70, 40000)):
        est = HeartRateEstimator(period_us=period_us)
        for k, x in enumerate(_xs(bpm, 40, period_us)):
            # every 7th beat-length a burst of noise: artifacts, rejections
            burst = (k * period_us // 1000) % 7000 < 400
            est.add(x + (int(rng.gauss(0, 4000)) if burst else 0))
            rings = [
                (est._asu, est._bamp, est._b_i, est._b_count, 16, 1),
                (est._asd, est._bdn, est._b_i, est._b_count, 16, 1),
            ]
            if est._stage != 4:
                # (the interval's sums follow in the beat's next call, stage 4)
                rings.append((est._as16, est._hist, est._h_head, est._h_count, 16, 1000))
            for sums, ring, head, count, n, div in rings:
                # (the first 3: _as16[3:] holds the early-wave state)
                assert list(sums[:3]) == _window_sums(ring, head, count, n, div), (bpm, k)
                checked += 1
        rejected += est.rejected
    assert checked > 10000 and rejected > 5, (checked, rejected)
