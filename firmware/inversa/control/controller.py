# The session state machine: what keeps a person safe on the table.
#
# One step per 10 ms period: read the inputs, compute the raw condition of
# every alarm (one bit each), let the rule table (alarms.py) debounce, latch
# and escalate them, react to the most severe action, run the state, then
# compute the motor command (trajectory + closed-loop tracking, speed- and
# acceleration-limited, deeper motion removed at once whenever it is not
# allowed) and fill the outputs.  The step allocates nothing and never raises:
# an internal error puts the outputs in the safe state (motor off, brake on),
# latches FAULT and makes self_check() fail so the watchdog resets the board
# (whose boot then recovers the session by a gradual return).
#
# States and transitions: see states.py and docs/SAFETY.md.
#
# Usage:
#     ctrl = Controller(clock, events, profile)              # table type from profile
#     ctrl = Controller(clock, events, profile, table_type=MANUAL, has_brake=True)
#     ctrl.step(inp, out)                   # every 10 ms
#     ok = ctrl.self_check(out)             # feed the watchdog only if True
#     code = ctrl.request_start()           # host commands return reason codes
#     code = ctrl.request_return(); code = ctrl.set_profile(p); code = ctrl.clear_faults()
#     if ctrl.record_seq != seen: save(ctrl.record())  # what a reset must not forget
#     ctrl.persist_latched, ctrl.daily_used_ms, ctrl.day_ms   # what survives a reset
#
# Host commands act at once, between steps, or not at all: a refused command
# changes nothing, an accepted one leaves nothing pending for a later step.

from inversa import reasons
from inversa.compat import ticks_diff
from inversa.control import limits as L
from inversa.control import states as S
from inversa.control.alarms import (
    ACT_CUTOFF,
    ACT_NO_DEEPER,
    ACT_OPEN_LOOP,
    ACT_RETURN,
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
    F_PROFILE,
    L_CLEAR,
    LED_HIGH,
    LED_IDLE,
    LED_LOW,
    LED_SESSION,
    PAT_LOUD,
    Alarms,
)
from inversa.control.motion import FollowCheck, MotionMonitor, Trajectory
from inversa.control.profile import HR_OFF, check
from inversa.events import EV_BOOT, EV_FAULT, EV_PROFILE, EV_STATE

# Motion inputs found closed when a session was armed (issue 14: a
# hold-to-run contact stuck closed plus a host START moved the table).
_IN_DOWN = 1
_IN_UP = 2
_IN_START = 4

_HB = L.HORIZONTAL_BAND_CDEG
_REC_STEP_CDEG = 200  # record() follows the angle in 2 deg steps
# Excursions shallower than this are left to the return's 0.01 deg/s floor:
# paced, a noise-level "inversion" of 0.05 deg was a command under 1 deg/s
# that the gain division made 0, and the rise stalled at horizontal for good
# (campaign seed 2031, timeline 1321).
_EXC_MIN_CDEG = 30
_DONE_MS = 5000  # DONE is shown this long, then IDLE
_MAX_DT_MS = 100  # a longer gap (debugger, flash write) counts as 100 ms

# Where a start comes from.
_NO_START = 0
_LOCAL_START = 1
_HOST_START = 2

# Open-loop phases.
_OL_UP = 0  # slow, up towards the estimated horizontal
_OL_REST = 1  # rest at the estimated horizontal
_OL_HOME = 2  # up to the home switch


class Controller:
    """The session state machine of one table (motorized or manual).

    Construct once at boot; call step() every 10 ms period.  Host commands
    (request_start, request_return, set_profile, clear_faults) return a
    reason code (inversa.reasons) and act at once or not at all.  Units are
    in the names: cdeg (0.01 deg, + = inverted), cdps (0.01 deg/s, + =
    deeper), ms.  Limits and their sources: control/limits.py and
    docs/DOMAIN.md; hazards and the tests of each: docs/SAFETY.md.
    """

    def __init__(
        self,
        clock,
        events,
        profile,
        table_type=None,
        has_brake=True,
        daily_used_ms=0,
        profile_status=0,
        reset_cause=0,
        latched=0,
        day_ms=0,
        resume=None,
    ):
        """clock: ticks_ms() source (board.clock); events: the EventLog the
        link drains; profile: a control.profile.Profile (validated here:
        ValueError says which field is wrong); table_type: MOTORIZED or
        MANUAL (the hardware decides; None: the profile's); has_brake: a
        manual table's one-way lock is fitted.  What survived a reset
        (persist.py, session_record.py): daily_used_ms / day_ms (the daily
        allowance), profile_status (the profile store's status, 0 = ok),
        reset_cause (machine.reset_cause()), latched (alarm bits that need
        the local clear), resume ((deepest_cdeg, last_cdeg, gain_pct) from
        record(), or None when nothing is known: the worst depth is then
        assumed)."""
        profile.validate()
        self._clock = clock
        self._events = events
        self.profile = profile.copy()
        if table_type is not None:
            if table_type not in (S.MOTORIZED, S.MANUAL):
                raise ValueError("table_type must be MOTORIZED (0) or MANUAL (1)")
            self.profile.table_type = table_type  # the hardware decides
        self._manual = self.profile.table_type == S.MANUAL
        self._has_brake = has_brake
        self._reset_cause = reset_cause
        self._alarms = Alarms(events)
        self._clear_mask = self._alarms.latched_mask(L_CLEAR)
        self._cutoff_mask = self._alarms.action_mask(ACT_CUTOFF)
        self._traj = Trajectory()
        self._mon = MotionMonitor()
        t = clock.ticks_ms()
        self._t_prev = t
        self.state = S.SELFTEST
        self._t_state = t
        self.steps = 0
        self.step_errors = 0  # exceptions caught in step (a bug): FAULT + no watchdog feed
        self.dt_clamped = 0  # periods that arrived more than 100 ms late
        self._checked_steps = -1
        self.daily_used_ms = daily_used_ms
        self.day_ms = day_ms  # powered time since the day's first inverted second
        self._profile_fault = F_PROFILE if profile_status else 0
        if profile_status:
            events.push(t, EV_FAULT, F_PROFILE, profile_status)
        self._mon.reset(t, 0)
        # last inputs seen (for the host-command methods, which run between steps)
        self._tilt_ok = False
        self._angle = 0
        self._rate = 0
        self._estop = True
        self._home = False
        # What survives a reset (the app keeps record() on the flash): the
        # session's deepest trusted angle, the last trusted angle (to 2 deg)
        # and the motor's learned speed gain.  resume=None: nothing known
        # (no record at all): assume the worst depth.  (0, 0, g): no session
        # was running, the table was left at the loading position.
        self._rec_deep = 0
        self._rec_last = 0
        # True speed per commanded speed: until learned, a motor this much
        # faster than its driver's scale is assumed (the catch-up after a
        # reset approaches the limits from below).
        self._gain_pct = L.GAIN_ASSUMED_PCT
        self._gain_known = False
        self._rec_valid = resume is not None
        self._est_doubt = 0  # how far the table may be from _last_good_angle
        if resume is None:
            self._last_good_angle = L.MAX_ANGLE_CDEG  # none yet: assume the worst
        else:
            deep, last, gain = resume
            # The record follows the angle in REC_STEP steps: the table may be
            # up to one step either side of the last angle written (found by
            # the reset property: reset at +1.1 deg with the angle gone,
            # recorded about 0, up to horizontal in 0.8 s).  The open loop
            # covers the deepest it may be at the pace of the shallowest.
            self._last_good_angle = last
            # (0, 0): no session, at the loading position: nothing in doubt.
            self._est_doubt = _REC_STEP_CDEG if deep or last else 0
            self._rec_deep = deep
            self._rec_last = last
            if L.GAIN_MIN_PCT <= gain <= L.GAIN_MAX_PCT:
                self._gain_pct = gain
                self._gain_known = True
        self.record_seq = 0  # bumped whenever record() changed
        self._rec_gain = self._gain_pct if self._gain_known else 0
        self._gain_n = 0
        self._gain_slew_ms = 0
        self._cmd_prev = 0
        self._exc_peak = 0  # the deepest angle since the table was last head-up
        self._end_lies = False
        self._home_ms = 0
        self._dt = 0
        self._follow = FollowCheck()
        self._angle_frozen = False  # the angle did not follow a deeper command
        self._home_bad = False  # the home switch disagreed with a trusted angle
        self._sw_cond = 0  # B_SWITCH while a switch disagrees (this period)
        self._start_prev = False
        self._stop_prev = False
        self._start_lvl = False
        self._down = False
        self._up = False
        self._down_fresh = False  # hold-to-run down seen released since arming
        self._stuck = 0  # _IN_* closed at arming and not yet released
        self._estop_released = False  # the e-stop has read released since boot
        self._cmd = 0
        self._moving = False
        self._enable = False
        self._selftest_fail = False
        self._recovering = False
        self._session = False
        self._host_session = False
        self._session_reset(t, 0)
        self._ol_t0 = t
        self._ol_phase = _OL_UP
        self._ol_bound_ms = L.OPEN_LOOP_MAX_MS
        self._ol_est_k = 0
        self._ol_low = 0
        self._ol_t_phase = t
        self._goal = 0
        self._hi_cdps = 0
        self._lo_cdps = 0
        # Latches that demand the local clear and were active before the
        # reset (persist.py): active again from the first period.
        if latched & self._cutoff_mask:
            self._alarms.restore(t, latched & self._cutoff_mask)

    @property
    def persist_latched(self):
        """Active alarms that only a local clear may drop (the e-stop and the
        cut-off faults): kept across a reset by the app (persist.py)."""
        return self._alarms.active & self._cutoff_mask

    # -- session bookkeeping ----------------------------------------------
    def _session_reset(self, t, angle):
        p = self.profile
        self._deepest = angle if angle > 0 else 0
        self._inverted_ms = 0
        self._hold_ms = 0
        self._rest_ms = 0
        self._base_sum = 0
        self._base_n = 0
        self.baseline_bpm = 0
        self._eff_limit = (
            p.max_angle_cdeg if p.max_angle_cdeg < L.MAX_ANGLE_CDEG else L.MAX_ANGLE_CDEG
        )
        lim = p.hold_ms + p.return_ms + L.TIME_GRACE_MS
        self._time_limit_ms = lim if lim < L.MAX_INVERTED_MS else L.MAX_INVERTED_MS
        self._ret_cdps = L.MIN_RETURN_CDPS
        self._ret_start = 0
        self._t_ret = t
        self._hold_ref = angle
        self._still_ms = 0

    def _session_begin(self, t, angle, source):
        self._session_reset(t, angle)
        self._session = True
        self._host_session = source == _HOST_START

    def _session_end(self, t):
        self._session = False
        self._host_session = False
        self._recovering = False
        self._alarms.end_session(t)

    def _set_state(self, t, new):
        old = self.state
        if new == old:
            return
        self.state = new
        self._t_state = t
        self._events.push(t, EV_STATE, new, old)

    # -- host commands (between steps; these may allocate) -----------------
    def _start_refusal(self):
        if self.state != S.IDLE and self.state != S.DONE:
            return reasons.WRONG_STATE
        if self._alarms.active & self._clear_mask:
            return reasons.FAULT_LATCHED
        if self.profile.contraindicated():
            return reasons.CONTRAINDICATED
        if self.daily_used_ms >= self.profile.daily_ms:
            return reasons.DAILY_LIMIT
        if not self._tilt_ok:
            return reasons.WRONG_STATE
        if not self._manual and not self._at_loading(self._angle, self._home):
            return reasons.WRONG_STATE
        return reasons.OK

    def request_start(self):
        """Arm a session (baseline, then READY) at once; motion still needs a
        press of the local hold-to-run button that begins after this."""
        code = self._start_refusal()
        if code == reasons.OK:
            self._arm(self._clock.ticks_ms(), _HOST_START)
        return code

    def request_return(self):
        """Stop and bring the person back up gradually, at once (a no-op if
        already returning or idle)."""
        st = self.state
        if st == S.FAULT or st == S.ESTOP:
            return reasons.FAULT_LATCHED
        t = self._clock.ticks_ms()
        if st == S.DESCENT or st == S.HOLD:
            self._begin_return(t, self._angle)
        elif st == S.BASELINE or st == S.READY:
            self._session_end(t)
            self._set_state(t, S.IDLE)
        return reasons.OK

    def set_profile(self, profile):
        """Validate and adopt profile; refused (nothing changes) while a
        session runs or when the profile is invalid."""
        code, _why = check(profile)
        if code:
            return code
        if self._session or self.state not in (S.IDLE, S.DONE, S.SELFTEST):
            return reasons.WRONG_STATE
        p = profile.copy()
        p.table_type = self.profile.table_type  # the hardware decides
        self.profile = p
        self._profile_fault = 0
        self._session_reset(self._clock.ticks_ms(), 0)
        self._events.push(self._clock.ticks_ms(), EV_PROFILE, p.user_id, p.crc())
        return reasons.OK

    def clear_faults(self):
        """Host request to clear latched faults.  Faults that cut the motor
        (and the e-stop) are cleared only at the table (release the e-stop,
        press stop); others only once their condition is gone."""
        if self._alarms.active & self._cutoff_mask:
            return reasons.FAULT_LATCHED
        return self._clear(self._clock.ticks_ms())

    def _clear(self, t):
        # All or nothing: clear_latched() drops every latch or none.
        if self._estop:
            return reasons.FAULT_LATCHED
        if self._alarms.clear_latched(t, self._clear_mask):
            return reasons.FAULT_LATCHED
        self._home_bad = False  # a switch fault was cleared at the table
        st = self.state
        if st == S.FAULT or st == S.ESTOP:
            if self._manual or self._at_loading(self._angle, self._home):
                self._session_end(t)
                self._set_state(t, S.IDLE)
            elif self._tilt_ok:
                self._traj.reset(self._angle)
                self._begin_return(t, self._angle)
        return reasons.OK

    # -- helpers -----------------------------------------------------------
    def _arm(self, t, src):
        # A session is armed (host or local start): motion will need a press
        # of hold-to-run that begins after this moment; a motion input that
        # is already closed now is a fault (A_INPUT_STUCK) until released
        # and cleared at the table.
        self._session_begin(t, self._angle, src)
        stuck = 0
        if not self._manual:
            if self._down:
                stuck |= _IN_DOWN
            if self._up:
                stuck |= _IN_UP
            if src == _HOST_START and self._start_lvl:
                stuck |= _IN_START
        self._stuck = stuck
        self._down_fresh = False
        self._set_state(t, S.READY if self.profile.hr_mode == HR_OFF else S.BASELINE)

    def idle_at_loading(self):
        """Nobody can be inverted in a session: idle or done, with a TRUSTED
        angle at the loading position (an unknown angle may be a person
        hanging after a reset).  The gate of maintenance (app.py)."""
        if self.state != S.IDLE and self.state != S.DONE:
            return False
        return self._tilt_ok and self._at_loading(self._angle, False)

    def _at_loading(self, angle, home):
        # A trusted angle decides; the home switch only when there is none
        # (a chattering switch must not end a rise or a recovery early).
        if home and not self._tilt_ok:
            return True
        if self._manual:
            return angle <= self.profile.loading_cdeg + L.LOADING_TOL_CDEG
        d = angle - self.profile.loading_cdeg
        return -L.LOADING_TOL_CDEG <= d <= L.LOADING_TOL_CDEG

    def _begin_return(self, t, angle):
        # Every return lasts at least return_ms (>= 30 s) from where it starts:
        # the speed comes from the measured angle (where the table is).
        if not self._session:
            self._session_begin(t, angle, _NO_START)
        sp = self._traj.pos_mcdeg // 1000
        start = angle
        if not self._manual and sp != angle:
            # The return starts from where the table is, not from a setpoint
            # still ahead of it on the way down, nor from one it overshot
            # (found by the campaign, seed 12 timeline 209: a table that
            # braked past horizontal to 1.2 deg was "already head-up" by its
            # setpoint and came up in 14 s).
            self._traj.reset(angle)
        if start <= 0 or (self._manual and start <= _HB):
            self._begin_rest(t)  # already head-up (a manual table: rest in the band)
            return
        # Planned a margin longer than the profile's time: the table lags its
        # setpoint and the angle is measured with noise, and the person must
        # never get less than return_ms.  However shallow (found by a review:
        # a 5 deg profile skipped the return and came up in 10 s): no faster
        # floor than 0.01 deg/s, i.e. only a return from under 0.3 deg may
        # take less than return_ms.
        v = start * 1000 // (self.profile.return_ms + L.RETURN_MARGIN_MS)
        if v < 1:
            v = 1
        elif v > L.MAX_RATE_CDPS:
            v = L.MAX_RATE_CDPS
        self._ret_cdps = v
        self._ret_start = start
        self._t_ret = t
        if not self._manual:
            self._traj.set_goal(0, v)
        self._set_state(t, S.RETURN)

    def _begin_rest(self, t):
        self._rest_ms = 0
        if not self._manual:
            # Rest at horizontal, or where we are if already head-up.
            sp = self._traj.pos_mcdeg // 1000
            self._traj.set_goal(sp if sp < 0 else 0, self._ret_cdps if self._ret_cdps > 50 else 50)
        self._set_state(t, S.REST)

    def _begin_open_loop(self, t, home):
        if home and self._home_ms >= L.HOME_CONFIRM_MS:
            self._set_state(t, S.FAULT)
            return
        if not self._session:
            self._session_begin(t, self._last_good_angle, _NO_START)
        # Dead reckoning from the depth it can prove: the last trusted angle
        # (this boot, or kept across a reset by record()/resume; the worst
        # case, 90 deg, only when nothing at all is known).
        est = self._last_good_angle
        deep_est = est + self._est_doubt  # the deepest the table may be
        pace_est = est - self._est_doubt  # ... planned at the shallowest's pace
        if self._est_doubt and deep_est > 0 and pace_est < _REC_STEP_CDEG // 2:
            pace_est = _REC_STEP_CDEG // 2  # (a 1 deg return at its 30 s pace)
        # Open loop, the real speed is the motor's for this command: planned
        # for OPEN_LOOP_TIME_FACTOR times the driver's scale, or for its
        # learned gain (this boot or kept across a reset) plus 25 % for load
        # and direction if that is more.  Found by the
        # simulator: a motor 33 % faster than the driver's scale returned a
        # person from 25 deg in 24 s; by a review: after a reset the return
        # was sized for 90 deg and took 13 s from 25 deg.
        f = 100 * L.OPEN_LOOP_TIME_FACTOR
        if self._gain_known and self._gain_pct * 5 // 4 > f:
            f = self._gain_pct * 5 // 4
        if self.state == S.RETURN or self.state == S.REST or self.state == S.RISE:
            v = self._ret_cdps * 100 // f  # the return's own speed, slowed
        else:
            v = pace_est * 100000 // ((self.profile.return_ms + L.RETURN_MARGIN_MS) * f)
        if v > L.OPEN_LOOP_CDPS:
            v = L.OPEN_LOOP_CDPS
        if v < 1:
            v = 1
        self._ret_cdps = v
        self._ol_est_k = deep_est * 1000
        self._ol_low = self._angle  # the shallowest reading in this open loop
        self._ol_phase = _OL_UP if deep_est > 0 else _OL_HOME
        self._ol_t0 = t
        self._ol_t_phase = t
        # Bound: the slow leg, the rest, the leg home at full open-loop speed,
        # plus a margin; never above the hard bound.
        up = deep_est if deep_est > 0 else 0
        home_leg = 0 - L.MIN_LOADING_CDEG
        b = (
            up * 1000 // v
            + self.profile.rest_ms
            + home_leg * 1000 // L.OPEN_LOOP_CDPS
            + L.OPEN_LOOP_MARGIN_MS
        )
        self._ol_bound_ms = b if b < L.OPEN_LOOP_MAX_MS else L.OPEN_LOOP_MAX_MS
        self._set_state(t, S.OPEN_LOOP)

    # -- the step ------------------------------------------------------------
    def step(self, inp, out):
        """One 10 ms period: read `inp` (control.io.ControlInputs), fill `out`
        (ControlOutputs).  Allocates nothing and never raises: an internal
        error is counted in step_errors, puts the outputs in the safe state
        (motor off, brake on, loud alarm), latches FAULT and makes
        self_check() fail, so the watchdog resets the board."""
        try:
            self._step(inp, out)
        except Exception:  # a bug: never let it reach the loop
            self.step_errors += 1
            self.state = S.FAULT
            self._cmd = 0
            out.state = S.FAULT
            out.motor_cmd_cdps = 0
            out.motor_enable = False
            out.brake_on = True
            out.alarm_priority = 3
            out.buzzer_pattern = PAT_LOUD
            out.led_pattern = LED_HIGH

    def self_check(self, out):
        """True if the last step ran and its outputs obey the invariants; the
        loop feeds the watchdog only then."""
        ok = self.steps != self._checked_steps and self.step_errors == 0
        self._checked_steps = self.steps
        c = out.motor_cmd_cdps
        if c > L.MAX_RATE_CDPS or c < -L.MAX_RATE_CDPS:
            ok = False
        if c and not out.motor_enable:
            ok = False
        if c > 0 and not self._tilt_ok:
            ok = False
        if out.target_angle_cdeg > L.MAX_ANGLE_CDEG:
            ok = False
        if not 0 <= out.state < S.N_STATES:
            ok = False
        return ok

    def _step(self, inp, out):
        t = self._clock.ticks_ms()
        if self.steps == 0:
            # The self-test and the e-stop's boot settle run on the loop's own
            # time: the rest of a board's boot after the controller was built
            # (found on the emulated Pico: > 250 ms) must not count as the
            # e-stop input "pressed since boot" and latch a released e-stop.
            self._t_prev = t
            self._t_state = t
        dt = ticks_diff(t, self._t_prev)
        self._t_prev = t
        if dt < 0:
            dt = 0
        elif dt > _MAX_DT_MS:
            dt = _MAX_DT_MS
            self.dt_clamped += 1
        self.steps += 1
        angle = inp.angle_cdeg
        start_edge = inp.start_pressed and not self._start_prev
        stop_edge = inp.stop_pressed and not self._stop_prev
        self._start_prev = inp.start_pressed
        self._stop_prev = inp.stop_pressed
        self._dt = dt
        tilt_ok = self._trusted(inp, dt, angle, stop_edge)
        home = self._switches(inp, angle, tilt_ok)
        self._tilt_ok = tilt_ok
        self._angle = angle
        self._rate = inp.rate_cdps
        self._estop = inp.estop_pressed
        self._home = home
        self._down = inp.hold_down
        self._up = inp.hold_up
        self._start_lvl = inp.start_pressed
        if tilt_ok:
            self._last_good_angle = angle
            self._est_doubt = 0
            if self._session:
                if angle > self._deepest:
                    self._deepest = angle
                if angle > _HB:
                    self._inverted_ms += dt
                    self.daily_used_ms += dt
        if self.daily_used_ms:
            # The day's window runs on powered time (no clock on the board).
            self.day_ms += dt
            if self.day_ms >= L.DAY_MS:
                self.daily_used_ms = 0
                self.day_ms = 0
        self._remember(angle, tilt_ok)
        st = self.state

        # 1. raw conditions -> alarms -> the most severe action
        cond = self._conditions(inp, t, dt, st, angle, tilt_ok, home)
        al = self._alarms
        act = al.update(t, cond)

        # 2. react to the action (from any state)
        if act >= ACT_RETURN:
            if act == ACT_CUTOFF:
                if al.active & B_ESTOP:
                    self._set_state(t, S.ESTOP)
                elif st != S.ESTOP:
                    self._set_state(t, S.FAULT)
            elif act == ACT_OPEN_LOOP:
                if st != S.OPEN_LOOP and st != S.FAULT and st != S.ESTOP:
                    if self._manual:
                        self._set_state(t, S.FAULT)
                    else:
                        self._begin_open_loop(t, home)
            elif st == S.BASELINE or st == S.READY:
                self._session_end(t)
                self._set_state(t, S.IDLE)
            elif st == S.DESCENT or st == S.HOLD:
                self._begin_return(t, angle)
            st = self.state

        # 3. the state itself
        if st == S.HOLD:
            self._run_hold(t, dt, inp, angle, act, stop_edge)
        elif st == S.DESCENT:
            self._run_descent(t, dt, inp, angle, act, stop_edge)
        elif st == S.RETURN:
            if self._manual:
                if angle <= _HB:
                    self._begin_rest(t)
            elif self._traj.at_goal and angle <= _HB:
                self._begin_rest(t)
        elif st == S.REST:
            self._rest_ms += dt
            if self._rest_ms >= self.profile.rest_ms:
                self._set_state(t, S.RISE)
                if not self._manual:
                    self._traj.set_goal(self.profile.loading_cdeg, self.profile.rise_cdps)
            elif self._manual and self._at_loading(angle, home):
                self._finish(t)
        elif st == S.RISE:
            if self._at_loading(angle, home) and (self._manual or self._traj.at_goal or home):
                self._finish(t)
        elif st == S.IDLE or st == S.DONE:
            self._run_idle(t, inp, angle, tilt_ok, home, start_edge)
        elif st == S.BASELINE or st == S.READY:
            self._run_armed(t, inp, angle, stop_edge)
        elif st == S.OPEN_LOOP:
            if home and self._home_ms >= L.HOME_CONFIRM_MS:
                self._set_state(t, S.FAULT)
        elif st == S.FAULT or st == S.ESTOP:
            if stop_edge:
                self._clear(t)
        elif st == S.SELFTEST:
            self._run_selftest(t, angle, tilt_ok, home, inp)

        # 4. motion and outputs
        if self._manual:
            self._outputs_manual(t, out, angle)
        else:
            self._motor(t, dt, angle, tilt_ok, home, inp.end_switch, act)
            self._outputs_motor(out)
        out.state = self.state
        out.alarm_bits = al.active
        out.alarm_priority = al.priority
        out.alarm_loud = al.loud
        out.fault_bits = al.faults | self._profile_fault
        out.action = act
        out.deepest_cdeg = self._deepest
        out.inverted_ms = self._inverted_ms
        out.hold_ms = self._hold_ms
        out.baseline_bpm = self.baseline_bpm
        out.daily_ms = self.daily_used_ms
        p = al.priority
        out.buzzer_pattern = PAT_LOUD if al.loud else p
        if p:
            out.led_pattern = LED_LOW + p - 1
        elif self._session:
            out.led_pattern = LED_SESSION
        else:
            out.led_pattern = LED_IDLE

    # -- what the inputs can be trusted with ---------------------------------
    def _trusted(self, inp, dt, angle, stop_edge):
        # The angle is trusted when the estimator says so AND it follows the
        # motor: a reading that stays put while the motor is commanded deeper
        # (a chip that stopped updating, a bus returning the last value, or a
        # stalled motor) is no longer trusted, at once, until cleared at the
        # table.  Judged every FOLLOW_TRAVEL_CDEG (1 deg) of commanded deeper
        # travel: with the fastest motor (GAIN_MAX_PCT) and the drive's own
        # lag, the table is at most ~3 deg past the frozen reading when every
        # deeper command stops.
        if stop_edge and (self.state == S.FAULT or self.state == S.ESTOP):
            self._angle_frozen = False
        c = self._cmd
        if not inp.tilt_ok or self._manual or self._angle_frozen:
            c = 0
        if self._follow.check(c, dt, angle):
            self._angle_frozen = True
        if c:
            self._learn_gain(c, inp.rate_cdps, dt)
        return inp.tilt_ok and not self._angle_frozen

    def _learn_gain(self, cmd, rate, dt):
        # The motor's true speed per commanded speed (its driver's scale is
        # only nominal: load, supply, a faster motor).  Learned from steady
        # commands of at least 0.2 deg/s; it only ever slows commands down.
        if -L.GAIN_LEARN_CDPS < cmd < L.GAIN_LEARN_CDPS:
            return
        d = cmd - self._cmd_prev
        a = rate - self._rate
        if d > 1 or d < -1 or a > 1 or a < -1:
            return  # only in steady motion: the drive's lag would bias the ratio
        r = rate * 100 // cmd
        g = self._gain_pct
        d = (r - g) // 8
        if self._gain_known:
            # Once known it drifts at most 1 % per GAIN_SLEW_MS: a motor's
            # scale does not change in a second, and a stuck driver running
            # on while the command slows must not teach it that the motor got
            # faster (that would hide the run-on; campaign seed 11, 237).
            self._gain_slew_ms += dt
            if self._gain_slew_ms < L.GAIN_SLEW_MS:
                return
            self._gain_slew_ms = 0
            d = 1 if d > 0 else (-1 if d < 0 else 0)
        g += d
        if g < L.GAIN_MIN_PCT:
            g = L.GAIN_MIN_PCT
        elif g > L.GAIN_MAX_PCT:
            g = L.GAIN_MAX_PCT
        self._gain_pct = g
        self._gain_n += dt
        if self._gain_n >= 1000:
            self._gain_known = True

    def _switches(self, inp, angle, tilt_ok):
        # A limit switch that disagrees with a trusted angle lies: a switch
        # fault (A_SWITCH, the person is brought up on the angle), and from
        # then on the home switch is ignored until cleared at the table.  A
        # switch never stops upward motion on its own: only a home switch the
        # angle does not contradict (or cannot: angle untrusted) does.  The
        # end switch always stops deeper motion (the safe direction).
        home = inp.home_switch
        c = 0
        self._end_lies = False
        if tilt_ok:
            if home and angle > self.profile.loading_cdeg + L.HOME_DISAGREE_CDEG:
                self._home_bad = True
                c = B_SWITCH
            if inp.end_switch and angle < L.END_SWITCH_MIN_CDEG:
                self._end_lies = True
                c = B_SWITCH
        self._sw_cond = c
        home = home and not self._home_bad
        # With a trusted angle the switch is believed only where the angle
        # agrees it is at loading: one closed 2.5-20 deg short of loading is
        # within the angle's doubt (no fault) but must not stop the rise there.
        if home and tilt_ok:
            d = angle - self.profile.loading_cdeg
            home = -L.HOME_AGREE_CDEG <= d <= L.HOME_AGREE_CDEG
        # Without an angle (open loop) the home switch is believed only once
        # it has stayed closed HOME_CONFIRM_MS: a chattering switch cannot
        # end an open-loop return at depth.
        if home:
            if self._home_ms < L.HOME_CONFIRM_MS:
                self._home_ms += self._dt
        else:
            self._home_ms = 0
        return home

    def _remember(self, angle, tilt_ok):
        # What a reset must not forget (the app keeps record() on the flash
        # when record_seq changes): written in 2 deg steps, so rarely.
        if self._session:
            if not tilt_ok:
                return
            ch = not self._rec_valid
            self._rec_valid = True
            if self._deepest > self._rec_deep + _REC_STEP_CDEG:
                self._rec_deep = self._deepest
                ch = True
            d = angle - self._rec_last
            if d > _REC_STEP_CDEG or d < -_REC_STEP_CDEG:
                self._rec_last = angle
                ch = True
        else:
            # Forgotten only once the table is known to be at the loading
            # position with no session (never in the self-test after a reset).
            st = self.state
            if not tilt_ok or (st != S.IDLE and st != S.DONE):
                return
            if not (self._at_loading(angle, self._home) or (self._manual and angle <= _HB)):
                return
            ch = self._rec_deep != 0 or self._rec_last != 0 or not self._rec_valid
            self._rec_deep = 0
            self._rec_last = 0
            self._rec_valid = True
        g = self._gain_pct - self._rec_gain
        if self._gain_known and (g > 10 or g < -10):
            self._rec_gain = self._gain_pct
            ch = True
        if ch and self._rec_valid:
            self.record_seq += 1

    def record(self):
        """(deepest_cdeg, last_cdeg, gain_pct): what the next boot needs to
        bring the person up gradually without an angle (see __init__ resume).
        gain_pct 0: not learned."""
        return (self._rec_deep, self._rec_last, self._rec_gain)

    # -- conditions (one bit per alarm) -------------------------------------
    def _conditions(self, inp, t, dt, st, angle, tilt_ok, home):
        estop = inp.estop_pressed
        if not estop:
            self._estop_released = True
        if st == S.SELFTEST and ticks_diff(t, self._t_state) < L.SELFTEST_MS:
            # The first second after boot: estimators are still settling, but
            # the e-stop counts from the first period (issue 14: a press in
            # the self-test was never latched).  The only "pressed" ignored
            # is the input's own boot reading until both channels prove
            # closed: pressed since boot for longer than that is a press.
            cond = B_SELFTEST if self._selftest_fail else 0
            if estop and (
                self._estop_released or ticks_diff(t, self._t_state) >= L.ESTOP_BOOT_SETTLE_MS
            ):
                cond |= B_ESTOP
                if inp.motor_power:
                    cond |= B_CONTACTOR
            return cond | self._stuck_cond(inp)
        cond = B_ESTOP if estop else 0
        cond |= self._stuck_cond(inp)
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
            if self._selftest_fail:
                cond |= B_SELFTEST
            return cond  # the estimators are still starting
        p = self.profile
        if p.contra_flags and tilt_ok and p.contraindicated() and not self._at_loading(angle, home):
            # Contraindicated: no inversion at all.  On a manual table the
            # person tilts it themselves: high alarm and the lock as soon as
            # it leaves the loading zone (issue 14).
            cond |= B_CONTRA
        cond |= self._sw_cond
        if not tilt_ok:
            cond |= B_TILT
        elif self._alarms.active & B_OVER_LIMIT:
            if angle > self._eff_limit - L.LIMIT_HYST_CDEG:
                cond |= B_OVER_LIMIT
        elif angle > self._eff_limit + L.LIMIT_TOL_CDEG:
            cond |= B_OVER_LIMIT
        if (
            tilt_ok
            and not self._manual
            and angle > self._eff_limit + L.LIMIT_TOL_CDEG
            and inp.rate_cdps >= L.RUNON_CDPS
            and self._cmd <= 0
        ):
            # Past the limit and still going deeper at speed with no deeper
            # command: nothing the drive was told explains it.  Cut at once
            # (the run-on check waits for a coast; the depth cannot).
            cond |= B_RUNAWAY
        if inp.end_switch and not self._end_lies:
            cond |= B_END_SWITCH  # over-travel the angle did not see: the angle lies
        if st == S.OPEN_LOOP and ticks_diff(t, self._ol_t0) > self._ol_bound_ms:
            cond |= B_HOME_TIMEOUT
        manual = self._manual
        if not manual and tilt_ok and st != S.OPEN_LOOP:
            cond |= self._mon.check(
                t,
                dt,
                self._cmd,
                angle,
                inp.rate_cdps,
                self._traj.pos_mcdeg // 1000,
                self._enable,
                self._gain_pct,
            )
        elif not manual and st == S.OPEN_LOOP and self._angle_frozen and inp.tilt_ok:
            # The reading was judged frozen because it did not follow a deeper
            # command, and a stalled motor looks the same.  A reading that then
            # moves deeper than the shallowest it showed in this open loop,
            # while the open loop drives up, is alive: the motor runs on
            # (found by the campaign, seed 2027 timeline 697: a stall, then a
            # run-on took the table from -53 to +15 deg in open loop).
            if angle < self._ol_low:
                self._ol_low = angle
            if self._cmd < 0 and angle > self._ol_low + L.UNCMD_DRIFT_CDEG:
                cond |= B_RUNON
        if not self._session:
            return cond
        if self._inverted_ms > self._time_limit_ms:
            cond |= B_TIME_LIMIT
        if self._recovering:
            cond |= B_REBOOT
        active_phase = st == S.DESCENT or st == S.HOLD
        if self.daily_used_ms >= p.daily_ms and active_phase:
            cond |= B_DAILY
        if inp.on_battery and (active_phase or st == S.BASELINE or st == S.READY):
            # Mains lost: the battery keeps the table alive for the way up,
            # not for a session (hardware/README.md, power loss).
            cond |= B_MAINS_LOST
        if (
            self._host_session
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
                base = self.baseline_bpm
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
            if st == S.BASELINE and ticks_diff(t, self._t_state) > L.BASELINE_MS:
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
                if r < -(self._ret_cdps + L.COACH_TOL_CDPS):
                    cond |= B_RISE_FAST
            elif st == S.REST:
                if angle < -2 * _HB:
                    cond |= B_RISE_FAST
            elif active_phase and self._hold_ms >= p.hold_ms:
                cond |= B_HOLD_OVER
        return cond

    def _stuck_cond(self, inp):
        # A motion input closed at arming stays a fault condition until it
        # reads released; the latch then waits for the local clear.
        s = self._stuck
        if not s:
            return 0
        if s & _IN_DOWN and not inp.hold_down:
            s &= ~_IN_DOWN
        if s & _IN_UP and not inp.hold_up:
            s &= ~_IN_UP
        if s & _IN_START and not inp.start_pressed:
            s &= ~_IN_START
        self._stuck = s
        return B_INPUT_STUCK if s else 0

    # -- states ----------------------------------------------------------------
    def _run_selftest(self, t, angle, tilt_ok, home, inp):
        if ticks_diff(t, self._t_state) < L.SELFTEST_MS:
            return
        if inp.home_switch and inp.end_switch and not tilt_ok:
            self._selftest_fail = True
            self._set_state(t, S.FAULT)
            self._events.push(t, EV_BOOT, self._reset_cause, 0)
            return
        if not tilt_ok:
            if ticks_diff(t, self._t_state) < L.SELFTEST_MAX_MS:
                return  # the estimator may need a moment longer after a reset
            # Angle unknown: the tilt alarm (now unmasked) decides what to do.
            self._events.push(t, EV_BOOT, self._reset_cause, 0 if home else 1)
            self._set_state(t, S.IDLE)
            return
        at = self._at_loading(angle, home)
        if at and not self._manual and (self._rec_deep or self._rec_last):
            # A session was running at the reset: it ends at the loading
            # position itself, not at the edge of its tolerance (found by the
            # campaign, seed 2030 timeline 535: a reset 4.97 deg short of it,
            # measured, left the table idle 5.03 deg short, true).
            d = angle - self.profile.loading_cdeg
            at = -L.LOADING_TOL_CDEG // 2 <= d <= L.LOADING_TOL_CDEG // 2
        if at or (self._manual and angle <= _HB):
            self._events.push(t, EV_BOOT, self._reset_cause, 0)
            self._traj.reset(angle)
            self._set_state(t, S.IDLE)
            return
        # Not at the loading position: the board restarted mid-session.
        self._events.push(t, EV_BOOT, self._reset_cause, 1)
        self._traj.reset(angle)
        self._session_begin(t, angle, _NO_START)
        self._recovering = True
        self._begin_return(t, angle)

    def _run_idle(self, t, inp, angle, tilt_ok, home, start_edge):
        if self.state == S.DONE and ticks_diff(t, self._t_state) >= _DONE_MS:
            self._set_state(t, S.IDLE)
        src = _NO_START
        if start_edge and self._start_refusal() == reasons.OK:
            src = _LOCAL_START
        if self._manual and tilt_ok and angle > _HB:
            # The person tilted the table: monitor it as a session.
            self._session_begin(t, angle, src)
            self._set_state(t, S.DESCENT)
            return
        if not self._manual:
            self._traj.reset(angle)
            if tilt_ok and angle > _HB and not self._at_loading(angle, home):
                # Idle but inverted (e.g. a cleared fault, or a boot that saw
                # the angle late): nobody may be left hanging; bring them up.
                self._session_begin(t, angle, _NO_START)
                self._recovering = True
                self._begin_return(t, angle)
                return
        if src != _NO_START:
            self._arm(t, src)

    def _run_armed(self, t, inp, angle, stop_edge):
        st = self.state
        if not inp.hold_down:
            self._down_fresh = True  # a press from now on began after arming
        elif st == S.BASELINE:
            # A contact closed in the baseline and still closed at READY is no
            # press of the person's: it must open first (campaign seed 11, tl 77).
            self._down_fresh = False
        if stop_edge or inp.hold_up:
            self._session_end(t)
            self._set_state(t, S.IDLE)
            return
        if self._manual and self._tilt_ok and angle > _HB:
            self._set_state(t, S.DESCENT)  # started before the baseline: no baseline
            return
        if st == S.BASELINE:
            if inp.hr_ok and inp.hr_bpm > 0:
                self._base_sum += inp.hr_bpm
                self._base_n += 1
            el = ticks_diff(t, self._t_state)
            if el >= L.BASELINE_MS and self._base_n * L.CONTROL_PERIOD_MS * 2 >= L.BASELINE_MS:
                self.baseline_bpm = self._base_sum // self._base_n
                self._set_state(t, S.READY)
            elif el >= L.BASELINE_MAX_MS:
                self._session_end(t)  # no pulse: refuse to invert
                self._set_state(t, S.IDLE)
            return
        if ticks_diff(t, self._t_state) >= L.READY_TIMEOUT_MS:
            self._session_end(t)
            self._set_state(t, S.IDLE)
            return
        if (
            not self._manual
            and inp.hold_down
            and self._down_fresh
            and not inp.hold_up
            and self._tilt_ok
        ):
            self._traj.reset(angle)
            self._traj.set_goal(self._eff_limit, self.profile.descent_cdps)
            self._set_state(t, S.DESCENT)

    def _run_descent(self, t, dt, inp, angle, act, stop_edge):
        if stop_edge or inp.hold_up:
            self._begin_return(t, angle)
            return
        if self._manual:
            r = inp.rate_cdps
            if angle > _HB and -L.MANUAL_STILL_CDPS < r < L.MANUAL_STILL_CDPS:
                self._still_ms += dt
                if self._still_ms >= L.MANUAL_STILL_MS:
                    self._hold_ref = angle
                    self._set_state(t, S.HOLD)
            else:
                self._still_ms = 0
                if angle <= _HB and ticks_diff(t, self._t_state) > L.MANUAL_STILL_MS:
                    self._begin_return(t, angle)  # came back without holding
            return
        tr = self._traj
        if act >= ACT_NO_DEEPER or not inp.hold_down or not self._tilt_ok:
            if self._tilt_ok:
                tr.stop_at(angle, inp.rate_cdps)  # hold-to-run: stop where the table is
            else:
                tr.stop()
            if (
                act >= ACT_NO_DEEPER
                and tr.goal_mcdeg > (self._eff_limit - L.LIMIT_BACKOFF_CDEG) * 1000
            ):
                tr.set_goal(self._eff_limit - L.LIMIT_BACKOFF_CDEG, self.profile.descent_cdps)
            self._set_state(t, S.HOLD)
        elif tr.at_goal:
            self._set_state(t, S.HOLD)

    def _run_hold(self, t, dt, inp, angle, act, stop_edge):
        if stop_edge or inp.hold_up:
            self._begin_return(t, angle)
            return
        self._hold_ms += dt
        if self._manual:
            if angle > self._hold_ref:
                self._hold_ref = angle
            if angle < self._hold_ref - 300 and inp.rate_cdps < -L.MANUAL_STILL_CDPS:
                self._begin_return(t, angle)
            return
        if self._hold_ms >= self.profile.hold_ms:
            self._begin_return(t, angle)
            return
        tr = self._traj
        if act >= ACT_NO_DEEPER:
            back = self._eff_limit - L.LIMIT_BACKOFF_CDEG
            if tr.goal_mcdeg > back * 1000:
                tr.set_goal(back, self.profile.descent_cdps)
        elif (
            inp.hold_down
            and not inp.hold_up
            and self._tilt_ok
            and tr.goal_mcdeg < self._eff_limit * 1000
        ):
            tr.set_goal(self._eff_limit, self.profile.descent_cdps)
            self._set_state(t, S.DESCENT)

    def _finish(self, t):
        self._session_end(t)
        self._set_state(t, S.DONE)

    # -- motor command (motorized) -----------------------------------------------
    def _motor(self, t, dt, angle, tilt_ok, home, end_sw, act):
        st = self.state
        p = self.profile
        prev = self._cmd
        enable = True
        if tilt_ok:
            if angle <= 0:
                self._exc_peak = 0
            elif angle > self._exc_peak:
                self._exc_peak = angle
        if st >= S.DESCENT and st <= S.RISE and tilt_ok:
            tr = self._traj
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
                db = L.TRACK_DEADBAND_CDEG if self._moving else 2 * L.TRACK_DEADBAND_CDEG
                if -db <= err <= db:
                    cmd = 0
            if st == S.RETURN:
                # (the slow setpoint sets the pace: the table cannot get
                # ahead of it by more than the tracking deadband)
                hi = ff if ff > 0 else 0
                lo = -self._exc_pace(angle, self._ret_cdps)
            elif st == S.REST:
                hi = self._ret_cdps
                lo = -self._exc_pace(angle, self._ret_cdps)
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
                hi = self._true_hi(hi, self._rate, prev)
                lo = -self._true_hi(-lo, -self._rate, -prev)
                if st == S.RISE:
                    lo = -self._exc_pace(angle, -lo)
        elif st == S.OPEN_LOOP:
            cmd = -self._open_loop(t, dt)  # already planned for the motor's gain
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
        cmd = self._never_deeper(cmd, angle, tilt_ok, end_sw, act)
        if st == S.OPEN_LOOP and self._home_ms < L.HOME_CONFIRM_MS:
            home = False  # not yet believed without an angle
        if cmd < 0 and home:
            cmd = 0  # at the home switch (one the angle does not contradict)
        if not enable:
            cmd = 0
        self._cmd_prev = self._cmd
        self._cmd = cmd
        self._moving = cmd != 0
        self._enable = enable
        self._hi_cdps = hi
        self._lo_cdps = lo

    def _exc_pace(self, angle, v):
        # The fastest upward command (cdeg/s, >= 0) from a return's speed v
        # while the table is inverted: whatever path brought it there (a
        # coast past horizontal after a stop, a REST or RISE begun still
        # inverted, a return planned from under the deepest point), the
        # table takes at least the return time from this excursion's deepest
        # angle to horizontal, at the motor's learned gain.  Found by the
        # campaign: a STOP at -0.7 deg at 6 deg/s coasted to +3.1 deg and the
        # RISE brought it to horizontal in 11 s (seed 2028, timeline 527).
        if angle <= 0 or self._exc_peak < _EXC_MIN_CDEG:
            return v
        c = self._exc_peak * 1000 // (L.MIN_RETURN_MS + L.RETURN_MARGIN_MS)
        c = c * 100 // self._gain_pct
        if c < 1:
            c = 1
        return c if c < v else v

    def _never_deeper(self, cmd, angle, tilt_ok, end_sw, act):
        # Remove forbidden deeper motion at once (no ramp): never deeper
        # without a trusted angle (or one that stopped following the motor),
        # at or past the limit, at the end switch, or when an alarm says no
        # deeper.
        if cmd > 0 and (not tilt_ok or end_sw or act >= ACT_NO_DEEPER or angle >= self._eff_limit):
            return 0
        return cmd

    def _true_hi(self, lim, r, prev):
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
        g = self._gain_pct
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

    def _open_loop(self, t, dt):
        # Dead reckoning from the last trusted angle: slow to the estimated
        # horizontal, rest there, then up to the home switch.
        # The estimate moves by the command times the motor's gain (learned,
        # else the driver's scale).  A home switch found lying is ignored:
        # then the leg home ends at the estimated loading angle.
        if self._cmd < 0:
            self._ol_est_k += self._cmd * dt * self._gain_pct // 100
        ph = self._ol_phase
        if ph == _OL_UP:
            if self._ol_est_k <= 0:
                self._ol_phase = _OL_REST
                self._ol_t_phase = t
                return 0
            return self._ret_cdps
        if ph == _OL_REST:
            if ticks_diff(t, self._ol_t_phase) >= self.profile.rest_ms:
                self._ol_phase = _OL_HOME
            return 0
        if self._home_bad and self._ol_est_k <= self.profile.loading_cdeg * 1000:
            self._set_state(t, S.FAULT)  # at the estimated loading angle
            return 0
        return L.OPEN_LOOP_CDPS

    def _outputs_motor(self, out):
        cmd = self._cmd
        out.motor_cmd_cdps = cmd
        out.motor_enable = self._enable
        out.brake_on = cmd == 0
        st = self.state
        if st >= S.DESCENT and st <= S.RISE:
            out.target_angle_cdeg = self._traj.pos_mcdeg // 1000
            out.goal_cdeg = self._traj.goal_mcdeg // 1000
        else:
            out.target_angle_cdeg = self._angle if self._tilt_ok else 0
            out.goal_cdeg = out.target_angle_cdeg
        if out.target_angle_cdeg > self._eff_limit:
            out.target_angle_cdeg = self._eff_limit

    def _outputs_manual(self, t, out, angle):
        out.motor_cmd_cdps = 0
        out.motor_enable = False
        # The lock is one-way (it stops deeper motion, never the way up), so it
        # engages whenever deeper motion is wrong: past the limit, an angle
        # that cannot be trusted, a latched fault or e-stop, and a table
        # dropping faster than the profile allows (found by the simulator: a
        # head-heavy 130 kg person tipped a manual table to 90 deg while it
        # only warned).
        # Its default is engaged: from the first period after a boot (found
        # by a review: the self-test released it and a person held by it fell
        # to the 90 deg stop on a reset) until the angle is trusted and the
        # state lets it open; and at once (not debounced) past the limit.
        st = self.state
        active = self._alarms.active
        lock = (
            (active & (B_OVER_LIMIT | B_TILT | B_CONTRA)) != 0
            or st == S.FAULT
            or st == S.ESTOP
            or st == S.SELFTEST
            or not self._tilt_ok
            or angle > self._eff_limit + L.LIMIT_TOL_CDEG
        )
        if active & B_TOO_FAST and self._rate > 0:
            lock = True
        out.brake_on = self._has_brake and lock
        if st == S.RETURN:
            c = self._ret_start - self._ret_cdps * ticks_diff(t, self._t_ret) // 1000
            out.target_angle_cdeg = c if c > 0 else 0
            out.goal_cdeg = 0
        elif st == S.REST:
            out.target_angle_cdeg = 0
            out.goal_cdeg = 0
        elif st == S.RISE or st == S.DONE or st == S.IDLE:
            out.target_angle_cdeg = self.profile.loading_cdeg
            out.goal_cdeg = self.profile.loading_cdeg
        else:
            out.target_angle_cdeg = self._eff_limit
            out.goal_cdeg = self._eff_limit
