# The board's clock, injected into everything that needs time (the tests and
# the simulator inject inversa.board.clock.VirtualClock instead).
#
# Usage (board):
#     clock = SystemClock()
#     t_ms = clock.ticks_ms()

import time


class SystemClock:
    """The board's own clock (MicroPython only; CPython code uses VirtualClock)."""

    def __init__(self):
        # The C functions themselves (issue 10): a call through the methods
        # below costs ~10 us more on an RP2040, and the period reads the
        # clock about ten times.
        self.ticks_ms = time.ticks_ms  # pyright: ignore[reportAttributeAccessIssue]
        self.ticks_us = time.ticks_us  # pyright: ignore[reportAttributeAccessIssue]

    def ticks_ms(self):
        return time.ticks_ms()  # pyright: ignore[reportAttributeAccessIssue]

    def ticks_us(self):
        return time.ticks_us()  # pyright: ignore[reportAttributeAccessIssue]
