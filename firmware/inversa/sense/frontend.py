# The sensing front end: reads the IMU and the heart-rate sensor once per
# control period, runs the tilt and heart-rate estimators, and turns every
# bus error, wrong reading or silence into counted, typed conditions (flag
# bits in inversa.sense.flags) instead of exceptions.  `poll()` allocates
# nothing and never raises.
#
# Usage (the control loop, every 10 ms):
#     fe = SensorFrontEnd(clock, imu, ppg, Calibration.load("/calibration.bin"))
#     fe.poll()
#     fe.fill(inp)                   # -> ControlInputs fields
#     fe.tilt.angle_cdeg, fe.tilt.ok, fe.hr.hr_bpm, fe.hr.ok
#
# imu: MPU6050 / LSM6DSOX / InjectedIMU (or None); ppg: MAX30102 / PulseADC /
# InjectedPPG (or None).  A missing sensor reports not ok with *_NO_SENSOR.
# The IMU is read at every poll; a PPG sensor with a FIFO (MAX30102,
# InjectedPPG: `fifo_depth`) is drained at every `hr_every`-th poll (default
# 2, i.e. every 20 ms), a sensor without one (PulseADC) at every poll.  The
# drained samples wait in a backlog and the heart-rate estimator gets one per
# poll (two while more than a drain's worth waits), so its work is spread
# over the periods; none is dropped (`hr_fed` + `hr_backlog` +
# `hr_discarded` = `hr_samples`; `hr_discarded`: waiting when the estimator
# was reset, stale as before).
# While `fe.calibrator` is set (a sense.calibrator.Calibrator), every fresh
# IMU sample is also handed to it.
# A driver with `check()` (MPU6050, LSM6DSOX, MAX30102) is asked once a second,
# and at once when its data stops, whether the chip reset itself (a supply
# dip); a chip found reset is re-initialised by the driver and counted in
# `imu_resets` / `hr_resets`, and its estimator starts over.
#
# Over 400 lines on purpose: the tilt half and the heart-rate half share the
# poll's schedule, the guard that keeps a bug from stopping the loop and the
# bus-error runs.  The heart-rate half as its own module (tried) cost enough
# heap that at a Pico's 224 KB the app no longer built in the fixed-heap
# interpreter (tests/mpy/test_app_period.py: no free 8 KB for imath's table).

from array import array

from inversa.compat import const, ticks_diff
from inversa.sense.flags import (
    HR_BUS_ERROR,
    HR_FAULT_MASK,
    HR_FIFO_OVERFLOW,
    HR_NO_CONTACT,
    HR_NO_DATA,
    HR_NO_SENSOR,
    TILT_BUS_ERROR,
    TILT_FAULT_MASK,
    TILT_NO_SENSOR,
    TILT_NOT_CALIBRATED,
    TILT_SATURATED,
    TILT_STUCK,
)
from inversa.sense.heartrate import HeartRateEstimator
from inversa.sense.tilt import TiltEstimator

_ERR_RUN = const(3)  # consecutive bus errors before the sensor is "in error"
_RECOVER = const(10)  # consecutive good reads before such a condition clears
# While a sensor's bus is in error (TILT_BUS_ERROR / HR_BUS_ERROR after
# _ERR_RUN failed reads in a row) it is retried every _RETRY_POLLS-th poll
# only; the polls between count as failed reads (the same flags, counters and outputs), so the fault
# is declared in the same poll as before and a recovered sensor is seen
# within _RETRY_POLLS polls.  A failing transfer raises OSError, which on
# MicroPython allocates (the exception, its traceback) and soon costs a
# garbage collection (issue 10).
_RETRY_POLLS = const(10)
_ERR_RUN_CAP = const(30000)  # a multiple of _RETRY_POLLS: err_run stays a small int
_STUCK_READS = const(10)  # identical raw reads in a row (100 ms) = stuck
_SAT_RUN = const(3)
_RESTART_US = const(500000)  # an outage longer than this restarts the tilt filter
_NO_DATA_US = const(300000)  # no PPG sample for this long = sensor silent
_OVF_HOLD_US = const(2000000)  # FIFO_OVERFLOW stays visible this long
_CONTACT_RUN = const(25)  # samples below the contact level before NO_CONTACT
_RATE_WINDOW_US = const(30000000)  # PPG sample-rate measurement window
_CHECK_POLLS = const(100)  # ask the drivers whether their chip reset (1 s)
# The heart-rate chip is checked from the _HR_CHK_AT-th poll after the
# IMU's check, the IMU from the _IMU_CHK_AT-th, each at the first poll that
# neither drains the FIFO nor carries a link frame (poll(busy)), waiting
# _CHK_WAIT polls at most (then a frame may share the poll, never a drain).
_HR_CHK_AT = const(49)
_IMU_CHK_AT = const(99)
_CHK_WAIT = const(20)
_CHK_N = const(0xFFF)  # _chk_k: polls since the IMU's check ...
_CHK_HR_DONE = const(0x1000)  # ... and this bit once the heart-rate chip's ran
# The heart-rate backlog (issue 10): a drain's samples wait in a ring and the
# estimator gets _FEED of them per poll (one more while more than a drain's
# worth waits), so its work is spread over the periods instead of a drain's
# 2-3 samples (~0.8-1.4 ms each on an RP2040) landing in one.  The ring holds
# a full FIFO (32) on top of _HQ_SAFE waiting; whatever would not fit is fed
# at once: no sample is ever dropped.
_HQ = const(64)  # ring size (a power of two)
_HQ_MASK = const(63)
_HQ_SAFE = const(32)  # backlog above this is fed at once (a full FIFO still fits)
_FEED = const(1)  # samples fed per poll in the steady state (100/s at 100 Hz)


class TiltState:
    """What the controller reads: angle (0.01 deg), rate (0.01 deg/s), ok, faults."""

    def __init__(self):
        self.angle_cdeg = 0
        self.rate_cdps = 0
        self.ok = False
        self.faults = TILT_NO_SENSOR


class HrState:
    """Heart rate (bpm and 0.1 bpm; 0 = unknown), quality, ok, faults."""

    def __init__(self):
        self.hr_bpm = 0
        self.hr_dbpm = 0
        self.quality_pct = 0
        self.ok = False
        self.faults = HR_NO_SENSOR


class SensorFrontEnd:
    def __init__(self, clock, imu, hr, calibration, rate_hz=100, hr_every=0):
        self.clock = clock
        self.imu = imu
        self.ppg = hr
        self.rate_hz = rate_hz
        self.tilt = TiltState()
        self.hr = HrState()
        self.calibrator = None
        # counters (telemetry)
        self.polls = 0
        self.imu_reads = 0
        self.imu_bus_errors = 0
        self.stuck_events = 0
        self.saturation_events = 0
        self.hr_bus_errors = 0
        self.hr_samples = 0
        self.fifo_overflows = 0
        self.samples_lost = 0
        self.no_data_events = 0
        self.internal_errors = 0
        self.imu_resets = 0  # chip found reset (brown-out) and re-initialised
        self.hr_resets = 0
        self._chk_k = 0
        self.hr_polled = False  # this poll drained the heart-rate sensor
        self._imu_check = getattr(imu, "check", None)
        self._hr_check = getattr(hr, "check", None)

        # -- tilt side --
        self._tf = 0  # front-end tilt faults (bus, stuck, saturation, calibration)
        self._imu_err_run = 0
        self._same = 0
        self._good_run = 0
        self._sat_run = 0
        self._t_imu = clock.ticks_us()
        # The estimators exist even without a sensor (they then never run).
        self._fb = 0
        self._fs = 32767
        one_g = 16384
        if imu is None:
            self._tf = TILT_NO_SENSOR
        else:
            one_g = 1000 * imu.accel_mg_den // imu.accel_mg_num
            while (one_g << self._fb) < 8192:
                self._fb += 1
            self._fs = imu.full_scale
        self.tilt_est = TiltEstimator(rate_hz, one_g=one_g << self._fb)
        self.calibrated = False  # a mount calibration is in use (the object is not kept)
        if imu is not None:
            self.set_calibration(calibration)
        self.tilt.faults = self._tf | self.tilt_est.faults

        # -- heart-rate side --
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
        self._hq = array("i", [0] * _HQ)  # drained samples (polarity applied) not yet fed
        self._hq_tail = 0  # the oldest waiting sample
        self.hr_backlog = 0  # samples waiting
        self.hr_backlog_max = 0
        self.hr_fed = 0  # samples the estimator got (hr_samples once the backlog is empty)
        self.hr_discarded = 0  # samples waiting when the estimator was reset (stale)
        self._gap_lost = 0  # a FIFO overflow's lost samples, for the estimator ...
        self._gap_at = 0  # ... once this many waiting samples (drained before it) are fed
        self._period_nominal = hr.period_us if hr is not None else 10000
        self.hr_est = HeartRateEstimator(period_us=self._period_nominal)
        if hr is None:
            self._hf = HR_NO_SENSOR
        self.hr.faults = self._hf | self.hr_est.faults

    # ------------------------------------------------------------------
    def set_calibration(self, cal):
        """Use a new mount calibration (None: not calibrated, default axes)."""
        imu = self.imu
        if imu is None:
            return
        self.calibrated = cal is not None  # keep no Calibration: its module may be shed
        if cal is None:
            from inversa.sense.calibration import Calibration

            use = Calibration()
            self._tf |= TILT_NOT_CALIBRATED
        else:
            use = cal
            self._tf &= ~TILT_NOT_CALIBRATED
        p, sp = use.pivot()
        num = imu.accel_mg_num
        den = imu.accel_mg_den
        # Everything the step needs, in one array (_map_raw): raw indices of the long, up
        # and pivot channels, the axis signs, the accelerometer offsets in LSB
        # (signed for the bed axes), the long/up scale (Q14) and the shifts
        # that bring 1 g near 2**14, the gyro LSB -> mdps ratio (signed) and
        # the gyro offset (mdps, signed).
        self._map = array(
            "i",
            (
                use.long_axis,
                use.up_axis,
                3 + p,
                use.long_sign,
                use.up_sign,
                (use.accel_bias_mg[use.long_axis] * den // num) * use.long_sign,
                (use.accel_bias_mg[use.up_axis] * den // num) * use.up_sign,
                use.scale_q14,
                14 - self._fb,
                self._fb,
                imu.gyro_mdps_num * sp,
                imu.gyro_mdps_den,
                use.gyro_bias_mdps[p] * sp,
                # the pivot axis's accelerometer channel and the other two gyro
                # axes (the estimator's 3-D term): index, sign, offset each
                p,
                sp,
                (use.accel_bias_mg[p] * den // num) * sp,
                3 + use.long_axis,
                imu.gyro_mdps_num * use.long_sign,
                use.gyro_bias_mdps[use.long_axis] * use.long_sign,
                3 + use.up_axis,
                imu.gyro_mdps_num * use.up_sign,
                use.gyro_bias_mdps[use.up_axis] * use.up_sign,
                self._fs,
                0,  # 23: 1 where map_v's ranges hold (below)
                # 24-29: the estimator's inputs, written by _map_raw / map_v
                0,
                0,
                0,
                0,
                0,
                0,
            ),
        )
        m = self._map
        # 1: the viper twin's ranges hold (imath_native.map_v: every product
        # below 2**31); else the plain map runs
        m[23] = (
            max(abs(m[5]), abs(m[6]), abs(m[15])) <= 0x7FFFF
            and max(abs(m[12]), abs(m[18]), abs(m[21])) <= 0x1FFFFFFF
            and max(abs(m[3]), abs(m[4]), abs(m[14])) <= 1
            and max(abs(m[10]), abs(m[17]), abs(m[20])) <= 0x7FFF
            and 0 <= m[7] <= 0xFFFF
            and 0 <= m[8] <= 30
            and 0 <= m[9] <= 8
            and m[11] >= 1
        )
        self.tilt_est.zero_udeg = use.zero_cdeg * 10000
        self.tilt_est.restart()

    # ------------------------------------------------------------------
    def poll(self, busy=False):
        """Read both sensors and update the estimates; call once per control
        period.  busy: this period carries a link frame (the app asks the
        link first): a chip check due now waits for a free period."""
        self.polls += 1
        try:
            now = self.clock.ticks_us()
            # A schedule keeps the slow jobs apart (issue 10): the FIFO is
            # drained at every hr_every-th poll; the chip checks (the IMU's
            # once a second, the heart-rate sensor's half a second later)
            # wait for a poll that neither drains nor carries a link frame
            # (busy), _CHK_WAIT polls at most; the app sends telemetry and
            # heartbeats after a poll that did not drain (hr_polled).
            drained = False
            if self.ppg is not None:
                k = self._hr_k + 1
                if k >= self.hr_every:
                    k = 0
                    drained = True
                self._hr_k = k
            c = self._chk_k + 1
            n = c & _CHK_N
            # (a sensor drained at every poll, hr_every 1, is no slow job)
            if n >= _HR_CHK_AT and not (drained and self.hr_every > 1):
                if not c & _CHK_HR_DONE:
                    if not busy or n >= _HR_CHK_AT + _CHK_WAIT:
                        c |= _CHK_HR_DONE
                        if self._hr_check is not None:
                            self._check_hr()
                elif n >= _IMU_CHK_AT and (not busy or n >= _IMU_CHK_AT + _CHK_WAIT):
                    c = 0
                    if self._imu_check is not None:
                        self._check_imu()
            self._chk_k = c
            if self.imu is not None:
                # (through the class: the instance's nearly full table misses first)
                SensorFrontEnd._poll_imu(self, now)
            if self.ppg is not None:
                if drained:
                    self._poll_hr(now)
                if self.hr_backlog:
                    # one sample, two while more than this waits: a drain
                    # poll two drains' worth, a poll with a link frame one
                    # drain's worth, a free poll one (issue 10: a drain of
                    # 3-4 samples used to feed two in the draining poll)
                    e = self.hr_every
                    self._feed_hr(e + e if drained and e > 1 else (e if busy else 1))
                elif drained:
                    self._hr_out()
            self.hr_polled = drained
        except Exception:  # a bug must not stop the loop: report both untrusted
            self.internal_errors += 1
            self.tilt.ok = False
            self.hr.ok = False
            self.hr.hr_bpm = 0
            self.hr.hr_dbpm = 0

    def fill(self, inp):
        """Copy the estimates into a ControlInputs-like object."""
        t = self.tilt
        h = self.hr
        inp.angle_cdeg = t.angle_cdeg
        inp.rate_cdps = t.rate_cdps
        inp.tilt_ok = t.ok
        inp.tilt_faults = t.faults
        inp.hr_bpm = h.hr_bpm
        inp.hr_quality_pct = h.quality_pct
        inp.hr_ok = h.ok

    # ------------------------------------------------------------------
    def _check_imu(self):
        chk = self._imu_check
        if chk is None:
            return
        try:
            reset = chk()
        except Exception:  # a bus error: the reads count it
            return
        if reset:
            self.imu_resets += 1
            self._same = 0
            self.tilt_est.restart()  # the data before the reset are stale

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
            self._hr_reset()

    # ------------------------------------------------------------------
    def _poll_imu(self, now):
        imu = self.imu
        run = self._imu_err_run
        failed = True
        changed = False
        if run < _ERR_RUN or not run % _RETRY_POLLS:  # in error: every 10th poll
            try:
                changed = imu.read()
                failed = False
            except Exception:  # OSError from the bus, or anything a driver raises
                pass
        if failed:  # a failed (or, while in error, skipped) read
            self.imu_bus_errors += 1
            run += 1
            self._imu_err_run = run if run < _ERR_RUN_CAP else _RETRY_POLLS
            self._good_run = 0
            if run >= _ERR_RUN:
                self._tf |= TILT_BUS_ERROR
            self._tilt_out()
            return
        if run:
            self._imu_err_run = 0
        self.imu_reads += 1
        if not changed:
            self._same += 1
            if self._same >= _STUCK_READS and not self._tf & TILT_STUCK:
                self._tf |= TILT_STUCK
                self.stuck_events += 1
                if self._imu_check is not None:
                    self._check_imu()  # a chip that reset itself stops its data
            self._good_run = 0
            self._tilt_out()
            return
        self._same = 0
        r = imu.raw
        if self.calibrator is not None:
            self.calibrator.add(r)
        est = self.tilt_est
        tf = self._tf
        if tf & (TILT_STUCK | TILT_BUS_ERROR):
            self._good_run += 1
            if self._good_run < _RECOVER:
                self._tilt_out()
                return
            tf &= ~(TILT_STUCK | TILT_BUS_ERROR)
            self._tf = tf
            self._good_run = 0
            est.restart()  # the angle was held while the data was bad: start over
        dt = now - self._t_imu
        if dt < 0 or dt > _RESTART_US:  # wrapped, or a long outage
            dt = ticks_diff(now, self._t_imu)
            if dt > _RESTART_US:
                est.restart()  # the table may have moved meanwhile: start over
        self._t_imu = now

        # The estimate uses all six channels (the 3-D term: the third
        # accelerometer axis and the other two gyro axes), so a clipped value
        # on any of them is a lost measurement.
        m = self._map
        sat = map_v(r, m)  # the viper twin (else _map_raw itself) ...
        if sat < 0:  # ... -1 where its integers might not do
            sat = _map_raw(r, m)
        if sat:
            self._sat_run += 1
            if self._sat_run >= _SAT_RUN and not tf & TILT_SATURATED:
                tf |= TILT_SATURATED
                self._tf = tf
                self.saturation_events += 1
        elif self._sat_run:
            self._sat_run = 0
            tf &= ~TILT_SATURATED
            self._tf = tf
        f = est.update(m[24], m[25], m[26], dt, m[27], m[28], m[29]) | tf  # (est.faults)
        t = self.tilt
        t.angle_cdeg = est.angle_cdeg
        t.rate_cdps = est.rate_cdps
        t.faults = f
        t.ok = not f & TILT_FAULT_MASK

    def _tilt_out(self):
        est = self.tilt_est
        t = self.tilt
        t.angle_cdeg = est.angle_cdeg
        t.rate_cdps = est.rate_cdps
        f = est.faults | self._tf
        t.faults = f
        t.ok = not f & TILT_FAULT_MASK

    # ------------------------------------------------------------------
    def _poll_hr(self, now):
        ppg = self.ppg
        run = self._hr_err_run
        n = -1
        if run < _ERR_RUN or not run % _RETRY_POLLS:  # in error: every 10th poll
            try:
                n = ppg.read_fifo()
            except Exception:  # as the IMU's: a raise allocates on MicroPython
                n = -1
        if n < 0:  # a failed (or, while in error, skipped) read
            self.hr_bus_errors += 1
            run += 1
            self._hr_err_run = run if run < _ERR_RUN_CAP else _RETRY_POLLS
            self._hr_good_run = 0
            if run >= _ERR_RUN:
                self._hf |= HR_BUS_ERROR
            self._hr_out()
            return
        self._hr_err_run = 0
        hf = self._hf
        if n:
            ir = ppg.ir
            self._queue(ir, n, ppg.polarity)
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
        # (poll() then feeds the estimator and publishes: _feed_hr / _hr_out)

    def _queue(self, ir, n, pol):
        # a drain's samples into the backlog, oldest first; what would not
        # fit under _HQ_SAFE + a full FIFO is fed at once (never dropped)
        over = self.hr_backlog + n - _HQ
        if over > 0:
            self._feed(over)
        q = self._hq
        j = self._hq_tail + self.hr_backlog
        for i in range(n):
            q[j & _HQ_MASK] = ir[i] * pol
            j += 1
        b = self.hr_backlog + n
        self.hr_backlog = b
        if b > self.hr_backlog_max:
            self.hr_backlog_max = b

    def _feed(self, n):
        # the n oldest waiting samples to the estimator, and a pending gap
        # where it falls among them
        g = self._gap_lost
        if g:
            a = self._gap_at
            if n < a:
                self._gap_at = a - n
            else:
                self._add(a)
                self._gap_lost = 0
                self.hr_est.gap(g)
                n -= a
        self._add(n)

    def _add(self, n):
        q = self._hq
        j = self._hq_tail
        est = self.hr_est  # (est.add(...), not a bound method: that allocates)
        for _ in range(n):
            est.add(q[j])
            j = (j + 1) & _HQ_MASK
        self._hq_tail = j
        self.hr_backlog -= n
        self.hr_fed += n

    def _feed_hr(self, n):
        # this poll's share of the backlog: _FEED, one more while more than
        # n wait (the sensor's clock may run a few % fast, a stall leaves up
        # to a full FIFO), all above _HQ_SAFE
        b = self.hr_backlog
        if b <= n and not self._gap_lost:
            # the steady state, inline (a call costs ~10 us on an RP2040)
            j = self._hq_tail
            self.hr_est.add(self._hq[j])
            self._hq_tail = (j + 1) & _HQ_MASK
            self.hr_backlog = b - 1
            self.hr_fed += 1
        else:
            n = _FEED + 1
            if b - n > _HQ_SAFE:
                n = b - _HQ_SAFE
            self._feed(n if n < b else b)
        self._hr_out()

    def _hr_reset(self):
        # the estimator starts over: what waits is stale (before the reset,
        # these samples were fed first and then forgotten with the rest)
        self.hr_discarded += self.hr_backlog
        self._hq_tail = (self._hq_tail + self.hr_backlog) & _HQ_MASK
        self.hr_backlog = 0
        self._gap_lost = 0
        self.hr_est.reset()

    def _hr_conditions(self, now, n, hf):
        # samples arrive again: clear the conditions that end with data
        if hf & HR_BUS_ERROR:
            self._hr_good_run += 1
            if self._hr_good_run >= _RECOVER:
                hf &= ~HR_BUS_ERROR
                self._hr_good_run = 0
        if hf & HR_NO_DATA:
            hf &= ~HR_NO_DATA
            self._hr_reset()
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
                self._hr_reset()  # contact again: the old rhythm is stale
        return hf

    def _overflow(self, now, lost, hf):
        if lost:
            self.fifo_overflows += 1
            self.samples_lost += lost
            self._rm_n += lost
            # the gap comes after every sample drained before it: the
            # estimator gets it once those waiting now are fed (an earlier
            # gap still pending: fed through it first)
            if self._gap_lost:
                self._feed(self._gap_at)
            if self.hr_backlog:
                self._gap_lost = lost
                self._gap_at = self.hr_backlog
            else:
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


# A raw IMU sample (r: the driver's six channels, accelerometer x y z, gyro
# x y z) through the mount calibration (m: SensorFrontEnd.set_calibration's
# array) into the estimator's inputs (m[24:30]: a_long, a_up, rate (pivot),
# a_across, rate_long, rate_up); 1 if a channel is at full scale (m[22]),
# else 0.  The reference and the fallback of imath_native.map_v (m[23]: its
# ranges hold).
def _map_raw(r, m):
    fs = m[22]
    sat = 1 if min(r) < -fs or max(r) >= fs else 0  # two C calls, no allocation
    gden = m[11]
    shl = m[9]
    m[24] = ((r[m[0]] * m[3] - m[5]) * m[7]) >> m[8]
    m[25] = (r[m[1]] * m[4] - m[6]) << shl
    m[26] = (r[m[2]] * m[10]) // gden - m[12]
    m[27] = (r[m[13]] * m[14] - m[15]) << shl
    m[28] = (r[m[16]] * m[17]) // gden - m[18]
    m[29] = (r[m[19]] * m[20]) // gden - m[21]
    return sat


try:  # the viper twin of _map_raw where there is a native emitter (RP2040, ESP32)
    from inversa.sense.imath_native import map_v
except (ImportError, SyntaxError, ValueError):  # none, or another arch's .mpy
    map_v = _map_raw  # the plain map itself (never -1)
