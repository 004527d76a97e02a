# The heart-rate half of the sensor front end (frontend.py): drains the pulse
# sensor (its FIFO every `hr_every`-th poll, or one sample at every poll),
# feeds the heart-rate estimator, turns bus errors, silence, lost contact and
# FIFO overflows into HR_* bits (inversa.sense.flags) and measures the
# sensor's real sample rate against the MCU clock.  Nothing here allocates or
# raises out of the front end's poll (which catches a bug).
#
# SensorFrontEnd inherits HrSide: the half's state lives on the front end
# (set by _init_hr from its constructor), its poll calls _check_hr and
# _poll_hr, and what the controller reads is `fe.hr` (HrState).

from inversa.compat import const, ticks_diff
from inversa.sense.flags import (
    ERR_RUN,
    HR_BUS_ERROR,
    HR_FAULT_MASK,
    HR_FIFO_OVERFLOW,
    HR_NO_CONTACT,
    HR_NO_DATA,
    HR_NO_SENSOR,
    RECOVER,
)
from inversa.sense.heartrate import HeartRateEstimator

_NO_DATA_US = const(300000)  # no PPG sample for this long = sensor silent
_OVF_HOLD_US = const(2000000)  # FIFO_OVERFLOW stays visible this long
_CONTACT_RUN = const(25)  # samples below the contact level before NO_CONTACT
_RATE_WINDOW_US = const(30000000)  # PPG sample-rate measurement window


class HrState:
    """Heart rate (bpm and 0.1 bpm; 0 = unknown), quality, ok, faults."""

    def __init__(self):
        self.hr_bpm = 0
        self.hr_dbpm = 0
        self.quality_pct = 0
        self.ok = False
        self.faults = HR_NO_SENSOR


class HrSide:
    """The pulse sensor's half of SensorFrontEnd (see the header)."""

    def _init_hr(self, clock, hr, hr_every):
        # hr: the pulse driver or None; hr_every: polls per drain (<= 0: from
        # the driver's FIFO depth).  What SensorFrontEnd.__init__ sets up for
        # this half.
        self.ppg = hr
        self.hr = HrState()
        self.hr_bus_errors = 0
        self.hr_samples = 0
        self.fifo_overflows = 0
        self.samples_lost = 0
        self.no_data_events = 0
        self.hr_resets = 0
        self._hr_check = getattr(hr, "check", None)
        self._hf = 0
        self._hr_err_run = 0
        self._hr_good_run = 0
        self._low_run = 0
        self._t_hr_data = clock.ticks_us()
        self._t_ovf = 0
        self._rm_t0 = self._t_hr_data - _RATE_WINDOW_US  # first poll with data starts it
        self._rm_n = 0
        self._rm_started = False
        # A sensor with a FIFO is drained every second poll (20 ms: two
        # samples at 100/s, half the bus transfers); one without (an analog
        # pulse sensor) is sampled at every poll.
        if hr_every <= 0:
            hr_every = 2 if getattr(hr, "fifo_depth", 0) >= 8 else 1
        self.hr_every = hr_every
        self._hr_k = 0
        self._period_nominal = hr.period_us if hr is not None else 10000
        self.hr_est = HeartRateEstimator(period_us=self._period_nominal)
        if hr is None:
            self._hf = HR_NO_SENSOR
        self.hr.faults = self._hf | self.hr_est.faults

    def _check_hr(self):
        chk = self._hr_check
        if chk is None:
            return
        try:
            reset = chk()
        except Exception:
            return
        if reset:
            self.hr_resets += 1
            self.hr_est.reset()

    def _poll_hr(self, now):
        ppg = self.ppg
        est = self.hr_est
        try:
            n = ppg.read_fifo()
        except Exception:
            self.hr_bus_errors += 1
            self._hr_err_run += 1
            self._hr_good_run = 0
            if self._hr_err_run >= ERR_RUN:
                self._hf |= HR_BUS_ERROR
            self._hr_out()
            return
        self._hr_err_run = 0
        hf = self._hf
        if n:
            ir = ppg.ir
            pol = ppg.polarity
            for i in range(n):
                est.add(ir[i] * pol)
            self.hr_samples += n
            self._rm_n += n
            self._t_hr_data = now
            if hf:
                hf = self._hr_conditions(now, n, hf)
            if ppg.contact_min and (ir[n - 1] < ppg.contact_min or self._low_run):
                hf = self._contact(ir[n - 1], n, hf)
        else:
            d = now - self._t_hr_data
            if (
                (d < 0 or d > _NO_DATA_US)
                and not hf & HR_NO_DATA
                and ticks_diff(now, self._t_hr_data) > _NO_DATA_US
            ):
                hf |= HR_NO_DATA
                self.no_data_events += 1
                if self._hr_check is not None:
                    self._check_hr()  # a chip that reset itself stops sampling
        if ppg.lost or hf & HR_FIFO_OVERFLOW:
            hf = self._overflow(now, ppg.lost, hf)
        self._hf = hf
        # Measure the sensor's real sample rate against the MCU clock.
        el = now - self._rm_t0
        if el < 0 or el >= _RATE_WINDOW_US:
            self._measure_rate(now)
        f = est.faults | hf
        h = self.hr
        h.faults = f
        h.quality_pct = est.quality_pct
        if f & HR_FAULT_MASK:
            h.ok = False
            h.hr_dbpm = 0
            h.hr_bpm = 0
        else:
            h.ok = True
            h.hr_dbpm = est.dbpm
            h.hr_bpm = est.bpm

    def _hr_conditions(self, now, n, hf):
        # samples arrive again: clear the conditions that end with data
        if hf & HR_BUS_ERROR:
            self._hr_good_run += 1
            if self._hr_good_run >= RECOVER:
                hf &= ~HR_BUS_ERROR
                self._hr_good_run = 0
        if hf & HR_NO_DATA:
            hf &= ~HR_NO_DATA
            self.hr_est.reset()
        return hf

    def _contact(self, level, n, hf):
        if level < self.ppg.contact_min:
            self._low_run += n
            if self._low_run >= _CONTACT_RUN and not hf & HR_NO_CONTACT:
                hf |= HR_NO_CONTACT
        else:
            self._low_run = 0
            if hf & HR_NO_CONTACT:
                hf &= ~HR_NO_CONTACT
                self.hr_est.reset()  # contact again: the old rhythm is stale
        return hf

    def _overflow(self, now, lost, hf):
        if lost:
            self.fifo_overflows += 1
            self.samples_lost += lost
            self._rm_n += lost
            self.hr_est.gap(lost)
            self._t_ovf = now
            return hf | HR_FIFO_OVERFLOW
        if ticks_diff(now, self._t_ovf) > _OVF_HOLD_US:
            hf &= ~HR_FIFO_OVERFLOW
        return hf

    def _measure_rate(self, now):
        if not self._rm_started:
            if self._rm_n:  # the first samples: start measuring from here
                self._rm_started = True
                self._rm_t0 = now
                self._rm_n = 0
            return
        el = ticks_diff(now, self._rm_t0)
        if el < _RATE_WINDOW_US:
            return
        if self._rm_n > 0 and not self._hf & (HR_BUS_ERROR | HR_NO_DATA):
            p = el // self._rm_n
            nom = self._period_nominal
            est = self.hr_est
            d = p - est.period_us
            if d < 0:
                d = -d
            if nom * 95 < p * 100 < nom * 105 and d * 500 >= nom:  # >= 0.2 % off
                est.set_period_us(p)
        self._rm_t0 = now
        self._rm_n = 0

    def _hr_out(self):
        est = self.hr_est
        h = self.hr
        f = est.faults | self._hf
        h.faults = f
        ok = not f & HR_FAULT_MASK
        h.ok = ok
        h.quality_pct = est.quality_pct
        if ok:
            h.hr_dbpm = est.dbpm
            h.hr_bpm = est.bpm
        else:
            h.hr_dbpm = 0
            h.hr_bpm = 0
