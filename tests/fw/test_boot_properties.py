"""Hypothesis properties of the whole system: the real firmware booted by
`inversa.app_boot.boot()` (what `run()` does on the board) on the simulated
machine, against the simulated table, judged on the world's TRUE angle and
speed by inversa_host/sim/judge.py (depth, speed, return, motion, end).

* a reset at any moment of a session, with any subset of the sensors gone
  from the bus (or the bus stuck, freeable or not), maybe coming back later;
* a reset with a switch stuck closed, a button held, the e-stop pressed;
* switch and pulse-validity chatter with random period and duty;
* local and host commands at random moments of the session.

Each example is a whole simulated session (1-4 s of CPU), so CI runs one
explicit example of the kind each property is about plus one derandomized
draw, without shrinking; a developer's run draws 3 fresh ones, and
`INVERSA_SIM_EXAMPLES=200` as many as you like.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from inversa.control import limits as L
from inversa_host.sim.campaign import Timeline, run_timeline
from inversa_host.sim.judge import Rules

_N = int(os.environ.get("INVERSA_SIM_EXAMPLES", "1" if os.environ.get("CI") else "3"))
FEW = settings(
    max_examples=_N,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: examples are costly
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

profiles = st.fixed_dictionaries(
    {
        "max_angle_cdeg": st.integers(800, 2500),
        "hold_ms": st.just(10000),
        "descent_cdps": st.integers(200, L.MAX_CMD_RATE_CDPS),
        "rise_cdps": st.integers(200, L.MAX_CMD_RATE_CDPS),
        "return_ms": st.integers(30000, 36000),
        "rest_ms": st.just(10000),
    }
)
# The person's session: START, then DOWN held for a while after the baseline.
sessions = st.tuples(st.floats(0.5, 3.0), st.floats(15.5, 18.0), st.floats(2.0, 20.0))
DEEP = {  # 4 deg/s: the simulated motor's true speed stays under 6 deg/s (item 9)
    "max_angle_cdeg": 2500,
    "hold_ms": 10000,
    "descent_cdps": 400,
    "rise_cdps": 300,
    "return_ms": 30000,
    "rest_ms": 10000,
}
AT_DEPTH = (1.0, 16.0, 24.0)  # 25 deg reached at about 40 s


def _backbone(s: tuple[float, float, float]) -> list:
    start, wait, held = (round(x, 2) for x in s)
    down = round(start + wait, 2)
    return [
        (start, "press_start", {}),
        (down, "hold_down", {}),
        (round(down + held, 2), "release_down", {}),
    ]


def _timeline(profile: dict, events: list, settle_s: float = 200.0) -> Timeline:
    events = sorted(events, key=lambda e: e[0])
    last = max(t for t, _, _ in events)
    return Timeline(seed=3, profile=profile, events=events, duration_s=round(last + settle_s, 2))


def _broken(
    tl: Timeline, kinds: tuple[str, ...] | None = None, latched_ok=("fault", "estop")
) -> list[str]:
    rules = Rules(tl.limit_deg, tl.loading_deg, latched_ok=latched_ok)
    out = run_timeline(tl, rules=rules)
    return [str(v) for v in out.violations if kinds is None or v.kind in kinds]


def _samples(tl: Timeline) -> list:
    return run_timeline(tl).samples


missing = st.fixed_dictionaries(
    {
        "imu": st.booleans(),
        "hr": st.booleans(),
        "bus": st.sampled_from([0, 0, 3, 9, 40]),  # SCL pulses to free it (40: never)
        "back_after_s": st.one_of(st.none(), st.floats(1.0, 30.0)),
    }
)


def _reset_with_missing(t_reset: float, m: dict) -> list:
    ev = []
    if m["imu"]:
        ev.append((t_reset - 0.05, "imu_disconnect", {}))
    if m["hr"]:
        ev.append((t_reset - 0.05, "hr_disconnect", {}))
    if m["bus"]:
        ev.append((t_reset - 0.05, "i2c_stuck", {"pulses": float(m["bus"])}))
    ev.append((t_reset, "power_reset", {}))
    if m["back_after_s"] is not None:
        back = round(t_reset + m["back_after_s"], 2)
        ev += [(back, "imu_restore", {}), (back, "hr_restore", {})]
    return ev


@FEW
@given(profile=profiles, session=sessions, t_reset=st.floats(0.2, 75.0), m=missing)
@example(DEEP, AT_DEPTH, 45.0, {"imu": True, "hr": True, "bus": 0, "back_after_s": None})
def test_reset_at_any_moment_with_any_sensors_missing_ends_safe(
    profile: dict, session: tuple, t_reset: float, m: dict
) -> None:
    """The loop runs after every such boot; the person is never taken deeper
    than the limit, never moved without a local press, and ends at loading
    or latched safe with a high alarm (old code: the boot raised)."""
    tl = _timeline(profile, _backbone(session) + _reset_with_missing(round(t_reset, 2), m))
    assert _broken(tl, ("depth", "motion", "end")) == []


@FEW
@given(profile=profiles, session=sessions, t_reset=st.floats(20.0, 60.0), m=missing)
@example(DEEP, AT_DEPTH, 45.0, {"imu": True, "hr": False, "bus": 0, "back_after_s": None})
def test_reset_with_sensors_missing_returns_gradually(
    profile: dict, session: tuple, t_reset: float, m: dict
) -> None:
    tl = _timeline(profile, _backbone(session) + _reset_with_missing(round(t_reset, 2), m))
    assert _broken(tl, ("return", "speed")) == []


@pytest.mark.parametrize("t_reset", [38.3, 39.0, 40.5, 41.2, 43.0, 47.0])
def test_a_power_cut_with_the_tilt_sensor_gone_returns_slowly_from_any_depth(
    t_reset: float,
) -> None:
    """Power back with the tilt sensor gone: the flash knows only the bound
    written ahead of the motion (limit + margin), not where in it the table
    is.  From every true depth (0.5 to 25 deg here) the open-loop return
    still takes >= 30 s to horizontal (campaign seed 2043 timeline 261: a
    cut at 6.4 deg, paced for 34 deg, up in 14 s on the old code)."""
    profile = dict(DEEP, max_angle_cdeg=2900, descent_cdps=350)
    events = [
        (1.2, "press_start", {}),
        (20.9, "hold_down", {}),
        (t_reset - 0.05, "imu_disconnect", {}),
        (t_reset, "power_reset", {}),
        (t_reset + 8.0, "release_down", {}),
    ]
    assert _broken(_timeline(profile, events), ("return", "speed", "depth", "end")) == []


stuck_inputs = st.one_of(
    st.tuples(st.just("switch"), st.sampled_from(["home", "end"])),
    st.tuples(st.just("button"), st.sampled_from(["start", "stop", "up", "down"])),
    st.tuples(st.just("estop"), st.sampled_from(["held", "released_before", "released_after"])),
)


@FEW
@given(profile=profiles, session=sessions, t_reset=st.floats(0.2, 60.0), stuck=stuck_inputs)
@example(DEEP, AT_DEPTH, 45.0, ("switch", "home"))
def test_reset_with_a_stuck_switch_a_held_button_or_the_estop(
    profile: dict, session: tuple, t_reset: float, stuck: tuple
) -> None:
    t = round(t_reset, 2)
    kind, which = stuck
    if kind == "switch":  # duty 1.0: closed all the time
        ev = [(t - 0.1, "switch_chatter", {"switch": which, "period_s": 1.0, "duty": 1.0})]
    elif kind == "button":
        ev = [(t - 0.1, "button_stuck", {"button": which})]
    elif which == "held":
        ev = [(t - 0.1, "press_estop", {})]
    elif which == "released_before":
        ev = [(t - 0.3, "press_estop", {}), (t - 0.1, "release_estop", {})]
    else:
        ev = [(t - 0.1, "press_estop", {}), (t + 0.5, "release_estop", {})]
    ev.append((t, "power_reset", {}))
    tl = _timeline(profile, _backbone(session) + ev)
    # Motor and tilt sensor healthy: only a held e-stop may leave the person
    # away from the loading position (a switch or button must not strand them).
    assert _broken(tl, latched_ok=("estop",)) == []


@FEW
@given(
    profile=profiles,
    session=sessions,
    t0=st.floats(5.0, 40.0),
    switch=st.sampled_from(["home", "end", None]),
    period=st.floats(0.05, 3.0),
    duty=st.floats(0.05, 0.95),
    flicker=st.one_of(st.none(), st.tuples(st.floats(0.5, 6.0), st.floats(0.05, 0.5))),
    hr_jump=st.integers(-40, 90),
)
@example(DEEP, AT_DEPTH, 42.0, None, 1.0, 0.5, (4.8, 0.0625), 120)  # hr_flapping_pulse
def test_switch_and_pulse_chatter_with_random_duty(
    profile: dict,
    session: tuple,
    t0: float,
    switch: str | None,
    period: float,
    duty: float,
    flicker: tuple | None,
    hr_jump: int,
) -> None:
    t = round(t0, 2)
    ev = [(t, "hr_ramp", {"delta_bpm": float(hr_jump), "over_s": 2.0})]
    if switch is not None:
        ev.append(
            (
                t,
                "switch_chatter",
                {"switch": switch, "period_s": round(period, 2), "duty": round(duty, 2)},
            )
        )
    if flicker is not None:
        p, frac = flicker
        ev.append((t, "pulse_flicker", {"period_s": round(p, 2), "off_s": round(p * frac, 2)}))
    profile = dict(profile, hold_ms=120000, hr_high_bpm=150)
    tl = _timeline(profile, _backbone(session) + ev)
    out = run_timeline(tl)
    assert [str(v) for v in out.violations] == []
    if hr_jump >= 100 and switch is None:
        # The true heart rate (about 65 + the jump) is far above 150 from t0 + 2 s:
        # however its signal flickers, the return has started 25 s later.
        late = [x.state for x in out.samples if t + 25.0 <= x.t_s <= t + 26.0]
        assert late and not set(late) & {"descent", "hold"}, late


commands = st.lists(
    st.tuples(
        st.floats(0.0, 80.0),
        st.sampled_from(
            [
                "host_start",
                "host_return",
                "press_start",
                "press_stop",
                "hold_up",
                "release_up",
                "host_silent",
            ]
        ),
    ),
    min_size=1,
    max_size=5,
)


@FEW
@given(profile=profiles, session=sessions, cmds=commands)
@example(DEEP, AT_DEPTH, [(20.0, "host_return"), (45.0, "press_start"), (50.0, "hold_up")])
def test_commands_at_random_moments_keep_every_rule(
    profile: dict, session: tuple, cmds: list
) -> None:
    ev = [(round(t, 2), a, {}) for t, a in cmds]
    tl = _timeline(profile, _backbone(session) + ev)
    # The true speed at the profile's 6 deg/s and shallow returns are issue 14
    # items 9 and 2 (judged by the return property above and the campaign).
    assert _broken(tl, ("depth", "motion", "end")) == []
