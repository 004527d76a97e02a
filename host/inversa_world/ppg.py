# A synthetic photoplethysmogram (blood-volume pulse) driven by a heart rate
# that the simulator may change at any time.  Each beat's length is drawn
# when it starts (60 / bpm plus heart-rate variability), so a changing rate
# bends the beat train smoothly; the wave shape is a systolic peak and a
# smaller diastolic wave, a pulse table read by phase, plus breathing
# (baseline wander and amplitude modulation).  Values rise with blood volume
# and span roughly 0..1; the sensor fakes turn them into counts and noise.
#
# Usage:
#     ppg = PPGSynth(seed=3, hr_bpm=72)
#     ppg.set_hr(90)                  # any time; applies from the next beat
#     v = ppg.value(t_us)             # t_us: microseconds, never decreasing
#     ppg(t_us)                       # the same (sources are callables)
#     ppg.beats, ppg.true_bpm(20)     # ground truth for tests
#
# MicroPython-compatible; the float work is a few operations per sample.

import math

from inversa_world.rng import Rng

_TABLE = 256


def _pulse_table(n):
    # systolic Gaussian + diastolic Gaussian + exponential run-off, normalised
    vals = []
    for i in range(n + 1):
        p = i / n
        v = math.exp(-(((p - 0.18) / 0.075) ** 2))
        v += 0.38 * math.exp(-(((p - 0.45) / 0.11) ** 2))
        v += 0.12 * math.exp(-p * 3.0)
        vals.append(v)
    lo = min(vals)
    hi = max(vals)
    return [(v - lo) / (hi - lo) for v in vals]


class PPGSynth:
    def __init__(
        self,
        seed=1,
        hr_bpm=70.0,
        hrv_ms=25.0,
        resp_hz=0.25,
        resp_depth=0.08,
        amplitude=1.0,
    ):
        self._rng = Rng(seed)
        self._hrv = self._rng.gauss_table(509, hrv_ms * 1000.0)  # us
        self._hrv_i = self._rng.randint(0, 508)
        self._tab = _pulse_table(_TABLE)
        self.hr_bpm = float(hr_bpm)
        self.resp_w = 2 * math.pi * resp_hz / 1e6  # rad per us
        self.resp_depth = resp_depth
        self.resp_phase = self._rng.uniform() * 2 * math.pi
        self.amplitude = amplitude
        self.beats = 0
        self.last_beat_us = 0
        self.beat_times = []  # the last 64 beat starts (us): ground truth
        self._first = True
        self._beat_start = 0.0
        self._beat_len = 60e6 / self.hr_bpm
        self._beat_end = 0.0
        self._inv_len = _TABLE / self._beat_len
        self._k = 0
        self._gain = amplitude
        self._base = 0.0
        self.pulse = True  # False: no pulse (asystole / no perfusion)

    def set_hr(self, bpm):
        if bpm <= 0:
            raise ValueError("bpm must be positive")
        self.hr_bpm = float(bpm)

    def _next_beat(self, start):
        self._beat_start = start
        j = self._hrv[self._hrv_i]
        self._hrv_i = (self._hrv_i + 1) % 509
        length = 60e6 / self.hr_bpm + j
        floor = 0.5 * 60e6 / self.hr_bpm
        self._beat_len = length if length > floor else floor
        self._inv_len = _TABLE / self._beat_len
        self._beat_end = start + self._beat_len
        self.beats += 1
        self.last_beat_us = int(start)
        self.beat_times.append(start)
        if len(self.beat_times) > 64:
            self.beat_times.pop(0)

    def value(self, t_us):
        t = t_us
        if self._first:
            self._first = False
            self._next_beat(t - self._rng.uniform() * self._beat_len)
        while t >= self._beat_end:
            self._next_beat(self._beat_end)
        self._k -= 1
        if self._k <= 0:  # breathing is slow: update it every 5 samples
            self._k = 5
            resp = self.resp_depth * math.sin(self.resp_w * t + self.resp_phase)
            self._gain = self.amplitude * (1.0 + 0.5 * resp)
            self._base = resp
        if not self.pulse:
            return 0.3 + self._base
        x = (t - self._beat_start) * self._inv_len
        if x < 0.0:  # a time before the current beat (out of order): its start
            x = 0.0
        i = int(x)
        tab = self._tab
        a = tab[i]
        return self._gain * (a + (tab[i + 1] - a) * (x - i)) + self._base

    __call__ = value

    def true_bpm(self, window_s=20.0):
        """The rate of the beats that started in the last `window_s` (mean interval)."""
        bt = self.beat_times
        if len(bt) < 2:
            return self.hr_bpm
        i = len(bt) - 1
        while i > 0 and bt[-1] - bt[i - 1] <= window_s * 1e6:
            i -= 1
        n = len(bt) - 1 - i
        if n < 1:
            return self.hr_bpm
        return 60e6 * n / (bt[-1] - bt[i])
