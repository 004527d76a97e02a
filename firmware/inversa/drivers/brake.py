# Fail-safe brake/lock: unpowered = braking.  The output energises the coil
# to RELEASE the brake, so a reset, a crash or a power cut engages it.  On a
# manual table the "brake" must be a one-way lock (it stops deeper motion but
# never prevents the person from coming up): see docs/SAFETY.md.
#
# Usage:
#     br = Brake(Pin(19, Pin.OUT, value=0))     # engaged from the start
#     br.set(out.brake_on)                      # every period

from inversa.compat import const

_RELEASE = const(1)  # pin level that energises the coil (releases the brake)


class Brake:
    def __init__(self, pin, release_level=_RELEASE):
        if release_level not in (0, 1):
            from inversa.error_text import text

            raise ValueError(text(24))
        self._pin = pin
        self._rel = release_level
        self.engaged = True
        self.engage()

    def engage(self):
        self._pin.value(1 - self._rel)
        self.engaged = True

    def release(self):
        self._pin.value(self._rel)
        self.engaged = False

    def set(self, brake_on):
        # (engage() / release() inlined: called every period, issue 10.)
        # The pin is written when its level changes: `engaged` is the level
        # it was last set to (a pin write is ~15-20 us on an RP2040, and
        # nearly every period repeats the last one).
        if brake_on:
            if not self.engaged:
                self._pin.value(1 - self._rel)
                self.engaged = True
        elif self.engaged:
            self._pin.value(self._rel)
            self.engaged = False
