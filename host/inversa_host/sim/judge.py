"""The whole-system safety rules, judged on the simulated world's TRUE angle.

The same rules judge the random fault campaign (``inversa sim --campaign``),
the boot properties (``tests/fw/test_boot_properties.py``) and any scenario
that asks for them (``[expect] safety_rules = true``), so a campaign's
failing timeline written as a scenario file fails ``inversa sim FILE`` the
same way.

Rules (hazard table, ``docs/SAFETY.md``):

* ``depth``: the true angle never deeper than the profile's limit plus the
  debounce margin (``DEPTH_MARGIN_DEG``; the over-limit alarm fires 0.5 deg
  past the limit after 30 ms).
* ``speed`` (motorized): the true speed, over 0.5 s windows, never above the
  hard limit (6 deg/s).
* ``return`` (motorized): every return from depth (deeper than
  ``RETURN_DEPTH_DEG``) to horizontal takes at least 30 s, from the last
  moment at that excursion's deepest angle.
* ``motion`` (motorized): the table goes deeper only while the DOWN contact
  is closed on a press that began after the session was armed (START or a
  host start, not undone by a reset; a contact that sticks as it closes is a
  press to any controller), plus ``MOTION_GRACE_S`` of braking after the
  release; at most ``MOTION_SLACK_DEG`` of other deeper travel in all
  (a run-on motor is cut within the supervision's drift limit).
* ``end``: at the end the person is at the loading position (within 5 deg)
  or the table is in a latched safe state (fault, e-stop) with a high alarm.

Usage::

    samples = [Sample(t_s, angle_deg, state_name, alarm_priority), ...]
    violations = judge(samples, Rules(limit_deg=25, loading_deg=-60), events)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from inversa.control import limits as L

DEPTH_MARGIN_DEG = 1.0
DEPTH_MARGIN_MANUAL_DEG = 1.5  # the one-way lock engages on the over-limit alarm
SPEED_LIMIT_DPS = L.MAX_RATE_CDPS / 100.0
SPEED_WINDOW_S = 0.5
SPEED_TOLERANCE_DPS = 0.05  # the truth is sampled every 0.1 s
MIN_RETURN_S = L.MIN_RETURN_MS / 1000.0
RETURN_DEPTH_DEG = 1.0
RETURN_TOLERANCE_S = 0.15  # truth sampling
MOTION_GRACE_S = 3.0
MOTION_SLACK_DEG = 5.0
LOADING_TOL_DEG = L.LOADING_TOL_CDEG / 100.0  # the firmware's own "at loading"
SAFE_LATCHED_STATES = ("fault", "estop")


@dataclass(frozen=True)
class Sample:
    t_s: float
    angle_deg: float  # the world's true angle
    state: str = "?"  # the controller's state name
    alarm_priority: int = 0


@dataclass(frozen=True)
class Rules:
    limit_deg: float  # the profile's deepest angle
    loading_deg: float
    motorized: bool = True
    judge_end: bool = True
    # The latched states that may end a run away from loading (with a high
    # alarm).  A run whose motor and tilt sensor stay healthy may be held to
    # ("estop",): a lying switch or button must not strand the person.
    latched_ok: tuple[str, ...] = SAFE_LATCHED_STATES


@dataclass(frozen=True)
class Violation:
    kind: str  # depth, speed, return, motion, end
    t_s: float
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} at {self.t_s:.1f} s: {self.detail}"


def judge(
    samples: Sequence[Sample],
    rules: Rules,
    events: Iterable[tuple[float, str, dict]] = (),
) -> list[Violation]:
    """Every rule broken (the first occurrence of each kind)."""
    if not samples:
        return [Violation("end", 0.0, "no samples")]
    out: list[Violation] = []
    v = _depth(samples, rules)
    if v:
        out.append(v)
    if rules.motorized:
        for f in (_speed, _return):
            v = f(samples)
            if v:
                out.append(v)
        v = _motion(samples, list(events))
        if v:
            out.append(v)
    if rules.judge_end:
        v = _end(samples, rules)
        if v:
            out.append(v)
    return out


def _depth(samples: Sequence[Sample], rules: Rules) -> Violation | None:
    margin = DEPTH_MARGIN_DEG if rules.motorized else DEPTH_MARGIN_MANUAL_DEG
    lim = rules.limit_deg + margin
    for s in samples:
        if s.angle_deg > lim:
            deepest = max(x.angle_deg for x in samples)
            return Violation(
                "depth",
                s.t_s,
                f"true angle {deepest:.2f} deg, limit {rules.limit_deg:g} + {margin:g}",
            )
    return None


def _speed(samples: Sequence[Sample]) -> Violation | None:
    j = 0
    worst = (0.0, 0.0)
    for i, s in enumerate(samples):
        while samples[j].t_s < s.t_s - SPEED_WINDOW_S - 1e-6:
            j += 1
        a = samples[j]
        dt = s.t_s - a.t_s
        if dt < SPEED_WINDOW_S - 1e-6 or i == j:
            continue
        r = abs(s.angle_deg - a.angle_deg) / dt
        if r > worst[0]:
            worst = (r, a.t_s)
    if worst[0] > SPEED_LIMIT_DPS + SPEED_TOLERANCE_DPS:
        return Violation(
            "speed", worst[1], f"true speed {worst[0]:.2f} deg/s, hard limit {SPEED_LIMIT_DPS:g}"
        )
    return None


def _return(samples: Sequence[Sample]) -> Violation | None:
    # Timing starts where the angle last stood within 0.1 deg of the peak (a
    # hold at depth ends there); from that angle the rule's pace (deepest /
    # MIN_RETURN_S) owes the proportional share of the minimum, not all of
    # it: a compliant 31.5 s return from 1.3 deg takes 29.1 s from 1.2 deg.
    peak = None  # (deepest angle, time and angle last within 0.1 deg of it)
    for s in samples:
        a = s.angle_deg
        if peak is None:
            if a > RETURN_DEPTH_DEG:
                peak = (a, s.t_s, a)
            continue
        if a >= peak[0] - 0.1:
            peak = (max(a, peak[0]), s.t_s, a)
        elif a <= 0.0:
            took = s.t_s - peak[1]
            owed = MIN_RETURN_S * peak[2] / peak[0]
            if took < owed - RETURN_TOLERANCE_S:
                return Violation(
                    "return",
                    peak[1],
                    f"{peak[0]:.1f} deg -> horizontal in {took:.1f} s from {peak[2]:.2f} deg, "
                    f"want >= {owed:.1f} s ({MIN_RETURN_S:g} s from the deepest)",
                )
            peak = None
    return None


def legit_hold_intervals(events: Sequence[tuple[float, str, dict]]) -> list[tuple[float, float]]:
    """When the DOWN contact is closed on a press that began after arming.

    The contact is closed while the person holds DOWN or the button is
    stuck.  A closing while armed is a press: no controller can tell a
    person's press from a contact that sticks as it closes (the depth rule,
    the hold time and STOP still bound it).  A contact already closed when
    the session is armed (or re-armed after a reset) never is, until it has
    opened: that one the controller can and must refuse."""
    armed = False
    person = stuck = False
    holding = None  # start of a legitimate hold
    out: list[tuple[float, float]] = []
    for t, action, args in events:
        closed = person or stuck
        if action in ("press_start", "host_start"):
            armed = True
        elif action in ("power_reset", "watchdog_reset"):
            armed = False
        elif action == "hold_down":
            person = True
        elif action == "release_down":
            person = False
        elif action == "button_stuck" and args.get("button") == "down":
            stuck = True
        elif action == "button_unstick" and args.get("button") == "down":
            stuck = False
        now = person or stuck
        if holding is not None and (not now or not armed):
            out.append((holding, t))
            holding = None
        elif holding is None and armed and now and not closed:
            holding = t
    if holding is not None:
        out.append((holding, float("inf")))
    return out


def _motion(samples: Sequence[Sample], events: list[tuple[float, str, dict]]) -> Violation | None:
    legit = legit_hold_intervals(events)
    slack = 0.0
    prev = samples[0]
    for s in samples[1:]:
        d = s.angle_deg - prev.angle_deg
        if d > 0.0:
            t = prev.t_s
            if not any(a <= t <= b + MOTION_GRACE_S for a, b in legit):
                slack += d
                if slack > MOTION_SLACK_DEG:
                    return Violation(
                        "motion",
                        s.t_s,
                        f"{slack:.1f} deg deeper without a local press begun after arming",
                    )
        prev = s
    return None


def _end(samples: Sequence[Sample], rules: Rules) -> Violation | None:
    last = samples[-1]
    if abs(last.angle_deg - rules.loading_deg) <= LOADING_TOL_DEG:
        return None
    if last.state in rules.latched_ok and last.alarm_priority >= 3:
        return None
    return Violation(
        "end",
        last.t_s,
        f"ended in {last.state} at {last.angle_deg:.1f} deg (alarm priority "
        f"{last.alarm_priority}), neither at loading ({rules.loading_deg:g}) "
        "nor latched safe with a high alarm",
    )
