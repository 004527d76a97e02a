# Foundation checks that run in CPython and inside MicroPython.
from inversa.board.clock import VirtualClock
from inversa.compat import TICKS_PERIOD, ticks_add, ticks_diff
from mpyunit import IS_MICROPYTHON, alloc_per_call, assert_no_alloc, raises


def test_ticks_diff_across_wrap():
    start = TICKS_PERIOD - 3
    end = ticks_add(start, 10)
    assert end == 7
    assert ticks_diff(end, start) == 10
    assert ticks_diff(start, end) == -10


def test_virtual_clock_moves_only_when_told():
    clock = VirtualClock(start_ms=TICKS_PERIOD - 5)
    t0 = clock.ticks_ms()
    assert clock.ticks_ms() == t0
    clock.advance_ms(8)
    assert ticks_diff(clock.ticks_ms(), t0) == 8


def test_integer_step_does_not_allocate():
    acc = [0]

    def step():
        acc[0] = (acc[0] * 3 + 7) & 0xFFFF

    assert_no_alloc(step)


def test_probe_sees_float_allocation():
    # Floats are boxed on MicroPython ports (and in this interpreter): the
    # probe must see it, or it could not prove anything about the control step.
    box = [1.5]

    def step():
        box[0] = box[0] * 1.0001

    per_call = alloc_per_call(step)
    if IS_MICROPYTHON:
        assert per_call is not None and per_call > 0
    else:
        assert per_call is None


def test_raises_helper_reports_wrong_outcome():
    def fine():
        return 1

    err = raises(AssertionError, raises, ValueError, fine)
    assert "ValueError" in str(err)


def test_virtual_clock_reading_does_not_allocate_after_long_runs():
    clock = VirtualClock(start_ms=TICKS_PERIOD - 10)
    for _ in range(3):
        clock.advance_ms(600000)  # 30 minutes: past both wraps
    assert_no_alloc(clock.ticks_ms)
    assert_no_alloc(clock.ticks_us)


def test_ticks_arithmetic_near_wrap_does_not_allocate():
    near = TICKS_PERIOD - 2

    def both():
        ticks_diff(ticks_add(near, 5), near)

    assert_no_alloc(both)


def test_virtual_clock_us_and_ms_agree():
    clock = VirtualClock(start_ms=0)
    for _ in range(2500):
        clock.advance_us(400)
    assert clock.ticks_ms() == 1000
    assert clock.ticks_us() == 1000000


def test_virtual_clock_advancing_a_period_does_not_allocate():
    clock = VirtualClock(start_ms=TICKS_PERIOD - 50)

    def period():
        clock.advance_ms(10)

    assert_no_alloc(period, n=200)  # inside MicroPython: crosses the wrap on the way
    t0 = clock.ticks_ms()
    for _ in range(10):
        period()
    assert ticks_diff(clock.ticks_ms(), t0) == 100
