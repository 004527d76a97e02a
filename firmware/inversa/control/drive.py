# The controller's motor drive: the motion command from the trajectory and
# closed-loop tracking, limited for the table's TRUE speed (the motor's
# learned gain), ramped at the acceleration limit, with deeper motion removed
# at once whenever it is not allowed (the veto); the open-loop return without
# an angle (dead reckoning); and a manual table's outputs (a motorized
# table's are filled by Controller._step from the command).
#
# Functions of the Controller (`ctl`), called from Controller._step:
#     motor(ctl, t, dt, angle, tilt_ok, home, end_sw, act)  # -> ctl._cmd, ctl._enable
#     outputs_manual(ctl, t, out, angle); begin_open_loop(ctl, t, home)

from inversa.compat import const, ticks_diff

# Inlined constants (issue 10): a module attribute costs ~4 us a lookup on an
# RP2040 and an imported name ~1 us, a const() nothing.  Each one names
# its source; tests/fw/test_inlined_consts.py checks every value.
_ACT_NO_DEEPER = const(2)  # alarms.ACT_NO_DEEPER
_B_CONTRA = const(134217728)  # alarms.B_CONTRA
_B_OVER_LIMIT = const(1024)  # alarms.B_OVER_LIMIT
_B_TILT = const(4)  # alarms.B_TILT
_B_TOO_FAST = const(524288)  # alarms.B_TOO_FAST
_DESCENT = const(4)  # states.DESCENT
_DONE = const(9)  # states.DONE
_ESTOP = const(11)  # states.ESTOP
_FAULT = const(10)  # states.FAULT
_GAIN_LEARN_CDPS = const(20)  # limits.GAIN_LEARN_CDPS
_GAIN_MAX_PCT = const(300)  # limits.GAIN_MAX_PCT
_GAIN_MIN_PCT = const(100)  # limits.GAIN_MIN_PCT
_GAIN_SLEW_MS = const(250)  # limits.GAIN_SLEW_MS
_GYRO_SCALE_TOL_PCT = const(3)  # limits.GYRO_SCALE_TOL_PCT
_HOLD = const(5)  # states.HOLD
_HOME_CONFIRM_MS = const(100)  # limits.HOME_CONFIRM_MS
_IDLE = const(1)  # states.IDLE
_LIMIT_TOL_CDEG = const(50)  # limits.LIMIT_TOL_CDEG
_MAX_ACCEL_CDPS2 = const(300)  # limits.MAX_ACCEL_CDPS2
_MIN_LOADING_CDEG = const(-8000)  # limits.MIN_LOADING_CDEG
_MIN_RETURN_MS = const(30000)  # limits.MIN_RETURN_MS
_OPEN_LOOP = const(12)  # states.OPEN_LOOP
_OPEN_LOOP_CDPS = const(150)  # limits.OPEN_LOOP_CDPS
_OPEN_LOOP_MARGIN_MS = const(20000)  # limits.OPEN_LOOP_MARGIN_MS
_OPEN_LOOP_MAX_MS = const(2400000)  # limits.OPEN_LOOP_MAX_MS
_OPEN_LOOP_TIME_FACTOR = const(2)  # limits.OPEN_LOOP_TIME_FACTOR
_REST = const(7)  # states.REST
_RETURN = const(6)  # states.RETURN
_RETURN_MARGIN_MS = const(1500)  # limits.RETURN_MARGIN_MS
_RISE = const(8)  # states.RISE
_SELFTEST = const(0)  # states.SELFTEST
_TRACK_DEADBAND_CDEG = const(30)  # limits.TRACK_DEADBAND_CDEG
_TRACK_KP_PER_S = const(2)  # limits.TRACK_KP_PER_S
_TRACK_LEAD_CDEG = const(200)  # limits.TRACK_LEAD_CDEG

_REC_STEP_CDEG = const(200)  # record() follows the angle in 2 deg steps
_REC_UNKNOWN_CDEG = const(-16384)  # limits.REC_UNKNOWN_CDEG
# Excursions shallower than this are left to the return's 0.01 deg/s floor:
# paced, a noise-level "inversion" of 0.05 deg was a command under 1 deg/s
# that the gain division made 0, and the rise stalled at horizontal for good
# (campaign seed 2031, timeline 1321).
_EXC_MIN_CDEG = const(30)
# Where a start comes from.
_NO_START = const(0)
# Open-loop phases.
_OL_UP = const(0)  # slow, up towards the estimated horizontal
_OL_REST = const(1)  # rest at the estimated horizontal
_OL_HOME = const(2)  # up to the home switch


def learn_gain(ctl, cmd, rate, dt):
    # The motor's true speed per commanded speed (its driver's scale is
    # only nominal: load, supply, a faster motor).  Learned from steady
    # commands of at least 0.2 deg/s; it only ever slows commands down.
    if -_GAIN_LEARN_CDPS < cmd < _GAIN_LEARN_CDPS:
        return
    d = cmd - ctl._cmd_prev
    a = rate - ctl._rate
    if d > 1 or d < -1 or a > 1 or a < -1:
        return  # only in steady motion: the drive's lag would bias the ratio
    r = rate * 100 // cmd
    g = ctl._gain_pct
    d = (r - g) // 8
    if ctl._gain_known:
        # Once known it drifts at most 1 % per GAIN_SLEW_MS: a motor's
        # scale does not change in a second, and a stuck driver running
        # on while the command slows must not teach it that the motor got
        # faster (that would hide the run-on; campaign seed 11, 237).
        ctl._gain_slew_ms += dt
        if ctl._gain_slew_ms < _GAIN_SLEW_MS:
            return
        ctl._gain_slew_ms = 0
        d = 1 if d > 0 else (-1 if d < 0 else 0)
    g += d
    if g < _GAIN_MIN_PCT:
        g = _GAIN_MIN_PCT
    elif g > _GAIN_MAX_PCT:
        g = _GAIN_MAX_PCT
    ctl._gain_pct = g
    ctl._gain_n += dt
    if ctl._gain_n >= 1000:
        ctl._gain_known = True


def begin_open_loop(ctl, t, home):
    if home and ctl._home_ms >= _HOME_CONFIRM_MS:
        if (
            ctl._last_good_angle + ctl._est_doubt <= 0
            or not ctl._rec_valid
            or ctl._rec_last == _REC_UNKNOWN_CDEG
        ):
            ctl._set_state(t, _FAULT)  # at home, or no depth known to doubt it
            return
        # Closed while the depth it can prove (an exact record or this
        # boot's angle) is inverted: it lies (a switch stuck closed, with the
        # tilt sensor lost the cut-off left the person there; attack3).
        ctl._home_bad = True
    if not ctl.in_session:
        ctl._session_begin(t, ctl._last_good_angle, _NO_START)
    # Dead reckoning from the depth it can prove: the last trusted angle
    # (this boot, or kept across a reset by record()/resume; the worst
    # case, 90 deg, only when nothing at all is known).
    est = ctl._last_good_angle
    deep_est = est + ctl._est_doubt  # the deepest the table may be
    pace_est = est - ctl._est_doubt  # ... planned at the shallowest's pace
    if ctl._est_doubt and deep_est > 0 and pace_est < _REC_STEP_CDEG // 2:
        pace_est = _REC_STEP_CDEG // 2  # (a 1 deg return at its 30 s pace)
    # Open loop, the real speed is the motor's for this command: planned
    # for OPEN_LOOP_TIME_FACTOR times the driver's scale, or for its
    # learned gain (this boot or kept across a reset) plus 25 % for load
    # and direction if that is more.  Found by the
    # simulator: a motor 33 % faster than the driver's scale returned a
    # person from 25 deg in 24 s; by a review: after a reset the return
    # was sized for 90 deg and took 13 s from 25 deg.  A learned gain is
    # the way down's; the way up may be faster (a foot-heavy person's load
    # helps it): then at least the fastest motor admitted, GAIN_MAX_PCT
    # (review attack5: 1x down and 2.5x up, 28 deg up in 25 s).
    # Not learned yet (a first session's power cut, the tilt lost in the
    # recovery's first second): the fastest motor too (review attack6: 1x
    # down, 3x up, 25 deg up in 21.7 s at twice the scale), unless only a
    # bound is known: its creep already keeps horizontal 31.5 s away.
    creep = (ctl._rec_last == _REC_UNKNOWN_CDEG or not ctl._rec_valid) and deep_est > 0
    f = _GAIN_MAX_PCT
    if ctl._gain_known:
        if ctl._gain_pct * 5 // 4 > f:
            f = ctl._gain_pct * 5 // 4
    elif creep:
        f = 100 * _OPEN_LOOP_TIME_FACTOR
    if ctl.state == _RETURN or ctl.state == _REST or ctl.state == _RISE:
        v = ctl._ret_cdps * 100 // f  # the return's own speed, slowed
    else:
        v = pace_est * 100000 // ((ctl.profile.return_ms + _RETURN_MARGIN_MS) * f)
    if v > _OPEN_LOOP_CDPS:
        v = _OPEN_LOOP_CDPS
    if v < 1:
        v = 1
    ctl._ret_cdps = v
    # Only a bound is known (the flash's record written ahead of the
    # motion, a power cut since): the table may be anywhere above deep_est,
    # so for the shortest return's time it first creeps at a 1 deg return's
    # pace, and horizontal is that far away from any true depth (found by
    # the campaign, seed 2043 timeline 261: a power cut at 6 deg with the
    # tilt sensor gone, paced for 34 deg, up in 14 s).
    # Nothing known at all (no record, or one that failed its check: 90 deg
    # assumed) is such a bound too (review attack6: 25 deg up in 6-18 s).
    c = 0
    if creep:
        c = (_REC_STEP_CDEG // 2) * 100000 // ((_MIN_RETURN_MS + _RETURN_MARGIN_MS) * f)
        if c < 1:
            c = 1
        if c > v:
            c = v
    ctl._ol_creep_cdps = c
    ctl._ol_est_k = deep_est * 1000
    ctl._ol_low = ctl._angle  # the shallowest reading in this open loop
    ctl._ol_first = ctl._angle
    ctl._ol_alive = False
    ctl._ol_phase = _OL_UP if deep_est > 0 else _OL_HOME
    ctl._ol_t0 = t
    ctl._ol_t_phase = t
    # Bound: the slow leg, the rest, the leg home at full open-loop speed,
    # plus a margin; never above the hard bound.
    up = deep_est if deep_est > 0 else 0
    home_leg = 0 - _MIN_LOADING_CDEG
    b = (
        up * 1000 // v
        + (_MIN_RETURN_MS + _RETURN_MARGIN_MS if c else 0)
        + ctl.profile.rest_ms
        + home_leg * 1000 // _OPEN_LOOP_CDPS
        + _OPEN_LOOP_MARGIN_MS
    )
    ctl._ol_bound_ms = b if b < _OPEN_LOOP_MAX_MS else _OPEN_LOOP_MAX_MS
    ctl._set_state(t, _OPEN_LOOP)


# -- motor command (motorized) -----------------------------------------------
def motor(ctl, t, dt, angle, tilt_ok, home, end_sw, act):
    # (issue 10: the limits below are computed inline, not by helper calls: a
    # Python call costs ~10-20 us on an RP2040 and the period makes several;
    # tests/fw/test_drive_twin.py runs this against the readable version,
    # tests/fw/drive_ref.py, period by period)
    st = ctl.state
    prev = ctl._cmd
    if tilt_ok:
        if angle <= 0:
            ctl._exc_peak = 0
        elif angle > ctl._exc_peak:
            ctl._exc_peak = angle
    moving_state = _DESCENT <= st <= _RISE and tilt_ok
    if not moving_state and st != _OPEN_LOOP:
        # No motion in this state: the command is 0 (the clamps, the ramp
        # and the veto below end at 0 too, since enable is off), so the
        # period skips them (issue 10: ~0.1 ms on an RP2040 in every state
        # at rest).
        ctl._cmd_prev = prev
        ctl._cmd = 0
        ctl._moving = False
        ctl._enable = False
        return
    p = ctl.profile
    if moving_state:
        tr = ctl._traj
        sp = tr.pos_mcdeg // 1000
        if tr.at_goal:
            ff = 0  # (Trajectory.step at its goal: 0, and nothing moves)
        else:
            # The setpoint waits for a table that lags (a loaded motor runs
            # a little slow): its lead is bounded, so only a table that does
            # not follow at all (stall, wrong direction) builds a tracking
            # error.  Found by hypothesis: a setpoint waiting ahead *deeper*
            # while deeper motion is forbidden (a return alarm at depth)
            # waited forever and the person stayed inverted.  It only waits
            # deeper while deeper motion is allowed at all.
            lead = sp - angle
            v = tr.vel_mcdps
            deeper_ok = (st == _DESCENT or st == _HOLD) and act < _ACT_NO_DEEPER  # noqa: SIM109
            if (v > 0 and lead > _TRACK_LEAD_CDEG and deeper_ok) or (
                v < 0 and lead < -_TRACK_LEAD_CDEG
            ):
                ff = tr.step(0)
            else:
                ff = tr.step(dt)
            sp = tr.pos_mcdeg // 1000
        err = sp - angle
        cmd = ff + err * _TRACK_KP_PER_S
        if tr.at_goal:
            db = _TRACK_DEADBAND_CDEG if ctl._moving else 2 * _TRACK_DEADBAND_CDEG
            if -db <= err <= db:
                cmd = 0
        if cmd == 0 and prev == 0:
            # Nothing to command and nothing to ramp down from (a hold or a
            # rest at its goal): whatever the limits below, the command stays
            # 0 (in every moving state hi >= 0 >= lo, the ramp keeps 0 at 0
            # and the veto only removes deeper motion), so the period skips
            # them (issue 10: ~0.1 ms on an RP2040; tests/fw/test_drive_twin.py).
            ctl._cmd_prev = 0
            ctl._cmd = 0
            ctl._moving = False
            ctl._enable = True
            return
        exc = 0
        if st >= _RETURN:  # RETURN, REST, RISE
            # While the table is inverted, its upward command is at most
            # this excursion's pace (exc: 0 = none): whatever path brought
            # it there (a coast past horizontal after a stop, a REST or
            # RISE begun still inverted, a return planned from under the
            # deepest point), the table takes at least the return time
            # from this excursion's deepest angle to horizontal, at the
            # motor's learned gain.  Found by the campaign: a STOP at -0.7
            # deg at 6 deg/s coasted to +3.1 deg and the RISE brought it to
            # horizontal in 11 s (seed 2028, timeline 527).  Excursions
            # shallower than _EXC_MIN_CDEG are left to the return's floor.
            exc = 0
            if angle > 0 and ctl._exc_peak >= _EXC_MIN_CDEG:
                exc = ctl._exc_peak * 1000 // (_MIN_RETURN_MS + _RETURN_MARGIN_MS)
                exc = exc * 100 // ctl._gain_pct
                if exc < 1:
                    exc = 1
        if st == _RETURN:
            # (the slow setpoint sets the pace: the table cannot get
            # ahead of it by more than the tracking deadband)
            hi = ff if ff > 0 else 0
            up = ctl._ret_cdps
            lo = -(exc if exc and exc < up else up)
        elif st == _REST:
            hi = ctl._ret_cdps
            lo = -(exc if exc and exc < hi else hi)
        else:
            # Limits on the table's TRUE speed (one direction each, >= 0):
            # a motor faster than its driver's scale (the learned gain) gets
            # proportionally smaller commands, and a measured speed above
            # the limit cuts the command back by the excess (found by a
            # review: a fast motor caught up with a waiting setpoint at
            # 6.5-7.5 deg/s against the 6 deg/s hard limit).  Close to the
            # limit the command stops growing, so a gain learned a little
            # low cannot carry the table past it.  The measured speed may
            # read low by the gyro's scale tolerance: the cut-back starts
            # that much under the limit (found by the campaign: a 6 deg/s
            # profile ran at a true 6.06 deg/s, measured 5.95).
            g = ctl._gain_pct
            g += g // 16  # aim ~6 % under: the learned gain reads a little low
            r = ctl._rate
            if st == _RISE:
                hi = 0
                up = p.rise_cdps
            else:
                hi = 0
                lim = p.descent_cdps
                if lim > 0:
                    h = lim * 100 // g
                    if r >= lim - lim // 8 and h > prev:
                        h = prev if prev > 0 else 0
                    lim -= lim * _GYRO_SCALE_TOL_PCT // 100
                    if r > lim:
                        h -= (r - lim) * 100 // g
                    if h > 0:
                        hi = h
                up = p.descent_cdps
                if angle > 0:
                    # Inverted, holding: a correction upward (an overshoot,
                    # a motor that ran on) is never a fast return; at this
                    # pace the table would take MIN_RETURN_MS to reach
                    # horizontal, and it slows on the way.
                    h = angle * 1000 // _MIN_RETURN_MS
                    if up > h:
                        up = h
            # the same for the way up: the speed and the last command
            # measured upward
            lo = 0
            if up > 0:
                h = up * 100 // g
                if -r >= up - up // 8 and h > -prev:
                    h = -prev if prev < 0 else 0
                up -= up * _GYRO_SCALE_TOL_PCT // 100
                if -r > up:
                    h -= (-r - up) * 100 // g
                if h > 0:
                    lo = -h
            if st == _RISE and exc and exc < -lo:
                lo = -exc
    else:  # OPEN_LOOP
        cmd = -open_loop(ctl, t, dt)  # already planned for the motor's gain
        hi = 0
        lo = -_OPEN_LOOP_CDPS
    if hi > p.descent_cdps:
        hi = p.descent_cdps  # deeper is never faster than the profile allows
    if cmd > hi:
        cmd = hi
    elif cmd < lo:
        cmd = lo
    # Ramp every change of speed (acceleration limit) ...
    s = _MAX_ACCEL_CDPS2 * dt // 1000
    if s < 1:
        s = 1
    if cmd > prev + s:
        cmd = prev + s
    elif cmd < prev - s:
        cmd = prev - s
    # ... except the veto: deeper motion that is not allowed is removed at
    # once (no ramp): never deeper without a trusted angle (or one that
    # stopped following the motor), at or past the limit, at the end
    # switch, or when an alarm says no deeper.
    if cmd > 0 and (not tilt_ok or end_sw or act >= _ACT_NO_DEEPER or angle >= ctl._eff_limit):
        cmd = 0
    if st == _OPEN_LOOP and ctl._home_ms < _HOME_CONFIRM_MS:
        home = False  # not yet believed without an angle
    if cmd < 0 and home:
        cmd = 0  # at the home switch (one the angle does not contradict)
    ctl._cmd_prev = prev
    ctl._cmd = cmd
    ctl._moving = cmd != 0
    ctl._enable = True


def open_loop(ctl, t, dt):
    # Dead reckoning from the last trusted angle: slow to the estimated
    # horizontal, rest there, then up to the home switch.
    # The estimate moves by the command times the motor's gain (learned,
    # else the driver's scale).  A home switch found lying is ignored:
    # then the leg home ends at the estimated loading angle.
    if ctl._cmd < 0:
        ctl._ol_est_k += ctl._cmd * dt * ctl._gain_pct // 100
    if ctl._ol_floor_k > 0 and ctl._ol_floor_k > ctl._ol_est_k:
        # The reading proved alive (it moved) and shows the table deeper than
        # dead reckoning: a stall was taken for a frozen reading, and the
        # estimate ran on while the table stood.  The table is at least that
        # deep: back to the slow leg (found by the campaign, seed 2033
        # timeline 3960: the motor came back during the fast leg home and
        # took the person from 15 deg to horizontal in 8 s).
        ctl._ol_est_k = ctl._ol_floor_k
        if ctl._ol_phase != _OL_UP:
            ctl._ol_phase = _OL_UP
            ctl._ol_t_phase = t
    ph = ctl._ol_phase
    if ph == _OL_UP:
        if ctl._ol_est_k <= 0:
            ctl._ol_phase = _OL_REST
            ctl._ol_t_phase = t
            return 0
        c = ctl._ol_creep_cdps
        if c and ticks_diff(t, ctl._ol_t0) < _MIN_RETURN_MS + _RETURN_MARGIN_MS:
            return c
        return ctl._ret_cdps
    if ph == _OL_REST:
        if ticks_diff(t, ctl._ol_t_phase) >= ctl.profile.rest_ms:
            ctl._ol_phase = _OL_HOME
        return 0
    if ctl._home_bad and ctl._ol_est_k <= ctl.profile.loading_cdeg * 1000:
        ctl._set_state(t, _FAULT)  # at the estimated loading angle
        return 0
    return _OPEN_LOOP_CDPS


def outputs_manual(ctl, t, out, angle):
    out.motor_cmd_cdps = 0
    out.motor_enable = False
    # The lock is one-way (it stops deeper motion, never the way up), so it
    # engages whenever deeper motion is wrong: past the limit, an angle
    # that cannot be trusted, a latched fault or e-stop, and a table
    # dropping faster than the profile allows (found by the simulator: a
    # head-heavy 130 kg person tipped a manual table to 90 deg while it
    # only warned).
    # Its default is engaged: from the first period after a boot (found
    # by a review: the ctl-test released it and a person held by it fell
    # to the 90 deg stop on a reset) until the angle is trusted and the
    # state lets it open; and at once (not debounced) past the limit.
    st = ctl.state
    active = ctl._alarms.active
    lock = (
        (active & (_B_OVER_LIMIT | _B_TILT | _B_CONTRA)) != 0
        or _FAULT <= st <= _ESTOP  # FAULT or ESTOP (10, 11)
        or st == _SELFTEST
        or not ctl._tilt_ok
        or angle > ctl._eff_limit + _LIMIT_TOL_CDEG
    )
    if active & _B_TOO_FAST and ctl._rate > 0:
        lock = True
    out.brake_on = ctl._has_brake and lock
    if st == _RETURN:
        c = ctl._ret_start - ctl._ret_cdps * ticks_diff(t, ctl._t_ret) // 1000
        out.target_angle_cdeg = c if c > 0 else 0
        out.goal_cdeg = 0
    elif st == _REST:
        out.target_angle_cdeg = 0
        out.goal_cdeg = 0
    elif st == _RISE or st == _DONE or st == _IDLE:  # noqa: SIM109
        out.target_angle_cdeg = ctl.profile.loading_cdeg
        out.goal_cdeg = ctl.profile.loading_cdeg
    else:
        out.target_angle_cdeg = ctl._eff_limit
        out.goal_cdeg = ctl._eff_limit
