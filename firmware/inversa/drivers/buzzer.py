# Buzzer patterns by alarm priority, after IEC 60601-1-8's burst shapes:
# low = 2 pulses, medium = 3 pulses, high = 3 + 2 pulses; "loud" (an
# escalated high-priority alarm nobody has answered) repeats the high burst
# with almost no pause.  Non-blocking: update(t_ms) every period switches the
# output at the right times; nothing allocates.  Drives a PWM (passive piezo,
# at its resonance set by the board) or a Pin (active buzzer).
#
# Usage:
#     bz = Buzzer(pwm)                      # or Buzzer(Pin(20, Pin.OUT))
#     bz.set_pattern(out.buzzer_pattern, t_ms)
#     bz.update(t_ms)

from inversa.compat import const, ticks_add, ticks_diff

_DUTY_ON = const(32768)  # 50 %: loudest square wave for a piezo

# Each pattern: alternating on/off segment lengths in units of 10 ms, repeated.
_PATTERNS = const(
    (
        b"",  # 0: silent
        b"\x14\x0a\x14\xff\x00\xff\x00\xff\x00\xff\x00\xff\x00\xff",  # low: 2 pulses, ~15 s
        b"\x14\x0a\x14\x0a\x14\xff\x00\xc8",  # medium: 3 pulses, ~4.6 s
        b"\x0f\x0a\x0f\x0a\x0f\x23\x0f\x0a\x0f\xfa",  # high: 3 + 2 pulses, ~3.3 s
        b"\x0f\x0a\x0f\x0a\x0f\x23\x0f\x0a\x0f\x28",  # loud: high burst, 0.4 s apart
    )
)
N_PATTERNS = const(5)


class Buzzer:
    def __init__(self, out):
        self._pwm = hasattr(out, "duty_u16")
        self._out = out
        self.pattern = 0
        self._seg = 0
        self._t_seg = 0
        self.on = False
        self._write(False)

    def _write(self, on):
        if self._pwm:
            self._out.duty_u16(_DUTY_ON if on else 0)
        else:
            self._out.value(1 if on else 0)
        self.on = on

    def set_pattern(self, pattern, t_ms):
        if pattern < 0 or pattern >= N_PATTERNS:
            pattern = N_PATTERNS - 1  # unknown: the loudest, never silence
        if pattern == self.pattern:
            return
        self.pattern = pattern
        self._seg = 0
        self._t_seg = t_ms
        self._write(pattern != 0 and _PATTERNS[pattern][0] > 0)

    def update(self, t_ms):
        pat = self.pattern
        if not pat:  # silent (_PATTERNS[0] is empty): most periods, no lookup
            if self.on:
                self._write(False)
            return
        p = _PATTERNS[pat]
        n = len(p)
        seg = self._seg
        while ticks_diff(t_ms, self._t_seg) >= p[seg] * 10:
            self._t_seg = ticks_add(self._t_seg, p[seg] * 10)
            seg += 1
            if seg >= n:
                seg = 0
        self._seg = seg
        on = seg & 1 == 0  # even segments sound (zero-length ones are skipped above)
        if on != self.on:
            self._write(on)
