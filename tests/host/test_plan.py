"""Progression planning: time before angle, never after trouble, step back
after a high alarm, beginners capped, and the result is a valid profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from inversa_host.cli import main
from inversa_host.profiles.files import profile_from_dict
from inversa_host.profiles.plan import (
    BEGINNER_MAX_CDEG,
    HOLD_STEP_MS,
    PLAN_MAX_CDEG,
    SessionRecord,
    plan_next,
)


def rec(i: int, angle: int = 2500, hold_ms: int = 120_000, **kw) -> SessionRecord:
    base = dict(
        session_id=i,
        deepest_cdeg=angle,
        hold_ms=hold_ms,
        completed=True,
        alarms=(),
        worst_priority=0,
        faults=0,
        hr_rise_bpm=6,
    )
    base.update(kw)
    return SessionRecord(**base)  # type: ignore[arg-type]


CURRENT = {"max_angle_cdeg": 2500, "hold_ms": 120_000, "return_ms": 40_000, "daily_ms": 300_000}


def test_clean_session_grows_time_first_by_one_step() -> None:
    plan = plan_next([rec(1)], CURRENT)
    assert plan.changed
    assert plan.profile["hold_ms"] == 120_000 + HOLD_STEP_MS
    assert plan.profile["max_angle_cdeg"] == 2500


def test_angle_grows_only_after_three_clean_sessions_with_a_3_min_hold() -> None:
    cur = dict(CURRENT, hold_ms=180_000)
    hist = [rec(i, hold_ms=180_000) for i in range(1, 3)]
    assert plan_next(hist, cur).profile["max_angle_cdeg"] == 2500  # two sessions only
    hist.append(rec(3, hold_ms=180_000))
    plan = plan_next(hist, cur)
    assert plan.profile["max_angle_cdeg"] == 3000
    assert plan.profile["hold_ms"] == 180_000  # one change at a time


def test_beginners_stay_at_30_deg_for_the_first_weeks() -> None:
    cur = dict(CURRENT, max_angle_cdeg=BEGINNER_MAX_CDEG, hold_ms=300_000)
    hist = [rec(i, angle=BEGINNER_MAX_CDEG, hold_ms=300_000) for i in range(1, 6)]
    plan = plan_next(hist, cur)
    assert not plan.changed and any("first weeks" in r for r in plan.reasons)
    later = [rec(i, angle=BEGINNER_MAX_CDEG, hold_ms=300_000) for i in range(1, 16)]
    assert plan_next(later, cur).profile["max_angle_cdeg"] == BEGINNER_MAX_CDEG + 500


def test_never_past_60_deg_without_advanced() -> None:
    cur = dict(CURRENT, max_angle_cdeg=PLAN_MAX_CDEG, hold_ms=300_000)
    hist = [rec(i, angle=PLAN_MAX_CDEG, hold_ms=300_000) for i in range(1, 20)]
    assert plan_next(hist, cur).profile["max_angle_cdeg"] == PLAN_MAX_CDEG
    assert plan_next(hist, cur, advanced=True).profile["max_angle_cdeg"] == PLAN_MAX_CDEG + 500


@pytest.mark.parametrize(
    "trouble",
    [
        {"worst_priority": 2, "alarms": ("hr-rise",)},
        {"completed": False},
        {"hr_rise_bpm": 22},
    ],
)
def test_no_progression_after_trouble(trouble: dict) -> None:
    plan = plan_next([rec(1), rec(2, **trouble)], CURRENT)
    assert not plan.changed and plan.profile == CURRENT
    assert "keep the same profile" in plan.reasons[-1]


def test_step_back_after_a_high_priority_alarm_or_fault() -> None:
    for bad in ({"worst_priority": 3, "alarms": ("over-limit",)}, {"faults": 1}):
        plan = plan_next([rec(1), rec(2, **bad)], CURRENT)
        assert plan.profile["max_angle_cdeg"] == 2000
        assert "step back" in plan.reasons[0]


def test_plans_are_valid_profiles_along_a_long_clean_progression() -> None:
    cur = dict(CURRENT, max_angle_cdeg=2000, hold_ms=60_000)
    hist: list[SessionRecord] = []
    for i in range(1, 80):
        plan = plan_next(hist, cur)
        profile_from_dict(plan.profile, "plan")  # the firmware's own validation
        cur = plan.profile
        hist.append(rec(i, angle=cur["max_angle_cdeg"], hold_ms=cur["hold_ms"]))
    assert cur["max_angle_cdeg"] == PLAN_MAX_CDEG
    assert cur["hold_ms"] == 300_000


def test_plan_command_on_simulated_sessions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    assert main(["sim", "quick_session", "--db", str(db), "--out", str(tmp_path / "o")]) == 0
    prof = tmp_path / "p.toml"
    prof.write_text("max_angle_cdeg = 1500\nhold_ms = 10000\nreturn_ms = 30000\n")
    capsys.readouterr()
    out_file = tmp_path / "next.toml"
    # A partial profile is refused, naming what is missing (issue 13 item 10) ...
    assert main(["plan", str(prof), "--db", str(db), "--out", str(out_file)]) == 2
    err = capsys.readouterr().err
    assert "missing field(s) user_id, descent_cdps" in err and "--fill-defaults" in err
    assert not out_file.exists()
    # ... and a simulated session is not the user's history (issue 13 item 11).
    args = ["plan", str(prof), "--db", str(db), "--fill-defaults"]
    assert main([*args, "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "filled with beginner defaults: user_id, descent_cdps" in out
    assert "from 0 session(s)" in out and "1 simulated or bench session(s) left out" in out
    assert "no recorded sessions yet" in out
    assert main([*args, "--include-sim", "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "was clean: hold 40 s" in out
    assert "hold_ms = 40000" in out_file.read_text()
    assert main(["profile", "check", str(out_file)]) == 0
