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
# 2, i.e. every 20 ms), a sensor without one (PulseADC) at every poll.
# While `fe.calibrator` is set (a sense.calibration.Calibrator), every fresh
# IMU sample is also handed to it.
# A driver with `check()` (MPU6050, LSM6DSOX, MAX30102) is asked once a second,
# and at once when its data stops, whether the chip reset itself (a supply
# dip); a chip found reset is re-initialised by the driver and counted in
# `imu_resets` / `hr_resets`, and its estimator starts over.
#
# This module is the poll (the schedule of both sensors, the guard that keeps
# a bug from stopping the loop) and the tilt half; the heart-rate half
# (HrState, draining the pulse sensor, its conditions) is inversa.sense.hr_side,
# whose HrSide the front end inherits.

from inversa.compat import const, ticks_diff
from inversa.sense.flags import (
    ERR_RUN,
    RECOVER,
    TILT_BUS_ERROR,
    TILT_FAULT_MASK,
    TILT_NO_SENSOR,
    TILT_NOT_CALIBRATED,
    TILT_SATURATED,
    TILT_STUCK,
)
from inversa.sense.hr_side import HrSide
from inversa.sense.tilt import TiltEstimator

_STUCK_READS = const(10)  # identical raw reads in a row (100 ms) = stuck
_SAT_RUN = const(3)
_RESTART_US = const(500000)  # an outage longer than this restarts the tilt filter
_CHECK_POLLS = const(100)  # ask the drivers whether their chip reset (1 s)


class TiltState:
    """What the controller reads: angle (0.01 deg), rate (0.01 deg/s), ok, faults."""

    def __init__(self):
        self.angle_cdeg = 0
        self.rate_cdps = 0
        self.ok = False
        self.faults = TILT_NO_SENSOR


class SensorFrontEnd(HrSide):
    def __init__(self, clock, imu, hr, calibration, rate_hz=100, hr_every=0):
        self.clock = clock
        self.imu = imu
        self.rate_hz = rate_hz
        self.tilt = TiltState()
        self.calibrator = None
        # counters (telemetry; the heart-rate half's are set by _init_hr)
        self.polls = 0
        self.imu_reads = 0
        self.imu_bus_errors = 0
        self.stuck_events = 0
        self.saturation_events = 0
        self.internal_errors = 0
        self.imu_resets = 0  # chip found reset (brown-out) and re-initialised
        self._chk_k = 0
        self._imu_check = getattr(imu, "check", None)

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
        self.calibration = None
        if imu is not None:
            self.set_calibration(calibration)
        self.tilt.faults = self._tf | self.tilt_est.faults

        # -- heart-rate side (hr_side.py) --
        self._init_hr(clock, hr, hr_every)

    # ------------------------------------------------------------------
    def set_calibration(self, cal):
        """Use a new mount calibration (None: not calibrated, default axes)."""
        imu = self.imu
        if imu is None:
            return
        self.calibration = cal
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
        # Everything the step needs, in one tuple: raw indices of the long, up
        # and pivot channels, the axis signs, the accelerometer offsets in LSB
        # (signed for the bed axes), the long/up scale (Q14) and the shifts
        # that bring 1 g near 2**14, the gyro LSB -> mdps ratio (signed) and
        # the gyro offset (mdps, signed).
        self._map = (
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
        )
        self.tilt_est.zero_udeg = use.zero_cdeg * 10000
        self.tilt_est.restart()

    # ------------------------------------------------------------------
    def poll(self):
        """Read both sensors and update the estimates; call once per control period."""
        self.polls += 1
        try:
            now = self.clock.ticks_us()
            k = self._chk_k + 1
            if k >= _CHECK_POLLS:
                k = 0
            self._chk_k = k
            if self.imu is not None:
                if k == 0 and self._imu_check is not None:
                    self._check_imu()
                self._poll_imu(now)
            if self.ppg is not None:
                if k == _CHECK_POLLS // 2 and self._hr_check is not None:
                    self._check_hr()
                k = self._hr_k + 1
                if k >= self.hr_every:
                    k = 0
                    self._poll_hr(now)
                self._hr_k = k
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

    # ------------------------------------------------------------------
    def _poll_imu(self, now):
        imu = self.imu
        est = self.tilt_est
        try:
            changed = imu.read()
        except Exception:  # OSError from the bus, or anything a driver raises
            self.imu_bus_errors += 1
            self._imu_err_run += 1
            self._good_run = 0
            if self._imu_err_run >= ERR_RUN:
                self._tf |= TILT_BUS_ERROR
            self._tilt_out()
            return
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
        tf = self._tf
        if tf & (TILT_STUCK | TILT_BUS_ERROR):
            self._good_run += 1
            if self._good_run < RECOVER:
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

        il, iu, ip, sl, su, bl, bu, scale, shr, shl, gnum, gden, gb = self._map
        rl = r[il]
        ru = r[iu]
        rg = r[ip]
        fs = self._fs
        if not (-fs <= rl < fs and -fs <= ru < fs and -fs <= rg < fs):
            self._sat_run += 1
            if self._sat_run >= _SAT_RUN and not tf & TILT_SATURATED:
                tf |= TILT_SATURATED
                self._tf = tf
                self.saturation_events += 1
        elif self._sat_run:
            self._sat_run = 0
            tf &= ~TILT_SATURATED
            self._tf = tf
        est.update(
            ((rl * sl - bl) * scale) >> shr,
            (ru * su - bu) << shl,
            (rg * gnum) // gden - gb,
            dt,
        )
        t = self.tilt
        t.angle_cdeg = est.angle_cdeg
        t.rate_cdps = est.rate_cdps
        f = est.faults | tf
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
