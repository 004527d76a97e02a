# The virtual clock injected into everything that needs time in the tests and
# the simulator, so the controller can be driven sample by sample in virtual
# time.  The board's clock is inversa/board/system_clock.py (a module of its
# own: the board never loads this one, nor its names).
#
# Usage:
#     clock = VirtualClock()          # tests, simulator
#     clock.advance_ms(10)
#     t_ms = clock.ticks_ms()

from inversa.compat import TICKS_PERIOD, const, ticks_add

_STEP_MAX_US = const(1 << 28)


class VirtualClock:
    """A clock that moves only when told to.  Give it a start near the wrap
    (TICKS_PERIOD - 5000) to make wrap-around bugs show up in a test.
    Both counters are kept wrapped, so reading them never makes a big int
    (which would allocate on MicroPython)."""

    def __init__(self, start_ms=0):
        self._ms = start_ms % TICKS_PERIOD
        self._us = (start_ms * 1000) % TICKS_PERIOD
        self._sub_us = 0  # microseconds not yet a whole millisecond

    def ticks_ms(self):
        return self._ms

    def ticks_us(self):
        return self._us

    def advance_us(self, us):
        if 0 <= us < _STEP_MAX_US:
            # A period or so: the ticks arithmetic allocates nothing on
            # MicroPython, so a test can measure a whole period with it.
            self._us = ticks_add(self._us, us)
            total = self._sub_us + us
            self._ms = ticks_add(self._ms, total // 1000)
            self._sub_us = total % 1000
            return
        # Any other step: plain modulo (ticks_add refuses steps >= 2**29).
        self._us = (self._us + us) % TICKS_PERIOD
        total = self._sub_us + us
        self._ms = (self._ms + total // 1000) % TICKS_PERIOD
        self._sub_us = total % 1000

    def advance_ms(self, ms):
        self.advance_us(ms * 1000)

    def set_ms(self, t_ms):
        self._ms = t_ms % TICKS_PERIOD
        self._us = (t_ms * 1000) % TICKS_PERIOD
        self._sub_us = 0
