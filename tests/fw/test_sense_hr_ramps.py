"""Heart rate through the changes the design brief says to expect: a rate
that rises or falls 20 bpm over 15-60 s while the person is inverted
(DESIGN.md's domain numbers: "design for steps of +-20 bpm over 15-60 s").

The rate must follow without being withheld long enough for the pulse-lost
rule (`limits.HR_LOST_MS`: no valid rate for 5 s while inverted starts the
return and names a heart-rate sensor fault), and never be wrong while ok.
Before, the harmonics check (`HeartRateEstimator._harm`, docs/SENSING.md
§5.7) folded the signal at the median interval, which lags a changing rate
by ~10 %: the fold smeared the pulse into a wave as symmetric as a motion's,
and the rate was withheld 4-9 s in most of the changes below (the simulator's
`hr_ramp` of +20 bpm over 15 s ended a session with hr-lost and an
hr-sensor fault, seed 4).  The fold now takes the last 4 intervals' mean.

"Wrong" here: more than 10 % outside the span between the mean beat rate of
the last 20 s (the estimator's window) and of the last 5 s (the rate now)."""

from __future__ import annotations

import pytest

from inversa.control import limits
from inversa.sense.heartrate import HeartRateEstimator
from inversa_world.ppg import PPGSynth

_T0_S = 30  # the change begins (the estimator has settled by then)
_AFTER_S = 20  # scored until this long after it ends

CHANGES = [(66, 20, 15), (90, -20, 15), (70, 20, 30), (85, -20, 30), (60, 20, 60), (100, -20, 60)]


def _rate(beat_times_us, t_s: float, span_s: float) -> float:
    bt = [b / 1e6 for b in beat_times_us if t_s - span_s <= b / 1e6 <= t_s]
    return 60.0 * (len(bt) - 1) / (bt[-1] - bt[0])


def _play(fs: int, start_bpm: float, delta_bpm: float, over_s: float, seed: int):
    ppg = PPGSynth(seed=seed, hr_bpm=start_bpm)
    est = HeartRateEstimator(period_us=round(1e6 / fs))
    withheld = []
    wrong = []
    end_s = _T0_S + over_s + _AFTER_S
    for k in range(int(fs * end_s)):
        t = k / fs
        if _T0_S <= t <= _T0_S + over_s:
            ppg.set_hr(start_bpm + delta_bpm * (t - _T0_S) / over_s)
        est.add(int(ppg.value(int(t * 1e6)) * 3000))  # counts: the swing ~3000
        if k % fs == fs - 1 and t >= _T0_S:
            if not est.ok:
                withheld.append(round(t))
                continue
            slow = _rate(ppg.beat_times, t, 20.0)
            now = _rate(ppg.beat_times, t, 5.0)
            got = est.dbpm / 10.0
            if not min(slow, now) * 0.9 <= got <= max(slow, now) * 1.1:
                wrong.append((round(t), got, round(slow), round(now)))
    return withheld, wrong


@pytest.mark.parametrize("seed", range(1, 5))
@pytest.mark.parametrize("fs", [100, 50])
@pytest.mark.parametrize("change", CHANGES, ids=lambda c: f"{c[0]}{c[1]:+d}bpm_over_{c[2]}s")
def test_a_rate_change_of_the_design_envelope_is_followed_not_withheld(change, fs, seed) -> None:
    withheld, wrong = _play(fs, *change, seed)
    assert not wrong, f"ok but wrong (t, read, 20 s, 5 s): {wrong}"
    # all the seconds withheld, together, stay under the pulse-lost rule's
    # time: its account could not reach it even if they came in one run
    assert len(withheld) * 1000 < limits.HR_LOST_MS, f"withheld at {withheld}"
