# Analog pulse sensor (e.g. the PulseSensor.com amplified photoplethysmograph)
# on an ADC pin.  It has no FIFO: each `read_fifo()` takes one sample now,
# averaging `oversample` conversions to lower the ADC noise, so it must be
# called once per sample period (the 10 ms control period by default).
#
# Usage:
#     from machine import ADC, Pin
#     from inversa.drivers.pulse_adc import PulseADC
#     ppg = PulseADC(ADC(Pin(26)), period_us=10000)
#     n = ppg.read_fifo()            # always 1
#     value = ppg.ir[0]              # 0..65535, rises with blood volume
#
# Same interface as inversa.drivers.max30102.MAX30102 (see there).

from array import array


class PulseADC:
    def __init__(self, adc, period_us=10000, oversample=4, contact_min=1024):
        if not 1 <= oversample <= 64:
            from inversa.error_text import text

            raise ValueError(text(44))
        if period_us < 1000:
            from inversa.error_text import text

            raise ValueError(text(45))
        self.adc = adc
        self.oversample = oversample
        self.period_us = period_us
        self.rate_hz = 1000000 // period_us
        self.ir = array("i", [0])
        self.red = self.ir  # one channel
        self.lost = 0
        self.samples = 0
        self.overflows = 0
        self.lost_total = 0
        self.polarity = 1
        self.fifo_depth = 0  # none: sample at every poll
        self.contact_min = contact_min  # a reading near 0 V: sensor unplugged
        self.full_scale = 65535

    def read_fifo(self):
        adc = self.adc
        acc = 0
        for _ in range(self.oversample):
            acc += adc.read_u16()
        self.ir[0] = acc // self.oversample
        self.samples = (self.samples + 1) & 0x3FFFFFFF
        return 1
