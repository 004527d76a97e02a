"""Heart rate: never a wrong rate reported ok, per signal kind (issue 11).

Each kind is generated here, independently of the estimator and of the
benchmark (sensing_robust.py draws its own variants), with random
parameters per seed: other inputs of the same kind, not one example.  A
second is "wrong" when the estimator reports ok and its rate is more than
10 % off the true rate (the mean beat interval of the last 20 s, every beat
counted, as an ECG counts them).  Lower coverage is accepted where the
signal is ambiguous; a wrong rate reported ok is not.

Before the fix (CPython, these generators): bigeminy reported half or 1.3x
the rate ok on most seeds, a double-peaked pulse 1.2x, baseline wander and a
30 bpm pulse 0.85-0.89x and 1.2x (first intervals, one-sided rejections)."""

from __future__ import annotations

import importlib.util
import math
import random
import sys
from pathlib import Path

import pytest

from inversa.sense.heartrate import HeartRateEstimator

_FS = 100


def _pulse(d: float) -> float:
    # fast rise, slow fall (a blood-volume pulse)
    if d < -0.3 or d > 1.6:
        return 0.0
    return (1.0 / (1.0 + math.exp(-d / 0.03))) * math.exp(-max(d, 0.0) / 0.35)


def _signal(beats, amps, seconds, second=(0.0, 0.0), extra=None) -> list[int]:
    n = int(seconds * _FS)
    x = [0.0] * n
    for b, a in zip(beats, amps, strict=True):
        k0 = max(0, int((b - 0.3) * _FS))
        k1 = min(n, int((b + 1.6) * _FS) + 1)
        for k in range(k0, k1):
            d = k / _FS - b
            v = a * _pulse(d)
            if second[0]:
                d2 = d - second[1]
                v += a * second[0] * math.exp(-0.5 * (d2 / 0.07) ** 2)
            x[k] += v
    if extra is not None:
        for k in range(n):
            x[k] += extra(k / _FS)
    return [int(v * 40000) for v in x]


def _regular(rng: random.Random, bpm: float, seconds: float, jitter: float = 0.02):
    beats = [0.3]
    while beats[-1] < seconds + 2:
        beats.append(beats[-1] + 60.0 / bpm * (1 + jitter * rng.gauss(0, 1)))
    return beats


def _truth(beats, t: float) -> float:
    b = [x for x in beats if t - 20.0 < x <= t]
    if len(b) < 3:
        return math.nan
    return 60.0 * (len(b) - 1) / (b[-1] - b[0])


def _play(xs: list[int], beats) -> tuple[int, int, int]:
    est = HeartRateEstimator(period_us=1000000 // _FS)
    ok = wrong = total = 0
    for k, x in enumerate(xs):
        est.add(x)
        if k % _FS == _FS - 1 and k >= 10 * _FS:
            total += 1
            if est.ok:
                ok += 1
                truth = _truth(beats, (k + 1) / _FS)
                if abs(est.dbpm / 10.0 - truth) > 0.1 * truth:
                    wrong += 1
    return ok, wrong, total


def _bigeminy_train(rng: random.Random, bpm: float, c: float, lo: float, hi: float, until_s: float):
    """Beat times (s) and sizes of a bigeminy at ``bpm`` on average: a
    premature beat at ``c`` of the mean interval, its size drawn from
    [lo, hi), then a full beat; until a beat passes ``until_s``."""
    beats = [0.3]
    amps = [1.0]
    while beats[-1] < until_s:
        t0 = beats[-1]
        T = 60.0 / bpm * 2 / (1 + c) * (1 + 0.02 * rng.gauss(0, 1))
        beats += [t0 + c * T, t0 + 2 * T]
        amps += [rng.uniform(lo, hi), 1.0]
    return beats, amps


def sensing_robust():
    """bench/sensing_robust.py as a module (skips without numpy, a bench
    dependency: pip install -e '.[bench]')."""
    pytest.importorskip("numpy")
    path = Path(__file__).resolve().parents[2] / "bench" / "sensing_robust.py"
    spec = importlib.util.spec_from_file_location("sensing_robust", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("sensing_robust", mod)
    spec.loader.exec_module(mod)
    return mod


def _bigeminy(seed: int, seconds: float = 45.0):
    rng = random.Random(seed)
    bpm = rng.uniform(50, 110)
    c = rng.uniform(0.55, 0.7)  # the premature beat at c of the mean interval
    beats, amps = _bigeminy_train(rng, bpm, c, 0.35, 0.8, seconds + 2)
    return _signal(beats, amps, seconds), beats


@pytest.mark.parametrize("seed", range(8))
def test_bigeminy_never_ok_with_a_wrong_rate(seed: int) -> None:
    # weak premature beats: missed (half the rate), or counted with the long
    # intervals split as "missed beats" (1.3x)
    xs, beats = _bigeminy(seed)
    ok, wrong, total = _play(xs, beats)
    assert wrong == 0, f"{wrong} of {ok} ok seconds wrong (of {total})"


@pytest.mark.parametrize("seed", range(16))
def test_double_peaked_pulse_never_ok_with_a_wrong_rate(seed: int) -> None:
    rng = random.Random(100 + seed)
    bpm = rng.uniform(50, 110)
    beats = _regular(rng, bpm, 45.0)
    second = (rng.uniform(0.8, 1.0), rng.uniform(0.4, 0.6) * 60.0 / bpm)
    ok, wrong, total = _play(_signal(beats, [1.0] * len(beats), 45.0, second), beats)
    assert wrong == 0, f"{wrong} of {ok} ok seconds wrong (of {total})"


def _noise(seed: int, size: float = 0.01):
    rng = random.Random(seed)
    return lambda _t: size * rng.gauss(0, 1)


# Other inputs of the same kinds than the bench's and the tests above draw:
# wider rates, couplings and sizes, with 1 % noise (it moves the weak beats
# and second waves across the detector's thresholds from beat to beat: the
# beat train mixes one and two beats per pulse, the kind that read wrong).
# Before the fix (CPython): bigeminy seeds 6, 8, 11, 12 read half or 1.3x
# the rate ok; double-peaked 26, 27, 30, 34 (a wave at about half the beat,
# counted) and 177, 185, 186 (144 bpm: a second wave found, the next beat
# lost in its gap, 127 for 143 bpm).


@pytest.mark.parametrize("seed", range(13))
def test_noisy_bigeminy_at_other_rates_and_sizes_never_ok_wrong(seed: int) -> None:
    rng = random.Random(1000 + seed)
    bpm = rng.uniform(38, 110)
    c = rng.uniform(0.5, 0.78)
    lo, hi = sorted((rng.uniform(0.4, 0.95), rng.uniform(0.4, 0.95)))
    beats, amps = _bigeminy_train(rng, bpm, c, lo, hi, 47)
    ok, wrong, total = _play(_signal(beats, amps, 45.0, extra=_noise(seed)), beats)
    assert wrong == 0, f"{wrong} of {ok} ok seconds wrong (of {total})"


@pytest.mark.parametrize("seed", range(24, 36))
def test_noisy_second_wave_near_half_the_beat_never_ok_wrong(seed: int) -> None:
    rng = random.Random(2000 + seed)
    bpm = rng.uniform(40, 80)
    beats = _regular(rng, bpm, 45.0)
    second = (rng.uniform(0.85, 1.05), rng.uniform(0.44, 0.56) * 60.0 / bpm)
    xs = _signal(beats, [1.0] * len(beats), 45.0, second, extra=_noise(seed))
    ok, wrong, total = _play(xs, beats)
    assert wrong == 0, f"{wrong} of {ok} ok seconds wrong (of {total})"


@pytest.mark.parametrize("seed", range(176, 188))
def test_second_wave_at_other_rates_and_places_never_ok_wrong(seed: int) -> None:
    rng = random.Random(2000 + seed)
    bpm = rng.uniform(38, 150)
    beats = _regular(rng, bpm, 45.0)
    second = (rng.uniform(0.7, 1.05), rng.uniform(0.35, 0.65) * 60.0 / bpm)
    ok, wrong, total = _play(_signal(beats, [1.0] * len(beats), 45.0, second), beats)
    assert wrong == 0, f"{wrong} of {ok} ok seconds wrong (of {total})"


@pytest.mark.parametrize("seed", range(5))
def test_baseline_wander_never_ok_with_a_wrong_rate(seed: int) -> None:
    rng = random.Random(200 + seed)
    bpm = rng.uniform(50, 110)
    beats = _regular(rng, bpm, 45.0)
    f = rng.uniform(0.1, 0.4)
    size = rng.uniform(1.0, 3.0) * 0.8  # times the pulse's swing (~0.8)
    xs = _signal(
        beats, [1.0] * len(beats), 45.0, extra=lambda t: size * math.sin(2 * math.pi * f * t)
    )
    ok, wrong, total = _play(xs, beats)
    assert wrong == 0, f"{wrong} of {ok} ok seconds wrong (of {total})"


@pytest.mark.parametrize("seed", range(6))
def test_slowest_rate_never_ok_with_a_wrong_rate(seed: int) -> None:
    # 30 bpm with 1 % noise: intervals around the 2 s limit are rejected on
    # one side, and the first intervals (accepted before the rhythm is
    # known, one of them a noise bump) bias the mean
    rng = random.Random(300 + seed)
    beats = _regular(rng, 30.0, 45.0)
    noise = random.Random(seed)
    xs = _signal(beats, [1.0] * len(beats), 45.0, extra=lambda t: 0.01 * noise.gauss(0, 1))
    ok, wrong, total = _play(xs, beats)
    assert wrong == 0 and ok >= 0.8 * total, f"{wrong} of {ok} ok seconds wrong (of {total})"
    # (the coverage: intervals up to 2.4 s are in range, so a 30 bpm
    # pulse's longer half is no longer rejected at the 2 s limit; before,
    # 0-8 of 35 s ok)


@pytest.mark.parametrize("seed", range(3))
def test_clean_and_irregular_pulses_keep_a_rate(seed: int) -> None:
    # the checks must not withhold what is not ambiguous
    rng = random.Random(400 + seed)
    bpm = rng.uniform(50, 110)
    beats = _regular(rng, bpm, 45.0)
    ok, wrong, total = _play(_signal(beats, [1.0] * len(beats), 45.0), beats)
    assert wrong == 0 and ok >= total - 2, (ok, total)
    beats = [0.3]
    while beats[-1] < 47:
        beats.append(beats[-1] + 60.0 / bpm * rng.uniform(0.7, 1.3))
    ok, wrong, total = _play(_signal(beats, [1.0] * len(beats), 45.0), beats)
    assert wrong == 0 and ok >= 0.6 * total, (ok, total)
