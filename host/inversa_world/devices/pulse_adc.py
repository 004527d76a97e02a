# Fake of an analog pulse sensor on an ADC pin: an object with machine.ADC's
# read_u16(), returning the PPG `source` at the clock's current time as an
# amplified, offset voltage (0..65535, 12-bit steps as on an RP2040), plus
# ADC noise.  Usage:
#
#     adc = FakePulseADC(clock, seed=4, source=PPGSynth(seed=4, hr_bpm=70))
#     ppg = PulseADC(adc)            # the real driver
#     adc.contact = False            # finger off: flat mid-rail level
#     adc.connected = False          # wire off: the pin reads ~0

from inversa.compat import ticks_diff
from inversa_world.rng import Rng

_NOISE_N = 1021


class FakePulseADC:
    def __init__(
        self, clock, seed=1, source=None, mid=30000, gain=12000.0, noise_lsb=40.0, bits=12
    ):
        self.clock = clock
        self.source = source
        self.mid = mid
        self.gain = gain
        self.contact = True
        self.connected = True
        rng = Rng(seed + 15485863)
        self._noise = rng.gauss_table(_NOISE_N, noise_lsb)
        self._j = rng.randint(0, _NOISE_N - 1)
        self._drop = 16 - bits
        self._last_us = clock.ticks_us()
        self._t_us = 0
        self.reads = 0

    def read_u16(self):
        now = self.clock.ticks_us()
        self._t_us += ticks_diff(now, self._last_us)
        self._last_us = now
        self.reads += 1
        j = self._j + 1
        if j == _NOISE_N:
            j = 0
        self._j = j
        if not self.connected:
            x = 200.0 + self._noise[j]
        elif self.contact and self.source is not None:
            x = self.mid + self.gain * self.source(self._t_us) + self._noise[j]
        else:
            x = self.mid + self._noise[j]
        v = int(x)
        v = 0 if v < 0 else (65535 if v > 65535 else v)
        return (v >> self._drop) << self._drop
