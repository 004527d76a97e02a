"""The motor drive as it was before issue 10's inlining (main of 30 Nov,
control/drive.py's motor, true_hi, exc_pace, never_deeper, outputs_motor and
motion.py's Trajectory.step; checks.py's trusted): the readable reference that
tests/fw/test_drive_twin.py runs side by side with the firmware's."""

# ruff: noqa: SIM109

from inversa.control import drive
from inversa.control.drive import open_loop

_ACT_NO_DEEPER = 2  # alarms.ACT_NO_DEEPER
_B_CONTRA = 134217728  # alarms.B_CONTRA
_B_OVER_LIMIT = 1024  # alarms.B_OVER_LIMIT
_B_TILT = 4  # alarms.B_TILT
_B_TOO_FAST = 524288  # alarms.B_TOO_FAST
_DESCENT = 4  # states.DESCENT
_DONE = 9  # states.DONE
_ESTOP = 11  # states.ESTOP
_FAULT = 10  # states.FAULT
_GAIN_LEARN_CDPS = 20  # limits.GAIN_LEARN_CDPS
_GAIN_MAX_PCT = 300  # limits.GAIN_MAX_PCT
_GAIN_MIN_PCT = 100  # limits.GAIN_MIN_PCT
_GAIN_SLEW_MS = 250  # limits.GAIN_SLEW_MS
_GYRO_SCALE_TOL_PCT = 3  # limits.GYRO_SCALE_TOL_PCT
_HOLD = 5  # states.HOLD
_HOME_CONFIRM_MS = 100  # limits.HOME_CONFIRM_MS
_IDLE = 1  # states.IDLE
_LIMIT_TOL_CDEG = 50  # limits.LIMIT_TOL_CDEG
_MAX_ACCEL_CDPS2 = 300  # limits.MAX_ACCEL_CDPS2
_MIN_LOADING_CDEG = -8000  # limits.MIN_LOADING_CDEG
_MIN_RETURN_MS = 30000  # limits.MIN_RETURN_MS
_OPEN_LOOP = 12  # states.OPEN_LOOP
_OPEN_LOOP_CDPS = 150  # limits.OPEN_LOOP_CDPS
_OPEN_LOOP_MARGIN_MS = 20000  # limits.OPEN_LOOP_MARGIN_MS
_OPEN_LOOP_MAX_MS = 2400000  # limits.OPEN_LOOP_MAX_MS
_OPEN_LOOP_TIME_FACTOR = 2  # limits.OPEN_LOOP_TIME_FACTOR
_REST = 7  # states.REST
_RETURN = 6  # states.RETURN
_RETURN_MARGIN_MS = 1500  # limits.RETURN_MARGIN_MS
_RISE = 8  # states.RISE
_SELFTEST = 0  # states.SELFTEST
_TRACK_DEADBAND_CDEG = 30  # limits.TRACK_DEADBAND_CDEG
_TRACK_KP_PER_S = 2  # limits.TRACK_KP_PER_S
_TRACK_LEAD_CDEG = 200  # limits.TRACK_LEAD_CDEG
_REC_STEP_CDEG = 200  # record() follows the angle in 2 deg steps
_REC_UNKNOWN_CDEG = -16384  # limits.REC_UNKNOWN_CDEG
_EXC_MIN_CDEG = 30
_NO_START = 0
_OL_UP = 0  # slow, up towards the estimated horizontal
_OL_REST = 1  # rest at the estimated horizontal
_OL_HOME = 2  # up to the home switch


def motor(ctl, t, dt, angle, tilt_ok, home, end_sw, act):
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
        ctl._hi_cdps = 0
        ctl._lo_cdps = 0
        return
    p = ctl.profile
    if moving_state:
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
        deeper_ok = (st == _DESCENT or st == _HOLD) and act < _ACT_NO_DEEPER
        if (v > 0 and lead > _TRACK_LEAD_CDEG and deeper_ok) or (
            v < 0 and lead < -_TRACK_LEAD_CDEG
        ):
            ff = tr.step(0)
        else:
            ff = tr.step(dt)
        err = tr.pos_mcdeg // 1000 - angle
        cmd = ff + err * _TRACK_KP_PER_S
        if tr.at_goal:
            db = _TRACK_DEADBAND_CDEG if ctl._moving else 2 * _TRACK_DEADBAND_CDEG
            if -db <= err <= db:
                cmd = 0
        if st == _RETURN:
            # (the slow setpoint sets the pace: the table cannot get
            # ahead of it by more than the tracking deadband)
            hi = ff if ff > 0 else 0
            lo = -exc_pace(ctl, angle, ctl._ret_cdps)
        elif st == _REST:
            hi = ctl._ret_cdps
            lo = -exc_pace(ctl, angle, ctl._ret_cdps)
        else:
            if st == _RISE:
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
                    up = angle * 1000 // _MIN_RETURN_MS
                    if lo < -up:
                        lo = -up
            hi = true_hi(ctl, hi, ctl._rate, prev)
            lo = -true_hi(ctl, -lo, -ctl._rate, -prev)
            if st == _RISE:
                lo = -exc_pace(ctl, angle, -lo)
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
    if cmd > 0:  # (never_deeper leaves any other command as it is)
        cmd = never_deeper(ctl, cmd, angle, tilt_ok, end_sw, act)
    if st == _OPEN_LOOP and ctl._home_ms < _HOME_CONFIRM_MS:
        home = False  # not yet believed without an angle
    if cmd < 0 and home:
        cmd = 0  # at the home switch (one the angle does not contradict)
    ctl._cmd_prev = ctl._cmd
    ctl._cmd = cmd
    ctl._moving = cmd != 0
    ctl._enable = True
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
    c = ctl._exc_peak * 1000 // (_MIN_RETURN_MS + _RETURN_MARGIN_MS)
    c = c * 100 // ctl._gain_pct
    if c < 1:
        c = 1
    return c if c < v else v


def never_deeper(ctl, cmd, angle, tilt_ok, end_sw, act):
    # Remove forbidden deeper motion at once (no ramp): never deeper
    # without a trusted angle (or one that stopped following the motor),
    # at or past the limit, at the end switch, or when an alarm says no
    # deeper.
    if cmd > 0 and (not tilt_ok or end_sw or act >= _ACT_NO_DEEPER or angle >= ctl._eff_limit):
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
    lim -= lim * _GYRO_SCALE_TOL_PCT // 100
    if r > lim:
        h -= (r - lim) * 100 // g
    return h if h > 0 else 0


def outputs_motor(ctl, out):
    cmd = ctl._cmd
    out.motor_cmd_cdps = cmd
    out.motor_enable = ctl._enable
    out.brake_on = cmd == 0
    st = ctl.state
    if _DESCENT <= st <= _RISE:
        tr = ctl._traj
        a = tr.pos_mcdeg // 1000
        out.goal_cdeg = tr.goal_mcdeg // 1000
    else:
        a = ctl._angle if ctl._tilt_ok else 0
        out.goal_cdeg = a
    lim = ctl._eff_limit
    out.target_angle_cdeg = a if a <= lim else lim


def trajectory_step(self, dt_ms):
    """Advance one period; return the setpoint velocity in cdps (feed-forward)."""
    if self.at_goal:
        return 0
    a = self.accel_cdps2
    d = self.goal_mcdeg - self.pos_mcdeg
    ad = d if d >= 0 else -d
    if ad > self._zone_mcdeg:
        vd = self.vmax_mcdps
    else:
        # Fastest speed that can still stop within d when the speed drops
        # by a*dt per period: v^2/2a + v*dt/2 <= d, in 0.1 cdps units.
        h = a * dt_ms // 200
        vd = (self._isqrt(a * ad // 5 + h * h) - h) * 100
        if vd < 0:
            vd = 0
        elif vd > self.vmax_mcdps:
            vd = self.vmax_mcdps
    if d < 0:
        vd = -vd
    v = self.vel_mcdps
    dv = a * dt_ms
    if vd > v + dv:
        v += dv
    elif vd < v - dv:
        v -= dv
    else:
        v = vd
    p = self.pos_mcdeg + v * dt_ms // 1000
    if (d >= 0 and v >= 0 and p >= self.goal_mcdeg) or (d <= 0 and v <= 0 and p <= self.goal_mcdeg):
        # Landing on the goal: stay there and let the speed ramp down to 0
        # at the acceleration limit over the next period(s).
        self.pos_mcdeg = self.goal_mcdeg
        self.vel_mcdps = v
        if v == 0:
            self.at_goal = True
            return 0
        return v // 1000 if v >= 0 else -(-v // 1000)
    self.pos_mcdeg = p
    self.vel_mcdps = v
    return v // 1000 if v >= 0 else -(-v // 1000)


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
    if ctl._follow.check(c, dt, angle):
        ctl._angle_frozen = True
    if c:
        drive.learn_gain(ctl, c, inp.rate_cdps, dt)
    return inp.tilt_ok and not ctl._angle_frozen
