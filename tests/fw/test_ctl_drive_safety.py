"""How the table is driven, on every path (issue 14, items 2, 3, 6, 9, 11):
returns are gradual however they start, a lying limit switch never traps the
person, the true speed stays under the hard limit with a motor faster than
its driver's scale, a frozen angle reading stops deeper motion within a
bounded travel, and every output is in its safe state at boot.

Each test drives the real controller against the kinematic plant of
tests/fw/ctl_plant.py in virtual time and is judged on the plant's TRUE
angle and speed.  Names are referenced from docs/SAFETY.md.
"""

from __future__ import annotations

from typing import NamedTuple

from ctl_plant import PERIOD_MS, Rig

from inversa.control import alarms as A
from inversa.control import limits as L
from inversa.control import states as S
from inversa.control.io import ControlInputs, ControlOutputs
from inversa.control.profile import HR_OFF, Profile

# The simulated table's motor runs 8 deg/s at full duty while its driver's
# scale says 6 (inversa_world TableParams.motor_no_load_dps): 133 %.  The
# tests use that and more.
SIM_MOTOR_PCT = 133


def bit(alarm_id: int) -> int:
    return 1 << alarm_id


class TruthRow(NamedTuple):
    t_ms: int
    state: int
    angle_cdeg: int  # the plant's true angle
    vel_cdps: int  # the plant's true speed
    cmd_cdps: int


class Truth:
    """Per-period record of the plant's true angle and speed."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.rows: list[TruthRow] = []
        rig.hook = self._hook

    def _hook(self, r: Rig) -> None:
        o = r.out
        self.rows.append(
            TruthRow(r.t_ms, o.state, r.plant.angle_cdeg, r.plant.vel_cdps, o.motor_cmd_cdps)
        )

    def return_ms(self) -> int | None:
        """Deepest -> horizontal as the simulator judges it: from the last
        moment within 0.1 deg of the deepest angle to the first moment after
        it that the table is horizontal (<= 0)."""
        rows = self.rows
        i_deep = max(range(len(rows)), key=lambda i: rows[i].angle_cdeg)
        peak = rows[i_deep].angle_cdeg
        if peak <= 0:
            return None
        last = i_deep
        for i in range(i_deep, len(rows)):
            if rows[i].angle_cdeg >= peak - 10:
                last = i
            elif rows[i].angle_cdeg <= 0:
                return rows[i].t_ms - rows[last].t_ms
        return None

    def max_speed(self) -> int:
        return max(abs(r.vel_cdps) for r in self.rows)


def to_hold(rig: Rig) -> None:
    rig.start_motorized_session()
    rig.run_until(lambda r: r.out.state == S.HOLD, 200000)
    rig.inp.hold_down = False


def finish(rig: Rig, max_ms: int = 400000) -> None:
    rig.run_until(lambda r: r.out.state in (S.DONE, S.IDLE, S.FAULT), max_ms)


# --- item 2: every return is gradual, on every path ----------------------------


def test_a_shallow_return_still_takes_the_minimum_then_rests():
    # Found by a review: a 5 deg profile skipped RETURN (a start within the
    # horizontal band went straight to REST) and came up in ~10 s.  The
    # shallowest profile, and descents stopped by the up button at 3 and 1 deg.
    for depth, up_at in ((500, None), (3000, 300), (3000, 100)):
        prof = Profile(max_angle_cdeg=depth, hold_ms=10000, hr_mode=HR_OFF)
        rig = Rig(prof)
        truth = Truth(rig)
        if up_at is None:
            to_hold(rig)
        else:
            rig.start_motorized_session()
            rig.run_until(lambda r, a=up_at: r.plant.angle_cdeg >= a, 60000)
            rig.inp.hold_down = False
            rig.inp.hold_up = True
            rig.run_ms(500)
            rig.inp.hold_up = False
        finish(rig)
        ret = truth.return_ms()
        assert ret is not None and ret >= L.MIN_RETURN_MS, (depth, ret)
        rest = [r for r in truth.rows if r.state == S.REST]
        assert len(rest) * PERIOD_MS >= prof.rest_ms
        assert all(abs(r.angle_cdeg) <= L.HORIZONTAL_BAND_CDEG for r in rest)
        assert rig.out.state in (S.DONE, S.IDLE)


def _session_then_reset(depth: int, motor_pct: int, stuck: bool) -> tuple[Rig, Truth, Rig]:
    """A session held at `depth`, then a board reset (a new controller given
    what the old one asked to keep); the IMU stuck (untrusted) after it."""
    prof = Profile(max_angle_cdeg=depth, hold_ms=300000, hr_mode=HR_OFF)
    rig = Rig(prof)
    rig.plant.speed_pct = motor_pct
    to_hold(rig)
    rig.run_ms(5000)
    kept = rig.ctrl.record()
    assert kept[0] >= depth - 300 and abs(kept[1] - rig.plant.angle_cdeg) <= 200
    boot = Rig(prof, angle_cdeg=rig.plant.angle_cdeg, resume=kept)
    boot.plant.speed_pct = motor_pct
    if stuck:
        frozen = rig.inp.angle_cdeg

        def imu_stuck(r: Rig) -> None:
            r.inp.tilt_ok = False
            r.inp.angle_cdeg = frozen

        boot.sensor_override = imu_stuck
    return rig, Truth(boot), boot


def test_open_loop_return_after_a_reset_is_planned_for_the_remembered_depth():
    # ../shared/cases/safety/reboot_with_stuck_imu.toml at the controller: a
    # reset at 25 deg with the IMU stuck.  Before, the return was sized for
    # 90 deg and took ~13 s from 25 deg, with no rest near horizontal.
    for motor_pct in (100, SIM_MOTOR_PCT, 200):
        _old, truth, boot = _session_then_reset(2500, motor_pct, stuck=True)
        boot.run_until(lambda r: r.out.state == S.OPEN_LOOP, L.SELFTEST_MAX_MS + 1000)
        boot.run_until(lambda r: r.out.state == S.FAULT, L.OPEN_LOOP_MAX_MS)
        assert boot.inp.home_switch  # brought up to the home switch
        assert boot.out.alarm_bits & bit(A.A_TILT)
        ret = truth.return_ms()
        assert ret is not None and ret >= L.MIN_RETURN_MS, (motor_pct, ret)
        # A rest (motor still for rest_ms) before the leg home ...
        runs, cur = [], []
        for row in truth.rows:
            if row.state == S.OPEN_LOOP and row.cmd_cdps == 0:
                cur.append(row)
            elif cur:
                runs.append(cur)
                cur = []
        rest = max(runs, key=len)
        assert len(rest) * PERIOD_MS >= boot.profile.rest_ms - 500
        # ... near horizontal when the motor's gain was learned before the reset.
        if motor_pct <= SIM_MOTOR_PCT:
            assert all(abs(r.angle_cdeg) <= L.HORIZONTAL_BAND_CDEG for r in rest), (
                motor_pct,
                rest[0],
            )


def test_open_loop_return_without_anything_remembered_still_comes_up():
    # Nothing kept at all (a first boot with no record): the worst depth is
    # assumed, and the person is still brought up to the home switch.
    prof = Profile(max_angle_cdeg=2500, hold_ms=300000, hr_mode=HR_OFF)
    boot = Rig(prof, angle_cdeg=2500)
    boot.sensor_override = lambda r: setattr(r.inp, "tilt_ok", False)
    boot.run_until(lambda r: r.out.state == S.OPEN_LOOP, L.SELFTEST_MAX_MS + 1000)
    boot.run_until(lambda r: r.out.state == S.FAULT, L.OPEN_LOOP_MAX_MS)
    assert boot.inp.home_switch


def test_closed_loop_return_after_a_reset_takes_the_minimum_with_a_fast_motor():
    _old, truth, boot = _session_then_reset(2500, SIM_MOTOR_PCT, stuck=False)
    finish(boot)
    ret = truth.return_ms()
    assert ret is not None and ret >= L.MIN_RETURN_MS
    assert boot.out.state in (S.DONE, S.IDLE)


def test_every_return_path_takes_the_minimum_from_the_deepest_angle():
    # Host return, lease expiry, mains lost, a heart-rate alarm, the hold
    # time, the up button: each from 12 deg with a fast motor.
    def host_return(r: Rig) -> None:
        r.ctrl.request_return()

    def lease(r: Rig) -> None:
        r.inp.host_lease_ok = False

    def mains(r: Rig) -> None:
        r.inp.on_battery = True

    def hr_high(r: Rig) -> None:
        r.inp.hr_bpm = 190

    def up_button(r: Rig) -> None:
        r.inp.hold_up = True

    def nothing(r: Rig) -> None:
        pass

    for how in (host_return, lease, mains, hr_high, up_button, nothing):
        prof = Profile(max_angle_cdeg=1200, hold_ms=20000)
        rig = Rig(prof)
        rig.plant.speed_pct = SIM_MOTOR_PCT
        truth = Truth(rig)
        to_hold(rig)
        how(rig)
        rig.run_until(lambda r: r.out.state == S.RETURN, 30000)
        rig.inp.hold_up = False
        rig.inp.host_lease_ok = True
        rig.inp.on_battery = False
        rig.inp.hr_bpm = 70  # (a rate still high at loading keeps its alarm on)
        rig.run_until(lambda r: r.out.state in (S.DONE, S.IDLE), 400000)
        ret = truth.return_ms()
        assert ret is not None and ret >= L.MIN_RETURN_MS, (how.__name__, ret)


# --- item 3: a switch that lies never traps the person --------------------------


def _at_depth_with(switch: str, pattern) -> tuple[Rig, Truth]:
    prof = Profile(max_angle_cdeg=2500, hold_ms=300000, hr_mode=HR_OFF)
    rig = Rig(prof)
    to_hold(rig)
    truth = Truth(rig)

    def lying(r: Rig) -> None:
        if pattern(r.t_ms):
            setattr(r.inp, switch, True)

    rig.sensor_override = lying
    return rig, truth


def test_home_switch_stuck_closed_at_depth_brings_the_person_up_on_the_angle():
    # Found by a review: with the home switch stuck closed at 25 deg, every
    # upward command was zeroed ("home is seen"), the tilt alarm's reaction
    # went to FAULT and the person stayed inverted.
    rig, truth = _at_depth_with("home_switch", lambda t: True)
    rig.run_until(lambda r: r.out.alarm_bits & bit(A.A_SWITCH), 1000)
    assert rig.out.fault_bits & A.F_SWITCH and rig.out.alarm_priority == A.P_HIGH
    assert rig.out.alarm_bits & bit(A.A_TILT) == 0  # the angle is not blamed
    rig.run_until(lambda r: r.out.state == S.RETURN, 1000)
    rig.run_until(lambda r: r.plant.angle_cdeg <= 0, 200000)
    finish(rig)
    assert rig.out.state == S.DONE
    assert abs(rig.plant.angle_cdeg - rig.profile.loading_cdeg) <= L.LOADING_TOL_CDEG
    ret = truth.return_ms()
    assert ret is not None and ret >= L.MIN_RETURN_MS
    # Latched: no new session until it is cleared at the table.
    assert rig.out.alarm_bits & bit(A.A_SWITCH)
    assert rig.ctrl.request_start() != 0


def test_a_chattering_home_switch_never_stops_the_return():
    # Closed 30 ms in every 110 ms, and closed 5 ms in every 50 ms (below any
    # debounce): the person still comes all the way up.
    for on_ms, period_ms in ((30, 110), (10, 50)):
        rig, truth = _at_depth_with("home_switch", lambda t, a=on_ms, b=period_ms: t % b < a)
        rig.ctrl.request_return()
        rig.run_until(lambda r: r.plant.angle_cdeg <= 0, 200000)
        finish(rig)
        assert rig.out.state == S.DONE, S.STATE_NAMES[rig.out.state]
        ret = truth.return_ms()
        assert ret is not None and ret >= L.MIN_RETURN_MS


def test_a_home_switch_closed_short_of_loading_does_not_strand_the_rise():
    # Found by the reset property: a home switch stuck closed 2.5-20 deg short
    # of loading (within the angle's doubt, so not called a lie) zeroed every
    # upward command there and the session never ended (-53 deg, loading -60).
    # With a trusted angle the switch counts only within HOME_AGREE of loading.
    loading = Profile().loading_cdeg
    for short_cdeg in (L.HOME_AGREE_CDEG + 50, 700, 1500, L.HOME_DISAGREE_CDEG - 50):
        rig, _ = _at_depth_with("home_switch", lambda t: False)

        def stuck_near_loading(r: Rig, s: int = short_cdeg) -> None:
            if r.plant.angle_cdeg <= loading + s:
                r.inp.home_switch = True  # closes there and stays closed

        rig.sensor_override = stuck_near_loading
        rig.ctrl.request_return()
        finish(rig)
        assert rig.out.state == S.DONE, (short_cdeg, S.STATE_NAMES[rig.out.state])
        assert abs(rig.plant.angle_cdeg - loading) <= L.HOME_AGREE_CDEG + 100, (
            short_cdeg,
            rig.plant.angle_cdeg,
        )
        assert rig.out.alarm_bits & bit(A.A_SWITCH) == 0  # within the angle's doubt


def test_end_switch_stuck_closed_at_depth_is_a_switch_fault_and_the_return_is_closed_loop():
    rig, truth = _at_depth_with("end_switch", lambda t: True)
    rig.record()
    rig.run_until(lambda r: r.out.alarm_bits & bit(A.A_SWITCH), 1000)
    assert rig.out.alarm_bits & bit(A.A_END_SWITCH) == 0
    rig.run_until(lambda r: r.out.state == S.RETURN, 1000)
    finish(rig)
    assert rig.out.state == S.DONE
    assert rig.trace is not None
    assert all(row.cmd_cdps <= 0 for row in rig.trace)  # never deeper while it is closed
    assert all(row.state != S.OPEN_LOOP for row in rig.trace)
    ret = truth.return_ms()
    assert ret is not None and ret >= L.MIN_RETURN_MS


def test_home_switch_found_lying_is_ignored_by_a_later_open_loop_return():
    # The home switch lied (stuck closed at depth), then the IMU dies too:
    # the open-loop return ignores the switch and ends by dead reckoning at
    # the loading angle instead of stopping where it started.
    rig, truth = _at_depth_with("home_switch", lambda t: True)
    rig.run_until(lambda r: r.out.alarm_bits & bit(A.A_SWITCH), 1000)
    rig.run_ms(3000)

    def both(r: Rig) -> None:
        r.inp.home_switch = True
        r.inp.tilt_ok = False

    rig.sensor_override = both
    rig.run_until(lambda r: r.out.state == S.OPEN_LOOP, 1000)
    rig.run_until(lambda r: r.out.state == S.FAULT, L.OPEN_LOOP_MAX_MS)
    assert rig.plant.angle_cdeg <= rig.profile.loading_cdeg + 1000
    ret = truth.return_ms()
    assert ret is not None and ret >= L.MIN_RETURN_MS


def test_a_chattering_home_switch_does_not_end_an_open_loop_return_at_depth():
    # The IMU dies at 25 deg and the home switch chatters (never cross-checked:
    # no angle).  Open loop believes it only after 100 ms closed: the person
    # still comes up.
    rig, truth = _at_depth_with("home_switch", lambda t: False)
    frozen = rig.inp.angle_cdeg

    def dead_and_chatter(r: Rig) -> None:
        r.inp.tilt_ok = False
        r.inp.angle_cdeg = frozen
        if r.t_ms % 110 < 30:
            r.inp.home_switch = True

    rig.sensor_override = dead_and_chatter
    rig.run_until(lambda r: r.out.state == S.OPEN_LOOP, 1000)
    rig.run_until(lambda r: r.out.state == S.FAULT, L.OPEN_LOOP_MAX_MS + 1000)
    assert rig.plant.angle_cdeg <= rig.profile.loading_cdeg + L.LOADING_TOL_CDEG
    ret = truth.return_ms()
    assert ret is not None and ret >= L.MIN_RETURN_MS


def test_a_switch_fault_is_cleared_only_at_the_table_once_the_switch_agrees():
    rig, _truth = _at_depth_with("home_switch", lambda t: True)
    rig.run_until(lambda r: r.out.alarm_bits & bit(A.A_SWITCH), 1000)
    finish(rig)
    rig.sensor_override = None  # repaired
    rig.run_ms(100)
    assert rig.ctrl.clear_faults() == 0
    assert rig.out.alarm_bits & bit(A.A_SWITCH) == 0 or rig.ctrl.request_start() == 0


# --- item 9: the true speed never exceeds the hard limit -------------------------


def test_true_speed_stays_under_the_hard_limit_with_a_motor_faster_than_its_scale():
    # Found by a review: at the profile's 6 deg/s on a motor faster than its
    # driver's scale, the setpoint waited at its lead while the table lagged,
    # then the table caught up at 6.5-7.5 deg/s.
    for motor_pct, lag_ms in ((SIM_MOTOR_PCT, 80), (150, 150), (200, 80)):
        prof = Profile(
            max_angle_cdeg=6000,
            hold_ms=10000,
            descent_cdps=L.MAX_CMD_RATE_CDPS,
            rise_cdps=L.MAX_CMD_RATE_CDPS,
        )
        rig = Rig(prof)
        rig.plant.speed_pct = motor_pct
        rig.plant.lag_ms = lag_ms
        truth = Truth(rig)
        to_hold(rig)
        finish(rig)
        assert rig.out.state == S.DONE
        assert truth.max_speed() <= L.MAX_RATE_CDPS, (motor_pct, lag_ms, truth.max_speed())


def test_true_speed_stays_under_the_profile_speed_after_a_pause():
    # Hold-to-run released and pressed again (the catch-up after a rest).
    prof = Profile(max_angle_cdeg=6000, hold_ms=60000, descent_cdps=400)
    rig = Rig(prof)
    rig.plant.speed_pct = 150
    truth = Truth(rig)
    rig.start_motorized_session()
    for _ in range(6):
        rig.run_ms(3000)
        rig.inp.hold_down = not rig.inp.hold_down
    assert truth.max_speed() <= prof.descent_cdps, truth.max_speed()


def test_a_motorized_table_measured_above_the_hard_limit_warns():
    # Faster than 6 deg/s (+0.5) but under the runaway cut-off (8 deg/s):
    # the measured speed is supervised against the hard limit too.
    rig = Rig(Profile(max_angle_cdeg=4000, hold_ms=300000))
    to_hold(rig)
    rig.plant.fault = "runaway"
    rig.plant.fault_cdps = 700
    rig.run_until(lambda r: r.out.alarm_bits & bit(A.A_TOO_FAST), 1000)
    assert rig.out.alarm_priority >= A.P_MEDIUM


# --- item 11: a frozen angle reading stops deeper motion ---------------------------


def test_frozen_tilt_reading_stops_deeper_motion_within_a_bounded_travel():
    # Found by a review: a reading that stops updating while still trusted
    # (a chip that stopped, a bus returning the last value) let a descent run
    # more than 5 deg past it.  Now: within 1 deg of commanded deeper travel
    # the angle is no longer trusted; deeper motion stops at once and the
    # person is brought up open loop.
    for motor_pct, speed in (
        (100, L.MAX_CMD_RATE_CDPS),
        (SIM_MOTOR_PCT, L.MAX_CMD_RATE_CDPS),
        (200, L.MAX_CMD_RATE_CDPS),
        (100, 100),
    ):
        prof = Profile(max_angle_cdeg=6000, hold_ms=300000, descent_cdps=speed, hr_mode=HR_OFF)
        rig = Rig(prof)
        rig.plant.speed_pct = motor_pct
        rig.start_motorized_session()
        rig.run_until(lambda r: r.plant.angle_cdeg >= 1000 and r.out.state == S.DESCENT, 120000)
        rig.run_ms(2000)
        frozen = rig.inp.angle_cdeg
        rig.sensor_override = lambda r, f=frozen: setattr(r.inp, "angle_cdeg", f)
        truth = Truth(rig)
        rig.run_until(lambda r: r.out.alarm_bits & bit(A.A_TILT), 3000)
        rig.run_ms(3000)
        deepest = max(r.angle_cdeg for r in truth.rows)
        assert deepest - frozen <= 300, (motor_pct, speed, deepest - frozen)
        assert rig.out.state == S.OPEN_LOOP and rig.out.motor_cmd_cdps <= 0
        rig.run_until(lambda r: r.out.state == S.FAULT, L.OPEN_LOOP_MAX_MS)
        assert rig.inp.home_switch  # brought up


def test_a_reading_that_follows_the_motor_is_not_taken_for_frozen():
    # A whole session, slow and fast, with a loaded (slow) motor: no false alarm.
    for motor_pct, speed in ((60, 300), (60, L.MAX_CMD_RATE_CDPS), (100, 100)):
        prof = Profile(max_angle_cdeg=4000, hold_ms=10000, descent_cdps=speed, hr_mode=HR_OFF)
        rig = Rig(prof)
        rig.plant.speed_pct = motor_pct
        rig.plant.lag_ms = 150
        to_hold(rig)
        finish(rig)
        assert rig.out.state == S.DONE, (motor_pct, speed, rig.out.alarm_bits)


# --- item 6: every output in its safe state at boot ----------------------------------


def test_every_output_is_safe_from_the_first_period_after_a_boot():
    for table_type in (S.MOTORIZED, S.MANUAL):
        for tilt_ok in (False, True):
            for angle in (-6000, 0, 3000, 9000):
                rig = Rig(Profile(max_angle_cdeg=3000), table_type=table_type, angle_cdeg=angle)
                rig.plant.manual_vel_cdps = 300
                rig.inp.hold_down = True  # whatever is pressed
                rig.inp.start_pressed = True
                rig.sensor_override = lambda r, ok=tilt_ok: setattr(r.inp, "tilt_ok", ok)
                while rig.out.state == S.SELFTEST or rig.t_ms == 0:
                    rig.period()
                    o = rig.out
                    if o.state != S.SELFTEST:
                        break
                    assert not o.motor_enable and o.motor_cmd_cdps == 0, (table_type, angle)
                    assert o.brake_on, (table_type, tilt_ok, angle, rig.t_ms)


def test_manual_lock_holds_through_a_reset():
    # ../shared/cases/safety/manual_reset_releases_lock.toml at the
    # controller: a head-heavy person held by the one-way lock just past the
    # limit; the board resets.  Before, SELFTEST released the lock and the
    # person fell to the 90 deg stop.
    prof = Profile(max_angle_cdeg=3000, table_type=S.MANUAL, hold_ms=60000)
    for late_tilt_ms in (0, 3000, 10000):
        rig = Rig(prof, angle_cdeg=3060, has_brake=True)
        rig.plant.manual_vel_cdps = 800  # pulled deeper by gravity whenever free

        def sensors(r: Rig, late=late_tilt_ms) -> None:
            r.inp.tilt_ok = r.t_ms >= late

        rig.sensor_override = sensors
        rig.run_ms(12000)
        assert rig.plant.angle_cdeg <= 3150, (late_tilt_ms, rig.plant.angle_cdeg)
        assert rig.out.brake_on


def test_controller_outputs_default_to_safe():
    out = ControlOutputs()
    assert out.brake_on and not out.motor_enable and out.motor_cmd_cdps == 0
    inp = ControlInputs()
    assert inp.estop_pressed and not inp.tilt_ok  # unknown inputs read as unsafe


# --- found by the random fault campaign (seeds 11 and 12) ------------------------


def _descending(prof: Profile) -> tuple[Rig, Truth]:
    rig = Rig(prof)
    rig.start_motorized_session()
    truth = Truth(rig)
    return rig, truth


def test_a_driver_running_on_while_the_command_slows_near_the_limit_is_cut_off():
    # Seed 11 timeline 237: a driver stuck at ~5.9 deg/s during a descent
    # went 2 deg past the limit while the command slowed (same direction, so
    # "against the command" never fired, and the learned gain followed it).
    prof = Profile(
        max_angle_cdeg=3100, hold_ms=60000, descent_cdps=L.MAX_CMD_RATE_CDPS, hr_mode=HR_OFF
    )
    rig, truth = _descending(prof)
    rig.run_until(lambda r: r.plant.angle_cdeg >= 500, 60000)
    rig.plant.fault = "runaway"  # the driver's output stuck at a fixed speed
    rig.plant.fault_cdps = rig.plant.vel_cdps
    rig.run_until(lambda r: r.out.state == S.FAULT, 60000)
    assert rig.out.alarm_bits & (bit(A.A_RUNON) | bit(A.A_RUNAWAY))
    rig.plant.fault = ""  # the contactor is open: nothing runs now
    rig.run_ms(1000)
    # cut within the debounce of passing the limit (the plant coasts on)
    # past the limit's tolerance, moving deeper, no deeper command: cut
    # within the runaway's 100 ms debounce (the plant coasts on until then)
    assert max(r.angle_cdeg for r in truth.rows) <= prof.max_angle_cdeg + L.LIMIT_TOL_CDEG + 100


def test_a_motor_above_the_hard_limit_is_cut_off_at_once():
    # Seed 11 timeline 143: a driver stuck at 6.4 deg/s ran 2 s above the
    # 6 deg/s hard limit before the run-on check; the measured speed is
    # supervised against the hard limit itself.
    prof = Profile(max_angle_cdeg=3600, hold_ms=60000, descent_cdps=500, hr_mode=HR_OFF)
    rig, truth = _descending(prof)
    rig.run_until(lambda r: r.plant.angle_cdeg >= 0, 60000)
    rig.plant.fault = "runaway"
    rig.plant.fault_cdps = L.MAX_RATE_CDPS + 40
    t0 = rig.t_ms
    rig.run_until(lambda r: r.out.state == S.FAULT, 5000)
    assert rig.out.alarm_bits & (bit(A.A_RUNAWAY) | bit(A.A_RUNON))
    above = [r for r in truth.rows if r.t_ms > t0 and r.vel_cdps > L.MAX_RATE_CDPS]
    assert len(above) * PERIOD_MS <= 500, len(above)


def test_a_motor_stuck_just_above_the_hard_limit_is_cut_off_within_the_judged_window():
    # Seed 2029 timeline 1239: a driver stuck at a true 6.13 deg/s (between
    # the 6 deg/s limit and the runaway's old 6.25 threshold) ran 0.6 s above
    # the limit before the faster-than-commanded run-on check cut it.
    for stuck in (L.MAX_RATE_CDPS + 13, L.MAX_RATE_CDPS + 20):
        prof = Profile(
            max_angle_cdeg=3200, hold_ms=60000, descent_cdps=L.MAX_CMD_RATE_CDPS, hr_mode=HR_OFF
        )
        rig, truth = _descending(prof)
        rig.run_until(lambda r: r.plant.angle_cdeg >= -1900, 60000)
        rig.plant.fault = "runaway"
        rig.plant.fault_cdps = stuck
        t0 = rig.t_ms
        rig.run_until(lambda r: r.out.state == S.FAULT, 5000)
        assert rig.out.alarm_bits & (bit(A.A_RUNAWAY) | bit(A.A_RUNON))
        above = [r for r in truth.rows if r.t_ms > t0 and r.vel_cdps > L.MAX_RATE_CDPS]
        assert len(above) * PERIOD_MS <= 300, (stuck, len(above))


def test_a_profile_at_the_hard_limit_stays_under_it_with_a_gyro_reading_low():
    # Seed 11 timelines 94, 253: a 6 deg/s profile ran at a true 6.06 deg/s
    # with the measured speed 1-2 % low (within the gyro's +-3 %).
    prof = Profile(
        max_angle_cdeg=4000, hold_ms=10000, descent_cdps=L.MAX_CMD_RATE_CDPS, hr_mode=HR_OFF
    )
    rig = Rig(prof)

    def low(r: Rig) -> None:
        # A motor that speeds up as the person's weight helps it deeper (the
        # learned gain trails it), read 2 % low by the gyro.
        r.plant.speed_pct = 125 + max(0, r.plant.angle_cdeg + 6000) // 400
        r.inp.rate_cdps = r.plant.vel_cdps * 98 // 100

    rig.sensor_override = low
    rig.start_motorized_session()
    truth = Truth(rig)
    rig.run_until(lambda r: r.out.state == S.HOLD, 60000)
    assert truth.max_speed() <= L.MAX_RATE_CDPS


def test_an_overshoot_while_holding_inverted_is_never_pulled_up_fast():
    # Seed 11 timelines 127, 284: a run-on carried the table 7 deg past the
    # hold's setpoint, through horizontal; once it stopped, the hold pulled
    # it back up through horizontal at several deg/s (a 1 s "return").  Here
    # the table is put 3 deg deeper than the hold's setpoint at -5 deg.
    prof = Profile(max_angle_cdeg=1000, hold_ms=60000, descent_cdps=300, hr_mode=HR_OFF)
    rig, truth = _descending(prof)
    rig.run_until(lambda r: r.plant.angle_cdeg >= -600, 60000)
    rig.inp.hold_down = False
    rig.run_ms(3000)
    assert rig.out.state == S.HOLD
    rig.plant.angle_k = 300 * 1000  # 3 deg head-down, the setpoint still at ~-5
    rig.run_ms(20000)
    ups = [r for r in truth.rows if r.angle_cdeg > 0 and r.vel_cdps < 0]
    assert ups  # it does correct, slowly
    assert all(
        -r.vel_cdps * L.MIN_RETURN_MS <= (r.angle_cdeg + 10) * 1000 for r in ups
    )  # <= angle / 30 s
    assert min(r.angle_cdeg for r in truth.rows[-10:]) > 0  # not back to horizontal in 20 s


def test_a_hold_to_run_release_brakes_from_where_the_table_is():
    # Seed 12 timeline 209: released at -7.4 deg and 4.4 deg/s, the table
    # coasted 8.6 deg (the setpoint's lead, then its braking distance) to
    # 1.2 deg, and the return planned from the setpoint said "already
    # head-up": 1.2 deg -> horizontal in 14 s.
    prof = Profile(max_angle_cdeg=1400, hold_ms=12000, descent_cdps=450, hr_mode=HR_OFF)
    rig, truth = _descending(prof)
    rig.run_until(lambda r: r.plant.angle_cdeg >= -740, 60000)
    v = rig.plant.vel_cdps
    a0 = rig.plant.angle_cdeg
    rig.inp.hold_down = False
    rig.run_ms(5000)
    coast = max(r.angle_cdeg for r in truth.rows) - a0
    braking = v * v // (2 * L.MAX_ACCEL_CDPS2)  # the table's own v^2/2a
    assert coast <= braking + 150, (coast, braking)
    finish(rig)
    ret = truth.return_ms()
    assert ret is None or ret >= L.MIN_RETURN_MS


def test_a_run_on_after_a_stall_taken_for_a_frozen_reading_is_cut_off():
    # Seed 2027 timeline 697: a stall during the descent looked like a frozen
    # reading (the angle did not follow), so the return went open loop; the
    # motor came back, then ran on deeper while the open loop drove up, and
    # the live reading (no longer trusted) showed it all the way to +15 deg.
    prof = Profile(
        max_angle_cdeg=4000, hold_ms=26000, descent_cdps=L.MAX_CMD_RATE_CDPS, hr_mode=HR_OFF
    )
    rig, _ = _descending(prof)
    rig.run_until(lambda r: r.plant.angle_cdeg >= -4000, 60000)
    rig.plant.fault = "stall"
    rig.run_until(lambda r: r.out.state == S.OPEN_LOOP, 5000)
    rig.plant.fault = ""  # the motor works again: the open loop drives up
    rig.run_ms(3000)
    a0 = rig.plant.angle_cdeg
    rig.plant.fault = "runaway"  # then the driver sticks running deeper
    rig.plant.fault_cdps = 230
    rig.run_until(lambda r: r.out.state == S.FAULT, 10000)
    assert rig.out.alarm_bits & bit(A.A_RUNON)
    assert rig.plant.angle_cdeg <= a0 + L.UNCMD_DRIFT_CDEG + 150


def test_a_stop_near_horizontal_that_coasts_inverted_comes_back_at_the_return_pace():
    # Seed 2028 timeline 527: a STOP at -0.7 deg while descending at 6 deg/s;
    # the table braked to +3.1 deg, already "head-up" when the stop came, so
    # it rested and rose from there: 3.1 deg -> horizontal in 11 s.  Seed 2029
    # timeline 1176: the same near horizontal, 1 deg -> horizontal in 7 s.
    # Whatever the path, an excursion below horizontal comes back no faster
    # than its deepest angle over the return time.
    for stop_at in (-200, -70, 0, 60):
        prof = Profile(
            max_angle_cdeg=2000, hold_ms=10000, descent_cdps=L.MAX_CMD_RATE_CDPS, hr_mode=HR_OFF
        )
        rig, truth = _descending(prof)
        rig.run_until(lambda r, a=stop_at: r.plant.angle_cdeg >= a, 60000)
        rig.inp.stop_pressed = True
        rig.run_ms(50)
        rig.inp.stop_pressed = False
        rig.inp.hold_down = False
        finish(rig)
        assert rig.out.state in (S.DONE, S.IDLE), (stop_at, S.STATE_NAMES[rig.out.state])
        peak = max(r.angle_cdeg for r in truth.rows)
        ret = truth.return_ms()
        assert peak > 100, (stop_at, peak)  # it did coast past horizontal
        assert ret is not None and ret >= L.MIN_RETURN_MS, (stop_at, peak, ret)


def test_a_reset_just_short_of_loading_mid_session_still_ends_at_loading():
    # Seed 2030 timeline 535: a power reset during a slow descent 4.97 deg
    # (measured) from the loading angle: the self-test found the table "at
    # loading" within its 5 deg tolerance and went idle, 5.03 deg away, true.
    # A session interrupted by a reset ends at the loading position itself.
    for away in (150, 300, 450, 495):
        prof = Profile(max_angle_cdeg=2800, hold_ms=20000, descent_cdps=100, hr_mode=HR_OFF)
        rig, _ = _descending(prof)
        at_cdeg = prof.loading_cdeg + away
        rig.run_until(lambda r, a=at_cdeg: r.plant.angle_cdeg >= a, 60000)
        kept = rig.ctrl.record()
        assert kept != (0, 0, kept[2])  # the record says a session was running
        boot = Rig(prof, angle_cdeg=rig.plant.angle_cdeg, resume=kept)
        finish(boot)
        boot.run_ms(3000)
        assert boot.out.state in (S.DONE, S.IDLE), (away, S.STATE_NAMES[boot.out.state])
        d = boot.plant.angle_cdeg - prof.loading_cdeg
        assert abs(d) <= L.LOADING_TOL_CDEG // 2, (away, d)


def test_a_rise_that_begins_a_hair_below_horizontal_still_reaches_loading():
    # Seed 2031 timeline 1321: a reset at +0.1 deg; the return came to rest
    # at +0.05 deg (within the deadband), and the excursion pace for a
    # 0.05 deg "inversion" was a command the gain division made 0: the rise
    # stood at horizontal for good.
    for at, reads_deeper in ((5, 4), (20, 4), (29, 2), (45, 0)):
        prof = Profile(max_angle_cdeg=3400, hold_ms=10000, hr_mode=HR_OFF)
        boot = Rig(prof, angle_cdeg=at, resume=(3400, 0, 123))

        def offset(r: Rig, k: int = reads_deeper) -> None:
            r.inp.angle_cdeg += k  # the angle reads a hair deep (mount, noise)
            # the return's 0.01 deg/s does not turn the motor (the sim's
            # return ended 0.05 deg short): the rest and the rise begin there
            slow = r.out.state == S.RETURN and 0 < abs(r.out.motor_cmd_cdps) < 2
            r.plant.fault = "stall" if slow else ""

        boot.sensor_override = offset
        finish(boot, 200000)
        assert boot.out.state in (S.DONE, S.IDLE), (at, S.STATE_NAMES[boot.out.state])
        d = boot.plant.angle_cdeg - prof.loading_cdeg
        assert abs(d) <= L.LOADING_TOL_CDEG, (at, d)


def test_a_run_on_that_starts_just_before_the_limit_is_cut_at_once_past_it():
    # Seed 2032 timeline 1561: a driver stuck at 6.1 deg/s 0.7 deg before a
    # 19 deg limit while the descent braked: the veto zeroed the command at
    # the limit, the run-on check waited for a coast, and the past-limit
    # cut-off (limit + 0.5 deg, then the runaway's 100 ms debounce) came at
    # 20.1 deg, past the campaign's 1 deg margin.  Now the runaway is
    # debounced 30 ms: cut within 50 ms of the reading passing limit + 0.5.
    for before, stuck in ((70, 610), (30, 610), (150, 600), (70, 450)):
        prof = Profile(max_angle_cdeg=1900, hold_ms=19000, descent_cdps=450, hr_mode=HR_OFF)
        rig, _ = _descending(prof)
        rig.plant.speed_pct = 132
        at = prof.max_angle_cdeg - before
        rig.run_until(lambda r, a=at: r.plant.angle_cdeg >= a, 60000)
        rig.plant.fault = "runaway"
        rig.plant.fault_cdps = stuck
        past = prof.max_angle_cdeg + L.LIMIT_TOL_CDEG
        rig.run_until(lambda r, a=past: r.inp.angle_cdeg > a, 5000)
        t0 = rig.t_ms
        rig.run_until(lambda r: r.out.state == S.FAULT, 5000)
        assert rig.out.alarm_bits & bit(A.A_RUNAWAY)
        assert rig.t_ms - t0 <= 50, (before, stuck, rig.t_ms - t0)


def test_a_stall_taken_for_a_frozen_reading_then_cured_still_returns_gradually():
    # Seed 2033 timeline 3960: the motor stalled during a descent at 15 deg;
    # the reading did not follow, so the return went open loop, and dead
    # reckoning "brought the table up" while it stood.  The motor came back
    # during the fast leg home: 15 deg to horizontal in 8 s.  A reading that
    # moves again is alive: the table is at least that deep.
    for stall_s in (20, 50, 70):
        prof = Profile(
            max_angle_cdeg=3900, hold_ms=13000, descent_cdps=L.MAX_CMD_RATE_CDPS, hr_mode=HR_OFF
        )
        rig, truth = _descending(prof)
        rig.run_until(lambda r: r.plant.angle_cdeg >= 1500, 60000)
        rig.plant.fault = "stall"
        rig.run_until(lambda r: r.out.state == S.OPEN_LOOP, 10000)
        rig.run_ms(stall_s * 1000)
        rig.plant.fault = ""  # the motor works again
        finish(rig)
        ret = truth.return_ms()
        if ret is None:  # the open loop's time bound ran out first: cut off, latched
            assert rig.out.state == S.FAULT and rig.out.alarm_priority == A.P_HIGH, stall_s
        else:
            assert ret >= L.MIN_RETURN_MS, (stall_s, ret)
