"""Scenario files: the person, the profile, the table, a timeline and the expected outcome.

A scenario is TOML. A malformed one is refused with the file, the line and
what is wrong, before anything runs::

    [scenario]
    name = "beginner"
    duration_s = 240
    table = "motorized"            # or "manual"

    [person]
    resting_hr_bpm = 64

    [profile]                      # fields of the firmware's profile
    max_angle_deg = 25

    [[events]]
    t_s = 5
    action = "hold_down"           # see ACTIONS

    [expect]
    final_state = "DONE"
    alarms_include = []

Usage::

    sc = load_scenario(Path("beginner.toml"))
    sc.events[0].action
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # pyright: ignore[reportMissingImports]

SCENARIO_DIR = Path(__file__).parent / "scenarios"

# action -> (required arguments, optional arguments)
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # buttons on the table (the local, physical actions)
    "press_start": ((), ()),
    "press_stop": ((), ()),
    "hold_down": ((), ()),
    "release_down": ((), ()),
    "hold_up": ((), ()),
    "release_up": ((), ()),
    "press_estop": ((), ()),
    "release_estop": ((), ()),
    "break_estop_wire": ((), ()),
    # a button stuck closed (a short, a jammed contact) and freed again
    "button_stuck": (("button",), ()),
    "button_unstick": (("button",), ()),
    # a limit switch whose contact chatters (closed for `duty` of each period)
    "switch_chatter": (("switch", "period_s", "duty"), ("until_s",)),
    # the supply
    "mains_lost": ((), ()),
    "mains_restored": ((), ()),
    "contactor_welded": ((), ()),
    # the limit switches: stuck reading actuated (closed = true, "at its
    # limit") or released (closed = false) whatever the table does; release
    # gives one (or, without switch, both) back to the table
    "switch_stuck": (("switch", "closed"), ()),
    "switch_release": ((), ("switch",)),
    # the person on a manual table
    "tilt_to": (("angle_deg",), ("pace_dps",)),
    "relax": ((), ()),
    # the person's heart
    "hr_ramp": (("delta_bpm", "over_s"), ()),
    "vasovagal": ((), ("over_s",)),
    "lose_pulse": ((), ()),
    "restore_pulse": ((), ()),
    # contact lost for off_s at the start of every period_s (until until_s,
    # or restore_pulse / pulse_restore)
    "pulse_flicker": (("period_s", "off_s"), ("until_s",)),
    "pulse_restore": ((), ()),
    # sensor faults
    "imu_bus_errors": ((), ()),
    "imu_stuck": ((), ()),
    "imu_disconnect": ((), ()),
    "imu_restore": ((), ()),
    "hr_fifo_overflow": ((), ()),
    "hr_disconnect": ((), ()),
    "hr_restore": ((), ()),
    # a slave holds SDA low: the whole bus fails until `pulses` SCL clocks free it
    "i2c_stuck": ((), ("pulses",)),
    # motor faults
    "motor_stall": ((), ()),
    "motor_runon": ((), ("duty",)),
    "motor_restore": ((), ()),
    # host and power
    "host_start": ((), ()),
    "host_return": ((), ()),
    "host_silent": ((), ()),
    # power cut and back (the board's retained RAM is lost: the flash's
    # motion record, written ahead in a session, is what the boot finds)
    "power_reset": ((), ()),
    # the watchdog (or a soft reset) restarts the board: power stays on, the
    # retained RAM keeps the exact motion record (inversa.retained)
    "watchdog_reset": ((), ()),
}

_NUMBER = (int, float)
# Event arguments that are true or false (every other one is a name or a number).
_ARG_BOOL = ("closed",)
_SECTIONS: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    # key -> (type, required)
    "scenario": {
        "name": (str, True),
        "description": (str, False),
        "duration_s": (_NUMBER, True),
        "table": (str, True),
        "seed": (int, False),
        "host_connected": (bool, False),
    },
    "person": {
        "mass_kg": (_NUMBER, False),
        "height_m": (_NUMBER, False),
        "com_along_m": (_NUMBER, False),
        "com_above_m": (_NUMBER, False),
        "resting_hr_bpm": (_NUMBER, False),
        "hr_inversion_delta_bpm": (_NUMBER, False),
        "hr_inversion_tau_s": (_NUMBER, False),
        "descent_dps": (_NUMBER, False),
        "return_dps": (_NUMBER, False),
    },
    "table": {
        "loading_deg": (_NUMBER, False),
        "brake_fitted": (bool, False),
        "motor_no_load_dps": (_NUMBER, False),
        "imu": (str, False),
        "hr_sensor": (str, False),
    },
    "expect": {
        "final_state": (str, False),
        "final_state_any": (list, False),
        "alarms_include": (list, False),
        "alarms_include_any": (list, False),
        "alarms_exclude": (list, False),
        "faults_include": (list, False),
        "states_include": (list, False),
        "max_angle_deg": (_NUMBER, False),
        "min_angle_reached_deg": (_NUMBER, False),
        "min_return_s": (_NUMBER, False),
        "max_rate_dps": (_NUMBER, False),
        "end_near_loading": (bool, False),
        "safety_rules": (bool, False),
    },
}
# Arguments that are names, with their choices; every other argument is a number.
ARG_CHOICES: dict[str, tuple[str, ...]] = {
    "switch": ("home", "end"),
    "button": ("start", "stop", "up", "down"),
}
# Numeric arguments with a range (inclusive).
ARG_RANGES: dict[str, tuple[float, float]] = {
    "duty": (0.0, 1.0),
    "period_s": (0.02, 600.0),
    "off_s": (0.0, 600.0),
    "until_s": (0.0, 7200.0),
    "pulses": (1.0, 100.0),
}
_EVENT_KEYS = {"t_s", "action"} | {k for req, opt in ACTIONS.values() for k in (*req, *opt)}


class ScenarioError(ValueError):
    """A scenario file is malformed: says which file, which line and what is wrong."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Event:
    t_s: float
    action: str
    args: dict[str, float | str | bool] = field(default_factory=dict)


@dataclass
class Scenario:
    path: Path
    name: str
    description: str
    duration_s: float
    table: str
    seed: int
    host_connected: bool
    person: dict[str, float]
    table_opts: dict[str, Any]
    profile: dict[str, Any]
    events: list[Event]
    expect: dict[str, Any]

    @property
    def motorized(self) -> bool:
        return self.table == "motorized"


class _Lines:
    """Finds the line a key was written on, for error messages (tomllib gives none)."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.]+)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\"-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.rows: list[tuple[int, str, int, str | None]] = []  # (line, section, nth, key)
        section, counts, nth = "", {}, 0
        for no, raw in enumerate(text.splitlines(), start=1):
            m = self._HEADER.match(raw)
            if m:
                section = m.group(1)
                counts[section] = counts.get(section, -1) + 1
                nth = counts[section]
                self.rows.append((no, section, nth, None))
                continue
            k = self._KEY.match(raw)
            if k:
                self.rows.append((no, section, nth, k.group(1).strip('"')))

    def find(self, section: str, key: str | None = None, nth: int = 0) -> int | None:
        for no, sec, n, k in self.rows:
            if sec == section and n == nth and k == key:
                return no
        if key is not None:
            return self.find(section, None, nth)
        return None


def _check_type(value: Any, expected: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and expected is not bool:
        return False  # TOML true is not a number
    return isinstance(value, expected)


def _type_name(expected: type | tuple[type, ...]) -> str:
    if expected == _NUMBER:
        return "a number"
    assert isinstance(expected, type)
    return {str: "a string", bool: "true or false", int: "an integer", list: "a list"}.get(
        expected, expected.__name__
    )


def _check_expect_names(expect: dict[str, Any], path: Path | str, lines: _Lines) -> None:
    """Every alarm, fault and state an expectation names is the firmware's: a
    misspelt one would make a check that can never fail."""
    from inversa.control.alarm_names import ALARM_NAMES, FAULT_NAMES
    from inversa.control.states import STATE_NAMES

    tables = {"alarms": ALARM_NAMES, "faults": FAULT_NAMES, "final_state": STATE_NAMES}
    tables["states"] = STATE_NAMES
    for key, value in expect.items():
        known = next((t for k, t in tables.items() if key.startswith(k)), None)
        if known is None:
            continue
        for name in value if isinstance(value, list) else [value]:
            if name not in known:
                raise ScenarioError(
                    path,
                    lines.find("expect", key),
                    f"[expect] {key}: {name!r} is not a firmware name; known: {', '.join(known)}",
                )


def parse_scenario(text: str, path: Path | str = "<scenario>") -> Scenario:
    """Parse and validate scenario text; raise ScenarioError on anything wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise ScenarioError(path, int(m.group(1)) if m else None, f"not valid TOML: {e}") from e
    lines = _Lines(text)

    known = {*_SECTIONS, "profile", "events"}
    for key in data:
        if key not in known:
            raise ScenarioError(
                path,
                lines.find(key) or lines.find("", key),
                f"unknown section [{key}]; expected one of {sorted(known)}",
            )
    sections: dict[str, dict[str, Any]] = {}
    for sec, spec in _SECTIONS.items():
        body = data.get(sec, {})
        if not isinstance(body, dict):
            raise ScenarioError(path, lines.find("", sec), f"[{sec}] must be a table")
        for key, value in body.items():
            if key not in spec:
                raise ScenarioError(
                    path,
                    lines.find(sec, key),
                    f"unknown key {key!r} in [{sec}]; expected one of {sorted(spec)}",
                )
            expected, _ = spec[key]
            if not _check_type(value, expected):
                raise ScenarioError(
                    path,
                    lines.find(sec, key),
                    f"[{sec}] {key} must be {_type_name(expected)}, got {value!r}",
                )
        for key, (_, required) in spec.items():
            if required and key not in body:
                raise ScenarioError(path, lines.find(sec), f"[{sec}] needs {key!r}")
        sections[sec] = body

    _check_expect_names(sections["expect"], path, lines)
    sc = sections["scenario"]
    if sc["table"] not in ("motorized", "manual"):
        raise ScenarioError(
            path, lines.find("scenario", "table"), "table must be 'motorized' or 'manual'"
        )
    duration = float(sc["duration_s"])
    if not 1.0 <= duration <= 7200.0:
        raise ScenarioError(
            path, lines.find("scenario", "duration_s"), "duration_s must be 1..7200"
        )

    profile = data.get("profile", {})
    if not isinstance(profile, dict):
        raise ScenarioError(path, lines.find("profile"), "[profile] must be a table")

    raw_events = data.get("events", [])
    if not isinstance(raw_events, list):
        raise ScenarioError(path, lines.find("", "events"), "events must be [[events]] tables")
    events: list[Event] = []
    last_t = 0.0
    for i, ev in enumerate(raw_events):
        line = lines.find("events", None, i)
        if not isinstance(ev, dict):
            raise ScenarioError(path, line, f"event {i + 1} must be a table")
        for key in ev:
            if key not in _EVENT_KEYS:
                raise ScenarioError(
                    path,
                    lines.find("events", key, i),
                    f"event {i + 1}: unknown key {key!r}; expected one of {sorted(_EVENT_KEYS)}",
                )
        if "t_s" not in ev or "action" not in ev:
            raise ScenarioError(path, line, f"event {i + 1} needs t_s and action")
        t = ev["t_s"]
        if not _check_type(t, _NUMBER) or not 0.0 <= float(t) <= duration:
            raise ScenarioError(
                path,
                lines.find("events", "t_s", i),
                f"event {i + 1}: t_s must be a number within 0..duration_s ({duration:g})",
            )
        if float(t) < last_t:
            raise ScenarioError(
                path, lines.find("events", "t_s", i), f"event {i + 1}: events must be in time order"
            )
        last_t = float(t)
        action = ev["action"]
        if action not in ACTIONS:
            raise ScenarioError(
                path,
                lines.find("events", "action", i),
                f"event {i + 1}: unknown action {action!r}; known actions: {', '.join(sorted(ACTIONS))}",
            )
        required, optional = ACTIONS[action]
        args: dict[str, float | str | bool] = {}
        for key in ev:
            if key in ("t_s", "action"):
                continue
            if key not in required and key not in optional:
                takes = ", ".join((*required, *optional)) or "no arguments"
                raise ScenarioError(
                    path,
                    lines.find("events", key, i),
                    f"event {i + 1}: {action} takes no {key!r} (it takes {takes})",
                )
            args[key] = _event_arg(ev[key], key, i, path, lines)
        if action == "pulse_flicker" and float(args["off_s"]) >= float(args["period_s"]):
            raise ScenarioError(
                path, line, f"event {i + 1}: pulse_flicker needs off_s shorter than period_s"
            )
        for key in required:
            if key not in args:
                raise ScenarioError(path, line, f"event {i + 1}: {action} needs {key!r}")
        events.append(Event(float(t), action, args))

    return Scenario(
        path=Path(path),
        name=sc["name"],
        description=sc.get("description", ""),
        duration_s=duration,
        table=sc["table"],
        seed=int(sc.get("seed", 1)),
        host_connected=bool(sc.get("host_connected", True)),  # the logger holds the lease
        person={k: float(v) for k, v in sections["person"].items()},
        table_opts=dict(sections["table"]),
        profile=dict(profile),
        events=events,
        expect=dict(sections["expect"]),
    )


def _event_arg(value: Any, key: str, i: int, path: Path | str, lines: _Lines) -> float | str | bool:
    line = lines.find("events", key, i)
    if key in _ARG_BOOL:
        if not isinstance(value, bool):
            raise ScenarioError(path, line, f"event {i + 1}: {key} must be true or false")
        return value
    choices = ARG_CHOICES.get(key)
    if choices is not None:
        if value not in choices:
            raise ScenarioError(
                path,
                line,
                f"event {i + 1}: {key} must be one of {', '.join(choices)}, got {value!r}",
            )
        return str(value)
    if not _check_type(value, _NUMBER):
        raise ScenarioError(path, line, f"event {i + 1}: {key} must be a number")
    lo_hi = ARG_RANGES.get(key)
    if lo_hi is not None and not lo_hi[0] <= float(value) <= lo_hi[1]:
        raise ScenarioError(
            path, line, f"event {i + 1}: {key} must be within {lo_hi[0]:g}..{lo_hi[1]:g}"
        )
    return float(value)


def load_scenario(path: Path) -> Scenario:
    from inversa_host.textfile import read_text

    try:
        text = read_text(path, "scenario", say_path=False)
    except ValueError as e:
        raise ScenarioError(path, None, str(e)) from None
    return parse_scenario(text, path)


def library() -> list[Path]:
    """The scenarios shipped with the simulator."""
    return sorted(SCENARIO_DIR.glob("*.toml"))


def find_scenario(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.is_file():
        return p
    cand = SCENARIO_DIR / f"{name_or_path}.toml"
    if cand.is_file():
        return cand
    names = ", ".join(q.stem for q in library())
    raise ScenarioError(
        name_or_path, None, f"no such scenario file or library name; library: {names}"
    )
