# Up/down relays for an AC gear motor (fixed speed): interlocked so both
# relays are never on together, with a dead time (break before make) on every
# reversal so the contacts of one have opened before the other closes.  The
# table's own speed must be within the hard limits (it cannot be commanded);
# the controller still supervises it (run-on, stall, runaway).
#
# Usage:
#     rm = RelayMotor(Pin(16, Pin.OUT), Pin(17, Pin.OUT), Pin(18, Pin.OUT))
#     rm.drive(out.motor_cmd_cdps, out.motor_enable, t_ms)   # every period

from inversa.compat import ticks_diff


class RelayMotor:
    def __init__(self, pin_deeper, pin_up, en_pin=None, deadband_cdps=20, dead_time_ms=100):
        if deadband_cdps < 1:
            from inversa.error_text import text

            raise ValueError(text(46))
        if dead_time_ms < 20:
            from inversa.error_text import text

            raise ValueError(text(47))
        self._a = pin_deeper
        self._b = pin_up
        self._en = en_pin
        self._db = deadband_cdps
        self._dead = dead_time_ms
        self.direction = 0  # +1 deeper, -1 up, 0 off
        self._t_off = 0
        self._off_known = False  # no off time yet: the first start waits a dead time
        self.interlock_waits = 0  # periods a start waited for the dead time
        self.stop(0)

    def stop(self, t_ms):
        self._a.value(0)
        self._b.value(0)
        if self._en is not None:
            self._en.value(0)
        if self.direction != 0 or not self._off_known:
            self._t_off = t_ms
            self._off_known = True
        self.direction = 0

    def drive(self, cmd_cdps, enable, t_ms):
        if not enable:
            self.stop(t_ms)
            return
        if self._en is not None:
            self._en.value(1)
        want = 0
        if cmd_cdps >= self._db:
            want = 1
        elif cmd_cdps <= -self._db:
            want = -1
        if want == self.direction:
            return
        if self.direction != 0:  # break first
            self._a.value(0)
            self._b.value(0)
            self.direction = 0
            self._t_off = t_ms
        if want == 0:
            return
        if ticks_diff(t_ms, self._t_off) < self._dead:
            self.interlock_waits += 1
            return
        if want > 0:
            self._b.value(0)
            self._a.value(1)
        else:
            self._a.value(0)
            self._b.value(1)
        self.direction = want
