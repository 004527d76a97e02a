"""Heart rate under a periodic motion the beats lock on (issue 11: never a
wrong rate reported ok): the harmonics check (HeartRateEstimator._harm,
docs/SENSING.md §5.7).

The bench's wide sweep (`python bench/bench_sensing.py --hr-sweep N`,
`hr_sweep_signal`) and its unseen variants (`--hr-unseen N`,
`hr_unseen_signal`) draw motions at 0.5-4 Hz, near, at half or at double
the pulse rate, sine (with a wobble), triangle, tap-like or jerky (a
rounded square wave).  Each variant below read the motion's rate ok for
19-50 s before the check.  Folded at the beat period T, a jerky or
triangle motion is nearly half-wave symmetric (its even harmonics vanish);
a pulse wave is not.  Still wrong (§8): tap-like motions (a pulse's
shape), sines (their harmonics 2-5 are near zero: the ratio is noise) and
beat periods too short for harmonic 4."""

from __future__ import annotations

import pytest
from test_sense_hr_kinds import sensing_robust

# seed: shape, where the motion is (pulse, motion bpm, samples/s),
# wrong seconds before
SWEEP = {
    1: "jerky, double (40, 82 bpm, 50/s), 19 s",
    10: "jerky, double (64, 133 bpm, 50/s), 31 s",
    68: "jerky, half (102, 48 bpm, 100/s), 38 s",
    117: "jerky, half (181, 84 bpm, 100/s), 50 s",
    132: "jerky, near (106, 132 bpm, 25/s), 50 s",
    161: "jerky, double (42, 91 bpm, 40/s), 50 s",
    7: "jerky, near (104, 119 bpm, 100/s), 50 s",
    64: "triangle, near (97, 111 bpm, 100/s), 29 s",
}


@pytest.mark.parametrize("seed", sorted(SWEEP))
def test_sweep_motion_variants_never_ok_wrong(seed: int) -> None:
    sr = sensing_robust()
    _, ok, wrong, _, params, bad = sr.hr_sweep_variant(("periodic motion", seed))
    assert wrong == 0, f"{params}: {wrong} of {ok} ok seconds wrong, e.g. {bad[:3]}"


# the bench's unseen variant 39 read the motion's rate ok before.  Still
# wrong (§8): 15, 24 (the beat train mixes pulse and motion beats) and 26
# (motion at half the pulse rate); 4 and 25 (a sine with a wobble near the
# pulse rate) are test_sense_hr_sine_motion.py's
@pytest.mark.parametrize("seed", [39])
def test_unseen_motion_variants_never_ok_wrong(seed: int) -> None:
    sr = sensing_robust()
    _, ok, wrong, _, params, bad = sr.hr_unseen_variant(("periodic motion", seed))
    assert wrong == 0, f"{params}: {wrong} of {ok} ok seconds wrong, e.g. {bad[:3]}"
