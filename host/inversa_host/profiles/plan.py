"""Progression planning: the next session's profile from the recorded ones.

The rules follow the domain facts in docs/DOMAIN.md: beginners
stay at 20-30 degrees for the first weeks; sessions start at 1-2 minutes and
build to 3-5; 60 degrees (parallel to the rear legs) is as far as this tool
goes, full inversion is for the experienced and needs ``advanced``.  Time
grows before angle; nothing grows after a session that raised an alarm,
ended in a fault, or saw the heart rate climb well above its resting value;
and the plan steps back after a high-priority alarm.  The plan is a profile
the firmware validates again against its hard limits when it is pushed.

Usage::

    history = session_history(store, [1, 2, 3])
    plan = plan_next(history, current_profile_fields)
    plan.profile, plan.reasons
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inversa_host.sessions.store import Store
from inversa_host.sim.trace import SessionTrace

HOLD_STEP_MS = 30_000  # time grows by 30 s at a time ...
HOLD_TARGET_MS = 300_000  # ... up to 5 minutes
HOLD_BEFORE_ANGLE_MS = 180_000  # angle grows only once 3 minutes feel easy
ANGLE_STEP_CDEG = 500  # 5 degrees at a time
BEGINNER_MAX_CDEG = 3000  # the first weeks: up to 30 degrees
PLAN_MAX_CDEG = 6000  # parallel to the rear legs; more needs `advanced`
ADVANCED_MAX_CDEG = 9000
FLOOR_CDEG = 1500  # "15 degrees is sufficient" (randomised trial)
CLEAN_SESSIONS_FOR_ANGLE = 3  # consecutive clean sessions at an angle before more
HR_RISE_CAUTION_BPM = 15  # a rise this large from rest: no progression


@dataclass(frozen=True)
class SessionRecord:
    """What planning needs to know about one recorded session."""

    session_id: int
    deepest_cdeg: int
    hold_ms: int  # time spent in the HOLD state
    completed: bool  # reached the end of the hold and came back up normally
    alarms: tuple[str, ...]  # alarm names raised
    worst_priority: int  # 0 none, 1 low, 2 medium, 3 high
    faults: int
    hr_rise_bpm: int | None  # highest heart rate inverted minus the resting one


@dataclass
class Plan:
    profile: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    changed: bool = False


def record_from_trace(session_id: int, trace: SessionTrace, faults: int) -> SessionRecord:
    hold_ms = 0
    for i in range(1, len(trace)):
        if trace.state[i - 1] == "hold":
            hold_ms += round((trace.t_s[i] - trace.t_s[i - 1]) * 1000)
    visited = trace.states_visited()
    completed = "hold" in visited and "rise" in visited and "fault" not in visited
    rest = [h for h, s in zip(trace.hr_bpm, trace.state, strict=True) if s == "baseline" and h > 0]
    inverted = [h for h, a in zip(trace.hr_bpm, trace.angle_deg, strict=True) if a > 0 and h > 0]
    hr_rise = None
    if rest and inverted:
        rest_sorted = sorted(rest)
        hr_rise = int(max(inverted) - rest_sorted[len(rest_sorted) // 2])
    deepest = max(trace.angle_deg) if trace.angle_deg else 0.0
    return SessionRecord(
        session_id=session_id,
        deepest_cdeg=round(deepest * 100),
        hold_ms=hold_ms,
        completed=completed,
        alarms=tuple(trace.alarms_raised()),
        worst_priority=max(trace.alarm_priority, default=0),
        faults=faults,
        hr_rise_bpm=hr_rise,
    )


def session_history(store: Store, session_ids: list[int]) -> list[SessionRecord]:
    from inversa_host.sim.runner import trace_from_store

    out = []
    for sid in session_ids:
        trace = trace_from_store(store, sid)
        if trace.t_s:
            out.append(record_from_trace(sid, trace, store.session(sid).faults))
    return out


def _clean(r: SessionRecord) -> bool:
    return (
        r.completed
        and r.worst_priority <= 1
        and r.faults == 0
        and (r.hr_rise_bpm is None or r.hr_rise_bpm < HR_RISE_CAUTION_BPM)
    )


def plan_next(
    history: list[SessionRecord], current: dict[str, Any], advanced: bool = False
) -> Plan:
    """The next profile (firmware field names) and the reasons, oldest session first."""
    prof = dict(current)
    plan = Plan(prof)
    say = plan.reasons.append
    angle = int(prof.get("max_angle_cdeg", 2000))
    hold = int(prof.get("hold_ms", 60_000))
    contra = int(prof.get("contra_flags", 0))
    if contra:  # the board never inverts this person: no session to progress
        from inversa.control.profile_names import CONTRA_NAMES

        names = [n for i, n in enumerate(CONTRA_NAMES) if contra >> i & 1] or [str(contra)]
        say(
            f"contraindicated ({', '.join(names)}): the board refuses every inversion with "
            "this profile, so there is nothing to progress; keep it as it is"
        )
        return plan
    if not history:
        say("no recorded sessions yet: keep the current profile for the first session")
        return plan
    last = history[-1]
    cap = ADVANCED_MAX_CDEG if advanced else PLAN_MAX_CDEG
    if last.worst_priority >= 3 or last.faults:
        new_angle = max(FLOOR_CDEG, angle - ANGLE_STEP_CDEG)
        what = "a high-priority alarm" if last.worst_priority >= 3 else "a fault"
        say(
            f"session {last.session_id} ended with {what} ({', '.join(last.alarms) or 'fault'}): "
            f"step back to {new_angle / 100:g} deg and check the cause before going on"
        )
        if new_angle != angle:
            prof["max_angle_cdeg"] = new_angle
            plan.changed = True
        return plan
    if not _clean(last):
        why = []
        if not last.completed:
            why.append("it did not complete its hold and return")
        if last.worst_priority >= 2:
            why.append(f"alarms were raised ({', '.join(last.alarms)})")
        if last.hr_rise_bpm is not None and last.hr_rise_bpm >= HR_RISE_CAUTION_BPM:
            why.append(f"the heart rate rose {last.hr_rise_bpm} bpm above rest")
        say(f"session {last.session_id}: {'; '.join(why)}: keep the same profile")
        return plan
    # One change at a time: time grows first (to 3 min), then the angle
    # (after enough clean sessions at this depth), then time again (to 5 min).
    at_angle = 0
    for r in reversed(history):
        if _clean(r) and abs(r.deepest_cdeg - angle) <= 150:
            at_angle += 1
        else:
            break
    beginner_weeks = len(history) < 14  # about two weeks of daily sessions
    limit = min(cap, BEGINNER_MAX_CDEG) if beginner_weeks else cap
    angle_ok = (
        hold >= HOLD_BEFORE_ANGLE_MS
        and at_angle >= CLEAN_SESSIONS_FOR_ANGLE
        and angle + ANGLE_STEP_CDEG <= limit
    )
    if hold < HOLD_BEFORE_ANGLE_MS or (not angle_ok and hold < HOLD_TARGET_MS):
        _grow_hold(plan, last, hold)
        if hold + HOLD_STEP_MS >= HOLD_BEFORE_ANGLE_MS and not angle_ok:
            _why_angle_stays(plan, angle, at_angle, limit, beginner_weeks)
        return plan
    if angle_ok:
        prof["max_angle_cdeg"] = angle + ANGLE_STEP_CDEG
        plan.changed = True
        say(
            f"{at_angle} clean sessions at {angle / 100:g} deg with a "
            f"{hold / 60000:g} min hold: next {(angle + ANGLE_STEP_CDEG) / 100:g} deg"
        )
        return plan
    say(
        f"session {last.session_id} was clean; the hold is at its {HOLD_TARGET_MS // 60000} min target"
    )
    _why_angle_stays(plan, angle, at_angle, limit, beginner_weeks)
    return plan


def _grow_hold(plan: Plan, last: SessionRecord, hold: int) -> None:
    prof = plan.profile
    new_hold = min(HOLD_TARGET_MS, hold + HOLD_STEP_MS)
    prof["hold_ms"] = new_hold
    plan.changed = True
    plan.reasons.append(
        f"session {last.session_id} was clean: hold {new_hold / 1000:g} s "
        f"(time grows first, by {HOLD_STEP_MS // 1000} s)"
    )
    return_ms = int(prof.get("return_ms", 30_000))
    if int(prof.get("daily_ms", 300_000)) < new_hold + return_ms:
        prof["daily_ms"] = new_hold + return_ms
        plan.reasons.append(
            f"daily allowance raised to {(new_hold + return_ms) / 1000:g} s to fit it"
        )


def _why_angle_stays(
    plan: Plan, angle: int, at_angle: int, limit: int, beginner_weeks: bool
) -> None:
    say = plan.reasons.append
    if at_angle < CLEAN_SESSIONS_FOR_ANGLE:
        say(
            f"angle stays at {angle / 100:g} deg: {at_angle} of {CLEAN_SESSIONS_FOR_ANGLE} "
            "clean sessions at this depth so far"
        )
    elif angle + ANGLE_STEP_CDEG > limit:
        if beginner_weeks and limit == BEGINNER_MAX_CDEG:
            say(f"angle stays at {angle / 100:g} deg for the first weeks (beginners: up to 30 deg)")
        else:
            say(f"angle stays at {angle / 100:g} deg: the planning limit is {limit / 100:g} deg")
