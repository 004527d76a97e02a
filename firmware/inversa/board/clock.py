# Clocks injected into everything that needs time, so the controller can be
# driven sample by sample in virtual time.
#
# Usage:
#     clock = VirtualClock()          # tests, simulator
#     clock.advance_ms(10)
#     clock = SystemClock()           # on the board
#     t_ms = clock.ticks_ms()

import time

from inversa.compat import TICKS_PERIOD, ticks_add


class SystemClock:
    """The board's own clock (MicroPython only; CPython code uses VirtualClock)."""

    def ticks_ms(self):
        return time.ticks_ms()  # pyright: ignore[reportAttributeAccessIssue]

    def ticks_us(self):
        return time.ticks_us()  # pyright: ignore[reportAttributeAccessIssue]


class VirtualClock:
    """A clock that moves only when told to.  Give it a start near the wrap
    (TICKS_PERIOD - 5000) to make wrap-around bugs show up in a test."""

    def __init__(self, start_ms=0):
        self._us = (start_ms % TICKS_PERIOD) * 1000

    def ticks_ms(self):
        return (self._us // 1000) % TICKS_PERIOD

    def ticks_us(self):
        return self._us % TICKS_PERIOD

    def advance_ms(self, ms):
        self._us += ms * 1000

    def advance_us(self, us):
        self._us += us

    def set_ms(self, t_ms):
        self._us = ticks_add(0, t_ms) * 1000
