# The controller inside MicroPython too: a session end to end, refusals, the
# e-stop latch, and no heap allocation by the step in every state.
from ctl_rig import Rig

from inversa import reasons
from inversa.control import alarm_names as AN
from inversa.control import alarms as A
from inversa.control import states as S
from inversa.control.profile import HR_OFF, Profile
from mpyunit import assert_no_alloc


def _Rig(profile=None, angle=-6000, **kw):
    # The shared rig with an ideal table (follows the command exactly), a
    # small event log (the fixed heap), heart-rate rules off unless a test's
    # profile turns them on, and no pulse quality (as a sensor still starting).
    r = Rig(
        profile if profile is not None else Profile(hr_mode=HR_OFF),
        angle_cdeg=angle,
        lag_ms=0,
        events_n=64,
        **kw,
    )
    r.inp.hr_quality_pct = 0
    return r


def test_names_cover_every_id():
    assert len(S.STATE_NAMES) == S.N_STATES
    assert len(AN.ALARM_NAMES) == A.N_ALARMS
    assert len(AN.FAULT_NAMES) == 10


def test_motorized_session_end_to_end():
    r = _Rig(Profile(hr_mode=HR_OFF, max_angle_cdeg=2000, hold_ms=10000))
    r.until_state(S.IDLE, 2000)
    assert r.ctrl.request_start() == reasons.OK
    r.until_state(S.READY, 1000)
    r.run_ms(2000)
    assert r.out.motor_cmd_cdps == 0 and r.out.state == S.READY  # the host alone moves nothing
    r.inp.hold_down = True
    r.until_state(S.HOLD, 60000)
    r.inp.hold_down = False
    assert 1900 <= r.inp.angle_cdeg <= 2000
    r.until_state(S.RETURN, 20000)
    r.until_state(S.REST, 60000)
    r.until_state(S.RISE, 30000)
    r.until_state(S.DONE, 60000)
    assert r.out.deepest_cdeg >= 1900 and r.out.alarm_bits == 0


def test_refusals_change_nothing():
    r = _Rig()
    r.until_state(S.IDLE, 2000)
    assert r.ctrl.set_profile(Profile(max_angle_cdeg=99999)) == reasons.OUT_OF_RANGE
    assert r.ctrl.profile.max_angle_cdeg == Profile().max_angle_cdeg
    assert r.ctrl.clear_faults() == reasons.OK  # nothing latched: harmless
    assert r.ctrl.request_start() == reasons.OK
    r.run_ms(100)
    assert r.ctrl.request_start() == reasons.WRONG_STATE
    assert r.ctrl.set_profile(Profile(max_angle_cdeg=3000)) == reasons.WRONG_STATE


def test_estop_latches_until_released_and_cleared_locally():
    r = _Rig()
    r.until_state(S.IDLE, 2000)
    r.inp.estop_pressed = True
    r.run_ms(10)
    assert r.out.state == S.ESTOP and not r.out.motor_enable and r.out.brake_on
    r.inp.estop_pressed = False
    r.run_ms(100)
    assert r.out.state == S.ESTOP
    assert r.ctrl.clear_faults() == reasons.FAULT_LATCHED
    r.inp.stop_pressed = True
    r.run_ms(10)
    r.inp.stop_pressed = False
    assert r.out.state == S.IDLE and r.out.alarm_bits == 0


def _no_alloc_in(r, state):
    assert r.out.state == state, S.STATE_NAMES[r.out.state]
    assert_no_alloc(r.period, 50)
    assert r.out.state == state, "left %s while measuring" % S.STATE_NAMES[state]


def test_step_allocates_nothing_in_any_state():
    prof = Profile(hr_mode=HR_OFF, max_angle_cdeg=3000, hold_ms=600000, rest_ms=60000)
    r = _Rig(prof)
    _no_alloc_in(r, S.SELFTEST)
    r.until_state(S.IDLE, 2000)
    _no_alloc_in(r, S.IDLE)
    r.ctrl.request_start()
    r.until_state(S.READY, 1000)
    _no_alloc_in(r, S.READY)
    r.inp.hold_down = True
    r.run_ms(3000)
    _no_alloc_in(r, S.DESCENT)
    r.until_state(S.HOLD, 60000)
    r.inp.hold_down = False
    _no_alloc_in(r, S.HOLD)
    r.ctrl.request_return()
    r.run_ms(2000)
    _no_alloc_in(r, S.RETURN)
    r.until_state(S.REST, 60000)
    _no_alloc_in(r, S.REST)
    r.until_state(S.RISE, 70000)
    _no_alloc_in(r, S.RISE)
    r.until_state(S.DONE, 60000)
    _no_alloc_in(r, S.DONE)
    r.inp.estop_pressed = True
    r.run_ms(20)
    _no_alloc_in(r, S.ESTOP)


def test_step_allocates_nothing_in_baseline_fault_and_open_loop():
    r = _Rig(Profile(max_angle_cdeg=3000, hold_ms=600000))  # heart-rate rules on
    r.until_state(S.IDLE, 2000)
    r.ctrl.request_start()
    r.run_ms(100)
    _no_alloc_in(r, S.BASELINE)
    r.until_state(S.READY, 20000)
    r.inp.hold_down = True
    r.until_state(S.HOLD, 60000)
    r.inp.tilt_ok = False  # the sensor dies while inverted
    r.frozen = True
    r.run_ms(100)
    _no_alloc_in(r, S.OPEN_LOOP)
    r2 = _Rig()
    r2.until_state(S.IDLE, 2000)
    r2.frozen = True
    r2.inp.end_switch = True  # both limit switches at once and no angle: wiring fault
    r2.inp.home_switch = True
    r2.inp.tilt_ok = False
    r2.run_ms(50)
    _no_alloc_in(r2, S.FAULT)


def test_manual_table_steps_allocate_nothing():
    r = _Rig(Profile(hr_mode=HR_OFF, table_type=S.MANUAL, max_angle_cdeg=3000), angle=0)
    r.frozen = True
    r.inp.angle_cdeg = 0
    r.until_state(S.IDLE, 2000)
    r.inp.angle_cdeg = 1500
    r.inp.rate_cdps = 0
    r.run_ms(100)
    assert r.out.state in (S.DESCENT, S.HOLD)
    r.run_ms(2000)
    _no_alloc_in(r, S.HOLD)
    r.inp.angle_cdeg = 3500  # too deep: high alarm, lock
    r.run_ms(50)
    assert r.out.alarm_priority == A.P_HIGH and r.out.brake_on
    _no_alloc_in(r, S.HOLD)


# --- issue 14: e-stop from the first period, latches across a reset ---------


def _press_stop(r):
    r.inp.stop_pressed = True
    r.run_ms(30)
    r.inp.stop_pressed = False
    r.run_ms(10)


def test_estop_pressed_during_the_selftest_is_latched():
    # Handed case estop_during_selftest: a reset at 25 deg, the e-stop
    # pressed 0.2..0.7 s after the boot.  It was ignored; now it latches.
    r = _Rig(Profile(hr_mode=HR_OFF, max_angle_cdeg=2500), angle=2500)
    r.run_ms(200)
    assert r.out.state == S.SELFTEST
    r.inp.estop_pressed = True
    r.run_ms(500)
    r.inp.estop_pressed = False
    r.run_ms(3000)
    assert r.out.state == S.ESTOP and r.out.alarm_bits & (1 << A.A_ESTOP)
    assert not r.out.motor_enable and r.out.brake_on
    assert r.ctrl.clear_faults() == reasons.FAULT_LATCHED  # not from the host
    assert r.out.state == S.ESTOP
    _press_stop(r)  # the local clear: a gradual return
    r.run_ms(1000)
    assert r.out.state == S.RETURN and r.out.alarm_bits & (1 << A.A_ESTOP) == 0


def test_estop_held_since_boot_is_a_press():
    r = _Rig()
    r.inp.estop_pressed = True  # pressed across the reset, released at 0.4 s
    r.run_ms(400)
    r.inp.estop_pressed = False
    r.run_ms(2000)
    assert r.out.state == S.ESTOP


def test_the_estop_inputs_own_boot_reading_is_not_a_press():
    # The two-channel input reads "pressed" until both channels prove closed
    # (50 ms): that is not a press.
    r = _Rig()
    r.inp.estop_pressed = True
    r.run_ms(60)
    r.inp.estop_pressed = False
    r.until_state(S.IDLE, 2000)
    assert r.out.alarm_bits == 0


def test_a_latch_that_needs_the_local_clear_survives_a_reset():
    for alarm, state in ((A.A_ESTOP, S.ESTOP), (A.A_STALL, S.FAULT), (A.A_RUNAWAY, S.FAULT)):
        r = _Rig(Profile(hr_mode=HR_OFF), angle=2000)
        r.ctrl._alarms.update(0, 1 << alarm)  # latched before the reset
        r.ctrl._alarms.update(1000, 1 << alarm)
        # persist_latched is what the app reads after a period (a plain
        # attribute the controller sets after each step, issue 10): the
        # latch, not its condition, keeps it
        r.period()
        kept = r.ctrl.persist_latched
        assert kept == 1 << alarm
        # the reset: a new controller with what was persisted
        r2 = _Rig(Profile(hr_mode=HR_OFF), angle=2000, latched=kept)
        r2.period()
        assert r2.out.state == state and r2.out.alarm_bits == kept
        assert not r2.out.motor_enable and r2.out.brake_on
        r2.run_ms(3000)
        assert r2.out.state == state
        assert r2.ctrl.clear_faults() == reasons.FAULT_LATCHED
        _press_stop(r2)
        r2.run_ms(100)
        assert r2.out.state == S.RETURN and r2.out.alarm_bits == 0
        assert r2.ctrl.persist_latched == 0


def test_a_slow_boot_after_the_controller_is_built_is_not_an_estop_press():
    # Found on the emulated Pico: the rest of the boot after the controller
    # was built took > 250 ms, and the e-stop input's own boot reading (it
    # reads "pressed" until both channels prove closed, 50 ms) then latched
    # a released e-stop at the first period.  Boot time is counted from the
    # loop's first period.
    r = _Rig()
    r.clock.advance_ms(1500)  # building the link, collecting the boot's garbage ...
    r.inp.estop_pressed = True
    r.run_ms(60)
    r.inp.estop_pressed = False
    r.until_state(S.IDLE, 2000)
    assert r.out.alarm_bits == 0 and r.out.state == S.IDLE


def test_latches_the_host_may_clear_are_not_kept():
    r = _Rig(latched=(1 << A.A_HR_HIGH) | (1 << A.A_TILT))
    r.until_state(S.IDLE, 2000)
    assert r.out.alarm_bits == 0


# --- issue 14: motion only from a press that begins after arming ---------------


def test_a_motion_input_closed_at_arming_is_a_fault_and_nothing_moves():
    # Handed finding: hold-to-run stuck closed plus a host START descended
    # after the baseline with nobody touching the table.
    for field in ("hold_down", "hold_up", "start_pressed"):
        r = _Rig(Profile(max_angle_cdeg=2000))  # heart-rate rules on: a baseline
        setattr(r.inp, field, True)  # stuck closed since power-on
        r.until_state(S.IDLE, 2000)
        r.run_ms(100)
        assert r.ctrl.request_start() == reasons.OK
        r.run_ms(20)
        assert r.out.state == S.FAULT, (field, S.STATE_NAMES[r.out.state])
        assert r.out.alarm_bits & (1 << A.A_INPUT_STUCK)
        assert r.out.fault_bits & A.F_INPUT and r.out.alarm_priority == A.P_HIGH
        for _ in range(3000):  # 30 s: never any motion
            r.period()
            assert not r.out.motor_enable and r.out.motor_cmd_cdps == 0
        assert r.inp.angle_cdeg == -6000
        assert r.ctrl.clear_faults() == reasons.FAULT_LATCHED  # only at the table
        _press_stop(r)
        assert r.out.state == S.FAULT  # still closed: the clear is refused
        setattr(r.inp, field, False)  # repaired
        r.run_ms(50)
        _press_stop(r)
        assert r.out.state == S.IDLE and r.out.alarm_bits == 0


def test_descent_needs_a_press_that_begins_after_arming():
    r = _Rig(Profile(hr_mode=HR_OFF, max_angle_cdeg=2000))
    r.until_state(S.IDLE, 2000)
    assert r.ctrl.request_start() == reasons.OK
    r.until_state(S.READY, 100)
    r.inp.hold_down = True  # a press after arming: motion
    r.run_ms(2000)
    assert r.out.state == S.DESCENT and r.inp.angle_cdeg > -6000


def test_a_down_contact_closed_during_the_baseline_never_moves_the_table():
    # Found by `inversa sim --campaign 300 --seed 11` (timeline 77): DOWN stuck
    # closed during the baseline (after START, before READY) descended at
    # READY with nobody pressing.  The press that moves must begin in READY.
    r = _Rig(Profile(max_angle_cdeg=2000))  # heart-rate rules on: a baseline
    r.until_state(S.IDLE, 2000)
    assert r.ctrl.request_start() == reasons.OK
    r.run_ms(300)
    assert r.out.state == S.BASELINE
    r.inp.hold_down = True  # the contact closes (or the person presses early)
    r.until_state(S.READY, 30000)
    for _ in range(2000):  # 20 s held: never any motion
        r.period()
        assert r.out.state != S.DESCENT and r.out.motor_cmd_cdps == 0
    assert r.inp.angle_cdeg == -6000
    r.inp.hold_down = False  # released and pressed again: a press in READY
    if r.out.state == S.READY:
        r.run_ms(50)
        r.inp.hold_down = True
        r.run_ms(2000)
        assert r.out.state == S.DESCENT and r.inp.angle_cdeg > -6000


# --- issue 14: commands act at once or not at all ------------------------------


def test_commands_act_at_once():
    r = _Rig(Profile(hr_mode=HR_OFF, max_angle_cdeg=2000, hold_ms=60000))
    r.until_state(S.IDLE, 2000)
    assert r.ctrl.request_start() == reasons.OK
    assert r.ctrl.state == S.READY  # before any further step
    r.run_ms(100)
    r.inp.hold_down = True
    r.until_state(S.HOLD, 60000)
    r.inp.hold_down = False
    r.run_ms(100)
    assert r.ctrl.request_return() == reasons.OK
    assert r.ctrl.state == S.RETURN


def test_an_accepted_start_is_never_acted_on_later():
    # The start is accepted, then an e-stop before the next period: once the
    # e-stop is cleared the old start must not arm a session by itself.
    r = _Rig()
    r.until_state(S.IDLE, 2000)
    assert r.ctrl.request_start() == reasons.OK
    r.inp.estop_pressed = True
    r.run_ms(50)
    assert r.out.state == S.ESTOP
    r.inp.estop_pressed = False
    r.run_ms(100)
    _press_stop(r)
    r.run_ms(1000)
    assert r.out.state == S.IDLE


def test_a_refused_clear_leaves_every_latch_in_place():
    # Handed finding: clear_faults() refused because one latch's condition
    # persisted had already dropped the others.
    r = _Rig(Profile(hr_mode=HR_OFF))
    r.until_state(S.IDLE, 2000)
    r.frozen = True
    r.inp.home_switch = False
    r.inp.end_switch = True  # the end switch: latched (open loop)
    r.inp.tilt_ok = False  # and the tilt sensor lost: latched, still lost
    r.run_ms(100)
    r.inp.end_switch = False  # the end switch's condition is gone
    r.run_ms(100)
    bits = r.out.alarm_bits
    assert bits & (1 << A.A_END_SWITCH) and bits & (1 << A.A_TILT)
    state = r.ctrl.state
    assert r.ctrl.clear_faults() == reasons.FAULT_LATCHED
    assert r.ctrl._alarms.active == bits and r.ctrl.state == state
    r.period()
    assert r.out.alarm_bits == bits


# --- issue 14: daily time survives a reset, a day is 24 h of powered time ---------


def test_the_daily_allowance_comes_back_after_a_day_of_powered_time():
    from inversa.control import limits as L

    p = Profile(hr_mode=HR_OFF, daily_ms=60000)
    r = _Rig(p, daily_used_ms=60000, day_ms=L.DAY_MS - 20000)  # used up, as persisted
    r.until_state(S.IDLE, 2000)
    assert r.ctrl.request_start() == reasons.DAILY_LIMIT
    r.run_ms(20000)
    assert r.ctrl.daily_used_ms == 0 and r.ctrl.day_ms == 0
    assert r.ctrl.request_start() == reasons.OK


def test_record_follows_the_session_and_survives_the_selftest():
    prof = Profile(hr_mode=HR_OFF, max_angle_cdeg=3000, hold_ms=600000)
    r = _Rig(prof)
    seq = r.ctrl.record_seq
    r.until_state(S.IDLE, 2000)
    r.run_ms(20)
    assert r.ctrl.record_seq != seq  # known now: at loading, no session
    assert r.ctrl.record()[:2] == (0, 0)
    r.ctrl.request_start()
    r.until_state(S.READY, 1000)
    r.inp.hold_down = True
    r.until_state(S.HOLD, 60000)
    r.run_ms(3000)
    deep, last, gain = r.ctrl.record()
    assert 2800 <= deep <= 3000 and 2800 <= last <= 3000
    assert 100 <= gain <= 110  # the ideal table follows its command exactly
    # A reset now: the new controller is given the record and keeps it
    # through its self-test, however long the angle stays untrusted.
    r2 = _Rig(prof, angle=2900, resume=(deep, last, gain))
    r2.frozen = True
    r2.inp.tilt_ok = False
    r2.inp.angle_cdeg = 0
    r2.run_ms(3000)
    assert r2.ctrl.record() == (deep, last, gain)
    r2.until_state(S.OPEN_LOOP, 5000)
    assert r2.out.motor_cmd_cdps <= 0
    assert r2.ctrl.record() == (deep, last, gain)
