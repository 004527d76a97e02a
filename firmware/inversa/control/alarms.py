# Alarms as data: one declarative rule per alarm (IEC 60601-1-8 priority,
# debounce, clear delay, latching, escalation, the action it asks for and the
# fault bit it sets), and one small engine that turns a bitmask of raw
# conditions into active alarms.  The most severe action of the active alarms
# wins (ordered actions, as in PX4's failsafe framework); each latch kind has
# an explicit clear condition (as in pvp's alarm rules).
#
# The controller computes the raw condition of every alarm each period as one
# bit (bit i = alarm id i) and calls update(); the engine does the timing.
# Fast path: when no condition changed and no timer is due, update() is one
# comparison, so the 100 Hz step stays cheap.  Nothing here allocates.
#
# Debounce is a leaky integrator, not "true for debounce_ms without a break"
# (issue 14: a pulse signal lost 0.3 s every 4.8 s reset the 5 s debounce of
# hr-high on every loss and hid 185 bpm for minutes).  Each rule accumulates
# the time its condition is present; time absent drains the account at half
# that rate (DECAY_SHIFT); the alarm rises when the account reaches
# debounce_ms.  A condition held without a break still rises after exactly
# debounce_ms; a condition present more than 1/3 of the time rises however
# it is chopped up (within debounce / (1.5 * duty - 0.5)); a lone blip
# shorter than debounce_ms still never rises.  Two rules that share a cause
# and interleave (hr-high while the pulse is valid, hr-lost while it is not)
# cannot both stay below 1/3: one of them rises.
#
# Over 400 lines on purpose: the ids, bits and the rule table (one row per
# alarm) sit next to the engine that reads them, so an alarm is added or
# reviewed in this one file; its display name goes in alarm_names.py (the
# host's; the board never loads those strings: issue 10, the Pico's heap).
#
# Usage:
#     al = Alarms(events)
#     action = al.update(t_ms, cond_bits)   # ACT_* of the most severe alarm
#     al.active, al.priority, al.loud, al.faults
#     al.end_session(t_ms)                  # drop session-latched alarms
#     still = al.clear_latched(t_ms)        # 0: all dropped; else nothing dropped
#     al.restore(t_ms, bits)                # latches kept across a reset (persist.py)

from array import array

from inversa.compat import const, ticks_add, ticks_diff
from inversa.control import limits as L
from inversa.events import EV_ALARM_CLEARED, EV_ALARM_RAISED, EV_FAULT

# Priorities (IEC 60601-1-8).
P_NONE = const(0)
P_LOW = const(1)
P_MEDIUM = const(2)
P_HIGH = const(3)

# Actions, ordered: a larger number is more severe and wins.
ACT_NONE = const(0)
ACT_WARN = const(1)  # buzzer/LED only
ACT_NO_DEEPER = const(2)  # stop deeper motion at once, back under the limit (manual: lock)
ACT_RETURN = const(3)  # end the session: gradual return (manual: coached)
ACT_OPEN_LOOP = const(4)  # angle untrusted: slow, bounded, open-loop return home
ACT_CUTOFF = const(5)  # motor enable off, brake on, latched

# Latch kinds.
L_NONE = const(0)  # clears by itself once the condition is gone for clear_ms
L_SESSION = const(1)  # holds until the session ends (the return is not undone)
L_CLEAR = const(2)  # holds until cleared locally with the condition gone

# Fault bits (ControlOutputs.fault_bits): what kind of thing went wrong.
F_ESTOP = const(0x001)
F_TILT = const(0x002)
F_MOTOR = const(0x004)
F_SWITCH = const(0x008)
F_SELFTEST = const(0x010)
F_HR_SENSOR = const(0x020)
F_REBOOT = const(0x040)
F_HOST = const(0x080)
F_PROFILE = const(0x100)  # set by the controller: stored profile missing/corrupt
F_INPUT = const(0x200)  # a motion input (button contact) closed when it must be open

# Alarm ids (bit positions of ControlOutputs.alarm_bits).
A_ESTOP = const(0)
A_SELFTEST = const(1)
A_TILT = const(2)
A_END_SWITCH = const(3)
A_HOME_TIMEOUT = const(4)
A_STALL = const(5)
A_RUNON = const(6)
A_UNCOMMANDED = const(7)
A_TRACKING = const(8)
A_RUNAWAY = const(9)
A_OVER_LIMIT = const(10)
A_TIME_LIMIT = const(11)
A_HR_HIGH = const(12)
A_HR_LOW = const(13)
A_HR_RISE = const(14)
A_HR_DROP = const(15)
A_HR_LOST = const(16)
A_LEASE = const(17)
A_REBOOT = const(18)
A_TOO_FAST = const(19)
A_RISE_FAST = const(20)
A_HOLD_OVER = const(21)
A_NO_BASELINE = const(22)
A_DAILY = const(23)
A_MAINS_LOST = const(24)  # running on the backup battery: end the session now
A_CONTACTOR = const(25)  # e-stop pressed but the motor contactor still closed
A_INPUT_STUCK = const(26)  # a motion button closed when the session was armed
A_CONTRA = const(27)  # contraindicated profile, table out of the loading zone
A_SWITCH = const(28)  # a home/end switch disagrees with a trusted angle: it lies
N_ALARMS = const(29)

# One bit per alarm id, in every bitmask (conditions, active, latched).
B_ESTOP = const(1 << A_ESTOP)
B_SELFTEST = const(1 << A_SELFTEST)
B_TILT = const(1 << A_TILT)
B_END_SWITCH = const(1 << A_END_SWITCH)
B_HOME_TIMEOUT = const(1 << A_HOME_TIMEOUT)
B_STALL = const(1 << A_STALL)
B_RUNON = const(1 << A_RUNON)
B_UNCOMMANDED = const(1 << A_UNCOMMANDED)
B_TRACKING = const(1 << A_TRACKING)
B_RUNAWAY = const(1 << A_RUNAWAY)
B_OVER_LIMIT = const(1 << A_OVER_LIMIT)
B_TIME_LIMIT = const(1 << A_TIME_LIMIT)
B_HR_HIGH = const(1 << A_HR_HIGH)
B_HR_LOW = const(1 << A_HR_LOW)
B_HR_RISE = const(1 << A_HR_RISE)
B_HR_DROP = const(1 << A_HR_DROP)
B_HR_LOST = const(1 << A_HR_LOST)
B_LEASE = const(1 << A_LEASE)
B_REBOOT = const(1 << A_REBOOT)
B_TOO_FAST = const(1 << A_TOO_FAST)
B_RISE_FAST = const(1 << A_RISE_FAST)
B_HOLD_OVER = const(1 << A_HOLD_OVER)
B_NO_BASELINE = const(1 << A_NO_BASELINE)
B_DAILY = const(1 << A_DAILY)
B_MAINS_LOST = const(1 << A_MAINS_LOST)
B_CONTACTOR = const(1 << A_CONTACTOR)
B_INPUT_STUCK = const(1 << A_INPUT_STUCK)
B_CONTRA = const(1 << A_CONTRA)
B_SWITCH = const(1 << A_SWITCH)


DECAY_SHIFT = const(1)  # absent time drains the debounce account at 1/2 rate
_ESC = const(30000)  # escalate one priority step every 30 s while active
_HR_ESC = const(60000)

# The rule table, one row per alarm id (in id order), its columns:
C_PRIORITY = const(0)  # P_* when raised (escalates from there)
C_DEBOUNCE = const(1)  # ms of condition (leaky account) before it is raised
C_CLEAR = const(2)  # ms without the condition before a non-latched alarm clears
C_LATCH = const(3)  # L_NONE, L_SESSION or L_CLEAR
C_ESCALATE = const(4)  # ms per escalation step while active (0: never)
C_ACTION = const(5)  # ACT_* it demands while active
C_FAULT = const(6)  # F_* fault bit it sets (0: none)
_COLS = const(7)
RULES = (
    P_HIGH, 0, 0, L_CLEAR, _ESC, ACT_CUTOFF, F_ESTOP,  # A_ESTOP
    P_HIGH, 0, 0, L_CLEAR, _ESC, ACT_CUTOFF, F_SELFTEST,  # A_SELFTEST
    P_HIGH, L.TILT_DEBOUNCE_MS, 0, L_CLEAR, _ESC, ACT_OPEN_LOOP, F_TILT,  # A_TILT
    P_HIGH, L.SWITCH_DEBOUNCE_MS, 0, L_CLEAR, _ESC, ACT_OPEN_LOOP, F_SWITCH,  # A_END_SWITCH
    P_HIGH, 0, 0, L_CLEAR, _ESC, ACT_CUTOFF, F_SWITCH,  # A_HOME_TIMEOUT
    P_HIGH, 0, 0, L_CLEAR, _ESC, ACT_CUTOFF, F_MOTOR,  # A_STALL (judged per window)
    P_HIGH, 300, 0, L_CLEAR, _ESC, ACT_CUTOFF, F_MOTOR,  # A_RUNON
    P_HIGH, 100, 0, L_CLEAR, _ESC, ACT_CUTOFF, F_MOTOR,  # A_UNCOMMANDED
    P_HIGH, L.TRACK_ERR_MS, 0, L_CLEAR, _ESC, ACT_CUTOFF, F_MOTOR,  # A_TRACKING
    P_HIGH, 30, 0, L_CLEAR, _ESC, ACT_CUTOFF, F_MOTOR,  # A_RUNAWAY (3 samples)
    P_HIGH, L.LIMIT_DEBOUNCE_MS, 500, L_NONE, _ESC, ACT_NO_DEEPER, 0,  # A_OVER_LIMIT
    P_MEDIUM, 0, 0, L_SESSION, _ESC, ACT_RETURN, 0,  # A_TIME_LIMIT
    P_MEDIUM, L.HR_DEBOUNCE_MS, 0, L_SESSION, _HR_ESC, ACT_RETURN, 0,  # A_HR_HIGH
    P_MEDIUM, L.HR_DEBOUNCE_MS, 0, L_SESSION, _HR_ESC, ACT_RETURN, 0,  # A_HR_LOW
    P_MEDIUM, L.HR_DELTA_DEBOUNCE_MS, 0, L_SESSION, _HR_ESC, ACT_RETURN, 0,  # A_HR_RISE
    P_MEDIUM, L.HR_DELTA_DEBOUNCE_MS, 0, L_SESSION, _HR_ESC, ACT_RETURN, 0,  # A_HR_DROP
    P_MEDIUM, L.HR_LOST_MS, 0, L_SESSION, _HR_ESC, ACT_RETURN, F_HR_SENSOR,  # A_HR_LOST
    P_MEDIUM, 100, 0, L_SESSION, _ESC, ACT_RETURN, F_HOST,  # A_LEASE
    P_MEDIUM, 0, 0, L_SESSION, 0, ACT_RETURN, F_REBOOT,  # A_REBOOT
    P_MEDIUM, 200, 1000, L_NONE, 0, ACT_WARN, 0,  # A_TOO_FAST
    P_LOW, 300, 1000, L_NONE, 0, ACT_WARN, 0,  # A_RISE_FAST
    P_LOW, 0, 1000, L_NONE, _ESC, ACT_WARN, 0,  # A_HOLD_OVER
    P_LOW, 0, 1000, L_NONE, 0, ACT_WARN, F_HR_SENSOR,  # A_NO_BASELINE
    P_LOW, 0, 0, L_SESSION, 0, ACT_RETURN, 0,  # A_DAILY
    P_MEDIUM, 0, 0, L_SESSION, _ESC, ACT_RETURN, 0,  # A_MAINS_LOST (the DC-OK input's 200 ms: enough)
    P_HIGH, L.CONTACTOR_DROP_MS, 0, L_CLEAR, _ESC, ACT_CUTOFF, F_ESTOP,  # A_CONTACTOR
    P_HIGH, 0, 0, L_CLEAR, _ESC, ACT_CUTOFF, F_INPUT,  # A_INPUT_STUCK
    P_HIGH, L.LIMIT_DEBOUNCE_MS, 500, L_NONE, _ESC, ACT_NO_DEEPER, 0,  # A_CONTRA
    P_HIGH, L.SWITCH_DEBOUNCE_MS, 0, L_CLEAR, _ESC, ACT_RETURN, F_SWITCH,  # A_SWITCH
)  # fmt: skip


def check_rules(rules, n):
    """Raise ValueError if the table is malformed (run once at construction)."""
    if len(rules) != n * _COLS:
        from inversa.error_text import text

        raise ValueError(text(16, len(rules), n))
    for i in range(n):
        r = i * _COLS
        if not P_LOW <= rules[r + C_PRIORITY] <= P_HIGH:
            from inversa.error_text import text

            raise ValueError(text(17, i))
        if rules[r + C_DEBOUNCE] < 0 or rules[r + C_CLEAR] < 0 or rules[r + C_ESCALATE] < 0:
            from inversa.error_text import text

            raise ValueError(text(18, i))
        if not L_NONE <= rules[r + C_LATCH] <= L_CLEAR:
            from inversa.error_text import text

            raise ValueError(text(19, i))
        if not ACT_NONE <= rules[r + C_ACTION] <= ACT_CUTOFF:
            from inversa.error_text import text

            raise ValueError(text(20, i))
    if n > 29:
        from inversa.error_text import text

        raise ValueError(text(21))


# Annunciation patterns (ControlOutputs.buzzer_pattern / led_pattern), played
# by inversa.drivers.buzzer: silent, then one per priority, then "loud" for a
# high-priority alarm that has escalated (nobody has reacted).
PAT_NONE = const(0)
PAT_LOW = const(1)
PAT_MEDIUM = const(2)
PAT_HIGH = const(3)
PAT_LOUD = const(4)
LED_OFF = const(0)
LED_IDLE = const(1)  # steady: ready, nothing happening
LED_SESSION = const(2)  # slow blink: a session is running
LED_LOW = const(3)
LED_MEDIUM = const(4)
LED_HIGH = const(5)  # fast blink


class Alarms:
    """The rule engine: raw condition bits in, active alarms and the most
    severe action out.  events: the EventLog that gets raised/cleared
    events; rules: the rule table (RULES, columns C_*; ValueError if it is
    malformed); n: the number of alarms (bit i = alarm id i)."""

    def __init__(self, events, rules=RULES, n=N_ALARMS):
        check_rules(rules, n)
        self._events = events
        self._rules = rules
        self._n = n
        self._acc = array("i", [0] * n)  # debounce account: ms of condition (leaky)
        self._t_seg = array("i", [0] * n)  # start of the current present/absent stretch
        self._t_off = array("i", [0] * n)  # condition gone (clear delay)
        self._t_raised = array("i", [0] * n)  # activation (escalation)
        # effective priority: a rule's 1..3 (check_rules) + at most 2 steps of
        # escalation, so 0..5 fits a byte
        self._level = bytearray(n)
        self._cond = 0  # raw conditions seen last update
        self._pending = 0  # condition true, debounce running
        self._leaking = 0  # condition gone, debounce account not yet drained
        self._clearing = 0  # active, non-latched, condition gone, clear delay running
        self._timed = False  # a debounce, clear delay or escalation is running
        self._next_ms = 0  # earliest time a timer is due
        self.active = 0  # active alarm bits
        self.priority = P_NONE  # highest effective priority (capped at P_HIGH)
        self.loud = False  # a high-priority alarm has escalated further
        self.action = ACT_NONE
        self.faults = 0  # fault bits of active alarms
        self.faults_seen = 0  # fault bits ever raised since the last clear
        self.raised_total = 0

    def update(self, t_ms, cond):
        """Advance to `t_ms` (ticks_ms) with the raw conditions `cond` (bit i
        = alarm i's condition is present now); return the ACT_* of the most
        severe active alarm.  Updates active, priority, loud and faults;
        pushes raised/cleared events.  One comparison when nothing changed
        and no timer is due; allocates nothing."""
        if cond == self._cond and (not self._timed or ticks_diff(t_ms, self._next_ms) < 0):
            return self.action
        self._evaluate(t_ms, cond)
        return self.action

    def _evaluate(self, t_ms, cond):
        rules = self._rules
        acc = self._acc
        t_seg = self._t_seg
        ev = self._events
        self._cond = cond
        active = self.active
        pending = self._pending
        leaking = self._leaking
        clearing = self._clearing
        timed = False
        next_ms = 0
        prio = 0
        loud = False
        action = ACT_NONE
        faults = 0
        x = cond | active | pending | leaking
        i = 0
        while x:
            if x & 1:
                b = 1 << i
                r = i * _COLS
                c = cond & b
                if not active & b:
                    if c:
                        if not pending & b:
                            # present again: drain the account for the absence
                            a = 0
                            if leaking & b:
                                a = acc[i] - (ticks_diff(t_ms, t_seg[i]) >> DECAY_SHIFT)
                                if a < 0:
                                    a = 0
                                leaking &= ~b
                            acc[i] = a
                            pending |= b
                            t_seg[i] = t_ms
                        due = ticks_add(t_seg[i], rules[r + C_DEBOUNCE] - acc[i])
                        if ticks_diff(t_ms, due) >= 0:
                            pending &= ~b
                            acc[i] = 0
                            active |= b
                            self._t_raised[i] = t_ms
                            self._level[i] = rules[r + C_PRIORITY]
                            self.raised_total += 1
                            ev.push(t_ms, EV_ALARM_RAISED, i, rules[r + C_PRIORITY])
                            fb = rules[r + C_FAULT]
                            if fb:
                                self.faults_seen |= fb
                                ev.push(t_ms, EV_FAULT, fb, i)
                        else:
                            if not timed or ticks_diff(due, next_ms) < 0:
                                next_ms = due
                            timed = True
                    elif pending & b:
                        # gone: bank the time it was present, then drain
                        pending &= ~b
                        acc[i] += ticks_diff(t_ms, t_seg[i])
                        t_seg[i] = t_ms
                        leaking |= b
                    elif leaking & b and ticks_diff(t_ms, t_seg[i]) >> DECAY_SHIFT >= acc[i]:
                        leaking &= ~b
                        acc[i] = 0
                if active & b:
                    if c:
                        clearing &= ~b
                    elif rules[r + C_LATCH] == L_NONE:
                        if not clearing & b:
                            clearing |= b
                            self._t_off[i] = t_ms
                        due = ticks_add(self._t_off[i], rules[r + C_CLEAR])
                        if ticks_diff(t_ms, due) >= 0:
                            active &= ~b
                            clearing &= ~b
                            ev.push(t_ms, EV_ALARM_CLEARED, i, self._level[i])
                        else:
                            if not timed or ticks_diff(due, next_ms) < 0:
                                next_ms = due
                            timed = True
                if active & b:
                    lvl = rules[r + C_PRIORITY]
                    esc = rules[r + C_ESCALATE]
                    if esc:
                        steps = ticks_diff(t_ms, self._t_raised[i]) // esc
                        if steps > 0:
                            lvl += steps if steps < 2 else 2
                        if lvl <= P_HIGH:
                            due = ticks_add(self._t_raised[i], (steps + 1) * esc)
                            if not timed or ticks_diff(due, next_ms) < 0:
                                next_ms = due
                            timed = True
                        if lvl != self._level[i]:
                            self._level[i] = lvl
                            ev.push(t_ms, EV_ALARM_RAISED, i, lvl if lvl < P_HIGH else P_HIGH)
                    if lvl > P_HIGH:
                        loud = True
                        lvl = P_HIGH
                    if lvl > prio:
                        prio = lvl
                    if rules[r + C_ACTION] > action:
                        action = rules[r + C_ACTION]
                    faults |= rules[r + C_FAULT]
            x >>= 1
            i += 1
        self.active = active
        self._pending = pending
        self._leaking = leaking
        self._clearing = clearing
        self._timed = timed
        self._next_ms = next_ms
        self.priority = prio
        self.loud = loud
        self.action = action
        self.faults = faults

    def _drop(self, t_ms, mask):
        # Deactivate the alarms in mask and recompute the summary.
        i = 0
        x = mask & self.active
        while x:
            if x & 1:
                self._events.push(t_ms, EV_ALARM_CLEARED, i, self._level[i])
            x >>= 1
            i += 1
        self.active &= ~mask
        self._clearing &= ~mask
        self._evaluate(t_ms, self._cond)

    def latched_mask(self, kind):
        """Bits of the alarms whose latch kind is `kind`."""
        return self._mask(C_LATCH, kind)

    def action_mask(self, act):
        """Bits of the alarms whose action is `act` (e.g. ACT_CUTOFF)."""
        return self._mask(C_ACTION, act)

    def _mask(self, col, value):
        m = 0
        r = col
        for i in range(self._n):
            if self._rules[r] == value:
                m |= 1 << i
            r += _COLS
        return m

    def end_session(self, t_ms):
        """The session is over (person at the loading position): drop session
        latches.  A condition still present is raised again from scratch."""
        m = self.latched_mask(L_SESSION)
        self._cond &= ~m
        self._pending &= ~m
        self._leaking &= ~m
        self._drop(t_ms, self.active & m)

    def clear_latched(self, t_ms, mask=-1):
        """Drop the latched alarms within mask, all or none: if the condition
        of any of them is still there, nothing changes and its bits are
        returned (issue 14: a refused clear had already dropped the others).
        Returns 0 when everything latched within mask was dropped."""
        latched = self.active & mask & ~self.latched_mask(L_NONE)
        still = latched & self._cond
        if still:
            return still
        if latched:
            self._drop(t_ms, latched)
        self.faults_seen = self.faults
        return 0

    def restore(self, t_ms, bits):
        """Raise the alarms in bits as latched at boot (a latch that survived a
        reset, see persist.py): active at once, no debounce, clearable like
        any latch once their condition is gone."""
        bits &= ~self.active & ((1 << self._n) - 1)
        i = 0
        x = bits
        while x:
            if x & 1:
                r = i * _COLS
                self._t_raised[i] = t_ms
                self._level[i] = self._rules[r + C_PRIORITY]
                self.raised_total += 1
                self._events.push(t_ms, EV_ALARM_RAISED, i, self._rules[r + C_PRIORITY])
                fb = self._rules[r + C_FAULT]
                if fb:
                    self.faults_seen |= fb
                    self._events.push(t_ms, EV_FAULT, fb, i)
            x >>= 1
            i += 1
        self.active |= bits
        self._evaluate(t_ms, self._cond)

    def level(self, alarm_id):
        """Effective priority of an active alarm (above P_HIGH = escalated), else 0."""
        if self.active & (1 << alarm_id):
            return self._level[alarm_id]
        return 0
