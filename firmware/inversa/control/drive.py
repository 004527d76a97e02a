# The controller's motor drive: the motion command from the trajectory and
# closed-loop tracking, limited for the table's TRUE speed (the motor's
# learned gain), ramped at the acceleration limit, with deeper motion removed
# at once whenever it is not allowed (never_deeper, the veto); the open-loop
# return without an angle (dead reckoning); and the outputs that go to the
# actuators (motorized and manual tables).
#
# Functions of the Controller (`ctl`), called from Controller._step:
#     motor(ctl, t, dt, angle, tilt_ok, home, end_sw, act); outputs_motor(ctl, out)
#     outputs_manual(ctl, t, out, angle); begin_open_loop(ctl, t, home)
#     never_deeper(ctl, cmd, angle, tilt_ok, end_sw, act) -> cmd with no forbidden deeper part

from inversa.compat import ticks_diff
from inversa.control import limits as L
from inversa.control import states as S
from inversa.control.alarms import (
    ACT_NO_DEEPER,
    B_CONTRA,
    B_OVER_LIMIT,
    B_TILT,
    B_TOO_FAST,
)

_REC_STEP_CDEG = 200  # record() follows the angle in 2 deg steps
# Excursions shallower than this are left to the return's 0.01 deg/s floor:
# paced, a noise-level "inversion" of 0.05 deg was a command under 1 deg/s
# that the gain division made 0, and the rise stalled at horizontal for good
# (campaign seed 2031, timeline 1321).
_EXC_MIN_CDEG = 30
# Where a start comes from.
_NO_START = 0
# Open-loop phases.
_OL_UP = 0  # slow, up towards the estimated horizontal
_OL_REST = 1  # rest at the estimated horizontal
_OL_HOME = 2  # up to the home switch


def learn_gain(ctl, cmd, rate, dt):
    # The motor's true speed per commanded speed (its driver's scale is
    # only nominal: load, supply, a faster motor).  Learned from steady
    # commands of at least 0.2 deg/s; it only ever slows commands down.
    if -L.GAIN_LEARN_CDPS < cmd < L.GAIN_LEARN_CDPS:
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
        if ctl._gain_slew_ms < L.GAIN_SLEW_MS:
            return
        ctl._gain_slew_ms = 0
        d = 1 if d > 0 else (-1 if d < 0 else 0)
    g += d
    if g < L.GAIN_MIN_PCT:
        g = L.GAIN_MIN_PCT
    elif g > L.GAIN_MAX_PCT:
        g = L.GAIN_MAX_PCT
    ctl._gain_pct = g
    ctl._gain_n += dt
    if ctl._gain_n >= 1000:
        ctl._gain_known = True


def begin_open_loop(ctl, t, home):
    if home and ctl._home_ms >= L.HOME_CONFIRM_MS:
        ctl._set_state(t, S.FAULT)
        return
    if not ctl._session:
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
    # was sized for 90 deg and took 13 s from 25 deg.
    f = 100 * L.OPEN_LOOP_TIME_FACTOR
    if ctl._gain_known and ctl._gain_pct * 5 // 4 > f:
        f = ctl._gain_pct * 5 // 4
    if ctl.state == S.RETURN or ctl.state == S.REST or ctl.state == S.RISE:
        v = ctl._ret_cdps * 100 // f  # the return's own speed, slowed
    else:
        v = pace_est * 100000 // ((ctl.profile.return_ms + L.RETURN_MARGIN_MS) * f)
    if v > L.OPEN_LOOP_CDPS:
        v = L.OPEN_LOOP_CDPS
    if v < 1:
        v = 1
    ctl._ret_cdps = v
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
    home_leg = 0 - L.MIN_LOADING_CDEG
    b = (
        up * 1000 // v
        + ctl.profile.rest_ms
        + home_leg * 1000 // L.OPEN_LOOP_CDPS
        + L.OPEN_LOOP_MARGIN_MS
    )
    ctl._ol_bound_ms = b if b < L.OPEN_LOOP_MAX_MS else L.OPEN_LOOP_MAX_MS
    ctl._set_state(t, S.OPEN_LOOP)


# -- motor command (motorized) -----------------------------------------------
def motor(ctl, t, dt, angle, tilt_ok, home, end_sw, act):
    st = ctl.state
    p = ctl.profile
    prev = ctl._cmd
    enable = True
    if tilt_ok:
        if angle <= 0:
            ctl._exc_peak = 0
        elif angle > ctl._exc_peak:
            ctl._exc_peak = angle
    if st >= S.DESCENT and st <= S.RISE and tilt_ok:
        tr = ctl._traj
        # The setpoint waits for a table that lags (a loaded motor runs a
        # little slow): its lead is bounded, so only a table that does not
        # follow at all (stall, wrong direction) builds a tracking error.
        # Found by hypothesis: a setpoint waiting ahead *deeper* while
        # deeper motion is forbidden (a return alarm at depth) waited
        # forever and the person stayed inverted.  It only waits deeper
        # while deeper motion is allowed at all.
        lead = tr.pos_mcdeg // 1000 - angle
        v = tr.vel_mcdps
        deeper_ok = (st == S.DESCENT or st == S.HOLD) and act < ACT_NO_DEEPER
        if (v > 0 and lead > L.TRACK_LEAD_CDEG and deeper_ok) or (
            v < 0 and lead < -L.TRACK_LEAD_CDEG
        ):
            ff = tr.step(0)
        else:
            ff = tr.step(dt)
        err = tr.pos_mcdeg // 1000 - angle
        cmd = ff + err * L.TRACK_KP_PER_S
        if tr.at_goal:
            db = L.TRACK_DEADBAND_CDEG if ctl._moving else 2 * L.TRACK_DEADBAND_CDEG
            if -db <= err <= db:
                cmd = 0
        if st == S.RETURN:
            # (the slow setpoint sets the pace: the table cannot get
            # ahead of it by more than the tracking deadband)
            hi = ff if ff > 0 else 0
            lo = -exc_pace(ctl, angle, ctl._ret_cdps)
        elif st == S.REST:
            hi = ctl._ret_cdps
            lo = -exc_pace(ctl, angle, ctl._ret_cdps)
        else:
            if st == S.RISE:
                hi = 0
                lo = -p.rise_cdps
            else:
                hi = p.descent_cdps
                lo = -p.descent_cdps
                if angle > 0:
                    # Inverted, holding: a correction upward (an overshoot,
                    # a motor that ran on) is never a fast return; at this
                    # pace the table would take MIN_RETURN_MS to reach
                    # horizontal, and it slows on the way.
                    up = angle * 1000 // L.MIN_RETURN_MS
                    if lo < -up:
                        lo = -up
            hi = true_hi(ctl, hi, ctl._rate, prev)
            lo = -true_hi(ctl, -lo, -ctl._rate, -prev)
            if st == S.RISE:
                lo = -exc_pace(ctl, angle, -lo)
    elif st == S.OPEN_LOOP:
        cmd = -open_loop(ctl, t, dt)  # already planned for the motor's gain
        hi = 0
        lo = -L.OPEN_LOOP_CDPS
    else:
        cmd = 0
        hi = 0
        lo = 0
        enable = False
    if hi > p.descent_cdps:
        hi = p.descent_cdps  # deeper is never faster than the profile allows
    if cmd > hi:
        cmd = hi
    elif cmd < lo:
        cmd = lo
    # Ramp every change of speed (acceleration limit) ...
    s = L.MAX_ACCEL_CDPS2 * dt // 1000
    if s < 1:
        s = 1
    if cmd > prev + s:
        cmd = prev + s
    elif cmd < prev - s:
        cmd = prev - s
    cmd = never_deeper(ctl, cmd, angle, tilt_ok, end_sw, act)
    if st == S.OPEN_LOOP and ctl._home_ms < L.HOME_CONFIRM_MS:
        home = False  # not yet believed without an angle
    if cmd < 0 and home:
        cmd = 0  # at the home switch (one the angle does not contradict)
    if not enable:
        cmd = 0
    ctl._cmd_prev = ctl._cmd
    ctl._cmd = cmd
    ctl._moving = cmd != 0
    ctl._enable = enable
    ctl._hi_cdps = hi
    ctl._lo_cdps = lo


def exc_pace(ctl, angle, v):
    # The fastest upward command (cdeg/s, >= 0) from a return's speed v
    # while the table is inverted: whatever path brought it there (a
    # coast past horizontal after a stop, a REST or RISE begun still
    # inverted, a return planned from under the deepest point), the
    # table takes at least the return time from this excursion's deepest
    # angle to horizontal, at the motor's learned gain.  Found by the
    # campaign: a STOP at -0.7 deg at 6 deg/s coasted to +3.1 deg and the
    # RISE brought it to horizontal in 11 s (seed 2028, timeline 527).
    if angle <= 0 or ctl._exc_peak < _EXC_MIN_CDEG:
        return v
    c = ctl._exc_peak * 1000 // (L.MIN_RETURN_MS + L.RETURN_MARGIN_MS)
    c = c * 100 // ctl._gain_pct
    if c < 1:
        c = 1
    return c if c < v else v


def never_deeper(ctl, cmd, angle, tilt_ok, end_sw, act):
    # Remove forbidden deeper motion at once (no ramp): never deeper
    # without a trusted angle (or one that stopped following the motor),
    # at or past the limit, at the end switch, or when an alarm says no
    # deeper.
    if cmd > 0 and (not tilt_ok or end_sw or act >= ACT_NO_DEEPER or angle >= ctl._eff_limit):
        return 0
    return cmd


def true_hi(ctl, lim, r, prev):
    # A command limit (one direction, >= 0) from a limit on the table's
    # TRUE speed: a motor faster than its driver's scale (the learned
    # gain) gets proportionally smaller commands, and a measured speed
    # above the limit cuts the command back by the excess (found by a
    # review: a fast motor caught up with a waiting setpoint at 6.5-7.5
    # deg/s against the 6 deg/s hard limit).  Close to the limit the
    # command stops growing, so a gain learned a little low cannot carry
    # the table past it.  r, prev: the measured speed and the last
    # command, in that direction.
    if lim <= 0:
        return 0
    g = ctl._gain_pct
    g += g // 16  # aim ~6 % under: the learned gain reads a little low
    h = lim * 100 // g
    if r >= lim - lim // 8 and h > prev:
        h = prev if prev > 0 else 0
    # The measured speed may read low by the gyro's scale tolerance: the
    # cut-back starts that much under the limit (found by the campaign:
    # a 6 deg/s profile ran at a true 6.06 deg/s, measured 5.95).
    lim -= lim * L.GYRO_SCALE_TOL_PCT // 100
    if r > lim:
        h -= (r - lim) * 100 // g
    return h if h > 0 else 0


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
        return ctl._ret_cdps
    if ph == _OL_REST:
        if ticks_diff(t, ctl._ol_t_phase) >= ctl.profile.rest_ms:
            ctl._ol_phase = _OL_HOME
        return 0
    if ctl._home_bad and ctl._ol_est_k <= ctl.profile.loading_cdeg * 1000:
        ctl._set_state(t, S.FAULT)  # at the estimated loading angle
        return 0
    return L.OPEN_LOOP_CDPS


def outputs_motor(ctl, out):
    cmd = ctl._cmd
    out.motor_cmd_cdps = cmd
    out.motor_enable = ctl._enable
    out.brake_on = cmd == 0
    st = ctl.state
    if st >= S.DESCENT and st <= S.RISE:
        out.target_angle_cdeg = ctl._traj.pos_mcdeg // 1000
        out.goal_cdeg = ctl._traj.goal_mcdeg // 1000
    else:
        out.target_angle_cdeg = ctl._angle if ctl._tilt_ok else 0
        out.goal_cdeg = out.target_angle_cdeg
    if out.target_angle_cdeg > ctl._eff_limit:
        out.target_angle_cdeg = ctl._eff_limit


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
        (active & (B_OVER_LIMIT | B_TILT | B_CONTRA)) != 0
        or st == S.FAULT
        or st == S.ESTOP
        or st == S.SELFTEST
        or not ctl._tilt_ok
        or angle > ctl._eff_limit + L.LIMIT_TOL_CDEG
    )
    if active & B_TOO_FAST and ctl._rate > 0:
        lock = True
    out.brake_on = ctl._has_brake and lock
    if st == S.RETURN:
        c = ctl._ret_start - ctl._ret_cdps * ticks_diff(t, ctl._t_ret) // 1000
        out.target_angle_cdeg = c if c > 0 else 0
        out.goal_cdeg = 0
    elif st == S.REST:
        out.target_angle_cdeg = 0
        out.goal_cdeg = 0
    elif st == S.RISE or st == S.DONE or st == S.IDLE:
        out.target_angle_cdeg = ctl.profile.loading_cdeg
        out.goal_cdeg = ctl.profile.loading_cdeg
    else:
        out.target_angle_cdeg = ctl._eff_limit
        out.goal_cdeg = ctl._eff_limit
