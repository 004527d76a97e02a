# Bench mode (board.json "bench": true): the sensors are fed over the link
# (INJECT_IMU / INJECT_PPG) by a simulated world on the PC (`inversa bench`).
# Samples are the configured chips' raw counts at their drivers' default
# ranges, already in the bed frame (x towards the head, z up from the bed, y
# the pivot): the stored mount calibration belongs to the real IMU, so an
# identity calibration is used instead.  The same front end, estimators and
# controller run as on a real board; a small jitter buffer keeps samples that
# arrive together over the link in order.
#
# Usage (app.build_app does this when board.json says "bench": true):
#     sensors, inject = build_bench_sensors(cfg, clock)
#     LinkEndpoint(..., bench=True, inject=inject)

from inversa import reasons as R
from inversa.compat import const

_BENCH_IMU_SCALE = {  # accel mg num, den; gyro mdps num, den (as the drivers)
    "mpu6050": (250, 4096, 4000, 131),  # +-2 g, +-1000 deg/s
    "lsm6dsox": (61, 1000, 3500, 100),  # +-2 g, +-1000 deg/s
}
_BENCH_PPG = {  # period_us, polarity, contact_min, full_scale (as the drivers)
    "max30102": (10000, -1, 8192, 0x3FFFF),
    "pulse_adc": (10000, 1, 1024, 65535),
}


_INJECT_IMU = const(0x30)  # messages.INJECT_IMU


def _i16(b, o):
    v = b[o] | (b[o + 1] << 8)
    return v - 0x10000 if v & 0x8000 else v


class _JitterIMU:
    """A short jitter buffer in front of an InjectedIMU: samples that arrive
    together over a jittery link are handed out one per read (one per control
    period) instead of overwriting each other.  Full: the oldest goes, so the
    added latency stays bounded (depth periods)."""

    def __init__(self, imu, depth=4):
        from array import array

        self.imu = imu
        self._ring = array("i", [0] * (6 * depth))
        self._depth = depth
        self._head = 0
        self._count = 0
        self.drops = 0

    def push(self, ax, ay, az, gx, gy, gz):
        d = self._depth
        if self._count == d:
            self._head = (self._head + 1) % d
            self._count -= 1
            self.drops += 1
        i = 6 * ((self._head + self._count) % d)
        r = self._ring
        r[i] = ax
        r[i + 1] = ay
        r[i + 2] = az
        r[i + 3] = gx
        r[i + 4] = gy
        r[i + 5] = gz
        self._count += 1

    def release(self):
        """Move the oldest buffered sample into the IMU (once per period)."""
        if self._count:
            i = 6 * self._head
            r = self._ring
            self.imu.push(r[i], r[i + 1], r[i + 2], r[i + 3], r[i + 4], r[i + 5])
            self._head = (self._head + 1) % self._depth
            self._count -= 1


class _BenchFrontEnd:
    """The sensor front end of a bench-mode board: releases one buffered IMU
    sample per period, then polls as usual."""

    def __init__(self, fe, jitter):
        self.fe = fe
        self.jitter = jitter
        self.tilt = fe.tilt
        self.hr = fe.hr
        self.hr_polled = False

    def poll(self, busy=False):
        self.jitter.release()
        fe = self.fe
        fe.poll(busy)
        self.hr_polled = fe.hr_polled

    def fill(self, inp):
        self.fe.fill(inp)


class BenchInjector:
    """Decodes injected samples in place (no struct tuples: allocation-free)
    and pushes them into the injected drivers.  `inject` is the link's
    callable; a frame with any out-of-range sample changes nothing."""

    def __init__(self, imu, ppg):
        self.imu = imu  # anything with push(ax, ay, az, gx, gy, gz)
        self.ppg = ppg
        self.imu_samples = 0
        self.ppg_samples = 0

    def inject(self, msg_type, buf, off, count):
        if msg_type == _INJECT_IMU:
            imu = self.imu
            for i in range(count):
                o = off + 12 * i
                imu.push(
                    _i16(buf, o),
                    _i16(buf, o + 2),
                    _i16(buf, o + 4),
                    _i16(buf, o + 6),
                    _i16(buf, o + 8),
                    _i16(buf, o + 10),
                )
            self.imu_samples += count
            return R.OK
        ppg = self.ppg
        if ppg is None:
            return R.UNKNOWN_COMMAND  # no heart-rate sensor configured
        for i in range(count):  # +-2**29: a small int on every port
            top = buf[off + 4 * i + 3]
            if 0x1F < top < 0xE0:
                return R.OUT_OF_RANGE
        for i in range(count):
            o = off + 4 * i
            top = buf[o + 3]
            if top & 0x80:
                top -= 256
            ppg.push(buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | (top << 24))
        self.ppg_samples += count
        return R.OK


def build_bench_sensors(cfg, clock):
    """(front end, inject callable) for a board booted in bench mode."""
    from inversa.drivers.injected import InjectedIMU, InjectedPPG
    from inversa.sense.calibration import Calibration
    from inversa.sense.frontend import SensorFrontEnd

    an, ad, gn, gd = _BENCH_IMU_SCALE[cfg.imu]
    imu = InjectedIMU()
    imu.accel_mg_num = an
    imu.accel_mg_den = ad
    imu.gyro_mdps_num = gn
    imu.gyro_mdps_den = gd
    ppg = None
    spec = _BENCH_PPG.get(cfg.hr)
    if spec is not None:
        ppg = InjectedPPG(period_us=spec[0], polarity=spec[1], contact_min=spec[2])
        ppg.full_scale = spec[3]
    jitter = _JitterIMU(imu)
    injector = BenchInjector(jitter, ppg)
    fe = SensorFrontEnd(clock, imu, ppg, Calibration())
    return _BenchFrontEnd(fe, jitter), injector.inject
