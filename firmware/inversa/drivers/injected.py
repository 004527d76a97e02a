# Bench-mode (hardware-in-the-loop) sensor drivers: values are pushed in by
# the link from a simulated world on the PC instead of read from a chip, but
# the read side is exactly the real drivers' interface, so the front end,
# the estimators and the controller run unchanged.  Scripted faults: a pushed
# error code makes the next read raise OSError like a failing bus; not
# pushing (or pushing identical values: a real sensor's noise always changes
# some bit) makes the data look stuck; pushing too much overflows the FIFO.
#
# Usage:
#     imu = InjectedIMU()                       # units: mg and mdps
#     imu.push(0, 0, 1000, 0, 0, 0)             # level, still
#     ppg = InjectedPPG(period_us=10000)
#     ppg.push(120000, 90000)                   # one sample (IR, red)
#     fe = SensorFrontEnd(clock, imu, ppg, calibration)
#
# Both allocate nothing in push or read.

from array import array

from inversa.compat import const

_PPG_DEPTH = const(32)  # what read_fifo returns at most, as the MAX30102


class InjectedIMU:
    """IMU fed by push(ax, ay, az, gx, gy, gz); raw units are mg and mdps by default."""

    def __init__(self, accel_mg_per_lsb=1, gyro_mdps_per_lsb=1, full_scale=32767):
        self.raw = array("i", (0, 0, 0, 0, 0, 0))
        self._next = array("i", (0, 0, 0, 0, 0, 0))
        self.accel_mg_num = accel_mg_per_lsb
        self.accel_mg_den = 1
        self.gyro_mdps_num = gyro_mdps_per_lsb
        self.gyro_mdps_den = 1
        self.full_scale = full_scale
        self.rate_hz = 100
        self.pushes = 0
        self._fresh = False
        self._errno = 0

    def push(self, ax, ay, az, gx, gy, gz):
        n = self._next
        fs = self.full_scale
        n[0] = max(-fs - 1, min(fs, ax))
        n[1] = max(-fs - 1, min(fs, ay))
        n[2] = max(-fs - 1, min(fs, az))
        n[3] = max(-fs - 1, min(fs, gx))
        n[4] = max(-fs - 1, min(fs, gy))
        n[5] = max(-fs - 1, min(fs, gz))
        self._fresh = True
        self.pushes += 1

    def fail_next(self, errno=5):
        """Make the next read raise OSError(errno) (5 EIO, 19 ENODEV)."""
        self._errno = errno

    def read(self):
        if self._errno:
            e = self._errno
            self._errno = 0
            raise OSError(e)
        if not self._fresh:
            return False  # nothing new: the same sample again
        self._fresh = False
        r = self.raw
        n = self._next
        changed = False
        for i in range(6):
            if r[i] != n[i]:
                changed = True
                r[i] = n[i]
        return changed


class InjectedPPG:
    """PPG sensor fed by push(ir, red) at the sensor's rate, drained by read_fifo()."""

    def __init__(self, period_us=10000, polarity=1, depth=64, contact_min=0):
        if depth < _PPG_DEPTH:
            from inversa.error_text import text

            raise ValueError(text(48))
        self._ring_ir = array("i", [0] * depth)
        self._ring_red = array("i", [0] * depth)
        self._depth = depth
        self._head = 0
        self._count = 0
        self._dropped = 0
        self._errno = 0
        self.ir = array("i", [0] * _PPG_DEPTH)
        self.red = array("i", [0] * _PPG_DEPTH)
        self.lost = 0
        self.samples = 0
        self.overflows = 0
        self.lost_total = 0
        self.period_us = period_us
        self.rate_hz = 1000000 // period_us
        self.polarity = polarity
        self.fifo_depth = _PPG_DEPTH
        self.contact_min = contact_min
        self.full_scale = 0x3FFFF

    def push(self, ir, red=0):
        if self._count == self._depth:
            self._dropped += 1  # full: the newest sample is lost, as in the MAX30102
            return
        i = (self._head + self._count) % self._depth
        self._ring_ir[i] = ir
        self._ring_red[i] = red
        self._count += 1

    def fail_next(self, errno=5):
        self._errno = errno

    def read_fifo(self):
        if self._errno:
            e = self._errno
            self._errno = 0
            raise OSError(e)
        n = self._count
        if n > _PPG_DEPTH:
            n = _PPG_DEPTH
        h = self._head
        d = self._depth
        for i in range(n):
            self.ir[i] = self._ring_ir[h]
            self.red[i] = self._ring_red[h]
            h += 1
            if h == d:
                h = 0
        self._head = h
        self._count -= n
        lost = self._dropped
        self._dropped = 0
        self.lost = lost
        if lost:
            self.overflows += 1
            self.lost_total += lost
        self.samples = (self.samples + n + lost) & 0x3FFFFFFF
        return n
