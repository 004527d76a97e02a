"""The tilt estimator's trimmed step (sense/tilt.py: two comparisons for a
chained one, the rotation about the pivot alone in fewer operations, the
gyro clamps skipped where they cannot act, 1 g = 2**14 without a division,
the faults returned) behaves exactly as the version it replaced
(tests/fw/tilt_ref.py: main of 1 Dec 00:00), run side by side sample by
sample: every attribute of the two estimators (outputs, counters, the
filter's whole state) must be the same after every update.  The front
end's twin (test_sense_frontend_twin.py) runs the old estimator too, on the
sensing bench's runs and the real recordings."""

from __future__ import annotations

import random

import pytest
import tilt_ref

from inversa.sense.tilt import TiltEstimator


def _twins(**kw):
    return TiltEstimator(**kw), tilt_ref.TiltEstimator(**kw)


def _step(a, b, args, where):
    f = a.update(*args)
    b.update(*args)
    va, vb = vars(a), vars(b)
    assert va == vb, (where, args, {k: (va[k], vb.get(k)) for k in va if va[k] != vb.get(k)})
    assert f == a.faults, where  # update returns the faults


def _stream(rng, n, kind, og):
    # a table or a hand: still, turning about the pivot only, turning about
    # every axis, fast turns, jolts, gaps and clock jumps
    g = og << 4
    ang = 0.0
    import math

    for k in range(n):
        phase = (k // 150) % 6 if kind == "mixed" else kind
        rate = rl = ru = 0
        if phase in (1, "pivot"):
            rate = rng.choice((5000, -8000, 20000, 59000, 61000, -70000))
        elif phase in (2, "all"):
            rate = rng.randint(-30000, 30000)
            rl = rng.randint(-30000, 30000)
            ru = rng.randint(-30000, 30000)
        elif phase == 3:  # fast about an off-pivot axis, or beyond any gyro
            rl = rng.choice((0, 65000, -65000, 2500000, -3000000))
            ru = rng.choice((0, 61000, -90000))
            rate = rng.choice((0, 150000, -2500000))
        noise = rng.choice((0, 30, 150, 400))
        rate += rng.randint(-noise, noise)
        rl += rng.randint(-noise, noise)
        ru += rng.randint(-noise, noise)
        dt = 10000
        if phase == 4:  # irregular periods, gaps, a clock going back
            dt = rng.choice((0, 9000, 11000, 60000, 499000, 800000, -5000))
        ang += rate * 1e-3 * max(dt, 0) * 1e-6
        th = math.radians(ang)
        al = int(-g * math.sin(th)) + rng.randint(-3 * noise, 3 * noise)
        au = int(g * math.cos(th)) + rng.randint(-3 * noise, 3 * noise)
        ac = rng.choice((0, 0, 40, -300, g // 4)) if phase in (2, 3, 5) else rng.randint(-40, 40)
        if phase == 5 and k % 37 == 0:  # a jolt, or nothing at all
            al, au, ac = rng.choice(((g * 3, -g, 0), (0, 0, 0), (g // 10, g // 10, g)))
        yield (al, au, rate, dt, ac, rl, ru)


@pytest.mark.parametrize(
    "kw",
    [
        {},  # the board: 100 Hz, 1 g = 2**14 (og 1024)
        {"one_g": 8192},  # an accelerometer at 4 g (og 512: the division)
        {"one_g": 16393, "kp_shift": 6},  # LSM6DSOX at 2 g
        {"one_g": 12000, "rate_hz": 50},
        {"rate_hz": 10},  # dt up to 0.5 s: the gyro clamps may act
        {"rate_hz": 200, "zero_udeg": 1500000},
    ],
)
def test_same_as_reference_sample_by_sample(kw):
    rng = random.Random(repr(sorted(kw.items())))
    a, b = _twins(**kw)
    og = a._og16
    n = 0
    for kind in ("mixed", "pivot", "all", 0):
        for args in _stream(rng, 3000, kind, og):
            _step(a, b, args, (kind, n))
            n += 1
        a.restart()
        b.restart()
        a.set_bias_mdps(700)
        b.set_bias_mdps(700)


def test_same_as_reference_on_random_inputs():
    # anything at all, within the ranges the front end hands over
    rng = random.Random(5)
    for trial in range(20):
        a, b = _twins(
            rate_hz=rng.choice((10, 50, 100)), one_g=rng.choice((16384, 8192, 2048, 16393))
        )
        for k in range(800):
            args = (
                rng.randint(-70000, 70000),
                rng.randint(-70000, 70000),
                rng.randint(-2100000, 2100000) >> rng.randint(0, 12),
                rng.choice((10000, 10000, 0, -1, 3000, 600000)),
                rng.randint(-70000, 70000) >> rng.randint(0, 8),
                rng.randint(-2100000, 2100000) >> rng.randint(0, 12),
                rng.randint(-2100000, 2100000) >> rng.randint(0, 12),
            )
            _step(a, b, args, (trial, k))
