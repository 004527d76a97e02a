# The alarm rule engine: debounce, latching kinds, escalation, the most
# severe action wins, events, no allocation.  CPython and MicroPython.
from inversa.control import alarm_names as AN
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
    assert len(AN.ALARM_NAMES) == A.N_ALARMS
    assert len(AN.ACTION_NAMES) == A.ACT_CUTOFF + 1


def test_one_bit_per_alarm_and_masks_by_column():
    # The bit masks and the table's columns are defined once, in alarms.py.
    names = [n for n in dir(A) if n.startswith("A_") and n[2:].isupper()]
    assert len(names) == A.N_ALARMS
    for n in names:
        assert getattr(A, "B_" + n[2:]) == 1 << getattr(A, n), n
    al = A.Alarms(EventLog(8))
    cut = al.action_mask(A.ACT_CUTOFF)
    assert cut & A.B_ESTOP and cut & A.B_RUNAWAY and cut & A.B_STALL
    assert not cut & (A.B_HR_HIGH | A.B_TOO_FAST | A.B_OVER_LIMIT)
    for i in range(A.N_ALARMS):
        row = A.RULES[i * 7 : i * 7 + 7]
        assert ((cut >> i) & 1) == (row[A.C_ACTION] == A.ACT_CUTOFF), i
        assert ((al.latched_mask(A.L_CLEAR) >> i) & 1) == (row[A.C_LATCH] == A.L_CLEAR), i


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


def test_a_brief_interruption_does_not_restart_the_debounce():
    # Issue 14: each brief gap restarted the debounce, so a condition chopped
    # into stretches shorter than its debounce never rose.  Now the gap only
    # drains the account at half rate.
    al = A.Alarms(EventLog(8))
    c = _b(A.A_OVER_LIMIT)  # 20 ms debounce
    al.update(0, c)
    al.update(10, c)
    al.update(20, 0)  # 20 ms present, banked
    al.update(30, c)  # 10 ms gap drained 5 ms: 15 left, rises 5 ms later
    assert al.active == 0
    al.update(40, c)
    assert al.active == c


def test_a_long_absence_drains_the_debounce_account():
    al = A.Alarms(EventLog(8))
    c = _b(A.A_HR_HIGH)  # 5 s debounce
    al.update(0, c)
    al.update(4000, 0)  # 4 s banked
    al.update(12000, c)  # 8 s gone drains 4 s: back to nothing
    al.update(16990, c)
    assert al.active == 0
    al.update(17000, c)
    assert al.active == c


def test_a_chattering_condition_present_most_of_the_time_rises():
    # The handed case's rhythm: present 4.5 s, gone 0.3 s, forever.  The
    # old engine never raised hr-high; now it rises within the second stretch.
    for rule, on_ms, off_ms in (
        (A.A_HR_HIGH, 4500, 300),
        (A.A_HR_LOST, 4500, 300),
        (A.A_TILT, 20, 10),
        (A.A_END_SWITCH, 10, 10),
        (A.A_RUNAWAY, 60, 50),
        (A.A_TRACKING, 700, 400),
    ):
        al = A.Alarms(EventLog(16))
        c = _b(rule)
        t = 0
        raised_at = -1
        while t < 60000 and raised_at < 0:
            phase = t % (on_ms + off_ms)
            al.update(t, c if phase < on_ms else 0)
            if al.active & c:
                raised_at = t
            t += 10
        deb = A.RULES[rule * 7 + 1]
        # present >= 1/2 of the time: the account grows at >= 1/4 of real time
        assert 0 <= raised_at <= 4 * deb + 2 * (on_ms + off_ms), (rule, raised_at)


def test_a_rare_blip_shorter_than_the_debounce_never_rises():
    al = A.Alarms(EventLog(16))
    c = _b(A.A_HR_HIGH)  # 5 s debounce
    t = 0
    while t < 120000:  # 3 s present, 7 s gone: the account never reaches 5 s
        al.update(t, c if t % 10000 < 3000 else 0)
        assert al.active == 0
        t += 10


def test_a_refused_clear_drops_no_latch():
    # Issue 14: clear_latched() refused because one latch's condition was
    # still there had already dropped the others.
    log = EventLog(16)
    al = A.Alarms(log)
    est = _b(A.A_ESTOP)
    stall = _b(A.A_STALL)
    al.update(0, est | stall)
    al.update(10, est)  # the stall's condition is gone, the e-stop still pressed
    _drain(log)
    assert al.clear_latched(20) == est
    assert al.active == est | stall and al.faults == A.F_ESTOP | A.F_MOTOR
    assert _drain(log) == []
    al.update(30, 0)
    assert al.clear_latched(40) == 0
    assert al.active == 0


def test_restored_latches_are_active_and_need_a_clear():
    log = EventLog(16)
    al = A.Alarms(log)
    al.restore(0, _b(A.A_ESTOP))
    assert al.active == _b(A.A_ESTOP) and al.action == A.ACT_CUTOFF
    assert (EV_ALARM_RAISED, A.A_ESTOP, A.P_HIGH) in _drain(log)
    al.update(10, 0)
    assert al.active == _b(A.A_ESTOP)  # the condition is gone, the latch stays
    assert al.clear_latched(20) == 0 and al.active == 0


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

    def chatter():  # debounce accounts filling and draining
        t[0] += 10
        flip[0] ^= 1
        al.update(
            t[0], flip[0] * (_b(A.A_HR_HIGH) | _b(A.A_TRACKING)) | (1 - flip[0]) << A.A_HR_LOST
        )

    assert_no_alloc(quiet)
    assert_no_alloc(busy)
    assert_no_alloc(chatter)
