"""Attacks of a safety review (30 Nov) on the controller and its kinematic
plant (tests/fw/ctl_plant.py), in virtual time, judged on the plant's TRUE
angle by the simulator's rules (inversa_host/sim/judge.py) through the Run
helper of test_ctl_reset_properties.py.  Each states the hazard row's
required behaviour (docs/SAFETY.md), not the code's output.
"""

from __future__ import annotations

import pytest
from ctl_plant import Rig
from hypothesis import example, given
from hypothesis import strategies as st
from test_ctl_reset_properties import DEEP, SOME, Run, profiles

from inversa.control import alarms as A
from inversa.control import limits as L
from inversa.control import states as S
from inversa.control.controller import Controller
from inversa.control.profile import Profile

# --- tilt sensor failure: a reading frozen while "ok", at any moment ---------


@SOME
@given(
    profile=profiles,
    held_ms=st.integers(1000, 20000),
    freeze_after_ms=st.integers(0, 80000),
)
@example(Profile(max_angle_cdeg=3000, hold_ms=10000, descent_cdps=500, hr_mode=0), 20000, 15000)
def test_a_reading_frozen_while_ok_at_any_moment_still_brings_the_person_up(
    profile: Profile, held_ms: int, freeze_after_ms: int
) -> None:
    # The estimator keeps saying "ok" while the angle and rate stand still
    # (a chip that stopped updating, a bus returning the last value): a
    # stuck IMU.  Required (DESIGN.md §3, tilt sensor failure; trapped
    # inverted): never deeper without a trusted angle, and the person is
    # brought up (a latched fault is acceptable only at the loading
    # position).  Found by this review: frozen in a hold or a return, the
    # reading was taken for a stalled motor and cut off with the person at
    # 25-28 deg (A_STALL), for good.
    r = Run(profile)
    r.session(held_ms)
    r.run(freeze_after_ms // 10 * 10)
    frozen = [r.rig.inp.angle_cdeg]

    def freeze(rig) -> None:
        rig.inp.angle_cdeg = frozen[0]
        rig.inp.rate_cdps = 0

    r.override = freeze
    r.settle()
    assert r.broken(("depth", "end", "return", "speed"), latched_ok=()) == [], S.STATE_NAMES[
        r.rig.out.state
    ]


@SOME
@given(
    profile=profiles,
    held_ms=st.integers(1000, 20000),
    reset_after_ms=st.integers(0, 60000),
    reads_cdeg=st.one_of(st.just(-6000), st.integers(-6300, 4500)),
)
@example(
    Profile(max_angle_cdeg=2500, hold_ms=20000, descent_cdps=500, hr_mode=0), 18000, 5000, -6000
)
def test_a_reset_with_a_reading_frozen_while_ok_at_any_value_still_brings_the_person_up(
    profile: Profile, held_ms: int, reset_after_ms: int, reads_cdeg: int
) -> None:
    # A reset mid-session, and from then on the estimator says "ok" for a
    # reading that stands at one value (a chip that reset and returns a
    # plausible stale value).  Required (DESIGN.md §3, trapped inverted: a
    # reboot mid-session is detected and recovered; tilt sensor failure):
    # the person is brought up; a latched fault only at the loading
    # position.  Found by this review: a reading frozen at the loading
    # angle after a reset at 19 deg gave IDLE, no alarm, the person left
    # inverted, though the record said inverted and the home switch open.
    r = Run(profile)
    r.session(held_ms)
    r.run(reset_after_ms // 10 * 10)

    def lie(rig) -> None:
        rig.inp.angle_cdeg = reads_cdeg
        rig.inp.rate_cdps = 0

    r.override = lie
    r.reset()
    r.settle()
    assert r.broken(("depth",)) == []
    # Not left inverted.  (A lying reading has only the record, kept in 2
    # deg steps, and the home switch to contradict it: a table that stops
    # head-up a few degrees short of loading, within that doubt, is not a
    # trapped person.)
    assert r.rig.plant.angle_cdeg <= 0, (S.STATE_NAMES[r.rig.out.state], r.rig.plant.angle_cdeg)


def test_a_reading_frozen_just_past_horizontal_does_not_keep_a_rise_creeping_for_good() -> None:
    # Found by test_a_reset_with_a_reading_frozen_while_ok_at_any_value_...:
    # after a reset, a reading frozen at 1.28 deg while "ok".  The rise
    # paces an inverted table at its excursion's return pace (0.03 deg/s
    # here), too slow for the stall window, so the table crept head-up for
    # good (RISE at -22 deg after 400 s, the session never ended).  Required
    # (DESIGN.md §3, tilt sensor failure; trapped inverted): the stuck
    # reading is found and the table is brought to the home switch.
    prof = Profile(
        max_angle_cdeg=2441,
        hold_ms=15162,
        descent_cdps=L.MAX_CMD_RATE_CDPS,
        rise_cdps=L.MAX_CMD_RATE_CDPS,
        return_ms=38777,
        rest_ms=14149,
        hr_mode=0,
    )
    r = Run(prof)
    r.session(10500)
    r.run(4290)

    def lie(rig) -> None:
        rig.inp.angle_cdeg = 128
        rig.inp.rate_cdps = 0

    r.override = lie
    r.reset()
    r.settle()
    assert r.broken(("depth", "end"), latched_ok=()) == [], S.STATE_NAMES[r.rig.out.state]


# --- tilt sensor failure with a profile at its limits (review attack3) -----

# Every profile the hard limits allow: a 90 deg limit, a 180 s return and a
# 120 s rest included.
profiles_at_limits = st.builds(
    Profile,
    max_angle_cdeg=st.one_of(st.just(L.MAX_ANGLE_CDEG), st.integers(800, L.MAX_ANGLE_CDEG)),
    hold_ms=st.integers(L.MIN_HOLD_MS, 20000),
    descent_cdps=st.integers(200, L.MAX_CMD_RATE_CDPS),
    rise_cdps=st.integers(200, L.MAX_CMD_RATE_CDPS),
    return_ms=st.one_of(st.just(L.MAX_RETURN_MS), st.integers(L.MIN_RETURN_MS, L.MAX_RETURN_MS)),
    rest_ms=st.one_of(st.just(L.MAX_REST_MS), st.integers(L.MIN_REST_MS, L.MAX_REST_MS)),
    hr_mode=st.just(0),
)


@SOME
@given(
    profile=profiles_at_limits,
    held_ms=st.integers(1000, 40000),
    lost_after_ms=st.integers(0, 60000),
    reset=st.booleans(),
)
@example(
    Profile(
        max_angle_cdeg=9000,
        hold_ms=20000,
        descent_cdps=500,
        return_ms=L.MAX_RETURN_MS,
        rest_ms=L.MAX_REST_MS,
        hr_mode=0,
    ),
    40000,
    3000,
    False,
)
@example(
    Profile(
        max_angle_cdeg=4500,
        hold_ms=20000,
        descent_cdps=300,
        return_ms=60000,
        rest_ms=30000,
        hr_mode=0,
    ),
    25000,
    3000,
    True,
)
def test_the_open_loop_return_of_any_profile_reaches_home_within_its_bound(
    profile: Profile, held_ms: int, lost_after_ms: int, reset: bool
) -> None:
    # The tilt sensor is lost for good at any moment of a session (with or
    # without a reset then), the motor healthy.  Required (DESIGN.md §3,
    # tilt sensor failure: a motorized table brings the person up by a
    # bounded, slow, open-loop path to the home limit switch; trapped
    # inverted).  Found by this review (attack3): the open loop's own plan
    # (its slow leg for the profile's return, the rest, the leg home) was
    # cut at a hard 180 s, shorter than the plan of any profile with a long
    # return or rest: a 90 deg profile with a 180 s return and a 120 s rest
    # ended in the home-timeout cut-off with the person at 47 deg for good;
    # 45 deg, 60 s return, 30 s rest: at 2 deg after a reset.
    r = Run(profile)
    r.session(held_ms)
    r.run(lost_after_ms // 10 * 10)

    def lost(rig) -> None:
        rig.inp.tilt_ok = False

    r.override = lost
    if reset:
        r.reset()
    r.settle(L.OPEN_LOOP_MAX_MS + 60000)
    assert r.broken(("depth", "end", "return", "speed"), latched_ok=()) == [], (
        S.STATE_NAMES[r.rig.out.state],
        r.rig.plant.angle_cdeg,
    )


@SOME
@given(
    back_ms=st.integers(8000, 14000),
    released_after_ms=st.integers(500, 5000),
)
@example(10360, 4760)
def test_a_reset_during_an_estop_press_with_the_tilt_back_later_ends_at_loading(
    back_ms: int, released_after_ms: int
) -> None:
    # Left open by the last review (b): the e-stop pressed at 23 deg, a
    # reset while it is held, the tilt sensor back 8-14 s after the reset,
    # the e-stop released and cleared at the table.  Required (DESIGN.md
    # §3, trapped inverted; tilt sensor failure): the open-loop return
    # brings the person to the home switch.  On the old code its 180 s cap
    # cut the plan (the e-stop's wait, the slow leg, the rest, the leg
    # home): the home-timeout cut-off at 1 deg, for good (attack3).
    r = Run(
        Profile(max_angle_cdeg=2300, hold_ms=20000, descent_cdps=500, return_ms=38000, hr_mode=0)
    )
    r.session(14310)
    r.run(3310)
    r.rig.inp.estop_pressed = True
    r.ev("press_estop")
    r.run(1350)
    t0 = r.rig.t_ms

    def late(rig) -> None:
        rig.inp.tilt_ok = rig.t_ms - t0 >= back_ms

    r.override = late
    r.reset()
    r.run(released_after_ms // 10 * 10)
    r.rig.inp.estop_pressed = False
    r.ev("release_estop")
    r.run(2920)
    r.rig.inp.stop_pressed = True
    r.ev("press_stop")
    r.run(300)
    r.rig.inp.stop_pressed = False
    r.settle(L.OPEN_LOOP_MAX_MS + 60000)
    assert r.broken(("depth", "end", "return", "speed"), latched_ok=()) == [], (
        S.STATE_NAMES[r.rig.out.state],
        r.rig.plant.angle_cdeg,
    )


@SOME
@given(
    profile=profiles,
    held_ms=st.integers(1000, 20000),
    lost_after_ms=st.integers(0, 40000),
    stuck_after_ms=st.integers(0, 20000),
    reset=st.booleans(),
)
@example(
    Profile(max_angle_cdeg=3000, hold_ms=20000, descent_cdps=500, hr_mode=0), 20000, 2000, 0, False
)
@example(
    Profile(max_angle_cdeg=3000, hold_ms=20000, descent_cdps=500, hr_mode=0), 20000, 2000, 0, True
)
def test_a_home_switch_stuck_closed_with_the_tilt_lost_does_not_leave_the_person_inverted(
    profile: Profile, held_ms: int, lost_after_ms: int, stuck_after_ms: int, reset: bool
) -> None:
    # Left open by the last review (a): the tilt sensor lost at any moment
    # of a session (a reset then or not), and the home switch stuck closed
    # at the same time or up to 20 s later, the motor healthy.  Required
    # (DESIGN.md §3, trapped inverted): the person is brought up.  On the
    # old code the open loop believed the switch after 100 ms and cut off
    # with the person at 30 deg, for good.  (The open loop then ends at the
    # dead-reckoned loading angle: a motor slower than the gain assumed
    # stops short of it, head-up; so "not inverted" here, not "at loading".)
    r = Run(profile)
    r.session(held_ms)
    r.run(lost_after_ms // 10 * 10)
    t0 = r.rig.t_ms

    def faults(rig) -> None:
        rig.inp.tilt_ok = False
        if rig.t_ms - t0 >= stuck_after_ms:
            rig.inp.home_switch = True

    r.override = faults
    if reset:
        r.reset()
    r.settle(L.OPEN_LOOP_MAX_MS + 60000)
    assert r.broken(("depth", "return", "speed")) == []
    assert r.rig.plant.angle_cdeg <= 0, (S.STATE_NAMES[r.rig.out.state], r.rig.plant.angle_cdeg)


# --- physiological distress: a manual table tipped back after its return -----


@SOME
@given(
    depth_cdeg=st.integers(1500, 3500),
    rest_ms=st.integers(L.MIN_REST_MS, 30000),
    tip_after_ms=st.integers(0, 40000),
    again_cdeg=st.integers(1100, 3500),
    pulse=st.sampled_from(("high", "lost")),
)
@example(2500, 15000, 20000, 2800, "high")  # tipped back in RISE
@example(2500, 15000, 0, 2800, "lost")  # tipped back in REST
def test_a_manual_table_tipped_back_after_its_return_is_monitored_again(
    depth_cdeg: int, rest_ms: int, tip_after_ms: int, again_cdeg: int, pulse: str
) -> None:
    # Review attack4, 1 Dec: on a manual table the person comes up to the
    # rest near horizontal, then tips the table back down (in REST or in
    # RISE: the coached way to the loading position) and stays inverted.
    # Required (DESIGN.md §3, physiological distress: a heart rate above its
    # limit, or a pulse lost while inverted, starts the (coached) return;
    # manual tables are first-class): the pulse is judged as in any
    # inversion.  On the old code RISE judged no pulse at all (REST only
    # until its timer ran out): 190 bpm or no pulse at 28 deg raised
    # nothing until the time limit, hold + return + 2 min later.
    prof = Profile(
        max_angle_cdeg=4000,
        hold_ms=10000,
        rest_ms=rest_ms,
        table_type=S.MANUAL,
        hr_high_bpm=150,
        daily_ms=L.MAX_DAILY_MS,
    )
    rig = Rig(prof)
    rig.boot()
    rig.plant.manual_vel_cdps = 200
    rig.run_until(lambda r: r.plant.angle_cdeg >= depth_cdeg, 60000)
    rig.plant.manual_vel_cdps = 0
    rig.run_until(lambda r: r.out.state == S.HOLD, 10000)
    rig.run_ms(10000)
    rig.plant.manual_vel_cdps = -80  # a coached pace
    rig.run_until(lambda r: r.out.state == S.REST, 120000)
    rig.plant.manual_vel_cdps = 0
    rig.run_ms(tip_after_ms // 10 * 10)
    rig.plant.manual_vel_cdps = 200  # tips the table back down
    rig.run_until(lambda r: r.plant.angle_cdeg >= again_cdeg, 60000)
    rig.plant.manual_vel_cdps = 0  # and stays there
    if pulse == "high":
        rig.inp.hr_bpm = 190
        want = 1 << A.A_HR_HIGH
        debounce = L.HR_DEBOUNCE_MS
    else:
        rig.inp.hr_ok = False
        want = 1 << A.A_HR_LOST
        debounce = L.HR_LOST_MS
    rig.run_until(lambda r: r.out.alarm_bits & want, debounce + 1000)
    assert rig.out.alarm_priority >= A.P_MEDIUM
    assert rig.out.state == S.RETURN  # the coached return, from where the person is


# --- physiological distress: the alarm at the loading position ---------------


@pytest.mark.parametrize("ends", ["rate", "stop"])
@pytest.mark.parametrize("bpm", [35, 190])
@pytest.mark.parametrize("table", [S.MOTORIZED, S.MANUAL])
def test_a_heart_rate_alarm_sounds_on_at_loading_while_the_rate_stays_out_of_its_limits(
    table: int, bpm: int, ends: str
) -> None:
    # Review attack4, 1 Dec: a heart rate out of its limits in the hold
    # (a vasovagal drop to 35 bpm, or 190) starts the return; the person is
    # brought to the loading position and the rate stays where it was.
    # Required (DESIGN.md §3: alarms follow IEC 60601-1-8 and latch where
    # appropriate; a physiological alarm condition that persists is
    # annunciated until it ends or someone acts): the alarm goes on
    # sounding at the loading position (and escalates: nobody reacted), a
    # pulse that comes and goes does not end it, no new session starts, and
    # it ends once the rate reads back in its limits or STOP is pressed at
    # the table (the person or a helper acknowledges it).
    # On the old code the session ended at the loading position and the
    # alarm with it: silent, with the person still at 35 bpm on the table.
    prof = Profile(max_angle_cdeg=3000, hold_ms=300000, table_type=table, hr_low_bpm=45)
    rig = Rig(prof)
    if table == S.MOTORIZED:
        rig.start_motorized_session()
        rig.run_until(lambda r: r.out.state == S.HOLD, 120000)
    else:
        rig.boot()
        rig.plant.manual_vel_cdps = 200
        rig.run_until(lambda r: r.plant.angle_cdeg >= 2500, 60000)
        rig.plant.manual_vel_cdps = 0
        rig.run_until(lambda r: r.out.state == S.HOLD, 10000)
    rig.inp.hr_bpm = bpm
    rig.run_until(lambda r: r.out.state == S.RETURN, L.HR_DEBOUNCE_MS + 1000)
    if table == S.MANUAL:
        rig.plant.manual_vel_cdps = -80  # coached up, the rest, then to loading
        rig.run_until(lambda r: r.out.state == S.REST, 60000)
        rig.plant.manual_vel_cdps = 0
        rig.run_until(lambda r: r.out.state == S.RISE, 60000)
        rig.plant.manual_vel_cdps = -300
    rig.run_until(lambda r: abs(r.plant.angle_cdeg - prof.loading_cdeg) <= 100, 300000)
    rig.run_ms(60000)  # a minute at the loading position, the rate unchanged
    assert rig.out.alarm_priority >= A.P_HIGH  # escalated from medium
    assert rig.out.alarm_bits & ((1 << A.A_HR_LOW) | (1 << A.A_HR_HIGH))
    assert rig.out.state not in (S.DONE, S.IDLE)
    assert rig.ctrl.request_start() != 0
    rig.inp.hr_ok = False  # the pulse comes and goes (a slow rate flickers)
    rig.run_ms(3000)
    rig.inp.hr_ok = True
    rig.run_ms(1000)
    assert rig.out.alarm_priority >= A.P_HIGH
    if ends == "rate":
        rig.inp.hr_bpm = 70  # the rate comes back
    else:
        rig.inp.stop_pressed = True
    rig.run_ms(1000)
    rig.inp.stop_pressed = False
    assert rig.out.alarm_priority == 0
    rig.run_until(lambda r: r.out.state == S.IDLE, 10000)


# --- physiological distress: a manual session started by tilting -------------


@SOME
@given(
    rest_s=st.integers(31, 90),
    resting_bpm=st.integers(55, 95),
    change_bpm=st.sampled_from((-35, -30, 30, 35)),
    depth_cdeg=st.integers(1500, 3500),
)
@example(40, 70, 35, 2500)
def test_a_manual_session_started_by_tilting_judges_the_rise_and_drop_from_the_baseline(
    rest_s: int, resting_bpm: int, change_bpm: int, depth_cdeg: int
) -> None:
    # Review attack4, 1 Dec: on a manual table the person steps on, rests
    # at the loading position with the pulse sensor on, and tilts the table
    # (no START: the tilt starts the session).  The rate then rises or drops
    # 30-35 bpm from where it rested, within the absolute limits.
    # Required (DESIGN.md §3, physiological distress: a rise or drop from
    # the person's own baseline starts the (coached) return): the rule
    # judges it.  On the old code a session started by tilting had no
    # baseline at all: the rise and drop rules never ran on a manual table
    # unless START was pressed first.
    prof = Profile(
        max_angle_cdeg=4000,
        hold_ms=120000,
        table_type=S.MANUAL,
        hr_low_bpm=40,
        hr_high_bpm=170,
        hr_rise_bpm=25,
        hr_drop_bpm=25,
    )
    rig = Rig(prof, angle_cdeg=prof.loading_cdeg)
    rig.inp.hr_bpm = resting_bpm
    rig.boot()
    rig.run_ms(rest_s * 1000)  # resting at the loading position
    rig.plant.manual_vel_cdps = 300
    rig.run_until(lambda r: r.plant.angle_cdeg >= depth_cdeg, 60000)
    rig.plant.manual_vel_cdps = 0
    rig.inp.hr_bpm = resting_bpm + change_bpm
    want = (1 << A.A_HR_RISE) | (1 << A.A_HR_DROP)
    rig.run_until(lambda r: r.out.alarm_bits & want, L.HR_DELTA_DEBOUNCE_MS + 1000)
    assert rig.out.state == S.RETURN


# --- tilt sensor failure: a motor faster going up than going down -----------


def _in_the_hold(limit_cdeg: int, down_pct: int, up_pct: int) -> tuple[Profile, Run]:
    # A session with a two-way motor, 2 s into its hold (40 s of descent)
    prof = Profile(max_angle_cdeg=limit_cdeg, hold_ms=120000, descent_cdps=500, hr_mode=0)
    r = Run(prof)
    _two_way_motor(r, down_pct, up_pct)
    r.session(40000)
    r.run(2000)
    return prof, r


def _two_way_motor(r: Run, down_pct: int, up_pct: int) -> None:
    # A motor whose true speed per command differs by direction: the load
    # (a foot-heavy person: the centre of mass towards the feet) helps it one way and
    # holds it back the other (inversa_world/table.py, the DC-motor line).
    pl = r.rig.plant
    step = pl.step

    def two_way(out, dt_ms) -> None:
        c = out.motor_cmd_cdps if out.motor_enable else 0
        pl.speed_pct = up_pct if c < 0 else down_pct
        step(out, dt_ms)

    pl.step = two_way


@SOME
@given(
    profile=profiles,
    down_pct=st.integers(L.GAIN_MIN_PCT, L.GAIN_MAX_PCT),
    up_pct=st.integers(L.GAIN_MIN_PCT, L.GAIN_MAX_PCT),
    held_ms=st.integers(15000, 30000),
    lost_after_ms=st.integers(0, 10000),
)
@example(DEEP, 100, 250, 25000, 3000)
@example(
    Profile(max_angle_cdeg=3000, hold_ms=20000, descent_cdps=500, hr_mode=0), 200, 300, 20000, 3000
)
def test_an_open_loop_return_with_a_motor_faster_going_up_still_takes_the_minimum(
    profile: Profile, down_pct: int, up_pct: int, held_ms: int, lost_after_ms: int
) -> None:
    # The tilt sensor is lost in the hold of a motor whose speed per
    # command differs by direction, each within the 100-300 % of its
    # driver's scale the controller admits (GAIN_MIN/MAX_PCT).  The gain
    # it learned going down says nothing about going up.  Required
    # (DESIGN.md §3, rising too fast / tilt sensor failure: a bounded,
    # slow open-loop path; every return at least 30 s from the deepest).
    # Found by this review (attack5, 1 Dec): the open loop was planned for
    # twice the scale or the learned (down) gain + 25 %; a motor at the
    # scale going down and 2.5x going up came from 28 deg to horizontal in
    # 25.2 s, 2x and 3x in 28.4 s (the simulator: a 130 kg person whose
    # centre of mass sits 17 cm towards the feet, from 17 deg in 28.8 s,
    # scenario review_foot_heavy_imu_lost).
    r = Run(profile)
    _two_way_motor(r, down_pct, up_pct)
    r.session(held_ms)
    r.run(lost_after_ms // 10 * 10)

    def lost(rig) -> None:
        rig.inp.tilt_ok = False

    r.override = lost
    r.settle(L.OPEN_LOOP_MAX_MS + 60000)
    assert r.broken(("depth", "end", "return", "speed"), latched_ok=()) == [], (
        S.STATE_NAMES[r.rig.out.state],
        r.rig.plant.angle_cdeg,
    )


# --- motor stall: a return too slow for the stall window ---------------------


@SOME
@given(
    depth_cdeg=st.integers(150, 450),
    return_ms=st.integers(L.MIN_RETURN_MS, 60000),
    stall_after_ms=st.integers(0, 20000),
    ask=st.sampled_from(("host", "stop", "hold")),
)
@example(290, 51706, 0, "host")
def test_a_motor_that_stalls_in_a_shallow_return_does_not_leave_the_person_there_unalarmed(
    depth_cdeg: int, return_ms: int, stall_after_ms: int, ask: str
) -> None:
    # A session taken only a few degrees past horizontal (DOWN released
    # early), the return asked for (host, STOP at the table, or the hold's
    # end), and the motor stalls in it for good.  The return's pace from
    # there (under 0.1 deg/s) expects less than the stall window's 1.5 deg
    # in its 20 s, and the setpoint stops less than the tracking error's
    # 5 deg ahead.  Required (DESIGN.md §3, motor run-on / trapped
    # inverted: motion must follow command; every abnormal condition ends
    # with the person brought up or in a latched safe state with a high
    # alarm).  Found by this review (attack5, 1 Dec; a fault fuzz over the
    # kinematic plant): RETURN at 2.9 deg for good, no alarm at all (the
    # time limit counts only past the 5 deg horizontal band).
    prof = Profile(
        max_angle_cdeg=4500,
        hold_ms=L.MIN_HOLD_MS if ask == "hold" else 60000,
        descent_cdps=300,
        return_ms=return_ms,
        hr_mode=0,
    )
    r = Run(prof)
    r.session(1000)
    rig = r.rig
    rig.inp.hold_down = True
    while rig.plant.angle_cdeg < depth_cdeg and rig.t_ms < 120000:
        r.run(10)
    rig.inp.hold_down = False
    r.run(1000)
    if ask == "host":
        rig.ctrl.request_return()
    elif ask == "stop":
        rig.inp.stop_pressed = True
        r.run(200)
        rig.inp.stop_pressed = False
    r.run(stall_after_ms // 10 * 10)
    rig.plant.fault = "stall"
    r.settle(L.OPEN_LOOP_MAX_MS + 60000)
    assert r.broken(("end",)) == [], (S.STATE_NAMES[rig.out.state], rig.plant.angle_cdeg)


# --- review attack6 (1 Dec): open-loop returns with no gain or no record ----


@SOME
@given(
    limit_cdeg=st.integers(1500, 4500),
    down_pct=st.integers(L.GAIN_MIN_PCT, 200),
    up_pct=st.integers(250, L.GAIN_MAX_PCT),
    lost_ms=st.integers(0, 700),
)
@example(2500, 100, 300, 600)
def test_an_open_loop_return_before_the_gain_is_learned_still_takes_the_minimum(
    limit_cdeg: int, down_pct: int, up_pct: int, lost_ms: int
) -> None:
    # A board's first session (no motor gain on the flash yet: the record
    # written ahead at arming holds none) is cut by a power cut in its hold;
    # the board boots with the tilt sensor working, starts the recovery
    # return, and loses the sensor within its first second, before the
    # return's own motion taught the gain.  The motor is 2.5-3x its
    # driver's scale going up (a foot-heavy person's load).  Required
    # (DESIGN.md §3, rising too fast; tilt sensor failure: a bounded, slow
    # open-loop path): at least 30 s from the deepest to horizontal.
    # Found by this review: planned at twice the scale (the gain
    # unknown), a 1x-down / 3x-up motor came up from 25 deg in 21.7 s.
    prof, r = _in_the_hold(limit_cdeg, down_pct, up_pct)
    rig = r.rig
    ahead = rig.ctrl.ahead_record()  # what the flash held: a bound
    assert ahead[1] == L.REC_UNKNOWN_CDEG
    ahead = (ahead[0], ahead[1], 0)  # ... and no gain: a first session
    t0 = rig.t_ms

    def late_loss(rig) -> None:
        rig.inp.tilt_ok = rig.t_ms - t0 < L.SELFTEST_MS + 500 + lost_ms

    r.override = late_loss
    rig.ctrl = Controller(rig.clock, rig.events, prof, reset_cause=1, resume=ahead)
    r.ev("power_reset")
    r.settle(L.OPEN_LOOP_MAX_MS + 60000)
    assert r.broken(("depth", "end", "return", "speed"), latched_ok=()) == [], (
        S.STATE_NAMES[rig.out.state],
        rig.plant.angle_cdeg,
    )


@SOME
@given(
    limit_cdeg=st.integers(1500, 4500),
    down_pct=st.integers(L.GAIN_MIN_PCT, L.GAIN_MAX_PCT),
    up_pct=st.integers(L.GAIN_MIN_PCT, L.GAIN_MAX_PCT),
)
@example(2500, 100, 100)
@example(2500, 300, 300)
def test_a_reset_with_no_session_record_and_the_tilt_gone_returns_slowly(
    limit_cdeg: int, down_pct: int, up_pct: int
) -> None:
    # A reset in the hold with the session record unreadable (a flash
    # record that fails its checksum or is missing: load_record gives None,
    # nothing known, 90 deg assumed) and the tilt sensor gone from the boot
    # on.  Required (DESIGN.md §3, rising too fast; tilt sensor failure):
    # at least 30 s from the deepest to horizontal, whatever the true depth.
    # Found by this review: the open loop was paced for 90 deg with no
    # creep, so a table at 25 deg came up in 6.1 s (3x motor) to 17.7 s (1x).
    prof, r = _in_the_hold(limit_cdeg, down_pct, up_pct)
    rig = r.rig

    def gone(rig) -> None:
        rig.inp.tilt_ok = False

    r.override = gone
    rig.ctrl = Controller(rig.clock, rig.events, prof, reset_cause=1, resume=None)
    r.ev("power_reset")
    r.settle(L.OPEN_LOOP_MAX_MS + 60000)
    assert r.broken(("depth", "end", "return", "speed"), latched_ok=()) == [], (
        S.STATE_NAMES[rig.out.state],
        rig.plant.angle_cdeg,
    )


# --- motor stall: a shallow return's stall seen from the angle (attack6) ----


@SOME
@given(
    depth_cdeg=st.integers(150, 480),
    return_ms=st.one_of(st.just(L.MAX_RETURN_MS), st.integers(L.MIN_RETURN_MS, L.MAX_RETURN_MS)),
    stall_after_ms=st.integers(0, 20000),
    slow_pct=st.sampled_from((0, 10, 20)),
)
@example(300, L.MAX_RETURN_MS, 5000, 0)
def test_a_stall_in_a_shallow_return_is_alarmed_within_a_minute(
    depth_cdeg: int, return_ms: int, stall_after_ms: int, slow_pct: int
) -> None:
    # A session taken a few degrees past horizontal, the host asks for the
    # return, and the motor stalls in it (or slows to a tenth or a fifth
    # of its speed: a gearbox that jams, a motor cooked by heat).
    # Required (DESIGN.md §3, motor run-on / trapped inverted: motion must
    # follow command; every abnormal condition ends with the person brought
    # up or a loud alarm): a high alarm once the angle has stood still
    # for a stall window, within a minute whatever the return's length,
    # and the person not left inverted.  On the old code (attack5's fix)
    # the stall window never judged a return slower than 0.075 deg/s, and
    # only 4x the return's planned time said so: 726 s for a 180 s return.
    prof = Profile(
        max_angle_cdeg=4500,
        hold_ms=60000,
        descent_cdps=300,
        return_ms=return_ms,
        hr_mode=0,
    )
    r = Run(prof)
    r.session(1000)
    rig = r.rig
    rig.inp.hold_down = True
    while rig.plant.angle_cdeg < depth_cdeg and rig.t_ms < 120000:
        r.run(10)
    rig.inp.hold_down = False
    r.run(1000)
    rig.ctrl.request_return()
    r.run(stall_after_ms // 10 * 10)
    if rig.out.state != S.RETURN:
        return  # (already up: nothing left to stall)
    pl = rig.plant
    pl.fault = "stall"
    if slow_pct:
        # Slowed, not stopped: it runs one period in 100 // slow_pct.
        step = pl.step
        n = [0]

        def slow(out, dt_ms) -> None:
            n[0] += 1
            pl.fault = "" if n[0] % (100 // slow_pct) == 0 else "stall"
            step(out, dt_ms)

        pl.step = slow
    t0 = rig.t_ms
    while rig.out.alarm_priority < A.P_HIGH and rig.t_ms - t0 < 70000:
        r.run(100)
    assert rig.out.alarm_priority >= A.P_HIGH, (
        S.STATE_NAMES[rig.out.state],
        rig.plant.angle_cdeg,
        (rig.t_ms - t0) / 1000,
    )
    assert rig.t_ms - t0 <= 2 * L.STALL_MAX_WINDOW_MS
    r.settle(L.OPEN_LOOP_MAX_MS + 60000)
    assert r.broken(("end",)) == [], (S.STATE_NAMES[rig.out.state], rig.plant.angle_cdeg)


# --- a home switch that blips at depth (attack6) -------------------------------


@SOME
@given(
    blip_ms=st.sampled_from((10, 20)),
    blip_after_ms=st.integers(0, 10000),
    lost_after_ms=st.integers(500, 20000),
    down_pct=st.integers(150, L.GAIN_MAX_PCT),
    up_pct=st.integers(L.GAIN_MIN_PCT, 130),
)
@example(10, 1000, 3000, 200, 100)
def test_a_home_switch_that_blips_at_depth_is_not_taken_for_a_liar_unannounced(
    blip_ms: int, blip_after_ms: int, lost_after_ms: int, down_pct: int, up_pct: int
) -> None:
    # In the hold at 25 deg the home switch closes for one or two periods
    # (a bounce, a knock on the cable): shorter than the switch alarm's
    # debounce.  Later the tilt sensor is lost and the open loop brings the
    # person up with a motor slower going up than the gain it learned going
    # down (1.5-3x its scale down, 1-1.3x up).  Required (DESIGN.md §3,
    # trapped inverted; alarms latch where
    # appropriate, nothing is decided silently): a switch is taken for a
    # liar only with its alarm; otherwise it is believed, and the open loop
    # ends at it.  Found by this review: a 10 ms blip marked the home switch
    # lying with no alarm at all; the open loop then ignored it and ended at
    # its dead-reckoned loading angle, 25-40 deg short of the loading position.
    r = Run(Profile(max_angle_cdeg=2500, hold_ms=60000, descent_cdps=500, hr_mode=0))
    _two_way_motor(r, down_pct, up_pct)
    r.session(20000)
    rig = r.rig
    t0 = rig.t_ms
    seen = [0]

    def faults(rig) -> None:
        dt = rig.t_ms - t0
        if blip_after_ms <= dt < blip_after_ms + blip_ms:
            rig.inp.home_switch = True
        if dt >= blip_after_ms + blip_ms + lost_after_ms:
            rig.inp.tilt_ok = False
        seen[0] |= rig.out.alarm_bits

    r.override = faults
    r.settle(L.OPEN_LOOP_MAX_MS + 60000)
    assert r.broken(("depth", "return", "speed")) == []
    if not seen[0] & (1 << A.A_SWITCH):
        assert abs(rig.plant.angle_cdeg - rig.profile.loading_cdeg) <= 100, (
            S.STATE_NAMES[rig.out.state],
            rig.plant.angle_cdeg,
        )


# --- a flash write's pause at the loading position (attack6) -----------------


@pytest.mark.parametrize("pause_ms", [600, 1500])
@pytest.mark.parametrize("where", ["idle", "baseline", "ready"])
def test_a_long_flash_pause_at_the_loading_position_is_no_tilt_fault(
    where: str, pause_ms: int
) -> None:
    # The loop stands still for over 0.5 s (a flash write at a slow chip's
    # erase time: the app writes the exact record and the daily account at
    # a session's end, the record written ahead at arming); the sensor front
    # end then restarts its tilt filter (the table may have moved) and
    # reports "not ready" for its 1 s of settling.  The real front end on a
    # simulated MPU-6050 feeds the controller; the table stands at the
    # loading position.  Required (DESIGN.md §3: the controller never moves
    # without a trusted angle; alarms are for conditions that need a
    # person): no motion and no start while the angle settles, then the
    # table goes on as before.  Found by this review: the tilt alarm (high,
    # latched) and a FAULT at the home switch that needed STOP at the table.
    from inversa.board.clock import VirtualClock
    from inversa.control.io import ControlInputs, ControlOutputs
    from inversa.drivers.max30102 import MAX30102
    from inversa.drivers.mpu6050 import MPU6050
    from inversa.events import EventLog
    from inversa.sense.flags import TILT_NOT_READY
    from inversa.sense.frontend import SensorFrontEnd
    from inversa_world.devices import FakeI2CBus, FakeMAX30102, FakeMPU6050
    from inversa_world.devices.procedures import calibrate
    from inversa_world.ppg import PPGSynth

    clock = VirtualClock()
    bus = FakeI2CBus(1)
    fi = bus.attach(0x68, FakeMPU6050(clock, seed=1))
    bus.attach(0x57, FakeMAX30102(clock, seed=1, source=PPGSynth(seed=1, hr_bpm=70)))
    imu = MPU6050(bus)
    cal = calibrate(clock, fi, imu, angles=(0.0,))
    fe = SensorFrontEnd(clock, imu, MAX30102(bus), cal)
    prof = Profile(hr_mode=0)
    fi.set_truth(prof.loading_cdeg / 100.0, 0.0, 0.0)
    ctrl = Controller(clock, EventLog(64), prof)
    inp, out = ControlInputs(), ControlOutputs()
    inp.estop_pressed = False
    inp.home_switch = True
    inp.host_lease_ok = True
    seen = [0, False]

    def run(ms: int) -> None:
        for _ in range(ms // 10):
            clock.advance_ms(10)
            fe.poll()
            fe.fill(inp)
            ctrl.step(inp, out)
            seen[0] |= out.alarm_bits
            seen[1] = seen[1] or (out.motor_enable and out.motor_cmd_cdps != 0)

    run(3000)
    assert out.state == S.IDLE and inp.tilt_ok
    if where == "ready":
        assert ctrl.request_start() == 0  # no pulse sensor: READY at once
        run(100)
        assert out.state == S.READY
    elif where == "baseline":
        prof2 = Profile()  # with the pulse: BASELINE
        assert ctrl.set_profile(prof2) == 0
        ctrl.request_start()
        run(100)
        assert out.state == S.BASELINE
    clock.advance_ms(pause_ms)  # the pause: no poll, no step
    run(100)
    assert inp.tilt_faults == TILT_NOT_READY and not inp.tilt_ok  # the filter restarted
    run(16000)  # (the baseline's 15 s)
    assert not seen[0] & (1 << A.A_TILT), seen
    assert out.alarm_priority == 0 and not seen[1]
    assert out.state == {"idle": S.IDLE, "baseline": S.READY, "ready": S.READY}[where]
    assert inp.tilt_ok


# --- a session record that could not be written ahead (attack6) -------------


@pytest.mark.parametrize("limit_cdeg", [1500, 4500])
@pytest.mark.parametrize("motor_pct", [100, 200])
def test_a_write_ahead_that_fails_leaves_no_stale_record_to_return_by(
    tmp_path, limit_cdeg: int, motor_pct: int
) -> None:
    # The flash holds the last session's exact record, "no session, at the
    # loading position" (0, 0, gain).  At arming the record written ahead
    # (the deepest this session may reach) cannot be written (the flash is
    # full, worn, read-only: save_record's OSError).  The session goes on;
    # a power cut in its hold; the board boots with the tilt sensor gone.
    # Required (DESIGN.md §3, rising too fast; tilt sensor failure: a
    # bounded, slow open-loop path): at least 30 s to horizontal.  Found by
    # this review: the stale record said "at loading", the open loop went
    # straight to its leg home at 1.5 deg/s: from 15 deg in 5.3-10.2 s.
    from inversa.control.session_record import load_record, save_record

    path = str(tmp_path / "motion.bin")
    assert save_record(path, (0, 0, motor_pct))  # the last session's end
    prof = Profile(max_angle_cdeg=limit_cdeg, hold_ms=120000, descent_cdps=500, hr_mode=0)
    r = Run(prof)
    r.rig.plant.speed_pct = motor_pct
    r.session(1000)
    (tmp_path / "motion.bin.tmp").mkdir()  # every write now fails (OSError)
    assert not save_record(path, r.rig.ctrl.ahead_record())
    r.rig.inp.hold_down = True
    r.run(40000)
    r.rig.inp.hold_down = False
    r.run(2000)
    rig = r.rig

    def gone(rig) -> None:
        rig.inp.tilt_ok = False

    r.override = gone
    rig.ctrl = Controller(rig.clock, rig.events, prof, reset_cause=1, resume=load_record(path))
    r.ev("power_reset")
    r.settle(L.OPEN_LOOP_MAX_MS + 60000)
    assert r.broken(("depth", "end", "return", "speed")) == [], (
        S.STATE_NAMES[rig.out.state],
        rig.plant.angle_cdeg,
    )
