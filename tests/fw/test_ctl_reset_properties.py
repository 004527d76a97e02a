"""Hypothesis properties of the controller (kinematic plant, tests/fw/ctl_plant.py)
for issue 14: a reset at any period of a session (a new Controller on the
same table, as after a watchdog or brown-out reset) with any subset of the
sensors missing, a stuck switch or button, the e-stop in any state; sensor
validity and switch chatter with random duty cycles; host commands at
random moments relative to the state changes.  Judged on the plant's angle
by the same rules as the simulator's campaign (inversa_host/sim/judge.py):
depth, speed, return, motion, end; and a refused command changes nothing.

A home switch closed a little short of loading (within the 20 deg it may
disagree with a trusted angle without being called a lie) stops nothing
there: with a trusted angle it counts only within 2.5 deg of loading.
"""

from __future__ import annotations

import os
from array import array

from ctl_plant import PERIOD_MS, Rig
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from inversa import reasons
from inversa.control import limits as L
from inversa.control import states as S
from inversa.control.controller import Controller
from inversa.control.profile import Profile
from inversa_host.sim.judge import Rules, Sample, judge

_N = int(os.environ.get("INVERSA_CTL_EXAMPLES", "6" if os.environ.get("CI") else "25"))
SOME = settings(
    max_examples=_N,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

profiles = st.builds(
    Profile,
    max_angle_cdeg=st.integers(800, 4500),
    hold_ms=st.integers(L.MIN_HOLD_MS, 20000),
    descent_cdps=st.integers(200, L.MAX_CMD_RATE_CDPS),
    rise_cdps=st.integers(200, L.MAX_CMD_RATE_CDPS),
    return_ms=st.integers(L.MIN_RETURN_MS, 40000),
    rest_ms=st.integers(L.MIN_REST_MS, 15000),
    hr_mode=st.just(0),
)
DEEP = Profile(max_angle_cdeg=2500, hold_ms=20000, descent_cdps=500, hr_mode=0)


class Run:
    """A rig, the person's actions as scenario events, and the true samples."""

    def __init__(self, profile: Profile) -> None:
        self.rig = Rig(profile)
        self.events: list[tuple[float, str, dict]] = []
        self.samples: list[Sample] = []
        self.override = None  # f(rig) after the plant filled the inputs
        self.rig.sensor_override = self._sensors
        # The e-stop latch: after a press, no motor enable before a local STOP.
        self.estop_latched = False
        self.moved_while_latched_ms = 0

    def _sensors(self, r: Rig) -> None:
        if self.override is not None:
            self.override(r)
        if not r.inp.tilt_ok:
            r.inp.angle_cdeg = 0  # an untrusted reading: any value

    @property
    def t_s(self) -> float:
        return self.rig.t_ms / 1000.0

    def ev(self, action: str, **args: object) -> None:
        self.events.append((self.t_s, action, dict(args)))

    def run(self, ms: int) -> None:
        rig = self.rig
        for _ in range(ms // PERIOD_MS):
            rig.period()
            if rig.inp.estop_pressed:
                self.estop_latched = True
            elif rig.inp.stop_pressed:
                self.estop_latched = False
            if self.estop_latched and rig.out.motor_enable:
                self.moved_while_latched_ms += PERIOD_MS
            if rig.t_ms % 100 == 0:
                self.samples.append(
                    Sample(
                        self.t_s,
                        rig.plant.angle_cdeg / 100.0,
                        S.STATE_NAMES[rig.out.state].lower().replace("_", "-"),
                        rig.out.alarm_priority,
                    )
                )

    def session(self, held_ms: int) -> None:
        """Boot, START at the table, the baseline, then DOWN held."""
        rig = self.rig
        self.run(1500)
        rig.inp.start_pressed = True
        self.ev("press_start")
        self.run(300)
        rig.inp.start_pressed = False
        while rig.out.state == S.BASELINE and rig.t_ms < 80000:
            self.run(100)
        rig.inp.hold_down = True
        self.ev("hold_down")
        self.run(held_ms)
        rig.inp.hold_down = False
        self.ev("release_down")

    def reset(self) -> None:
        """A watchdog reset: a new controller, the table where it is."""
        rig = self.rig
        old = rig.ctrl
        # What the app keeps on the flash across a reset (app.py: persist.py
        # for the latches and the daily time, session_record.py for the
        # session's depth and the motor's gain, written when record_seq moves).
        rig.ctrl = Controller(
            rig.clock,
            rig.events,
            rig.profile,  # the profile on the flash
            reset_cause=3,
            latched=old.persist_latched,
            daily_used_ms=old.daily_used_ms,
            day_ms=old.day_ms,
            resume=old.record() if old.record_seq else None,
        )
        self.ev("power_reset")

    def settle(self, max_ms: int = L.OPEN_LOOP_MAX_MS + 60000) -> None:
        # (an open-loop return may take its whole bound: 400 s cut one
        # from a 2.7 deg record at 0.01 deg/s short, 525 s, found by
        # test_reset_at_any_period_with_sensors_missing_ends_safe on main)
        end = self.rig.t_ms + max_ms
        while self.rig.t_ms < end:
            self.run(1000)
            if _settled(self.rig):
                self.run(2000)
                return

    def broken(
        self, kinds: tuple[str, ...] | None = None, latched_ok=("fault", "estop")
    ) -> list[str]:
        rules = Rules(
            limit_deg=self.rig.profile.max_angle_cdeg / 100.0,
            loading_deg=self.rig.profile.loading_cdeg / 100.0,
            latched_ok=latched_ok,
        )
        out = judge(self.samples, rules, self.events)
        return [str(v) for v in out if kinds is None or v.kind in kinds]


def _settled(rig: Rig) -> bool:
    o = rig.out
    if o.state in (S.IDLE, S.DONE):
        return abs(rig.plant.angle_cdeg - rig.profile.loading_cdeg) <= 300
    return o.state in (S.FAULT, S.ESTOP) and o.alarm_priority >= 3 and rig.plant.vel_cdps == 0


missing = st.fixed_dictionaries(
    {
        "tilt_lost_ms": st.one_of(st.none(), st.integers(0, 20000)),  # None: for good
        "hr_lost_ms": st.one_of(st.none(), st.integers(0, 20000)),
    }
)


def _reset_with_missing(r: Run, m: dict) -> None:
    t0 = r.rig.t_ms

    def sensors(rig: Rig) -> None:
        dt = rig.t_ms - t0
        tl, hl = m["tilt_lost_ms"], m["hr_lost_ms"]
        rig.inp.tilt_ok = not (tl is None or dt < tl)
        rig.inp.hr_ok = not (hl is None or dt < hl)

    r.override = sensors
    r.reset()


def _session_reset_with_missing(
    profile: Profile, held_ms: int, reset_after_ms: int, m: dict
) -> Run:
    """A session held DOWN for held_ms, a reset reset_after_ms later with the
    sensors missing as `m` says, then run until settled."""
    r = Run(profile)
    r.session(held_ms)
    r.run(reset_after_ms // 10 * 10)
    _reset_with_missing(r, m)
    r.settle()
    return r


@SOME
@given(
    profile=profiles,
    held_ms=st.integers(1000, 20000),
    reset_after_ms=st.integers(0, 60000),
    m=missing,
)
@example(DEEP, 18000, 5000, {"tilt_lost_ms": None, "hr_lost_ms": None})
@example(  # an open loop of 525 s from a 2.7 deg record (the settle was 400 s)
    Profile(
        max_angle_cdeg=1671,
        hold_ms=17647,
        descent_cdps=357,
        rise_cdps=200,
        return_ms=31025,
        rest_ms=12346,
        hr_mode=0,
    ),
    20000,
    30000,
    {"tilt_lost_ms": None, "hr_lost_ms": 1888},
)
def test_reset_at_any_period_with_sensors_missing_ends_safe(
    profile: Profile, held_ms: int, reset_after_ms: int, m: dict
) -> None:
    r = _session_reset_with_missing(profile, held_ms, reset_after_ms, m)
    assert r.broken(("depth", "motion", "end")) == []


@SOME
@given(
    profile=profiles,
    held_ms=st.integers(1000, 20000),
    reset_after_ms=st.integers(0, 60000),
    m=missing,
)
@example(DEEP, 18000, 5000, {"tilt_lost_ms": None, "hr_lost_ms": None})
@example(  # found by this property: reset at +1.1 deg, the record said about 0
    Profile(
        max_angle_cdeg=4079,
        hold_ms=14633,
        descent_cdps=L.MAX_CMD_RATE_CDPS,
        rise_cdps=351,
        return_ms=35432,
        rest_ms=14299,
        hr_mode=0,
    ),
    13735,
    462,
    {"hr_lost_ms": 2412, "tilt_lost_ms": None},
)
def test_reset_at_any_period_returns_gradually(
    profile: Profile, held_ms: int, reset_after_ms: int, m: dict
) -> None:
    r = _session_reset_with_missing(profile, held_ms, reset_after_ms, m)
    assert r.broken(("return", "speed")) == []


stuck = st.sampled_from(
    ["home", "end", "down", "up", "start", "stop", "estop_held", "estop_released_in_selftest"]
)


@SOME
@given(
    profile=profiles,
    held_ms=st.integers(1000, 20000),
    reset_after_ms=st.integers(0, 60000),
    what=stuck,
)
@example(DEEP, 18000, 5000, "home")
@example(  # found by this property: reset in the rise at -53 deg, home stuck closed
    Profile(
        max_angle_cdeg=1795,
        hold_ms=11618,
        descent_cdps=363,
        rise_cdps=222,
        return_ms=37778,
        rest_ms=14398,
        hr_mode=0,
    ),
    1795,
    14398,
    "home",
)
@example(DEEP, 18000, 5000, "estop_released_in_selftest")
def test_reset_with_a_stuck_input_ends_safe(
    profile: Profile, held_ms: int, reset_after_ms: int, what: str
) -> None:
    r = Run(profile)
    r.session(held_ms)
    r.run(reset_after_ms // 10 * 10)
    t0 = r.rig.t_ms

    def inputs(rig: Rig) -> None:
        if what == "home":
            rig.inp.home_switch = True
        elif what == "end":
            rig.inp.end_switch = True
        elif what in ("down", "up"):
            setattr(rig.inp, "hold_" + what, True)
        elif what in ("start", "stop"):
            setattr(rig.inp, what + "_pressed", True)
        elif what == "estop_held":
            rig.inp.estop_pressed = True
        else:
            rig.inp.estop_pressed = 200 <= rig.t_ms - t0 < 700

    if what in ("home", "end"):
        r.ev("switch_chatter", switch=what, period_s=1.0, duty=1.0)
    elif what in ("down", "up", "start", "stop"):
        r.ev("button_stuck", button=what)
    r.override = inputs
    r.reset()
    r.settle()
    # Motor and tilt sensor healthy: only a held e-stop may leave the person
    # away from the loading position (a switch or button must not strand them).
    assert r.broken(latched_ok=("estop",)) == []
    assert r.moved_while_latched_ms == 0  # an e-stop press needs the local clear


long_holds = st.builds(
    Profile,
    max_angle_cdeg=st.integers(800, 4500),
    hold_ms=st.just(120000),
    descent_cdps=st.integers(200, L.MAX_CMD_RATE_CDPS),
    return_ms=st.integers(L.MIN_RETURN_MS, 40000),
    hr_mode=st.just(1),
    hr_high_bpm=st.just(150),
)


@SOME
@given(
    profile=long_holds,
    held_ms=st.integers(3000, 20000),
    signal=st.sampled_from(["tilt_ok", "hr_ok", "home", "end"]),
    period_ms=st.integers(20, 5000),
    duty=st.floats(0.05, 0.95),
)
@example(
    Profile(max_angle_cdeg=2500, hold_ms=120000, descent_cdps=500, hr_mode=1, hr_high_bpm=150),
    18000,
    "hr_ok",
    4800,
    0.9375,
)
@example(  # found by this property on the integrated code: a hold at -11 deg
    # (short of horizontal) with the pulse valid 18 % of the time at 185 bpm
    # raised nothing (hr-lost counted only while inverted)
    Profile(
        max_angle_cdeg=951,
        hold_ms=120000,
        descent_cdps=L.MAX_CMD_RATE_CDPS,
        return_ms=31076,
        hr_mode=1,
    ),
    8910,
    "hr_ok",
    3673,
    0.18396501050275021,
)
def test_validity_and_switch_chatter_with_random_duty(
    profile: Profile, held_ms: int, signal: str, period_ms: int, duty: float
) -> None:
    r = Run(profile)
    r.session(held_ms)
    t0 = r.rig.t_ms
    on_ms = int(period_ms * duty)

    def chatter(rig: Rig) -> None:
        rig.inp.hr_bpm = 185  # above the profile's limit: an alarm must come
        phase = (rig.t_ms - t0) % period_ms < on_ms
        if signal == "tilt_ok":
            rig.inp.tilt_ok = phase
        elif signal == "hr_ok":
            rig.inp.hr_ok = phase
        elif signal == "home":
            rig.inp.home_switch = not phase
        else:
            rig.inp.end_switch = not phase

    r.override = chatter
    r.run(25000)
    if signal in ("tilt_ok", "hr_ok"):
        # A heart rate above its limit (or a tilt sensor mostly invalid) has
        # started the return within 25 s, however its validity chatters.
        assert r.rig.out.state not in (S.DESCENT, S.HOLD), S.STATE_NAMES[r.rig.out.state]
    r.run(95000)
    r.override = None
    r.rig.inp.hr_bpm = 70
    r.settle()
    assert r.broken() == []


def _observable(ctrl: Controller) -> dict:
    """Everything a refused command must leave as it was."""
    out = {}
    for obj, prefix in ((ctrl, ""), (ctrl._alarms, "alarms.")):
        for k, v in vars(obj).items():
            if isinstance(v, (bool, int, str)):
                out[prefix + k] = v
            elif isinstance(v, array):
                out[prefix + k] = list(v)
    out["profile"] = ctrl.profile.to_bytes()
    return out


commands = st.lists(
    st.tuples(
        st.integers(0, 12),  # after the n-th state change
        st.integers(0, 3000),  # this many ms later
        st.sampled_from(["clear", "start", "return", "profile"]),
    ),
    min_size=1,
    max_size=6,
)


def _command(r: Run, cmd: str) -> int:
    c = r.rig.ctrl
    if cmd == "clear":
        return c.clear_faults()
    if cmd == "start":
        code = c.request_start()
        if code == reasons.OK:
            r.ev("host_start")
        return code
    if cmd == "return":
        return c.request_return()
    return c.set_profile(Profile(max_angle_cdeg=1500, hr_mode=0))


def _session_with_commands(profile: Profile, cmds: list, faults: str) -> tuple[Run, list]:
    r = Run(profile)
    refused_changed = []
    pending = sorted(cmds)
    changes = 0
    last_state = r.rig.out.state
    t_change = 0

    def tick() -> None:
        nonlocal changes, last_state, t_change
        rig = r.rig
        if rig.out.state != last_state:
            changes += 1
            last_state = rig.out.state
            t_change = rig.t_ms
        while pending and pending[0][0] <= changes and rig.t_ms - t_change >= pending[0][1]:
            _, _, cmd = pending.pop(0)
            before = _observable(rig.ctrl)
            code = _command(r, cmd)
            if code != reasons.OK:
                after = _observable(rig.ctrl)
                diff = {k for k in before if before[k] != after.get(k)}
                if diff:
                    refused_changed.append((cmd, code, S.STATE_NAMES[rig.out.state], sorted(diff)))

    fault_t = [-1]

    def inputs(rig: Rig) -> None:
        if fault_t[0] >= 0 and faults == "tilt+end":
            # Two latched alarms: the tilt's condition persists, the end
            # switch's (a 0.5 s press) is gone.
            rig.inp.tilt_ok = False
            rig.inp.end_switch = rig.t_ms - fault_t[0] < 500
        tick()

    r.override = inputs
    r.session(15000)
    fault_t[0] = r.rig.t_ms
    if faults == "estop":
        r.rig.inp.estop_pressed = True
        r.run(500)
        r.rig.inp.estop_pressed = False
    r.run(60000)
    r.settle()
    return r, refused_changed


@SOME
@given(profile=profiles, cmds=commands, faults=st.sampled_from(["none", "estop", "tilt+end"]))
@example(DEEP, [(5, 1000, "clear"), (6, 100, "clear"), (7, 100, "clear")], "tilt+end")
def test_a_refused_command_changes_nothing(profile: Profile, cmds: list, faults: str) -> None:
    _, changed = _session_with_commands(profile, cmds, faults)
    assert changed == []


@SOME
@given(profile=profiles, cmds=commands)
def test_commands_at_random_moments_keep_the_rules(profile: Profile, cmds: list) -> None:
    r, _ = _session_with_commands(profile, cmds, "none")
    # A shallow return (from under 5 deg) shorter than 30 s is issue 14 item 2,
    # judged by test_reset_at_any_period_returns_gradually and the campaign.
    assert r.broken(("depth", "motion", "end")) == []
