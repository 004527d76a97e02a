"""Tilt after disturbances the fusion cannot follow: ok is cleared whenever
the estimate may be more than 2 deg off, the rate is right when the table is
still, and validity comes back once gravity confirms the angle.

cases/fast_rotation_0_to_60deg_at_120dps.csv is copied unchanged from
../shared/cases/sensing/tilt/ (handed case: the raw inputs of the tilt filter
for a table turned from 0 to 60 deg at 120 deg/s, then still)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from inversa.sense.flags import (
    TILT_DISAGREE,
    TILT_FAST_MOTION,
    TILT_FAULT_MASK,
    TILT_RECOVERING,
)
from inversa.sense.tilt import TiltEstimator

CASES = Path(__file__).parent / "cases"
G = 16384


def _rows(name: str) -> list[tuple[int, int, int, int, float]]:
    with open(CASES / name, newline="") as f:
        return [
            (
                int(r["a_long"]),
                int(r["a_up"]),
                int(r["rate_mdps"]),
                int(r["dt_us"]),
                float(r["true_deg"]),
            )
            for r in csv.DictReader(f)
        ]


def _play(est: TiltEstimator, rows) -> list[tuple[float, bool, float, int]]:
    out = []
    for al, au, r, dt, true in rows:
        est.update(al, au, r, dt)
        out.append(
            (
                est.angle_cdeg / 100 - true,
                not est.faults & TILT_FAULT_MASK,
                est.rate_cdps / 100,
                est.faults,
            )
        )
    return out


def test_handed_fast_rotation_never_ok_while_off() -> None:
    rows = _rows("fast_rotation_0_to_60deg_at_120dps.csv")
    res = _play(TiltEstimator(), rows)
    off_ok = [k for k, (err, ok, _r, _f) in enumerate(res) if ok and abs(err) > 2.0]
    assert not off_ok, f"ok while > 2 deg off at samples {off_ok[:5]}"
    moving = [k for k, row in enumerate(rows) if row[2] != 0]
    stop = moving[-1] + 1
    # during the turn the reason is visible
    assert all(res[k][3] & TILT_FAST_MOTION for k in moving[3:])
    # the rate is right once the table is still (0.5 s after the stop)
    assert all(abs(r) < 0.2 for _e, _ok, r, _f in res[stop + 50 :]), max(
        abs(x[2]) for x in res[stop + 50 :]
    )
    # validity comes back within 2 s of the stop, and stays
    back = next(k for k in range(stop, len(res)) if res[k][1])
    assert back - stop <= 200, back - stop
    assert all(ok for _e, ok, _r, _f in res[back:])
    assert all(abs(e) < 0.2 for e, _ok, _r, _f in res[back:])


def _synth(est: TiltEstimator, n: int, deg: float, rate_dps: float = 0.0, lin_g: float = 0.0):
    th = math.radians(deg)
    al = int((-math.sin(th) + lin_g * math.cos(th)) * G)
    au = int((math.cos(th) + lin_g * math.sin(th)) * G)
    for _ in range(n):
        est.update(al, au, int(rate_dps * 1000), 10000)


@pytest.mark.parametrize("rate_dps", [30, 45, 61, 120, 250, 450])
@pytest.mark.parametrize("scale_err", [0.97, 1.03])
def test_any_fast_turn_is_flagged_then_confirmed(rate_dps: int, scale_err: float) -> None:
    # the gyro's scale is 3 % off (the datasheet's tolerance): the lost or
    # added rotation must not be reported ok, nor learned as bias
    est = TiltEstimator()
    _synth(est, 300, 0.0)
    ang = 0.0
    n = int(70.0 / rate_dps * 100)
    fast = rate_dps * scale_err > 60
    for _ in range(n):
        ang += rate_dps / 100
        th = math.radians(ang)
        est.update(
            int(-math.sin(th) * G), int(math.cos(th) * G), int(rate_dps * scale_err * 1000), 10000
        )
        ok = not est.faults & TILT_FAULT_MASK
        assert not ok or abs(est.angle_cdeg / 100 - ang) <= 2.0
        assert not fast or est.faults & TILT_FAST_MOTION
    cleared_ms = 0
    for k in range(500):
        _synth(est, 1, ang)
        ok = not est.faults & TILT_FAULT_MASK
        if not ok:
            cleared_ms = (k + 1) * 10
        assert not ok or abs(est.angle_cdeg / 100 - ang) <= 2.0
        if k >= 30:
            assert abs(est.rate_cdps) <= 20, est.rate_cdps
    assert cleared_ms <= 1500, cleared_ms
    assert not fast or cleared_ms > 0
    assert abs(est.bias_mdps()) < 200, est.bias_mdps()


@pytest.mark.parametrize("lin_g", [0.1, 0.3, 1.0, -0.2])
def test_sustained_linear_acceleration_clears_validity(lin_g: float) -> None:
    est = TiltEstimator()
    _synth(est, 300, 20.0)
    assert not est.faults & TILT_FAULT_MASK
    for _ in range(300):  # 3 s of a linear acceleration along the bed, gyro still
        _synth(est, 1, 20.0, lin_g=lin_g)
        err = abs(est.angle_cdeg / 100 - 20.0)
        assert est.faults & TILT_FAULT_MASK or err <= 2.0, err
    assert est.faults & (TILT_DISAGREE | TILT_RECOVERING) or est.faults & TILT_FAULT_MASK
    # it ends: validity returns once gravity and gyro agree again
    n = 0
    while n < 300 and est.faults & TILT_FAULT_MASK:
        _synth(est, 1, 20.0)
        n += 1
    assert not est.faults & TILT_FAULT_MASK, hex(est.faults)
    assert n < 150, n
    assert abs(est.angle_cdeg - 2000) <= 50
    assert abs(est.bias_mdps()) < 100


def test_normal_table_motion_never_clears_validity() -> None:
    # 6 deg/s with 6 deg/s^2 ramps and 0.3 g of 25 Hz vibration: no false clear
    est = TiltEstimator()
    _synth(est, 300, -10.0)
    ang, rate, k = -10.0, 0.0, 0
    for target in (60.0, -20.0, 40.0, 0.0):
        while abs(ang - target) > 0.01 or rate:
            want = math.copysign(
                min(6.0, math.sqrt(max(0.0, 2 * 6.0 * abs(target - ang)))), target - ang
            )
            rate += max(-0.06, min(0.06, want - rate))
            ang += rate / 100
            if abs(ang - target) < 0.01 and abs(rate) < 0.1:
                ang, rate = target, 0.0
            th = math.radians(ang)
            v = 0.3 * math.sin(2 * math.pi * 24.3 * k / 100)
            k += 1
            est.update(
                int((-math.sin(th) + 0.3 * v) * G),
                int((math.cos(th) + 0.94 * v) * G),
                int(rate * 1000),
                10000,
            )
            assert not est.faults & TILT_FAULT_MASK, (k, hex(est.faults))
            assert abs(est.angle_cdeg / 100 - ang) < 0.5


@pytest.mark.parametrize("lin_g", [0.1, 0.3, 1.0])
def test_a_linear_acceleration_that_looks_like_gravity_is_never_ok_for_20_s(lin_g: float) -> None:
    # Found by trying (sensattack): a linear acceleration that tilts the
    # apparent gravity but keeps |a| within 5 % of 1 g, sustained 20 s with
    # the gyro still.  Before, after 5 s on the gyro path gravity was made
    # the judge and validity came back on the wrong angle (5.7 deg off at
    # 0.1 g, 17 deg at 0.3 g, 60 deg at 1 g).
    est = TiltEstimator()
    deg = 20.0
    _synth(est, 300, deg)
    th = math.radians(deg)
    phi = 2 * math.asin(lin_g / 2)  # |a| = lin_g, |g + a| = 1 g
    al = int(-math.sin(th + phi) * G)
    au = int(math.cos(th + phi) * G)
    for _ in range(2000):
        est.update(al, au, 0, 10000)
        ok = not est.faults & TILT_FAULT_MASK
        assert not ok or abs(est.angle_cdeg / 100 - deg) <= 2.0, est.angle_cdeg
    back = 0
    for k in range(500):  # it ends: validity returns once the two agree again
        _synth(est, 1, deg)
        ok = not est.faults & TILT_FAULT_MASK
        assert not ok or abs(est.angle_cdeg / 100 - deg) <= 2.0, est.angle_cdeg
        if not ok:
            back = k + 1
    assert back <= 100, back  # measured 0.62-0.72 s
