# The alarm rule engine: debounce, latching kinds, escalation, the most
# severe action wins, events, no allocation.  CPython and MicroPython.
from inversa.control import alarms as A
from inversa.events import EV_ALARM_CLEARED, EV_ALARM_RAISED, EV_FAULT, EventLog
from mpyunit import assert_no_alloc, raises


def _drain(log):
    rec = [0, 0, 0, 0]
    out = []
    while log.pop_into(rec):
        out.append((rec[1], rec[2], rec[3]))
    return out


def _b(i):
    return 1 << i


def test_rule_table_is_well_formed_and_named():
    A.check_rules(A.RULES, A.N_ALARMS)
    assert len(A.ALARM_NAMES) == A.N_ALARMS
    assert len(A.ACTION_NAMES) == A.ACT_CUTOFF + 1


def test_malformed_rule_table_is_refused():
    raises(ValueError, A.check_rules, A.RULES[:-1], A.N_ALARMS)
    bad = (9, 0, 0, 0, 0, 0, 0)
    raises(ValueError, A.check_rules, bad, 1)


def test_debounce_then_raise_with_priority_action_and_event():
    log = EventLog(16)
    al = A.Alarms(log)
    c = _b(A.A_HR_HIGH)
    t = 1000
    while t < 1000 + 5000:  # 5 s debounce
        assert al.update(t, c) == A.ACT_NONE
        t += 10
    assert al.update(t, c) == A.ACT_RETURN
    assert al.active == c and al.priority == A.P_MEDIUM
    assert _drain(log) == [(EV_ALARM_RAISED, A.A_HR_HIGH, A.P_MEDIUM)]


def test_interrupted_condition_restarts_the_debounce():
    al = A.Alarms(EventLog(8))
    c = _b(A.A_OVER_LIMIT)  # 20 ms debounce
    al.update(0, c)
    al.update(10, c)
    al.update(20, 0)
    al.update(30, c)
    al.update(40, c)
    assert al.active == 0
    al.update(50, c)
    assert al.active == c


def test_non_latched_alarm_clears_after_its_clear_delay():
    log = EventLog(8)
    al = A.Alarms(log)
    c = _b(A.A_TOO_FAST)  # 200 ms debounce, 1000 ms clear
    al.update(0, c)
    al.update(200, c)
    assert al.active == c
    al.update(300, 0)
    al.update(1299, 0)
    assert al.active == c
    al.update(1300, 0)
    assert al.active == 0 and al.action == A.ACT_NONE
    assert _drain(log)[-1] == (EV_ALARM_CLEARED, A.A_TOO_FAST, A.P_MEDIUM)


def test_session_latch_holds_until_the_session_ends():
    al = A.Alarms(EventLog(8))
    c = _b(A.A_LEASE)
    al.update(0, c)
    al.update(100, c)
    al.update(200, 0)
    al.update(60000, 0)
    assert al.active == c and al.action == A.ACT_RETURN
    assert al.clear_latched(60010, -1) == 0 or al.active == c  # not cleared by clear_latched
    al.end_session(60020)
    assert al.active == 0


def test_clear_latch_needs_the_condition_gone():
    log = EventLog(16)
    al = A.Alarms(log)
    c = _b(A.A_ESTOP)
    al.update(0, c)
    assert al.action == A.ACT_CUTOFF and al.faults == A.F_ESTOP
    assert (EV_FAULT, A.F_ESTOP, A.A_ESTOP) in _drain(log)
    assert al.clear_latched(10) == c  # still pressed: refused
    assert al.active == c
    al.update(20, 0)
    assert al.active == c  # released: still latched
    assert al.clear_latched(30) == 0
    assert al.active == 0 and al.action == A.ACT_NONE and al.faults == 0


def test_most_severe_action_wins():
    al = A.Alarms(EventLog(16))
    c = _b(A.A_TOO_FAST) | _b(A.A_TIME_LIMIT) | _b(A.A_TILT)
    al.update(0, c)
    al.update(500, c)
    assert al.action == A.ACT_OPEN_LOOP
    al.update(510, c | _b(A.A_ESTOP))
    assert al.action == A.ACT_CUTOFF and al.priority == A.P_HIGH


def test_escalation_medium_to_high_to_loud():
    log = EventLog(16)
    al = A.Alarms(log)
    c = _b(A.A_TIME_LIMIT)  # medium, escalates every 30 s
    al.update(0, c)
    assert al.priority == A.P_MEDIUM and not al.loud
    al.update(29990, c)
    assert al.priority == A.P_MEDIUM
    al.update(30000, c)
    assert al.priority == A.P_HIGH and not al.loud
    al.update(60000, c)
    assert al.priority == A.P_HIGH and al.loud
    raised = [e for e in _drain(log) if e[0] == EV_ALARM_RAISED]
    assert [e[2] for e in raised] == [A.P_MEDIUM, A.P_HIGH, A.P_HIGH]


def test_update_allocates_nothing():
    al = A.Alarms(EventLog(64))
    t = [0]
    flip = [0]

    def quiet():
        t[0] += 10
        al.update(t[0], 0)

    def busy():
        t[0] += 10
        flip[0] ^= 1
        al.update(t[0], _b(A.A_TOO_FAST) | _b(A.A_TIME_LIMIT) | (flip[0] << A.A_RISE_FAST))

    assert_no_alloc(quiet)
    assert_no_alloc(busy)
