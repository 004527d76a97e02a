# The controller's raw safety checks: each period, from the inputs, whether
# the angle can be trusted, what the home and end switches may be believed to
# say, and the raw condition of every alarm (one bit per alarm, alarms.B_*),
# which the rule table (alarms.py) then debounces, latches and escalates.
# Nothing here moves the table or changes the state.
#
# Functions of the Controller (`ctl`), called from Controller._step:
#     tilt_ok = trusted(ctl, inp, dt, angle, stop_edge)
#     home = switches(ctl, inp, angle, tilt_ok)
#     cond = conditions(ctl, inp, t, dt, st, angle, tilt_ok, home)

from inversa.compat import ticks_diff
from inversa.control import drive
from inversa.control import limits as L
from inversa.control import states as S
from inversa.control.alarms import (
    B_CONTACTOR,
    B_CONTRA,
    B_DAILY,
    B_END_SWITCH,
    B_ESTOP,
    B_HOLD_OVER,
    B_HOME_TIMEOUT,
    B_HR_DROP,
    B_HR_HIGH,
    B_HR_LOST,
    B_HR_LOW,
    B_HR_RISE,
    B_INPUT_STUCK,
    B_LEASE,
    B_MAINS_LOST,
    B_NO_BASELINE,
    B_OVER_LIMIT,
    B_REBOOT,
    B_RISE_FAST,
    B_RUNAWAY,
    B_RUNON,
    B_SELFTEST,
    B_SWITCH,
    B_TILT,
    B_TIME_LIMIT,
    B_TOO_FAST,
)
from inversa.control.profile import HR_OFF

# Motion inputs found closed when a session was armed (issue 14: a
# hold-to-run contact stuck closed plus a host START moved the table).
_IN_DOWN = 1
_IN_UP = 2
_IN_START = 4
_HB = L.HORIZONTAL_BAND_CDEG


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
    if stop_edge and (ctl.state == S.FAULT or ctl.state == S.ESTOP):
        ctl._angle_frozen = False
    c = ctl._cmd
    if not inp.tilt_ok or ctl._manual or ctl._angle_frozen:
        c = 0
    if ctl._follow.check(c, dt, angle):
        ctl._angle_frozen = True
    if c:
        drive.learn_gain(ctl, c, inp.rate_cdps, dt)
    return inp.tilt_ok and not ctl._angle_frozen


def switches(ctl, inp, angle, tilt_ok):
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
        if home and angle > ctl.profile.loading_cdeg + L.HOME_DISAGREE_CDEG:
            ctl._home_bad = True
            c = B_SWITCH
        if inp.end_switch and angle < L.END_SWITCH_MIN_CDEG:
            ctl._end_lies = True
            c = B_SWITCH
    ctl._sw_cond = c
    home = home and not ctl._home_bad
    # With a trusted angle the switch is believed only where the angle
    # agrees it is at loading: one closed 2.5-20 deg short of loading is
    # within the angle's doubt (no fault) but must not stop the rise there.
    if home and tilt_ok:
        d = angle - ctl.profile.loading_cdeg
        home = -L.HOME_AGREE_CDEG <= d <= L.HOME_AGREE_CDEG
    # Without an angle (open loop) the home switch is believed only once
    # it has stayed closed HOME_CONFIRM_MS: a chattering switch cannot
    # end an open-loop return at depth.
    if home:
        if ctl._home_ms < L.HOME_CONFIRM_MS:
            ctl._home_ms += ctl._dt
    else:
        ctl._home_ms = 0
    return home


# -- conditions (one bit per alarm) -------------------------------------
def conditions(ctl, inp, t, dt, st, angle, tilt_ok, home):
    ctl._ol_floor_k = -1
    estop = inp.estop_pressed
    if not estop:
        ctl._estop_released = True
    if st == S.SELFTEST and ticks_diff(t, ctl._t_state) < L.SELFTEST_MS:
        # The first second after boot: estimators are still settling, but
        # the e-stop counts from the first period (issue 14: a press in
        # the ctl-test was never latched).  The only "pressed" ignored
        # is the input's own boot reading until both channels prove
        # closed: pressed since boot for longer than that is a press.
        cond = B_SELFTEST if ctl._selftest_fail else 0
        if estop and (ctl._estop_released or ticks_diff(t, ctl._t_state) >= L.ESTOP_BOOT_SETTLE_MS):
            cond |= B_ESTOP
            if inp.motor_power:
                cond |= B_CONTACTOR
        return cond | stuck_cond(ctl, inp)
    cond = B_ESTOP if estop else 0
    cond |= stuck_cond(ctl, inp)
    if estop and inp.motor_power:
        # The hardware cut did not happen (a welded contactor): the
        # firmware still cuts the drive, but the e-stop's own path is gone.
        cond |= B_CONTACTOR
    if inp.home_switch and inp.end_switch and not tilt_ok:
        # Both limits at once and no angle to tell which one lies: wiring
        # fault.  (With a trusted angle, the one that disagrees is a
        # switch fault, and the person is brought up on the angle.)
        cond |= B_SELFTEST
    if st == S.SELFTEST:
        if ctl._selftest_fail:
            cond |= B_SELFTEST
        return cond  # the estimators are still starting
    p = ctl.profile
    if p.contra_flags and tilt_ok and p.contraindicated() and not ctl._at_loading(angle, home):
        # Contraindicated: no inversion at all.  On a manual table the
        # person tilts it themselves: high alarm and the lock as soon as
        # it leaves the loading zone (issue 14).
        cond |= B_CONTRA
    cond |= ctl._sw_cond
    if not tilt_ok:
        cond |= B_TILT
    elif ctl._alarms.active & B_OVER_LIMIT:
        if angle > ctl._eff_limit - L.LIMIT_HYST_CDEG:
            cond |= B_OVER_LIMIT
    elif angle > ctl._eff_limit + L.LIMIT_TOL_CDEG:
        cond |= B_OVER_LIMIT
    if (
        tilt_ok
        and not ctl._manual
        and angle > ctl._eff_limit + L.LIMIT_TOL_CDEG
        and inp.rate_cdps >= L.RUNON_CDPS
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
        cond |= B_RUNAWAY
    if inp.end_switch and not ctl._end_lies:
        cond |= B_END_SWITCH  # over-travel the angle did not see: the angle lies
    if st == S.OPEN_LOOP and ticks_diff(t, ctl._ol_t0) > ctl._ol_bound_ms:
        cond |= B_HOME_TIMEOUT
    manual = ctl._manual
    if not manual and tilt_ok and st != S.OPEN_LOOP:
        cond |= ctl._mon.check(
            t,
            dt,
            ctl._cmd,
            angle,
            inp.rate_cdps,
            ctl._traj.pos_mcdeg // 1000,
            ctl._enable,
            ctl._gain_pct,
        )
    elif not manual and st == S.OPEN_LOOP and ctl._angle_frozen and inp.tilt_ok:
        # The reading was judged frozen because it did not follow a deeper
        # command, and a stalled motor looks the same.  A reading that then
        # moves deeper than the shallowest it showed in this open loop,
        # while the open loop drives up, is alive: the motor runs on
        # (found by the campaign, seed 2027 timeline 697: a stall, then a
        # run-on took the table from -53 to +15 deg in open loop).
        if angle < ctl._ol_low:
            ctl._ol_low = angle
        if ctl._cmd < 0 and angle > ctl._ol_low + L.UNCMD_DRIFT_CDEG:
            cond |= B_RUNON
        # A reading that moved 1 deg since this open loop began is not
        # frozen: while it shows the table inverted, dead reckoning may not
        # place it shallower (drive.open_loop).
        d = angle - ctl._ol_first
        if d > 100 or d < -100:
            ctl._ol_alive = True
        if ctl._ol_alive and angle > 0:
            ctl._ol_floor_k = angle * 1000
    if not ctl._session:
        return cond
    if ctl._inverted_ms > ctl._time_limit_ms:
        cond |= B_TIME_LIMIT
    if ctl._recovering:
        cond |= B_REBOOT
    active_phase = st == S.DESCENT or st == S.HOLD
    if ctl.daily_used_ms >= p.daily_ms and active_phase:
        cond |= B_DAILY
    if inp.on_battery and (active_phase or st == S.BASELINE or st == S.READY):
        # Mains lost: the battery keeps the table alive for the way up,
        # not for a session (hardware/README.md, power loss).
        cond |= B_MAINS_LOST
    if (
        ctl._host_session
        and not inp.host_lease_ok
        and (active_phase or st == S.BASELINE or st == S.READY)
    ):
        cond |= B_LEASE
    if p.hr_mode != HR_OFF and st >= S.BASELINE and st <= S.REST:
        if inp.hr_ok and inp.hr_bpm > 0:
            bpm = inp.hr_bpm
            if bpm > p.hr_high_bpm:
                cond |= B_HR_HIGH
            elif bpm < p.hr_low_bpm:
                cond |= B_HR_LOW
            base = ctl.baseline_bpm
            if base:
                if bpm > base + p.hr_rise_bpm:
                    cond |= B_HR_RISE
                elif bpm < base - p.hr_drop_bpm:
                    cond |= B_HR_DROP
        elif st >= S.DESCENT and (angle > _HB or st <= S.HOLD):
            # Inverted, or in DESCENT/HOLD at any angle: a pulse mostly
            # lost in a hold short of horizontal would otherwise hide a
            # high rate (valid too rarely to debounce it) and let the
            # person go on down with it unknown.
            cond |= B_HR_LOST
        if st == S.BASELINE and ticks_diff(t, ctl._t_state) > L.BASELINE_MS:
            cond |= B_NO_BASELINE
    if not manual and tilt_ok:
        # The measured speed is supervised against the hard limit too
        # (the commands keep the true speed under it, _true_hi): faster
        # warns; the runaway cut-off comes at the limit + 2 deg/s.
        r = inp.rate_cdps
        if r > L.MAX_RATE_CDPS + L.MANUAL_SPEED_TOL_CDPS or r < -(
            L.MAX_RATE_CDPS + L.MANUAL_SPEED_TOL_CDPS
        ):
            cond |= B_TOO_FAST
    if manual and tilt_ok:
        r = inp.rate_cdps
        if r > p.descent_cdps + L.MANUAL_SPEED_TOL_CDPS or r < -(
            p.rise_cdps + L.MANUAL_SPEED_TOL_CDPS
        ):
            cond |= B_TOO_FAST
        if st == S.RETURN:
            if r < -(ctl._ret_cdps + L.COACH_TOL_CDPS):
                cond |= B_RISE_FAST
        elif st == S.REST:
            if angle < -2 * _HB:
                cond |= B_RISE_FAST
        elif active_phase and ctl._hold_ms >= p.hold_ms:
            cond |= B_HOLD_OVER
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
    return B_INPUT_STUCK if s else 0
