"""Session summary and expectation checks on hand-made traces."""

from __future__ import annotations

import itertools
from pathlib import Path

from inversa_host.sessions.report import write_report
from inversa_host.sim.expect import check_expectations
from inversa_host.sim.trace import SessionTrace, TraceEvent, summarize


def _trace(profile: list[tuple[float, float]], dt: float = 0.1) -> SessionTrace:
    """Piecewise-linear angle through (t_s, angle_deg) points."""
    tr = SessionTrace(loading_deg=-65.0)
    t_end = profile[-1][0]
    n = round(t_end / dt)
    for i in range(n + 1):
        t = i * dt
        for (t0, a0), (t1, a1) in itertools.pairwise(profile):
            if t0 <= t <= t1:
                a = a0 + (a1 - a0) * (t - t0) / (t1 - t0)
                break
        tr.t_s.append(t)
        tr.angle_deg.append(a)
        tr.target_deg.append(a)
        tr.rate_dps.append(0.0)
        tr.hr_bpm.append(70.0 if t > 5 else 0.0)
        tr.state.append("HOLD" if a > 0 else "IDLE")
        tr.alarm_priority.append(0)
        tr.motor_cmd_dps.append(0.0)
    return tr


def test_summary_measures_return_from_deepest_to_horizontal() -> None:
    tr = _trace([(0, -65), (20, 0), (30, 25), (90, 25), (130, 0), (150, -65)])
    s = summarize(tr)
    assert abs(s.deepest_deg - 25) < 1e-6
    assert s.return_s is not None and abs(s.return_s - 40.0) < 0.3
    assert abs(s.time_inverted_s - (130 - 20)) < 0.5
    assert s.hr_min_bpm == 70.0


def test_fast_return_fails_min_return_check() -> None:
    tr = _trace([(0, -65), (20, 0), (30, 25), (90, 25), (100, 0), (150, -65)])
    (check,) = check_expectations(tr, {"min_return_s": 30})
    assert not check.ok and "10.0 s" in check.detail


def test_depth_and_alarm_checks() -> None:
    tr = _trace([(0, -65), (20, 0), (30, 26), (60, 0)])
    tr.events.append(TraceEvent(25.0, "alarm_raised", "OVER_ANGLE"))
    checks = {
        c.name: c
        for c in check_expectations(
            tr,
            {
                "max_angle_deg": 25.5,
                "alarms_include": ["OVER_ANGLE"],
                "alarms_exclude": ["HR_HIGH"],
                "final_state": "IDLE",
                "bogus": 1,
            },
        )
    }
    assert not checks["max_angle_deg"].ok
    assert checks["alarms_include"].ok and checks["alarms_exclude"].ok
    assert checks["final_state"].ok
    assert not checks["bogus"].ok


def test_rate_check_uses_half_second_windows() -> None:
    tr = _trace([(0, 0), (10, 30), (12, 30)])  # 3 deg/s
    assert check_expectations(tr, {"max_rate_dps": 3.2})[0].ok
    assert not check_expectations(tr, {"max_rate_dps": 2.8})[0].ok


def test_report_files_written(tmp_path: Path) -> None:
    tr = _trace([(0, -65), (20, 0), (30, 25), (90, 25), (130, 0), (150, -65)])
    tr.alarm_priority[200:260] = [3] * 60
    paths = write_report(
        tr, summarize(tr), check_expectations(tr, {"min_return_s": 30}), tmp_path, "t"
    )
    assert paths.png.stat().st_size > 10_000
    assert paths.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = paths.markdown.read_text()
    assert "deepest angle | 25.0 deg" in md and "Expectations: PASS" in md
    assert "session.png" in paths.html.read_text()


def test_truth_is_judged_at_each_frames_own_time_when_frames_come_late() -> None:
    # Telemetry every 50 ms, but a frame now and then a period late (put off
    # after a FIFO drain): 40/60 ms apart.  The truth, sampled every 100 ms,
    # must be read at each frame's own time.  A step function charged a frame
    # up to 100 ms of motion: a 5.84 deg/s descent read 6.8 deg/s (fast_motor).
    from inversa_host.sim.runner import _attach_truth

    speed_dps = 5.84
    truth = [(t_ms, round(-30_00 + speed_dps * t_ms / 10), 700) for t_ms in range(0, 20_001, 100)]
    tr = SessionTrace(loading_deg=-65.0)
    t_ms = 0
    k = 0
    while t_ms <= 19_900:
        tr.t_s.append(t_ms / 1000.0)
        tr.angle_deg.append(0.0)
        k += 1
        t_ms += 60 if k % 3 == 0 else (40 if k % 3 == 1 else 50)
    _attach_truth(tr, truth)
    checks = check_expectations(tr, {"max_rate_dps": 6.0})
    assert checks[0].ok, checks[0].detail
    rates = [
        (b - a) / (tb - ta)
        for a, b, ta, tb in zip(
            tr.true_angle_deg, tr.true_angle_deg[10:], tr.t_s, tr.t_s[10:], strict=False
        )
    ]
    assert max(rates) < speed_dps * 1.01 and min(rates) > speed_dps * 0.99
