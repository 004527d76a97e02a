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
# The step's jobs live in their own modules, each a function of the
# controller: the raw safety checks (checks.py), what each state does and how
# a session moves on (phases.py), the motor drive with the "never deeper"
# veto and the open-loop return (drive.py).  This module keeps the state they
# share, the public API and the order of the step.  It is over 400 lines
# because the constructor lists that shared state (about 80 fields, each with
# why it exists) and the host commands' refusals sit with the API.
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
from inversa.compat import const, ticks_diff
from inversa.control import checks, drive, phases
from inversa.control.alarms import Alarms
from inversa.control.motion import FollowCheck, MotionMonitor, Trajectory
from inversa.control.profile import HR_OFF, check

# Inlined constants (issue 10): a module attribute costs ~4 us a lookup on an
# RP2040 and an imported name ~1 us, a const() nothing.  Each one names
# its source; tests/fw/test_inlined_consts.py checks every value.
_ACT_CUTOFF = const(5)  # alarms.ACT_CUTOFF
_ACT_RETURN = const(3)  # alarms.ACT_RETURN
_BASELINE = const(2)  # states.BASELINE
_B_ESTOP = const(1)  # alarms.B_ESTOP
_B_SWITCH = const(268435456)  # alarms.B_SWITCH
_DAY_MS = const(86400000)  # limits.DAY_MS
_DESCENT = const(4)  # states.DESCENT
_DONE = const(9)  # states.DONE
_ESTOP = const(11)  # states.ESTOP
_EV_FAULT = const(5)  # events.EV_FAULT
_EV_PROFILE = const(6)  # events.EV_PROFILE
_EV_STATE = const(2)  # events.EV_STATE
_FAULT = const(10)  # states.FAULT
_F_PROFILE = const(256)  # alarms.F_PROFILE
_GAIN_ASSUMED_PCT = const(200)  # limits.GAIN_ASSUMED_PCT
_GAIN_MAX_PCT = const(300)  # limits.GAIN_MAX_PCT
_GAIN_MIN_PCT = const(100)  # limits.GAIN_MIN_PCT
_HOLD = const(5)  # states.HOLD
_HORIZONTAL_BAND_CDEG = const(500)  # limits.HORIZONTAL_BAND_CDEG
_IDLE = const(1)  # states.IDLE
_LED_HIGH = const(5)  # alarms.LED_HIGH
_LED_IDLE = const(1)  # alarms.LED_IDLE
_LED_LOW = const(3)  # alarms.LED_LOW
_LED_SESSION = const(2)  # alarms.LED_SESSION
_L_CLEAR = const(2)  # alarms.L_CLEAR
_MANUAL = const(1)  # states.MANUAL
_MAX_ANGLE_CDEG = const(9000)  # limits.MAX_ANGLE_CDEG
_MAX_INVERTED_MS = const(900000)  # limits.MAX_INVERTED_MS
_MAX_RATE_CDPS = const(600)  # limits.MAX_RATE_CDPS
_MIN_RETURN_CDPS = const(10)  # limits.MIN_RETURN_CDPS
_MOTORIZED = const(0)  # states.MOTORIZED
_N_STATES = const(13)  # states.N_STATES
_OPEN_LOOP_MAX_MS = const(2400000)  # limits.OPEN_LOOP_MAX_MS
_PAT_LOUD = const(4)  # alarms.PAT_LOUD
_READY = const(3)  # states.READY
_RISE = const(8)  # states.RISE
_RETURN_MARGIN_MS = const(1500)  # limits.RETURN_MARGIN_MS
_SELFTEST = const(0)  # states.SELFTEST
_TIME_GRACE_MS = const(120000)  # limits.TIME_GRACE_MS

# Motion inputs found closed when a session was armed (issue 14: a
# hold-to-run contact stuck closed plus a host START moved the table).
_IN_DOWN = const(1)
_IN_UP = const(2)
_IN_START = const(4)

_HB = const(500)  # = limits.HORIZONTAL_BAND_CDEG
_REC_STEP_CDEG = const(200)  # record() follows the angle in 2 deg steps
_REC_UNKNOWN_CDEG = const(-16384)  # limits.REC_UNKNOWN_CDEG
# ahead_record(): how far past its limit a motorized session's table may be
# found (over-limit at +0.5 deg and braking; a frozen reading or a run-on is
# cut off within 3 deg, docs/SAFETY.md "tilt sensor failure", "run-on").
AHEAD_MARGIN_CDEG = 500
# Excursions shallower than this are left to the return's 0.01 deg/s floor:
# paced, a noise-level "inversion" of 0.05 deg was a command under 1 deg/s
# that the gain division made 0, and the rise stalled at horizontal for good
# (campaign seed 2031, timeline 1321).
_EXC_MIN_CDEG = const(30)
_DONE_MS = const(5000)  # DONE is shown this long, then IDLE
_MAX_DT_MS = const(100)  # a longer gap (debugger, flash write) counts as 100 ms

# Where a start comes from.
_NO_START = const(0)
_LOCAL_START = const(1)
_HOST_START = const(2)

# Open-loop phases.
_OL_UP = const(0)  # slow, up towards the estimated horizontal
_OL_REST = const(1)  # rest at the estimated horizontal
_OL_HOME = const(2)  # up to the home switch


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
            if table_type not in (_MOTORIZED, _MANUAL):
                from inversa.error_text import text

                raise ValueError(text(22))
            self.profile.table_type = table_type  # the hardware decides
        self._manual = self.profile.table_type == _MANUAL
        self._has_brake = has_brake
        self._reset_cause = reset_cause
        self._alarms = Alarms(events)
        self._clear_mask = self._alarms.latched_mask(_L_CLEAR)
        self._cutoff_mask = self._alarms.action_mask(_ACT_CUTOFF)
        self._traj = Trajectory()
        self._mon = MotionMonitor()
        t = clock.ticks_ms()
        self._t_prev = t
        self.state = _SELFTEST
        self._t_state = t
        self.steps = 0
        self.step_errors = 0  # exceptions caught in step (a bug): FAULT + no watchdog feed
        self.dt_clamped = 0  # periods that arrived more than 100 ms late
        self._checked_steps = -1
        self.daily_used_ms = daily_used_ms
        self.day_ms = day_ms  # powered time since the day's first inverted second
        self._profile_fault = _F_PROFILE if profile_status else 0
        if profile_status:
            events.push(t, _EV_FAULT, _F_PROFILE, profile_status)
        self._mon.reset(t, 0)
        # last inputs seen (for the host-command methods, which run between steps)
        self._tilt_ok = False
        self._angle = 0
        self._rate = 0
        self._rate_prev = 0  # the measured speed one period before
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
        self._gain_pct = _GAIN_ASSUMED_PCT
        self._gain_known = False
        self._rec_valid = resume is not None
        self._est_doubt = 0  # how far the table may be from _last_good_angle
        if resume is None:
            self._last_good_angle = _MAX_ANGLE_CDEG  # none yet: assume the worst
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
            if last == _REC_UNKNOWN_CDEG:
                # Only the bound written ahead of the session's motion: the
                # table is no deeper than `deep`, anywhere above it (the
                # open loop creeps first, drive.begin_open_loop).
                self._last_good_angle = deep
                self._est_doubt = 0
            self._rec_deep = deep
            self._rec_last = last
            if _GAIN_MIN_PCT <= gain <= _GAIN_MAX_PCT:
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
        self._follow = FollowCheck()
        self._angle_frozen = False  # the angle did not follow a deeper command
        self._home_bad = False  # the home switch disagreed with a trusted angle
        self._sw_cond = 0  # B_SWITCH while a switch disagrees (this period)
        self._start_prev = False  # (also the START level _arm reads)
        self._stop_prev = False
        self._down = False
        self._up = False
        self._down_fresh = False  # hold-to-run down seen released since arming
        self._stuck = 0  # _IN_* closed at arming and not yet released
        self._estop_released = False  # the e-stop has read released since boot
        self._cmd = 0
        self._moving = False
        self._enable = False
        self._selftest_fail = False
        self._boot_blind = False  # selftest over with no trusted angle
        self._recovering = False
        # A session is running (armed, moving, returning or recovering);
        # public, read by the app.
        self.in_session = False
        self._host_session = False
        self._session_reset(t, 0)
        self._ol_t0 = t
        self._ol_phase = _OL_UP
        self._ol_bound_ms = _OPEN_LOOP_MAX_MS
        self._ol_est_k = 0
        self._ol_low = 0
        self._ol_first = 0  # the reading when this open loop began
        self._ol_alive = False  # ... and it has moved since: not frozen
        self._ol_floor_k = -1  # a live reading's depth (mcdeg), -1: none
        self._ol_t_phase = t
        self._ol_creep_cdps = 0  # the open loop's first leg, depth unknown
        self._goal = 0
        # Latches that demand the local clear and were active before the
        # reset (persist.py): active again from the first period.
        if latched & self._cutoff_mask:
            self._alarms.restore(t, latched & self._cutoff_mask)
        # Active alarms that only a local clear may drop (the e-stop and the
        # cut-off faults): kept across a reset by the app (persist.py).  A
        # plain attribute, set wherever the alarms change (here, after each
        # step, _clear, _session_end): no property on this class, because a
        # class with one makes MicroPython look every attribute store up in
        # the class first (~14 us instead of ~3 per store on an RP2040, and
        # the step stores dozens; docs/ARCHITECTURE.md).
        self.persist_latched = self._alarms.active & self._cutoff_mask

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
            p.max_angle_cdeg if p.max_angle_cdeg < _MAX_ANGLE_CDEG else _MAX_ANGLE_CDEG
        )
        lim = p.hold_ms + p.return_ms + _TIME_GRACE_MS
        self._time_limit_ms = lim if lim < _MAX_INVERTED_MS else _MAX_INVERTED_MS
        self._ret_cdps = _MIN_RETURN_CDPS
        self._ret_start = 0
        self._t_ret = t
        self._hold_ref = angle
        self._still_ms = 0

    def _session_begin(self, t, angle, source):
        self._session_reset(t, angle)
        self.in_session = True
        self._host_session = source == _HOST_START

    def _session_end(self, t):
        self.in_session = False
        self._host_session = False
        self._recovering = False
        self._alarms.end_session(t)
        self.persist_latched = self._alarms.active & self._cutoff_mask

    def _set_state(self, t, new):
        old = self.state
        if new == old:
            return
        self.state = new
        self._t_state = t
        self._events.push(t, _EV_STATE, new, old)

    # -- host commands (between steps; these may allocate) -----------------
    def _start_refusal(self):
        if self.state != _IDLE and self.state != _DONE:
            return reasons.WRONG_STATE
        if self._alarms.active & self._clear_mask:
            return reasons.FAULT_LATCHED
        if self.profile.contraindicated():
            return reasons.CONTRAINDICATED
        if self.daily_used_ms >= self.profile.daily_ms:
            return reasons.DAILY_LIMIT
        if not self._tilt_ok:
            return reasons.WRONG_STATE
        if not self._manual and not checks.at_loading(self, self._angle, self._home):
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
        if st == _FAULT or st == _ESTOP:  # noqa: SIM109
            return reasons.FAULT_LATCHED
        t = self._clock.ticks_ms()
        if st == _DESCENT or st == _HOLD:  # noqa: SIM109
            phases.begin_return(self, t, self._angle)
        elif st == _BASELINE or st == _READY:  # noqa: SIM109
            self._session_end(t)
            self._set_state(t, _IDLE)
        return reasons.OK

    def set_profile(self, profile):
        """Validate and adopt profile; refused (nothing changes) while a
        session runs or when the profile is invalid."""
        code = check(profile, False)[0]  # no message: nobody reads one here
        if code:
            return code
        if self.in_session or self.state not in (_IDLE, _DONE, _SELFTEST):
            return reasons.WRONG_STATE
        p = profile.copy()
        p.table_type = self.profile.table_type  # the hardware decides
        self.profile = p
        self._profile_fault = 0
        self._session_reset(self._clock.ticks_ms(), 0)
        self._events.push(self._clock.ticks_ms(), _EV_PROFILE, p.user_id, p.crc())
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
        al = self._alarms
        still = al.clear_latched(t, self._clear_mask)
        if still:
            # The e-stop's local clear (only the table's: the host may not)
            # is not held back by a latch whose own reaction brings the
            # person up (tilt, switches): the e-stop goes, that one stays
            # and acts (review attack2, 30 Nov: the tilt alarm kept the
            # e-stop latched, the person inverted).  A motor fault stays
            # latched as before (with no angle nothing would watch it).
            c = al.active & self._cutoff_mask
            if c != _B_ESTOP or still & c or al.clear_latched(t, c):
                return reasons.FAULT_LATCHED
        self.persist_latched = al.active & self._cutoff_mask
        if not al.active & _B_SWITCH:
            self._home_bad = False  # a switch fault was cleared at the table
        st = self.state
        if st == _FAULT or st == _ESTOP:  # noqa: SIM109
            if self._manual or checks.at_loading(self, self._angle, self._home):
                self._session_end(t)
                self._set_state(t, _IDLE)
            elif self._tilt_ok:
                self._traj.reset(self._angle)
                phases.begin_return(self, t, self._angle)
            else:
                drive.begin_open_loop(self, t, self._home)  # (ESTOP/FAULT never starts it)
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
            if src == _HOST_START and self._start_prev:  # START's level
                stuck |= _IN_START
        self._stuck = stuck
        self._down_fresh = False
        self._set_state(t, _READY if self.profile.hr_mode == HR_OFF else _BASELINE)

    def idle_at_loading(self):
        """Nobody can be inverted in a session: idle or done, with a TRUSTED
        angle at the loading position (an unknown angle may be a person
        hanging after a reset).  The gate of maintenance (app.py)."""
        if self.state != _IDLE and self.state != _DONE:
            return False
        return self._tilt_ok and checks.at_loading(self, self._angle, False)

    # -- the step ------------------------------------------------------------
    def step(self, inp, out):
        """One 10 ms period: read `inp` (control.io.ControlInputs), fill `out`
        (ControlOutputs).  Allocates nothing and never raises: an internal
        error is counted in step_errors, puts the outputs in the safe state
        (motor off, brake on, loud alarm), latches FAULT and makes
        self_check() fail, so the watchdog resets the board."""
        try:
            # (through the class: a method looked up on this instance first
            # searches its ~90 attributes' nearly full table, ~30 us on an
            # RP2040; docs/ARCHITECTURE.md "The loop on the RP2040")
            Controller._step(self, inp, out)
        except Exception:  # a bug: never let it reach the loop
            self.step_errors += 1
            self.state = _FAULT
            self._cmd = 0
            out.state = _FAULT
            out.motor_cmd_cdps = 0
            out.motor_enable = False
            out.brake_on = True
            out.alarm_priority = 3
            out.buzzer_pattern = _PAT_LOUD
            out.led_pattern = _LED_HIGH
            self.persist_latched = self._alarms.active & self._cutoff_mask

    def self_check(self, out):
        """True if the last step ran and its outputs obey the invariants; the
        loop feeds the watchdog only then."""
        ok = self.steps != self._checked_steps and self.step_errors == 0
        self._checked_steps = self.steps
        c = out.motor_cmd_cdps
        if c > _MAX_RATE_CDPS or c < -_MAX_RATE_CDPS:
            ok = False
        if c and not out.motor_enable:
            ok = False
        if c > 0 and not self._tilt_ok:
            ok = False
        if out.target_angle_cdeg > _MAX_ANGLE_CDEG:
            ok = False
        if not 0 <= out.state < _N_STATES:
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
        start = inp.start_pressed
        stop = inp.stop_pressed
        start_edge = start and not self._start_prev
        stop_edge = stop and not self._stop_prev
        self._start_prev = start
        self._stop_prev = stop
        tilt_ok = checks.trusted(self, inp, dt, angle, stop_edge)
        home = checks.switches(self, inp, dt, angle, tilt_ok)
        self._tilt_ok = tilt_ok
        self._angle = angle
        self._rate_prev = self._rate
        self._rate = inp.rate_cdps
        self._estop = inp.estop_pressed
        self._home = home
        self._down = inp.hold_down
        self._up = inp.hold_up
        session = self.in_session
        if tilt_ok:
            self._last_good_angle = angle
            self._est_doubt = 0
            if session:
                if angle > self._deepest:
                    self._deepest = angle
                if angle > _HB:
                    self._inverted_ms += dt
                    self.daily_used_ms += dt
        if self.daily_used_ms:
            # The day's window runs on powered time (no clock on the board).
            d = self.day_ms + dt
            if d >= _DAY_MS:
                self.daily_used_ms = 0
                d = 0
            self.day_ms = d
        if (
            session
            or not self._rec_valid
            or self._rec_deep
            or self._rec_last
            or (self._gain_known and self._gain_pct != self._rec_gain)
        ):
            # (otherwise nothing to remember: no session, the record says
            # "at the loading position" and the gain it holds is current)
            Controller._remember(self, angle, tilt_ok)
        st = self.state

        # 1. raw conditions -> alarms -> the most severe action
        cond = checks.conditions(self, inp, t, dt, st, angle, tilt_ok, home)
        al = self._alarms
        act = al.update(t, cond)

        # 2. react to the action (from any state); 3. the state itself
        if act >= _ACT_RETURN:  # (below it, react leaves everything as it is)
            st = phases.react(self, t, act, st, angle, home)
        phases.run_state(self, st, t, dt, inp, angle, act, tilt_ok, home, start_edge, stop_edge)

        # 4. motion and outputs
        if self._manual:
            drive.outputs_manual(self, t, out, angle)
        else:
            drive.motor(self, t, dt, angle, tilt_ok, home, inp.end_switch, act)
            # The motor's outputs (here, not a call: issue 10)
            cmd = self._cmd
            out.motor_cmd_cdps = cmd
            out.motor_enable = self._enable
            out.brake_on = cmd == 0
            st = self.state  # (the open loop may have ended in FAULT)
            if _DESCENT <= st <= _RISE:
                tr = self._traj
                a = tr.pos_mcdeg // 1000
                out.goal_cdeg = tr.goal_mcdeg // 1000
            else:
                a = angle if tilt_ok else 0
                out.goal_cdeg = a
            lim = self._eff_limit
            out.target_angle_cdeg = a if a <= lim else lim
        out.state = self.state
        p = al.priority
        loud = al.loud
        out.alarm_bits = al.active
        out.alarm_priority = p
        out.alarm_loud = loud
        out.fault_bits = al.faults | self._profile_fault
        out.action = act
        self.persist_latched = al.active & self._cutoff_mask
        out.deepest_cdeg = self._deepest
        out.inverted_ms = self._inverted_ms
        out.hold_ms = self._hold_ms
        out.baseline_bpm = self.baseline_bpm
        out.daily_ms = self.daily_used_ms
        out.buzzer_pattern = _PAT_LOUD if loud else p
        if p:
            out.led_pattern = _LED_LOW + p - 1
        elif self.in_session:
            out.led_pattern = _LED_SESSION
        else:
            out.led_pattern = _LED_IDLE

    def _remember(self, angle, tilt_ok):
        # What a reset must not forget (the app keeps record() on the flash
        # when record_seq changes): written in 2 deg steps, so rarely.
        if self.in_session:
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
            if not tilt_ok or (st != _IDLE and st != _DONE):
                return
            if not (checks.at_loading(self, angle, self._home) or (self._manual and angle <= _HB)):
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

    def ahead_record(self):
        """What the flash keeps while a session may move the table (the app
        writes it before motion, control/session_record.py): the deepest
        this session's table may reach (its limit + AHEAD_MARGIN_CDEG, the
        hard limit at most; a manual table, which a person may tip past its
        limit: the hard limit) as the deepest, REC_UNKNOWN_CDEG as the last
        angle (the table may be anywhere above that depth), and the gain as
        recorded now.  A power cut mid-session then finds a depth no
        shallower than the table's, and an open-loop return that is slow
        from any depth (drive.begin_open_loop)."""
        d = _MAX_ANGLE_CDEG
        if not self._manual:
            d = self._eff_limit + AHEAD_MARGIN_CDEG
            if d > _MAX_ANGLE_CDEG:
                d = _MAX_ANGLE_CDEG
        if d < self._rec_deep:
            d = self._rec_deep
        return (d, _REC_UNKNOWN_CDEG, self._rec_gain)

    def session_plan_ms(self):
        """The inverted time this session may take as planned: its time
        limit (hold + return + grace, at most the hard 15 min) plus the
        return that the limit starts.  The app charges it to the daily
        account on the flash before motion (control/persist.py)."""
        return self._time_limit_ms + self.profile.return_ms + _RETURN_MARGIN_MS

    def record(self):
        """(deepest_cdeg, last_cdeg, gain_pct): what the next boot needs to
        bring the person up gradually without an angle (see __init__ resume).
        gain_pct 0: not learned."""
        return (self._rec_deep, self._rec_last, self._rec_gain)

    def record_to(self, ram):
        """record() into the retained RAM (inversa.retained.Retained) without
        the tuple: the app saves it at every change while the table moves."""
        ram.save_values(self._rec_deep, self._rec_last, self._rec_gain)
