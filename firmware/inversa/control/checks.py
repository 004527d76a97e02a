# The controller's raw safety checks: each period, from the inputs, whether
# the angle can be trusted, what the home and end switches may be believed to
# say, and the raw condition of every alarm (one bit per alarm, alarms.B_*),
# which the rule table (alarms.py) then debounces, latches and escalates.
# Nothing here moves the table or changes the state.
#
# Functions of the Controller (`ctl`), called from Controller._step:
#     tilt_ok = trusted(ctl, inp, dt, angle, stop_edge)
#     home = switches(ctl, inp, dt, angle, tilt_ok)
#     cond = conditions(ctl, inp, t, dt, st, angle, tilt_ok, home)

from inversa.compat import const, ticks_diff
from inversa.control import drive
from inversa.control.profile import HR_OFF

# Inlined constants (issue 10): a module attribute costs ~4 us a lookup on an
# RP2040 and an imported name ~1 us, a const() nothing.  Each one names
# its source; tests/fw/test_inlined_consts.py checks every value.
_BASELINE = const(2)  # states.BASELINE
_BASELINE_MS = const(15000)  # limits.BASELINE_MS
_B_CONTACTOR = const(33554432)  # alarms.B_CONTACTOR
_B_CONTRA = const(134217728)  # alarms.B_CONTRA
_B_DAILY = const(8388608)  # alarms.B_DAILY
_B_END_SWITCH = const(8)  # alarms.B_END_SWITCH
_B_ESTOP = const(1)  # alarms.B_ESTOP
_B_HOLD_OVER = const(2097152)  # alarms.B_HOLD_OVER
_B_HOME_TIMEOUT = const(16)  # alarms.B_HOME_TIMEOUT
_B_HR_DROP = const(32768)  # alarms.B_HR_DROP
_B_HR_HIGH = const(4096)  # alarms.B_HR_HIGH
_B_HR_LOST = const(65536)  # alarms.B_HR_LOST
_B_HR_LOW = const(8192)  # alarms.B_HR_LOW
_B_HR_RISE = const(16384)  # alarms.B_HR_RISE
_B_INPUT_STUCK = const(67108864)  # alarms.B_INPUT_STUCK
_B_LEASE = const(131072)  # alarms.B_LEASE
_B_MAINS_LOST = const(16777216)  # alarms.B_MAINS_LOST
_B_NO_BASELINE = const(4194304)  # alarms.B_NO_BASELINE
_B_OVER_LIMIT = const(1024)  # alarms.B_OVER_LIMIT
_B_REBOOT = const(262144)  # alarms.B_REBOOT
_B_RISE_FAST = const(1048576)  # alarms.B_RISE_FAST
_B_RUNAWAY = const(512)  # alarms.B_RUNAWAY
_B_RUNON = const(64)  # alarms.B_RUNON
_B_SELFTEST = const(2)  # alarms.B_SELFTEST
_B_STALL = const(32)  # alarms.B_STALL
_B_SWITCH = const(268435456)  # alarms.B_SWITCH
_B_TILT = const(4)  # alarms.B_TILT
_B_TIME_LIMIT = const(2048)  # alarms.B_TIME_LIMIT
_B_TOO_FAST = const(524288)  # alarms.B_TOO_FAST
_COACH_TOL_CDPS = const(30)  # limits.COACH_TOL_CDPS
_DESCENT = const(4)  # states.DESCENT
_DONE = const(9)  # states.DONE
_END_SWITCH_MIN_CDEG = const(7000)  # limits.END_SWITCH_MIN_CDEG
_ESTOP = const(11)  # states.ESTOP
_ESTOP_BOOT_SETTLE_MS = const(250)  # limits.ESTOP_BOOT_SETTLE_MS
_FAULT = const(10)  # states.FAULT
_HOLD = const(5)  # states.HOLD
_IDLE = const(1)  # states.IDLE
_HOME_AGREE_CDEG = const(250)  # limits.HOME_AGREE_CDEG
_HOME_CONFIRM_MS = const(100)  # limits.HOME_CONFIRM_MS
_HOME_DISAGREE_CDEG = const(2000)  # limits.HOME_DISAGREE_CDEG
_HORIZONTAL_BAND_CDEG = const(500)  # limits.HORIZONTAL_BAND_CDEG
_LIMIT_HYST_CDEG = const(100)  # limits.LIMIT_HYST_CDEG
_LIMIT_TOL_CDEG = const(50)  # limits.LIMIT_TOL_CDEG
_MANUAL_SPEED_TOL_CDPS = const(50)  # limits.MANUAL_SPEED_TOL_CDPS
_MAX_INVERTED_MS = const(900000)  # limits.MAX_INVERTED_MS
_MAX_RATE_CDPS = const(600)  # limits.MAX_RATE_CDPS
_OPEN_LOOP = const(12)  # states.OPEN_LOOP
_READY = const(3)  # states.READY
_REST = const(7)  # states.REST
_RETURN_MARGIN_MS = const(1500)  # limits.RETURN_MARGIN_MS
_RISE = const(8)  # states.RISE
# A rise's inverted leg may take this many times a return from the same
# depth (an unlearned motor gain is assumed 2x; a slow motor is 0.6x).
_RISE_SLOW_X = const(4)
_RETURN = const(6)  # states.RETURN
_RUNON_CDPS = const(100)  # limits.RUNON_CDPS
_SELFTEST = const(0)  # states.SELFTEST
_SELFTEST_MS = const(1000)  # limits.SELFTEST_MS
_UNCMD_DRIFT_CDEG = const(300)  # limits.UNCMD_DRIFT_CDEG
_TILT_NOT_READY = const(64)  # sense.flags.TILT_NOT_READY (the filter settling)

# Motion inputs found closed when a session was armed (issue 14: a
# hold-to-run contact stuck closed plus a host START moved the table).
_IN_DOWN = const(1)
_IN_UP = const(2)
_IN_START = const(4)
_HB = const(500)  # = limits.HORIZONTAL_BAND_CDEG


_LOADING_TOL_CDEG = const(500)  # limits.LOADING_TOL_CDEG


def at_loading(ctl, angle, home):
    # At the loading position?  A function, not a Controller method: a
    # method looked up on the controller first searches its nearly full
    # attribute table (docs/ARCHITECTURE.md "The loop on the RP2040").
    # A trusted angle decides; the home switch only when there is none
    # (a chattering switch must not end a rise or a recovery early).
    if home and not ctl._tilt_ok:
        return True
    if ctl._manual:
        return angle <= ctl.profile.loading_cdeg + _LOADING_TOL_CDEG
    d = angle - ctl.profile.loading_cdeg
    return -_LOADING_TOL_CDEG <= d <= _LOADING_TOL_CDEG


# -- what the inputs can be trusted with ---------------------------------
def trusted(ctl, inp, dt, angle, stop_edge):
    # The angle is trusted when the estimator says so AND it follows the
    # motor: a reading that stays put while the motor is commanded deeper
    # (a chip that stopped updating, a bus returning the last value, or a
    # stalled motor) is no longer trusted, at once, until cleared at the
    # table.  Judged every FOLLOW_TRAVEL_CDEG (1 deg) of commanded deeper
    # travel: with the fastest motor (GAIN_MAX_PCT) and the drive's own
    # lag, the table is at most ~3 deg past the frozen reading when every
    # deeper command stops.
    if stop_edge and (ctl.state == _FAULT or ctl.state == _ESTOP):
        ctl._angle_frozen = False
    c = ctl._cmd
    if not inp.tilt_ok or ctl._manual or ctl._angle_frozen:
        c = 0
    fc = ctl._follow
    if c <= 0:
        # (FollowCheck.check without a deeper command, here: a new window)
        fc._k = 0
        fc._a0 = angle
    elif fc.check(c, dt, angle):
        ctl._angle_frozen = True
    if c:
        drive.learn_gain(ctl, c, inp.rate_cdps, dt)
    return inp.tilt_ok and not ctl._angle_frozen


def switches(ctl, inp, dt, angle, tilt_ok):
    # A limit switch that disagrees with a trusted angle lies: a switch
    # fault (A_SWITCH, the person is brought up on the angle), and from
    # then on the home switch is ignored until cleared at the table.  A
    # switch never stops upward motion on its own: only a home switch the
    # angle does not contradict (or cannot: angle untrusted) does.  The
    # end switch always stops deeper motion (the safe direction).
    home = inp.home_switch
    c = 0
    ctl._end_lies = False
    if tilt_ok:
        if home and angle > ctl.profile.loading_cdeg + _HOME_DISAGREE_CDEG:
            # Ignored from now on only once the alarm says so (debounced):
            # a 10 ms blip marked it, silently, and a later open loop drove
            # past it to a dead-reckoned stop 25 deg short (review attack6).
            if ctl._alarms.active & _B_SWITCH:
                ctl._home_bad = True
            c = _B_SWITCH
        if inp.end_switch and angle < _END_SWITCH_MIN_CDEG:
            ctl._end_lies = True
            c = _B_SWITCH
    ctl._sw_cond = c
    home = home and not ctl._home_bad
    # With a trusted angle the switch is believed only where the angle
    # agrees it is at loading: one closed 2.5-20 deg short of loading is
    # within the angle's doubt (no fault) but must not stop the rise there.
    if home and tilt_ok:
        d = angle - ctl.profile.loading_cdeg
        home = -_HOME_AGREE_CDEG <= d <= _HOME_AGREE_CDEG
    # Without an angle (open loop) the home switch is believed only once
    # it has stayed closed HOME_CONFIRM_MS: a chattering switch cannot
    # end an open-loop return at depth.
    if home:
        if ctl._home_ms < _HOME_CONFIRM_MS:
            ctl._home_ms += dt
    else:
        ctl._home_ms = 0
    return home


# -- conditions (one bit per alarm) -------------------------------------
def conditions(ctl, inp, t, dt, st, angle, tilt_ok, home):
    ctl._ol_floor_k = -1
    estop = inp.estop_pressed
    if not estop:
        ctl._estop_released = True
    if st == _SELFTEST and ticks_diff(t, ctl._t_state) < _SELFTEST_MS:
        # The first second after boot: estimators are still settling, but
        # the e-stop counts from the first period (issue 14: a press in
        # the ctl-test was never latched).  The only "pressed" ignored
        # is the input's own boot reading until both channels prove
        # closed: pressed since boot for longer than that is a press.
        cond = _B_SELFTEST if ctl._selftest_fail else 0
        if estop and (ctl._estop_released or ticks_diff(t, ctl._t_state) >= _ESTOP_BOOT_SETTLE_MS):
            cond |= _B_ESTOP
            if inp.motor_power:
                cond |= _B_CONTACTOR
        if ctl._stuck:  # (stuck_cond is 0 without a stuck input)
            cond |= stuck_cond(ctl, inp)
        return cond
    cond = _B_ESTOP if estop else 0
    if ctl._stuck:
        cond |= stuck_cond(ctl, inp)
    if estop and inp.motor_power:
        # The hardware cut did not happen (a welded contactor): the
        # firmware still cuts the drive, but the e-stop's own path is gone.
        cond |= _B_CONTACTOR
    if inp.home_switch and inp.end_switch and not tilt_ok:
        # Both limits at once and no angle to tell which one lies: wiring
        # fault.  (With a trusted angle, the one that disagrees is a
        # switch fault, and the person is brought up on the angle.)
        cond |= _B_SELFTEST
    if st == _SELFTEST:
        if ctl._selftest_fail:
            cond |= _B_SELFTEST
        if ctl._boot_blind and not tilt_ok:
            cond |= _B_TILT  # the selftest gave up waiting for an angle
        return cond  # the estimators are still starting
    p = ctl.profile
    if p.contra_flags and tilt_ok and p.contraindicated() and not at_loading(ctl, angle, home):
        # Contraindicated: no inversion at all.  On a manual table the
        # person tilts it themselves: high alarm and the lock as soon as
        # it leaves the loading zone (issue 14).
        cond |= _B_CONTRA
    cond |= ctl._sw_cond
    if not tilt_ok:
        if not (
            inp.tilt_faults == _TILT_NOT_READY
            and (_IDLE <= st <= _READY or st == _DONE)
            and not ctl._angle_frozen
        ):
            cond |= _B_TILT
        # (else the tilt filter settles for 1 s after a restart, e.g. after a
        # flash write's pause over 0.5 s, in a state where nothing moves and
        # nothing starts without the angle: no alarm.  It was the high tilt
        # alarm and a FAULT at the loading position (review attack6).)
    elif ctl._alarms.active & _B_OVER_LIMIT:
        if angle > ctl._eff_limit - _LIMIT_HYST_CDEG:
            cond |= _B_OVER_LIMIT
    elif angle > ctl._eff_limit + _LIMIT_TOL_CDEG:
        cond |= _B_OVER_LIMIT
    if (
        tilt_ok
        and not ctl._manual
        and angle > ctl._eff_limit + _LIMIT_TOL_CDEG
        and inp.rate_cdps >= _RUNON_CDPS
        and ctl._cmd <= 0
        and inp.rate_cdps * 16 >= ctl._rate_prev * 15
    ):
        # Past the limit and still going deeper at speed with no deeper
        # command, and not slowing down (a braking table loses more than
        # 1/16 of its speed each period; a reading that jumped past the
        # limit while the table still moved shows it braking): nothing the
        # drive was told explains it.  Cut at once (the runaway's 30 ms): the
        # run-on check waits for a coast, the depth cannot (found by the
        # campaign, seed 2032 timeline 1561: a driver stuck at 6.1 deg/s just
        # before a 19 deg limit, with the runaway's old 100 ms debounce, was
        # cut at 20.1 deg).
        cond |= _B_RUNAWAY
    if inp.end_switch and not ctl._end_lies:
        cond |= _B_END_SWITCH  # over-travel the angle did not see: the angle lies
    if st == _OPEN_LOOP and ticks_diff(t, ctl._ol_t0) > ctl._ol_bound_ms:
        cond |= _B_HOME_TIMEOUT
    manual = ctl._manual
    if not manual and tilt_ok and st != _OPEN_LOOP:
        m = ctl._mon.check(
            t,
            dt,
            ctl._cmd,
            angle,
            inp.rate_cdps,
            ctl._traj.pos_mcdeg // 1000,
            ctl._enable,
            ctl._gain_pct,
        )
        if m & _B_STALL and ctl._cmd < 0:
            # A reading that did not follow an upward command: a stalled
            # motor, or a reading frozen while "ok" (the same doubt as a
            # deeper command's, trusted()).  Cut off, a frozen reading
            # left the person inverted (review, 30 Nov); untrusted, the
            # open-loop return brings them up, and a motor that really
            # stalled is cut off by its time bound.
            ctl._angle_frozen = True
            m = (m & ~_B_STALL) | _B_TILT
        if (st == _RISE or st == _RETURN) and angle > 0:  # noqa: SIM109
            # A rise still "inverted" long after a return from its deepest
            # would have reached horizontal: its pace (drive.motor's excursion pace) is too
            # slow for the stall window to judge, so a reading frozen just
            # past horizontal kept it creeping for good (review, 30 Nov).
            # A return as well (at its own pace from its deepest, if that
            # is longer: a STOP near horizontal that coasted deeper): one
            # from a few degrees with the motor stalled stood at 2.9 deg for
            # good, no alarm (review attack5, 1 Dec).
            # The same doubt as a stall: untrusted, the open-loop return.
            r = p.return_ms + _RETURN_MARGIN_MS
            if st == _RETURN:
                d = ctl._exc_peak * 1000 // ctl._ret_cdps
                if d > r:
                    r = d
            if ticks_diff(t, ctl._t_state) > _RISE_SLOW_X * r:
                ctl._angle_frozen = True
                m |= _B_TILT
        cond |= m
    elif not manual and st == _OPEN_LOOP and ctl._angle_frozen and inp.tilt_ok:
        # The reading was judged frozen because it did not follow a deeper
        # command, and a stalled motor looks the same.  A reading that then
        # moves deeper than the shallowest it showed in this open loop,
        # while the open loop drives up, is alive: the motor runs on
        # (found by the campaign, seed 2027 timeline 697: a stall, then a
        # run-on took the table from -53 to +15 deg in open loop).
        if angle < ctl._ol_low:
            ctl._ol_low = angle
        if ctl._cmd < 0 and angle > ctl._ol_low + _UNCMD_DRIFT_CDEG:
            cond |= _B_RUNON
        # A reading that moved 1 deg since this open loop began is not
        # frozen: while it shows the table inverted, dead reckoning may not
        # place it shallower (drive.open_loop).
        d = angle - ctl._ol_first
        if d > 100 or d < -100:
            ctl._ol_alive = True
        if ctl._ol_alive and angle > 0:
            ctl._ol_floor_k = angle * 1000
    if st == _OPEN_LOOP:
        # The monitor does not see the open loop's motion: it starts afresh
        # when it runs again (review attack2, 30 Nov: after an open-loop
        # return it measured drift from where the hold had been, and the
        # e-stop's clear was refused for good, the person inverted).  Only
        # here: a tilt reading that flickers must not keep resetting it.
        ctl._mon.reset(t, angle)
    if not ctl.in_session:
        return cond
    active_phase = _DESCENT <= st <= _HOLD  # DESCENT or HOLD (4, 5)
    inv = ctl._inverted_ms
    # The hard 15 min counts to the person back at horizontal: the return
    # must start by then less its own planned time (review attack3: the
    # limit started the return at 15 min, so up at 18).  Later, only a
    # stalled return trips it (hold + return + grace, at most 15 min).
    if inv > ctl._time_limit_ms or (
        active_phase and inv > _MAX_INVERTED_MS - p.return_ms - _RETURN_MARGIN_MS
    ):
        cond |= _B_TIME_LIMIT
    if ctl._recovering:
        cond |= _B_REBOOT
    if ctl.daily_used_ms >= p.daily_ms and active_phase:
        cond |= _B_DAILY
    if inp.on_battery and (active_phase or st == _BASELINE or st == _READY):  # noqa: SIM109
        # Mains lost: the battery keeps the table alive for the way up,
        # not for a session (hardware/README.md, power loss).
        cond |= _B_MAINS_LOST
    if (
        ctl._host_session
        and not inp.host_lease_ok
        and (active_phase or st == _BASELINE or st == _READY)  # noqa: SIM109
    ):
        cond |= _B_LEASE
    if p.hr_mode != HR_OFF and st >= _BASELINE and st <= _REST:
        if inp.hr_ok and inp.hr_bpm > 0:
            bpm = inp.hr_bpm
            if bpm > p.hr_high_bpm:
                cond |= _B_HR_HIGH
            elif bpm < p.hr_low_bpm:
                cond |= _B_HR_LOW
            base = ctl.baseline_bpm
            if base:
                if bpm > base + p.hr_rise_bpm:
                    cond |= _B_HR_RISE
                elif bpm < base - p.hr_drop_bpm:
                    cond |= _B_HR_DROP
        elif st >= _DESCENT and (angle > _HB or st <= _HOLD):
            # Inverted, or in DESCENT/HOLD at any angle: a pulse mostly
            # lost in a hold short of horizontal would otherwise hide a
            # high rate (valid too rarely to debounce it) and let the
            # person go on down with it unknown.
            cond |= _B_HR_LOST
        if st == _BASELINE and ticks_diff(t, ctl._t_state) > _BASELINE_MS:
            cond |= _B_NO_BASELINE
    if not manual and tilt_ok:
        # The measured speed is supervised against the hard limit too
        # (the commands keep the true speed under it, drive.motor): faster
        # warns; the runaway cut-off comes at the limit + 2 deg/s.
        r = inp.rate_cdps
        if r > _MAX_RATE_CDPS + _MANUAL_SPEED_TOL_CDPS or r < -(
            _MAX_RATE_CDPS + _MANUAL_SPEED_TOL_CDPS
        ):
            cond |= _B_TOO_FAST
    if manual and tilt_ok:
        r = inp.rate_cdps
        if r > p.descent_cdps + _MANUAL_SPEED_TOL_CDPS or r < -(
            p.rise_cdps + _MANUAL_SPEED_TOL_CDPS
        ):
            cond |= _B_TOO_FAST
        if st == _RETURN:
            if r < -(ctl._ret_cdps + _COACH_TOL_CDPS):
                cond |= _B_RISE_FAST
        elif st == _REST:
            if angle < -2 * _HB:
                cond |= _B_RISE_FAST
        elif active_phase and ctl._hold_ms >= p.hold_ms:
            cond |= _B_HOLD_OVER
    return cond


def stuck_cond(ctl, inp):
    # A motion input closed at arming stays a fault condition until it
    # reads released; the latch then waits for the local clear.
    s = ctl._stuck
    if not s:
        return 0
    if s & _IN_DOWN and not inp.hold_down:
        s &= ~_IN_DOWN
    if s & _IN_UP and not inp.hold_up:
        s &= ~_IN_UP
    if s & _IN_START and not inp.start_pressed:
        s &= ~_IN_START
    ctl._stuck = s
    return _B_INPUT_STUCK if s else 0
