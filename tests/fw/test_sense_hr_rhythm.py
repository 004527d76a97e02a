"""Heart rate: bigeminy and very irregular rhythms never read wrong while ok
(issue 11, item 2), on variants of bench/sensing_robust.py's wide sweep
(``bench_sensing.py --hr-sweep N``) that read wrong ok before.

* bigeminy whose weak premature pulses the beat train skips: the beats come
  at half the rate, regular, and read ok at half the true rate (seed 0: 46
  for 92 bpm, 50 of 50 s; 31: 62 for 125).  The early-wave check
  (heartrate.py, ``_wave``) withholds them;
* irregular rhythms (+-30-40 %) whose 20 s window held a run of long or
  short intervals: 10-15 % off while ok.  The rhythm's own scatter now sets
  how uncertain a short window's mean is (``_rhythm``)."""

from __future__ import annotations

import pytest
from test_sense_hr_kinds import sensing_robust


# before (CPython): 50, 50, 50, 50, 50, 7, 50 wrong seconds of 50 (7) ok
@pytest.mark.parametrize("seed", [0, 1, 4, 31, 73, 119, 196])
def test_bigeminy_never_ok_at_half_the_rate(seed: int) -> None:
    _, ok, wrong, _, params, bad = sensing_robust().hr_sweep_variant(("bigeminy", seed))
    assert wrong == 0, f"{params}: {wrong} of {ok} ok seconds wrong, e.g. {bad[:3]}"


# before (CPython): 1, 1, 1 wrong seconds
@pytest.mark.parametrize("seed", [14, 28, 143])
def test_irregular_rhythm_never_ok_wrong(seed: int) -> None:
    _, ok, wrong, _, params, bad = sensing_robust().hr_sweep_variant(("irregular rhythm", seed))
    assert wrong == 0, f"{params}: {wrong} of {ok} ok seconds wrong, e.g. {bad[:3]}"
