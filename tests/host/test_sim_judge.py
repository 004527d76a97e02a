"""The whole-system safety rules (inversa_host/sim/judge.py) on hand-made
true-angle traces: each rule flags its breach and passes a compliant run."""

from __future__ import annotations

import itertools

from inversa_host.sim.judge import Rules, Sample, judge, legit_hold_intervals

RULES = Rules(limit_deg=25.0, loading_deg=-60.0)


def _trace(points: list[tuple[float, float]], end_state: str = "idle", prio: int = 0):
    """Linear segments between (t_s, angle) points, sampled every 0.1 s."""
    out = []
    for (t0, a0), (t1, a1) in itertools.pairwise(points):
        n = round((t1 - t0) * 10)
        for k in range(n):
            out.append(Sample(round(t0 + k / 10, 1), a0 + (a1 - a0) * k / n, "hold", 0))
    t, a = points[-1]
    out.append(Sample(t, a, end_state, prio))
    return out


GOOD_EVENTS = [(1.0, "press_start", {}), (18.0, "hold_down", {}), (40.0, "release_down", {})]
# loading -60 -> 25 deg at 4 deg/s (from 18 s), hold, 35 s return, rest, rise
GOOD = [(0, -60), (18, -60), (39.25, 25), (60, 25), (95, 0), (110, 0), (125, -60)]


def _kinds(samples, events=GOOD_EVENTS, rules=RULES) -> list[str]:
    return [v.kind for v in judge(samples, rules, events)]


def test_a_compliant_session_breaks_nothing() -> None:
    assert _kinds(_trace(GOOD)) == []


def test_too_deep() -> None:
    pts = [(0, -60), (18, -60), (39.5, 26.1), (60, 26.1), (95, 0), (110, 0), (125, -60)]
    assert _kinds(_trace(pts)) == ["depth"]
    # within the debounce margin: fine
    pts[2] = (39.5, 25.9)
    pts[3] = (60, 25.9)
    assert _kinds(_trace(pts)) == []


def test_too_fast() -> None:
    pts = [(0, -60), (18, -60), (31, 25), (60, 25), (95, 0), (110, 0), (125, -60)]  # 6.5 deg/s
    assert "speed" in _kinds(_trace(pts))


def test_return_shorter_than_30_s() -> None:
    pts = [(0, -60), (18, -60), (39.25, 25), (60, 25), (85, 0), (110, 0), (125, -60)]
    assert _kinds(_trace(pts)) == ["return"]


def test_shallow_return_is_judged_too() -> None:
    pts = [(0, -60), (18, -60), (33.5, 2), (40, 2), (50, 0), (60, 0), (75, -60)]
    assert _kinds(_trace(pts)) == ["return"]


def test_a_shallow_return_at_the_rules_pace_is_not_a_breach() -> None:
    # 1.3 deg -> horizontal in 31.5 s (the firmware's plan: the minimum plus
    # its margin): from 1.2 deg, where timing starts, that is 29.1 s, which
    # is the rule's pace from there, not a return that came up too fast.
    pts = [(0, -60), (18, -60), (33.5, 1.3), (45, 1.3), (76.5, 0), (85, 0), (100, -60)]
    assert _kinds(_trace(pts)) == []
    pts[4] = (73, 0)  # 28 s from the deepest: too fast
    assert _kinds(_trace(pts)) == ["return"]


def test_motion_without_a_press_after_arming() -> None:
    # DOWN held before START: the descent is not legitimate
    events = [(16.0, "hold_down", {}), (17.0, "press_start", {}), (40.0, "release_down", {})]
    assert _kinds(_trace(GOOD), events) == ["motion"]
    # a reset disarms
    events = [(1.0, "press_start", {}), (10.0, "power_reset", {}), (18.0, "hold_down", {})]
    assert _kinds(_trace(GOOD), events) == ["motion"]
    # a DOWN contact stuck closed before arming is never a press
    events = [(0.5, "button_stuck", {"button": "down"}), (1.0, "press_start", {})]
    assert _kinds(_trace(GOOD), events) == ["motion"]
    # ... nor after a reset re-armed the session with it still closed
    events = [
        (1.0, "press_start", {}),
        (5.0, "button_stuck", {"button": "down"}),
        (10.0, "power_reset", {}),
        (12.0, "press_start", {}),
    ]
    assert _kinds(_trace(GOOD), events) == ["motion"]
    # but one that sticks as it closes, armed, is a press to any controller
    # (campaign seed 13, timeline 274); the depth rule still bounds it
    events = [(1.0, "press_start", {}), (17.0, "button_stuck", {"button": "down"})]
    assert _kinds(_trace(GOOD), events) == []


def test_legit_holds() -> None:
    assert legit_hold_intervals(GOOD_EVENTS) == [(18.0, 40.0)]
    # Found by the campaign (seed 12, timeline 11): DOWN sticks while the
    # person holds it; the contact stays closed on that press until it unsticks.
    stuck = [
        (1.0, "press_start", {}),
        (18.0, "hold_down", {}),
        (19.0, "button_stuck", {"button": "down"}),
        (40.0, "release_down", {}),
        (50.0, "button_unstick", {"button": "down"}),
    ]
    assert legit_hold_intervals(stuck) == [(18.0, 50.0)]  # closed until it unsticks


def test_end_must_be_at_loading_or_latched_safe_with_a_high_alarm() -> None:
    pts = [(0, -60), (18, -60), (39.25, 25), (70, 25)]
    assert _kinds(_trace(pts, "hold", 0)) == ["end"]
    assert _kinds(_trace([(0, -54.9), (5, -54.9)], "idle", 0), []) == ["end"]
    assert _kinds(_trace([(0, -55.1), (5, -55.1)], "idle", 0), []) == []
    assert _kinds(_trace(pts, "fault", 2)) == ["end"]
    assert _kinds(_trace(pts, "fault", 3)) == []
    assert _kinds(_trace(pts, "estop", 3)) == []


def test_manual_tables_are_judged_on_depth_and_end_only() -> None:
    manual = Rules(limit_deg=25.0, loading_deg=-60.0, motorized=False)
    fast = [(0, -60), (5, 25), (10, 0), (12, -60)]
    assert _kinds(_trace(fast), [], manual) == []
    assert _kinds(_trace([(0, -60), (5, 26.6), (12, -60)]), [], manual) == ["depth"]


def test_a_run_with_a_healthy_motor_may_end_latched_only_in_the_estop() -> None:
    strict = Rules(limit_deg=25.0, loading_deg=-60.0, latched_ok=("estop",))
    pts = [(0, -60), (18, -60), (39.25, 25), (70, 25)]
    assert _kinds(_trace(pts, "fault", 3), GOOD_EVENTS, strict) == ["end"]
    assert _kinds(_trace(pts, "estop", 3), GOOD_EVENTS, strict) == []
