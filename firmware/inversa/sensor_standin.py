# The stand-ins for sensors missing at boot (inversa/sensor_boot.py says what
# they do and when): each has the driver's interface and scale, its reads fail
# (OSError ENODEV), and every `retry_ms` it tries the real driver again.  A
# module of its own, loaded only when a sensor did not initialise: a healthy
# boot never loads its code or its names.
#
# Each stand-in pushes an EV_SENSOR event (when given the event log): code
# SENSOR_IMU or SENSOR_PPG, value 0 when the sensor is found absent at boot,
# n >= 1 when it came back (the n-th re-initialisation).

from array import array

import inversa.error_text  # noqa: F401  (kept loaded: see error_text.text)
from inversa.compat import const, ticks_diff
from inversa.events import EV_SENSOR

SENSOR_IMU = const(1)  # EV_SENSOR codes
SENSOR_PPG = const(2)
RETRY_MS = const(3000)  # how often an absent sensor is tried again
ENODEV = const(19)

# The driver's scale factors with the constructor's defaults (the front end
# takes them once, at boot).  A driver that comes back with other values is
# not used (tests/fw/test_boot_sensors.py checks these against the drivers).
# imu: accel_mg_num, accel_mg_den, gyro_mdps_num, gyro_mdps_den, full_scale
# The drivers' default gyro range is +-1000 deg/s (issue 11: fast motion must
# not saturate the gyro), so the stand-ins carry the 1000 deg/s scale.
IMU_NOMINAL = {
    "mpu6050": (250, 4096, 4000, 131, 32767),
    "lsm6dsox": (61, 1000, 3500, 100, 32767),
}
# hr: period_us, fifo_depth, polarity, contact_min, full_scale
HR_NOMINAL = {
    "max30102": (10000, 32, -1, 8192, 0x3FFFF),
    "pulse_adc": (10000, 0, 1, 1024, 65535),
}


class _Pending:
    """What the IMU and pulse stand-ins share: the retry timing and counters."""

    def __init__(self, make, clock, recover, retry_ms, error, events, code):
        self._make = make
        self._events = events
        self._code = code
        self.clock = clock
        self._recover = recover
        self.retry_ms = retry_ms
        self.driver = None
        self.present = False
        self.attempts = 1  # the boot's own attempt failed
        self.reinits = 0
        self.last_error = error
        self._err = OSError(ENODEV)  # raised on every read while absent
        self._t_next = clock.ticks_ms() + retry_ms
        self._event(0)

    def _event(self, value):
        if self._events is not None:
            self._events.push(self.clock.ticks_ms(), EV_SENSOR, self._code, value)

    def _attached(self, d):
        self.driver = d
        self.present = True
        self.reinits += 1
        self._event(self.reinits)

    def _due(self):
        t = self.clock.ticks_ms()
        if ticks_diff(t, self._t_next) < 0:
            return False
        self._t_next = t + self.retry_ms
        return True

    def _try(self):
        """One attempt at initialising the real driver; the driver or None."""
        self.attempts += 1
        try:
            return self._make()
        except Exception as e:  # OSError from the bus, the driver's ID check
            self.last_error = e
        if self._recover is not None:
            try:
                self._recover()
                return self._make()
            except Exception as e:
                self.last_error = e
        return None


class PendingIMU(_Pending):
    """Stands in for an IMU driver that did not initialise (see the header)."""

    def __init__(
        self, make, nominal, clock, recover=None, retry_ms=RETRY_MS, error=None, events=None
    ):
        _Pending.__init__(self, make, clock, recover, retry_ms, error, events, SENSOR_IMU)
        self.accel_mg_num = nominal[0]
        self.accel_mg_den = nominal[1]
        self.gyro_mdps_num = nominal[2]
        self.gyro_mdps_den = nominal[3]
        self.full_scale = nominal[4]
        self.raw = array("i", (0, 0, 0, 0, 0, 0))

    def read(self):
        if self._due():
            d = self._try()
            if d is not None and self._fits(d):
                self._attached(d)
                self.raw = d.raw
                self.read = d.read  # from now on the driver itself, no detour
                return d.read()
        raise self._err

    def _fits(self, d):
        ok = (
            d.accel_mg_num == self.accel_mg_num
            and d.accel_mg_den == self.accel_mg_den
            and d.gyro_mdps_num == self.gyro_mdps_num
            and d.gyro_mdps_den == self.gyro_mdps_den
            and d.full_scale == self.full_scale
        )
        if not ok:
            self.last_error = ValueError("the IMU came back with another scale")
        return ok


class PendingPPG(_Pending):
    """Stands in for a pulse-sensor driver that did not initialise."""

    def __init__(
        self, make, nominal, clock, recover=None, retry_ms=RETRY_MS, error=None, events=None
    ):
        _Pending.__init__(self, make, clock, recover, retry_ms, error, events, SENSOR_PPG)
        self.period_us = nominal[0]
        self.fifo_depth = nominal[1]
        self.polarity = nominal[2]
        self.contact_min = nominal[3]
        self.full_scale = nominal[4]
        n = nominal[1] if nominal[1] > 0 else 1
        self.ir = array("i", [0] * n)
        self.red = array("i", [0] * n)
        self.lost = 0
        self.samples = 0

    def read_fifo(self):
        d = self.driver
        if d is not None:
            n = d.read_fifo()
            self.lost = d.lost
            self.samples = d.samples
            return n
        if self._due():
            d = self._try()
            if d is not None and d.period_us == self.period_us:
                self._attached(d)
                self.ir = d.ir
                self.red = d.red
                self.polarity = d.polarity
                self.contact_min = d.contact_min
                return self.read_fifo()
            if d is not None:
                self.last_error = ValueError("the pulse sensor came back with another rate")
        raise self._err
