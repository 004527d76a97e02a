"""Scenario files: parsed when right, refused with file, line and reason when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from inversa_host.sim.scenario import ScenarioError, parse_scenario

GOOD = """\
[scenario]
name = "t"
duration_s = 60
table = "motorized"

[person]
resting_hr_bpm = 70

[profile]
max_angle_deg = 25

[[events]]
t_s = 1
action = "hold_down"

[[events]]
t_s = 30
action = "hr_ramp"
delta_bpm = 20
over_s = 15

[expect]
final_state = "done"
alarms_include = []
"""


def test_good_scenario_parses() -> None:
    sc = parse_scenario(GOOD, "good.toml")
    assert sc.name == "t" and sc.duration_s == 60.0 and sc.motorized
    assert [e.action for e in sc.events] == ["hold_down", "hr_ramp"]
    assert sc.events[1].args == {"delta_bpm": 20.0, "over_s": 15.0}
    assert sc.profile == {"max_angle_deg": 25}
    assert sc.person["resting_hr_bpm"] == 70.0


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text, Path("bad.toml"))
    return e.value


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        ("resting_hr_bpm = 70", "resting_hr = 70", "resting_hr", "unknown key"),
        ("resting_hr_bpm = 70", 'resting_hr_bpm = "fast"', "resting_hr_bpm", "must be a number"),
        ('action = "hold_down"', 'action = "jump"', 'action = "jump"', "unknown action"),
        ("delta_bpm = 20", "delta_bpm = 20\nangle_deg = 3", "angle_deg = 3", "takes no"),
        ('table = "motorized"', 'table = "hover"', "table = ", "motorized"),
        ("t_s = 30", "t_s = 0.5", "t_s = 0.5", "time order"),
        ("t_s = 30", "t_s = 600", "t_s = 600", "within"),
        ("duration_s = 60", "duration_s = true", "duration_s", "must be a number"),
    ],
)
def test_bad_scenario_names_line_and_problem(old: str, new: str, needle: str, words: str) -> None:
    text = GOOD.replace(old, new, 1)
    err = _error(text)
    assert err.line == _line_of(text, needle)
    assert words in err.message
    assert str(err).startswith(f"bad.toml:{err.line}: ")


def test_missing_required_argument_points_at_event() -> None:
    text = GOOD.replace("over_s = 15\n", "")
    err = _error(text)
    assert "needs 'over_s'" in err.message
    assert err.line == _line_of(text, "[[events]]") + 4  # the second [[events]] header


def test_toml_syntax_error_has_line() -> None:
    text = GOOD.replace("max_angle_deg = 25", "max_angle_deg = = 25")
    err = _error(text)
    assert err.line == _line_of(text, "max_angle_deg")
    assert "not valid TOML" in err.message


def test_unknown_section_refused() -> None:
    err = _error(GOOD + "\n[weather]\nrain = true\n")
    assert "unknown section [weather]" in err.message


NEW_ACTIONS = """\
[scenario]
name = "t"
duration_s = 60
table = "motorized"

[[events]]
t_s = 1
action = "switch_chatter"
switch = "home"
period_s = 0.5
duty = 0.3

[[events]]
t_s = 2
action = "pulse_flicker"
period_s = 4.8
off_s = 0.3
until_s = 40

[[events]]
t_s = 3
action = "button_stuck"
button = "down"

[[events]]
t_s = 4
action = "i2c_stuck"
pulses = 5
"""


def test_issue_14_actions_parse_with_named_arguments() -> None:
    sc = parse_scenario(NEW_ACTIONS, "new.toml")
    assert [e.action for e in sc.events] == [
        "switch_chatter",
        "pulse_flicker",
        "button_stuck",
        "i2c_stuck",
    ]
    assert sc.events[0].args == {"switch": "home", "period_s": 0.5, "duty": 0.3}
    assert sc.events[2].args == {"button": "down"}


_STUCK = '[[events]]\nt_s = 40\naction = "switch_stuck"\nswitch = "home"\nclosed = true\n'


def test_switch_stuck_parses_with_its_switch_and_state() -> None:
    sc = parse_scenario(GOOD.replace("[expect]", _STUCK + "\n[expect]"), "good.toml")
    assert sc.events[-1].action == "switch_stuck"
    assert sc.events[-1].args == {"switch": "home", "closed": True}


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        ('switch = "home"', 'switch = "door"', 'switch = "door"', "one of home, end"),
        ('button = "down"', 'button = "estop"', 'button = "estop"', "one of start, stop, up, down"),
        ("duty = 0.3", "duty = 1.5", "duty = 1.5", "within 0..1"),
        ("duty = 0.3", 'duty = "half"', 'duty = "half"', "must be a number"),
        ("off_s = 0.3", "off_s = 5", "[[events]]", "off_s shorter than period_s"),
        ("pulses = 5", 'pulses = 5\nswitch = "end"', 'switch = "end"', "it takes pulses"),
    ],
)
def test_issue_14_actions_refuse_bad_arguments(old: str, new: str, needle: str, words: str) -> None:
    text = NEW_ACTIONS.replace(old, new, 1)
    err = _error(text)
    assert words in err.message
    if needle != "[[events]]":
        assert err.line == _line_of(text, needle)


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        ('switch = "home"', 'switch = "door"', 'switch = "door"', "one of home, end"),
        ("closed = true", "closed = 1", "closed = 1", "true or false"),
    ],
)
def test_switch_stuck_bad_arguments_are_refused(
    old: str, new: str, needle: str, words: str
) -> None:
    text = GOOD.replace("[expect]", _STUCK.replace(old, new) + "\n[expect]")
    err = _error(text)
    assert err.line == _line_of(text, needle)
    assert words in err.message


def test_switch_stuck_then_released_drives_the_panel_pins() -> None:
    from inversa_world.panel import TablePanel

    panel = TablePanel()
    assert panel.apply("switch_stuck", 0, {"switch": "end", "closed": True})
    assert panel.end_stuck is True and panel.home_stuck is None
    assert panel.apply("switch_stuck", 0, {"switch": "home", "closed": False})
    assert panel.apply("switch_release", 0, {"switch": "end"})
    assert panel.end_stuck is None and panel.home_stuck is False
    assert panel.apply("switch_release", 0, {})
    assert panel.home_stuck is None
