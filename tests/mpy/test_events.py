# EventLog: order, overflow counting, and no allocation (checked in MicroPython).
from inversa.events import EV_ALARM_RAISED, EV_STATE, EventLog
from mpyunit import assert_no_alloc, raises


def test_events_come_out_in_order():
    log = EventLog(4)
    log.push(10, EV_STATE, 2, 1)
    log.push(20, EV_ALARM_RAISED, 5, 3)
    rec = [0, 0, 0, 0]
    assert log.pop_into(rec) and rec == [10, EV_STATE, 2, 1]
    assert log.pop_into(rec) and rec == [20, EV_ALARM_RAISED, 5, 3]
    assert not log.pop_into(rec)
    assert log.dropped == 0


def test_overflow_keeps_newest_and_counts_drops():
    log = EventLog(3)
    for t in range(5):
        log.push(t, EV_STATE, t, 0)
    assert len(log) == 3
    assert log.dropped == 2 and log.pushed == 5
    rec = [0, 0, 0, 0]
    seen = []
    while log.pop_into(rec):
        seen.append(rec[0])
    assert seen == [2, 3, 4]


def test_zero_capacity_refused():
    raises(ValueError, EventLog, 0)


def test_push_and_pop_do_not_allocate():
    log = EventLog(8)
    rec = [0, 0, 0, 0]

    def cycle():
        log.push(123456, EV_STATE, 3, 2)
        log.pop_into(rec)

    assert_no_alloc(cycle)
