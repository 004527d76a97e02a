"""Heart rate on signal kinds that fooled the estimator: the true rate within
10 %, or not ok.  Never a wrong rate reported ok.

cases/hr/* are copied unchanged from ../shared/cases/sensing/hr/ (handed
cases; F*.csv: t_s, blood_volume, ir_counts at 100 samples/s as the MAX30102
driver delivers them, the front end feeds the estimator the negated counts;
F*.json: the kind and the true rate; ppg_60bpm_late_dicrotic.csv: t_s, value
already negated, a 60 bpm pulse)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from inversa.sense.heartrate import HeartRateEstimator
from inversa_world.ppg import PPGSynth

CASES = Path(__file__).parent / "cases" / "hr"

# Issue 11 (partly open): the harmonic checks of an earlier attempt were held
# back at the merge: they withheld a true rate so often (BIDMC coverage
# 99.2 % -> 82.4 %, the simulator's pulse in vasovagal/host_silent) that the
# flicker-proof hr-lost rule started needless returns.  The second-rhythm
# check (heartrate.py, 6), the second-upstroke, alternating-interval and
# -slope, early-beat and window checks resolve the cases without a mark (weak
# premature beats, second waves at 45, 65 and 90 bpm); the one marked _OPEN
# states the requirement, runs on every make test and passes again when the
# estimator meets it (the wander case's coverage: its rate is never wrong,
# but withheld, F4 0 of 60 s ok).
_OPEN = pytest.mark.xfail(
    reason="issue 11 open: the wander case's rate is withheld (right, but not ok)",
    strict=False,
)


def _load(name: str) -> tuple[list[int], float]:
    with open(CASES / name, newline="") as f:
        rows = list(csv.reader(f))[1:]
    if len(rows[0]) == 3:
        truth = json.loads((CASES / (name[:-4] + ".json")).read_text())["true_heart_rate_bpm"]
        return [-int(r[2]) for r in rows], float(truth)
    return [int(r[1]) for r in rows], 60.0


def _play(xs: list[int], truth: float, period_us: int = 10000) -> tuple[int, int, int]:
    est = HeartRateEstimator(period_us=period_us)
    per_s = 1000000 // period_us
    ok = wrong = seconds = 0
    for k, x in enumerate(xs):
        est.add(x)
        if k % per_s == per_s - 1:
            seconds += 1
            if est.ok:
                ok += 1
                if abs(est.dbpm / 10 - truth) > 0.1 * truth:
                    wrong += 1
    return ok, wrong, seconds


@pytest.mark.parametrize(
    "name",
    [
        "F1_bigeminy_weak_premature_pulses.csv",
        "F2_double_peaked_pulse.csv",
        "F3_flat_tops_clipped_peaks.csv",
        "F4_baseline_wander_2x_0.25Hz.csv",
        "ppg_60bpm_late_dicrotic.csv",
    ],
)
def test_handed_case_never_wrong_and_ok(name: str) -> None:
    xs, truth = _load(name)
    ok, wrong, _seconds = _play(xs, truth)
    assert wrong == 0, f"{name}: {wrong} of {ok} ok seconds more than 10 % off {truth}"


@_OPEN
def test_baseline_wander_keeps_its_coverage() -> None:
    # the value was right but ok only half the time (the beat shape was
    # compared without removing the wander)
    xs, truth = _load("F4_baseline_wander_2x_0.25Hz.csv")
    ok, wrong, seconds = _play(xs, truth)
    assert wrong == 0 and ok >= 0.8 * (seconds - 10), (ok, seconds)


def _synth(bpm: float, second_wave: float, at: float, seconds: int = 60) -> list[int]:
    # a pulse (fast rise, slow fall) plus a second wave of relative size
    # `second_wave` at fraction `at` of the beat: the double-counting kind
    T = 60.0 / bpm
    out = []
    for k in range(seconds * 100):
        ph = (k / 100.0) % T
        v = 0.0
        for c, a, w in ((0.12, 1.0, 0.05), (at * T, second_wave, 0.06)):
            d = ph - c
            v += a * math.exp(-0.5 * (d / w) ** 2) + a * 0.3 * math.exp(-max(d, 0) / 0.25) * (d > 0)
        out.append(int(20000 * v))
    return out


# The second-rhythm check (a beat train at half the true period leaves a
# residual that alternates beat by beat), its hysteresis and the alternating-
# interval check resolve these.  A 0.95 wave at exactly half the beat at 90
# bpm was read wrong for 2 s (the beat train jumped between one and two beats
# per pulse; the second wave's interval, a short one rejected, and the rest
# of the beat, accepted, biased the rate): the rest is now merged with the
# short one into one interval.
@pytest.mark.parametrize(
    ("bpm", "second_wave", "at"),
    [(b, w, a) for w, a in ((0.95, 0.5), (0.9, 0.55), (0.8, 0.45)) for b in (45, 65, 90)],
)
def test_second_wave_never_doubles_the_rate_ok(bpm: float, second_wave: float, at: float) -> None:
    ok, wrong, _s = _play(_synth(bpm, second_wave, at), bpm)
    assert wrong == 0, (ok, wrong)


@pytest.mark.parametrize("bpm", [40, 48, 72, 150])
def test_slow_and_normal_pulses_keep_a_rate(bpm: int) -> None:
    # a pulse with an ordinary dicrotic wave (the simulator's) is still read
    ppg = PPGSynth(seed=bpm, hr_bpm=bpm)
    xs = [int(ppg(k * 10000) * 20000) for k in range(4000)]
    ok, wrong, seconds = _play(xs, float(bpm))
    assert wrong == 0 and ok >= 0.7 * seconds, (ok, seconds)


def _slowing(seed: int, start: float = 67.0, end: float = 32.0) -> tuple[int, int, int, int]:
    # the simulator's vasovagal drop: 67 -> 32 bpm over 20 s (from 30 s),
    # then steady; ok seconds, wrong ones (> 10 % off the beats of the last
    # 20 s), and ok of the last 20 s
    ppg = PPGSynth(seed=seed, hr_bpm=start)
    est = HeartRateEstimator()
    beats: list[float] = []
    ok = wrong = late_ok = 0
    for k in range(90 * 100):
        t = k / 100.0
        if 30 <= t <= 50:
            ppg.set_hr(start + (end - start) * (t - 30) / 20)
        est.add(int(ppg(k * 10000) * 20000))
        if ppg.beat_times and (not beats or ppg.beat_times[-1] / 1e6 != beats[-1]):
            beats.append(ppg.beat_times[-1] / 1e6)
        if k % 100 == 99 and t > 10:
            b = [x for x in beats if t - 20 < x <= t]
            truth = 60 * (len(b) - 1) / (b[-1] - b[0])
            if est.ok:
                ok += 1
                wrong += abs(est.dbpm / 10 - truth) > 0.1 * truth
                late_ok += t > 70
    return ok, wrong, late_ok, 20


@pytest.mark.parametrize("seed", range(6))
def test_a_slowing_pulse_is_never_ok_with_a_wrong_rate(seed: int) -> None:
    # issue 11: the median of the intervals lags a slowing rhythm, and the
    # 0.4-interval gap made from it let the simulator's dicrotic wave become
    # a beat now and then: 36 bpm ok for a true 32 (4-10 s per seed)
    ok, wrong, _late_ok, _late = _slowing(seed)
    assert wrong == 0, f"{wrong} of {ok} ok seconds wrong"


def test_a_slowed_pulse_keeps_its_rate() -> None:
    # ... and once at 32 bpm the rate is back (not withheld for good: the
    # alarm is hr-drop or hr-low, not hr-lost)
    late = [_slowing(seed)[2:] for seed in range(6)]
    assert sum(a for a, _b in late) >= 0.5 * sum(b for _a, b in late), late


def _with_motion(
    bpm: float, motion_hz: float, size: float, seed: int, seconds: int = 60
) -> list[int]:
    # the simulator's pulse (0..1) plus a periodic motion artefact of `size`
    # times the pulse's swing, a slightly skewed sine (a hand or foot moving
    # rhythmically: the finger's blood volume and the optical path follow it)
    ppg = PPGSynth(seed=seed, hr_bpm=bpm)
    w = 2 * math.pi * motion_hz
    out = []
    for k in range(seconds * 100):
        t = k / 100.0
        m = size * 0.5 * math.sin(w * t + 0.3 * math.sin(w * t) + seed)
        out.append(int(20000 * (ppg(k * 10000) + m)))
    return out


@pytest.mark.parametrize(
    ("bpm", "motion_hz", "size"),
    [(72, 2.5, 1.0), (55, 2.3, 2.0), (95, 2.9, 0.6), (64, 1.7, 1.5), (80, 2.0, 0.8)],
)
def test_periodic_motion_is_never_reported_as_the_rate(
    bpm: float, motion_hz: float, size: float
) -> None:
    # issue 11: a 2.5 Hz motion locked the rate onto it (72 -> 150, ok).  The
    # beats then follow the motion; the real pulse is what is left after
    # removing what repeats at the beat period, and it repeats at its own
    # period: a second rhythm, reported as low quality.
    ok, wrong, seconds = _play(_with_motion(bpm, motion_hz, size, seed=int(bpm)), bpm)
    assert wrong == 0, f"{wrong} of {ok} ok seconds off {bpm} (of {seconds})"


@pytest.mark.parametrize("bpm", [50, 72, 110, 150])
def test_pulse_without_motion_keeps_its_rate(bpm: float) -> None:
    # the second-rhythm check must not withhold a clean pulse (it would start
    # needless hr-lost returns): ok on nearly every second after the start
    ok, wrong, seconds = _play(_with_motion(bpm, 2.5, 0.0, seed=int(bpm)), bpm)
    assert wrong == 0 and ok >= seconds - 12, (ok, seconds)
