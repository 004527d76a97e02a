"""The random fault campaign (`inversa sim --campaign`): its timelines are
valid scenarios drawn deterministically from the seed, the shrinker keeps
what makes a timeline fail, the written file reproduces it in `inversa sim`,
and a small fixed campaign runs in CI."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from inversa_host.cli import main
from inversa_host.sim import campaign as C
from inversa_host.sim.judge import Violation
from inversa_host.sim.scenario import parse_scenario


def test_timelines_are_valid_scenarios_and_deterministic() -> None:
    actions = set()
    for i in range(200):
        tl = C.random_timeline(3, i)
        sc = parse_scenario(C.timeline_toml(tl), "t.toml")  # validated like any file
        assert [(e.t_s, e.action, e.args) for e in sc.events] == [
            (round(t, 2), a, args) for t, a, args in tl.events
        ]
        assert sc.expect == {"safety_rules": True}
        actions |= {a for _, a, _ in tl.events}
    assert C.random_timeline(3, 7) == C.random_timeline(3, 7)
    assert C.random_timeline(3, 7) != C.random_timeline(4, 7)
    # The campaign draws from the whole fault list, the boot faults included.
    for a in (
        "power_reset",
        "imu_disconnect",
        "hr_disconnect",
        "i2c_stuck",
        "pulse_flicker",
        "switch_chatter",
        "button_stuck",
        "press_estop",
        "motor_runon",
        "mains_lost",
    ):
        assert a in actions, a


def test_the_blind_double_fault_is_never_drawn_but_each_half_is() -> None:
    # A run-on with a dead angle sensor: nothing can see the motion (the
    # campaign judges the single-fault condition); each alone is drawn.
    names = [{a for _, a, _ in C.random_timeline(5, i).events} for i in range(400)]
    angle = set(C._ANGLE_FAULTS)
    assert not [n for n in names if "motor_runon" in n and n & angle]
    assert any("motor_runon" in n for n in names)
    assert any(n & angle for n in names)


def test_shrink_drops_what_does_not_matter_and_rounds_times(monkeypatch) -> None:
    tl = C.random_timeline(1, 0)
    tl = replace(tl, events=[*tl.events, (33.37, "motor_runon", {"duty": 0.5})])
    tl.events.sort(key=lambda e: e[0])
    runs = []

    def fails(cand: C.Timeline, kind: str) -> bool:  # the "bug": a run-on after 30 s
        runs.append(cand)
        return any(a == "motor_runon" and t >= 30 for t, a, _ in cand.events)

    monkeypatch.setattr(C, "_still_fails", fails)
    monkeypatch.setattr(C, "run_timeline", lambda tl: C.Outcome([], 0.0, 0.0))
    small = C.shrink(tl, "end")
    assert small.events == [(33.0, "motor_runon", {"duty": 0.5})]
    assert len(runs) <= 60


def test_campaign_command_prints_and_writes_the_shrunk_failing_timeline(
    tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plumbing, with a planted rule that every timeline with a
    press_stop breaks (so nothing here depends on the firmware's bugs)."""

    draw = C.random_timeline

    def short(seed: int, i: int) -> C.Timeline:
        tl = draw(seed, i)
        ev = [(1.0, "press_start", {}), (5.5, "hr_ramp", {"delta_bpm": 5.0, "over_s": 2.0})]
        if i == 1:
            ev.append((7.25, "press_stop", {}))
        return replace(tl, events=ev, duration_s=12.0)

    def planted(samples, rules, events):
        return (
            [Violation("end", 1.0, "planted")]
            if any(a == "press_stop" for _, a, _ in events)
            else []
        )

    monkeypatch.setattr(C, "random_timeline", short)
    monkeypatch.setattr(C, "judge", planted)
    rc = main(["sim", "--campaign", "3", "--seed", "9", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "2/3 timelines, 1 failing" in out and "timelines/s" in out
    written = tmp_path / "campaign" / "campaign_s9_1_end.toml"
    text = written.read_text()
    assert text in out and "inversa sim --campaign 3 --seed 9" in text
    sc = parse_scenario(text, written)
    assert [e.action for e in sc.events] == ["press_stop"]  # shrunk
    assert sc.expect == {"safety_rules": True}


def test_campaign_refuses_bad_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--campaign", "0"]) == 2
    assert "N >= 1" in capsys.readouterr().err


def test_small_fixed_campaign_has_no_violations() -> None:
    # Four timelines keep CI within its budget; `inversa sim --campaign` runs more.
    result = C.run_campaign(4, seed=1, jobs=1, keep_going=True, shrink_budget=0)
    assert result.runs == 4
    assert result.failing == [], result.kinds


def test_a_timeline_that_raises_is_a_crash_finding(monkeypatch) -> None:
    """What the handed reboot_with_dead_imu case did before issue 14: the boot
    raised out of the simulated board. The campaign reports it, shrunk."""

    def boom(tl: C.Timeline, early_stop: bool = True, rules=None) -> C.Outcome:
        if any(a == "power_reset" for _, a, _ in tl.events):
            raise OSError(19)
        return C.Outcome([], 1.0, 0.0)

    monkeypatch.setattr(C, "run_timeline", boom)
    draw = C.random_timeline
    monkeypatch.setattr(
        C,
        "random_timeline",
        lambda seed, i: replace(
            draw(seed, i),
            events=[
                (1.0, "press_start", {}),
                (5.0, "imu_disconnect", {}),
                (6.0, "power_reset", {}),
            ],
        ),
    )
    result = C.run_campaign(2, seed=1)
    assert result.failure is not None and result.failure.violations[0].kind == "crash"
    assert "OSError" in result.failure.violations[0].detail
    assert [a for _, a, _ in result.failure.shrunk.events] == ["power_reset"]
