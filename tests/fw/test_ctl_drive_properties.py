"""Hypothesis properties of how the table is driven (issue 14, items 2, 3, 9,
11), over the controller and the kinematic plant in virtual time, judged on
the plant's TRUE angle and speed:

* no return from depth to horizontal is shorter than the minimum (deepest
  angle -> horizontal, as the simulator judges it), unless the motor was
  cut off, whatever ends the session and with resets (the new controller
  given what the old one kept) and switch faults at any period;
* the true speed never exceeds the hard limit, for any motor speed within
  the real spread (60 % .. 200 % of its driver's scale) and drive lag;
* a tilt reading that freezes while still trusted never lets the table run
  deeper than the frozen reading plus the follow bound;
* at the end: the person at the loading position, or a latched safe state
  (motor off, brake on) with an alarm.

CI replays a small fixed set (tests/conftest.py profile "ci");
INVERSA_DRIVE_EXAMPLES=200 (and HYPOTHESIS_PROFILE=explore for fresh draws)
runs more on a developer's machine.
"""

from __future__ import annotations

import os

from ctl_plant import PERIOD_MS, Rig
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from inversa.control import limits as L
from inversa.control import states as S
from inversa.control.profile import HR_OFF, Profile

_CUT = (S.FAULT, S.ESTOP)

# How the session is ended, and the faults along the way.
ENDINGS = ("hold_time", "up_button", "host_return", "lease", "mains", "hr_high", "stop")
events = st.lists(
    st.tuples(
        st.integers(0, 60000),  # when, ms after the descent began
        st.sampled_from(
            (
                "reset",
                "reset_imu_stuck",
                "home_stuck",
                "home_chatter",
                "end_stuck",
                "switch_ok",
                "end_session",
            )
        ),
    ),
    max_size=4,
)


class World:
    """The plant plus what a scenario does to the inputs; survives resets."""

    def __init__(self, profile: Profile, motor_pct: int, lag_ms: int) -> None:
        self.profile = profile
        self.motor_pct = motor_pct
        self.lag_ms = lag_ms
        self.rig = self._new_rig(None, profile.loading_cdeg)
        self.home: bool | None = None
        self.home_chatter = False
        self.end: bool | None = None
        self.imu_stuck_at: int | None = None
        self.ending = ""
        self.truth: list[tuple[int, int, int, bool]] = []  # t, angle, vel, cut off
        self.t_ms = 0
        # The flash file the app keeps (inversa.app: saved when record_seq changes).
        self.saved: tuple[int, int, int] | None = None
        self._seq = 0

    def _new_rig(self, resume: tuple[int, int, int] | None, angle: int) -> Rig:
        rig = Rig(self.profile, angle_cdeg=angle, resume=resume, start_ms=self.t_ms_or0())
        rig.plant.speed_pct = self.motor_pct
        rig.plant.lag_ms = self.lag_ms
        rig.sensor_override = self._sensors
        return rig

    def t_ms_or0(self) -> int:
        return getattr(self, "t_ms", 0)

    def _sensors(self, r: Rig) -> None:
        i = r.inp
        if self.home is not None:
            i.home_switch = self.home
        if self.home_chatter:
            i.home_switch = (self.t_ms // 10) % 7 < 2
        if self.end is not None:
            i.end_switch = self.end
        if self.imu_stuck_at is not None:
            i.tilt_ok = False
            i.angle_cdeg = self.imu_stuck_at
        e = self.ending
        if e == "lease":
            i.host_lease_ok = False
        elif e == "mains":
            i.on_battery = True
        elif e == "hr_high":
            i.hr_bpm = 200
        elif e == "up_button":
            i.hold_up = True

    def period(self) -> None:
        r = self.rig
        r.period()
        self.t_ms += PERIOD_MS
        if r.ctrl.record_seq != self._seq:
            self._seq = r.ctrl.record_seq
            self.saved = r.ctrl.record()
        o = r.out
        cut = o.state in _CUT
        self.truth.append((self.t_ms, r.plant.angle_cdeg, r.plant.vel_cdps, cut))

    def run(self, ms: int) -> None:
        for _ in range(ms // PERIOD_MS):
            self.period()

    def reset(self, imu_stuck: bool) -> None:
        """A board reset: a new controller, given what the old one kept."""
        old = self.rig
        kept = self.saved
        self._seq = 0
        if imu_stuck:
            self.imu_stuck_at = old.inp.angle_cdeg
        angle = old.plant.angle_k
        rig = self._new_rig(kept, old.plant.angle_cdeg)
        self._seq = rig.ctrl.record_seq
        rig.plant.angle_k = angle
        rig.inp.hold_down = old.inp.hold_down
        rig.inp.hr_bpm = old.inp.hr_bpm
        self.rig = rig

    # -- judging ----------------------------------------------------------
    def check_returns(self) -> int:
        """Every excursion below horizontal: deepest -> horizontal >= the
        minimum unless cut off during it.  Returns how many were judged."""
        judged = 0
        rows = self.truth
        i = 0
        n = len(rows)
        while i < n:
            if rows[i][1] <= 0:
                i += 1
                continue
            j = i
            while j < n and rows[j][1] > 0:
                j += 1
            if j >= n:
                break  # still inverted at the end: judged by check_end
            seg = rows[i:j]
            peak = max(r[1] for r in seg)
            last = max(k for k, r in enumerate(seg) if r[1] >= peak - 10)
            cut = any(r[3] for r in seg[last:])
            # Timing starts at the last sample within 0.1 deg of the peak (a
            # hold at depth ends there), so the time owed is the rule's pace
            # (deepest / MIN_RETURN_MS) from that sample's angle, not the
            # whole minimum: a 0.64 deg return planned at 0.02 deg/s takes
            # 32 s from the peak but 27 s from 0.54 deg (found by hypothesis;
            # the old check asked 30 s from there).  Under 0.4 deg the
            # command's 0.01 deg/s unit and the floor rules decide (a reset
            # at 0.32 deg came up in 32 s, 21 s from 0.22 deg).
            if not cut and peak > 40:
                took = rows[j][0] - seg[last][0]
                owed = L.MIN_RETURN_MS * seg[last][1] // peak
                assert took >= owed, (peak, seg[last][1], took, owed)
                judged += 1
            i = j
        return judged

    def check_speed(self) -> None:
        fastest = max(abs(r[2]) for r in self.truth)
        assert fastest <= L.MAX_RATE_CDPS, fastest

    def check_end(self) -> None:
        r = self.rig
        o = r.out
        if o.state in _CUT:
            assert not o.motor_enable and o.brake_on and o.alarm_bits, S.STATE_NAMES[o.state]
            return
        assert o.state in (S.IDLE, S.DONE), S.STATE_NAMES[o.state]
        assert r.plant.angle_cdeg <= self.profile.loading_cdeg + L.LOADING_TOL_CDEG


@settings(
    max_examples=int(os.environ.get("INVERSA_DRIVE_EXAMPLES", "6")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@example(  # found by hypothesis: a reset while coming over horizontal at 0.64 deg
    depth=500,
    speed=342,
    motor_pct=95,
    lag_ms=20,
    ending="hold_time",
    script=[(20600, "reset")],
)
@example(  # found by hypothesis: the self-test without an angle went IDLE
    depth=500,  # for the tilt alarm's debounce (a reset 60 s into the descent)
    speed=50,
    motor_pct=60,
    lag_ms=20,
    ending="hold_time",
    script=[(59960, "reset_imu_stuck")],
)
@given(
    depth=st.integers(L.MIN_DEPTH_CDEG, 2500),
    speed=st.integers(L.MIN_RATE_CDPS, L.MAX_CMD_RATE_CDPS),
    motor_pct=st.integers(60, 200),
    lag_ms=st.integers(20, 150),
    ending=st.sampled_from(ENDINGS),
    script=events,
)
def test_returns_are_gradual_and_speed_bounded_on_every_path(
    depth: int, speed: int, motor_pct: int, lag_ms: int, ending: str, script: list
) -> None:
    prof = Profile(
        max_angle_cdeg=depth,
        descent_cdps=speed,
        rise_cdps=speed,
        hold_ms=L.MIN_HOLD_MS,
        hr_mode=HR_OFF,
    )
    w = World(prof, motor_pct, lag_ms)
    w.run(1500)
    assert w.rig.ctrl.request_start() == 0
    w.run(200)
    w.rig.inp.hold_down = True
    t0 = w.t_ms
    for at, what in sorted(script):
        w.run(max(0, t0 + at - w.t_ms))
        if what == "reset":
            w.reset(imu_stuck=False)
        elif what == "reset_imu_stuck":
            w.reset(imu_stuck=True)
        elif what == "home_stuck":
            w.home = True
        elif what == "home_chatter":
            w.home_chatter = True
        elif what == "end_stuck":
            w.end = True
        elif what == "switch_ok":
            w.home = None
            w.end = None
            w.home_chatter = False
        elif what == "end_session":
            w.rig.inp.hold_down = False
            if ending == "stop":
                w.rig.inp.stop_pressed = True
                w.run(50)
                w.rig.inp.stop_pressed = False
            elif ending == "host_return":
                w.rig.ctrl.request_return()
            elif ending != "hold_time":
                w.ending = ending
    w.run(max(0, t0 + 60000 - w.t_ms))
    w.rig.inp.hold_down = False
    if ending == "host_return":
        w.rig.ctrl.request_return()
    for _ in range(120):
        w.run(5000)
        o = w.rig.out
        if o.state in (S.IDLE, S.DONE, S.FAULT, S.ESTOP):
            break
    w.ending = ""
    w.run(2000)
    w.check_returns()
    w.check_speed()
    w.check_end()


@settings(
    max_examples=int(os.environ.get("INVERSA_DRIVE_EXAMPLES", "5")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    freeze_at=st.integers(-4000, 3000),
    speed=st.integers(L.MIN_RATE_CDPS, L.MAX_CMD_RATE_CDPS),
    motor_pct=st.integers(60, 200),
    lag_ms=st.integers(20, 150),
)
def test_a_frozen_reading_never_lets_the_table_run_deeper_than_the_bound(
    freeze_at: int, speed: int, motor_pct: int, lag_ms: int
) -> None:
    # The bound: 0.5 deg of commanded travel per judgement, at most two
    # windows, times the fastest motor (2x), plus the drive's lag at 6 deg/s:
    # 3 deg.
    prof = Profile(max_angle_cdeg=6000, descent_cdps=speed, hold_ms=300000, hr_mode=HR_OFF)
    rig = Rig(prof)
    rig.plant.speed_pct = motor_pct
    rig.plant.lag_ms = lag_ms
    rig.start_motorized_session()
    rig.run_until(lambda r: r.plant.angle_cdeg >= freeze_at, 400000)
    frozen = rig.inp.angle_cdeg
    rig.sensor_override = lambda r: setattr(r.inp, "angle_cdeg", frozen)
    deepest = frozen
    for _ in range(1000):
        rig.period()
        deepest = max(deepest, rig.plant.angle_cdeg)
    assert deepest - frozen <= 300, (deepest - frozen, motor_pct, speed, lag_ms)
    assert rig.out.state in (S.OPEN_LOOP, S.FAULT)
