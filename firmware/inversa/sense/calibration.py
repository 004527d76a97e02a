# IMU mount calibration: which sensor axes lie along the bed and across it,
# the angle the sensor reads when the bed is level (zero offset), the gyro
# bias, and (from several positions) the accelerometer offsets and the
# relative scale of the two in-plane axes.  Stored on the board as a small
# binary record with a CRC; a missing or corrupt file means "not
# calibrated" (the front end raises TILT_NOT_CALIBRATED), never a crash.
#
# The user runs the calibration once, from the host (`calibrate` command) or
# the board's REPL, with the table still at each position:
#
#     cal = Calibrator()                 # or Calibrator(previous_calibration)
#     cal.begin(0)                       # bed level (0 deg, known exactly)
#     ... cal.add(imu.raw) for ~2 s ...; cal.end()
#     cal.begin(-60); ...; cal.end()     # optional: other still positions,
#     cal.begin(30); ...; cal.end()      #   angle only roughly known
#     calibration = cal.finish(imu)      # imu: for its LSB -> mg/mdps scale
#     calibration.save("/calibration.bin")
#
#     calibration = Calibration.load("/calibration.bin")   # None if missing/bad
#
# One position (level) gives the zero offset, the gyro bias and the up axis;
# the long axis then comes from the previous calibration or the default
# (sensor x towards the head).  Two positions also find the long axis and its
# sign.  Three or more positions spanning >= 30 deg also fit the
# accelerometer offsets in the bed plane (a circle), five or more spanning
# >= 60 deg also the relative scale of the two axes (an ellipse): the
# MPU-6050's +-50 mg offsets and +-3 % sensitivity tolerance otherwise leave
# 0.5-1 deg RMS (up to ~2 deg) away from level.  Floats are used here (once,
# not in a control step).

import math
import struct

from inversa.compat import const
from inversa.crc import crc16
from inversa.storage import write_atomic

_MAGIC = b"INVC"
_VERSION = const(1)
# magic, version, long axis, long sign, up axis, up sign, flags, positions,
# zero (cdeg), gyro bias x y z (mdps), accel bias x y z (mg), long/up scale (Q14)
_FMT = "<4sBBbBbBBhhhhhhhH"
_SIZE = struct.calcsize(_FMT)

FLAG_LEVEL = const(1)  # zero offset and gyro bias from a level position
FLAG_AXES = const(2)  # long axis found from a second position
FLAG_OFFSETS = const(4)  # accelerometer offsets fitted (>= 3 positions)
FLAG_SCALE = const(8)  # relative scale fitted (>= 5 positions)


class Calibration:
    """The mount calibration; all fields are small integers."""

    def __init__(
        self,
        long_axis=0,
        long_sign=1,
        up_axis=2,
        up_sign=1,
        zero_cdeg=0,
        gyro_bias_mdps=(0, 0, 0),
        accel_bias_mg=(0, 0, 0),
        scale_q14=16384,
        flags=0,
        positions=0,
    ):
        if long_axis == up_axis or not (0 <= long_axis <= 2 and 0 <= up_axis <= 2):
            raise ValueError("long_axis and up_axis must be two different axes 0..2")
        if long_sign not in (1, -1) or up_sign not in (1, -1):
            raise ValueError("axis signs must be +1 or -1")
        self.long_axis = long_axis
        self.long_sign = long_sign
        self.up_axis = up_axis
        self.up_sign = up_sign
        self.zero_cdeg = int(zero_cdeg)
        self.gyro_bias_mdps = [int(v) for v in gyro_bias_mdps]
        self.accel_bias_mg = [int(v) for v in accel_bias_mg]
        self.scale_q14 = int(scale_q14)
        self.flags = flags
        self.positions = positions

    def pivot(self):
        """(axis, sign) of the pivot axis: rotation about it, positive = head down."""
        p = 3 - self.long_axis - self.up_axis
        cyc = 1 if (self.long_axis - self.up_axis) % 3 == 1 else -1
        return p, self.up_sign * self.long_sign * cyc

    def to_bytes(self):
        g = self.gyro_bias_mdps
        a = self.accel_bias_mg
        body = struct.pack(
            _FMT,
            _MAGIC,
            _VERSION,
            self.long_axis,
            self.long_sign,
            self.up_axis,
            self.up_sign,
            self.flags,
            self.positions,
            self.zero_cdeg,
            g[0],
            g[1],
            g[2],
            a[0],
            a[1],
            a[2],
            self.scale_q14,
        )
        return body + struct.pack("<H", crc16(body, 0, len(body)))

    @classmethod
    def from_bytes(cls, data):
        """Parse a record; None if it is not a valid calibration (length, magic, CRC, ranges)."""
        if data is None or len(data) != _SIZE + 2:
            return None
        body = bytes(data[:_SIZE])
        if struct.unpack("<H", bytes(data[_SIZE:]))[0] != crc16(body, 0, len(body)):
            return None
        f = struct.unpack(_FMT, body)
        if f[0] != _MAGIC or f[1] != _VERSION:
            return None
        try:
            return cls(
                long_axis=f[2],
                long_sign=f[3],
                up_axis=f[4],
                up_sign=f[5],
                flags=f[6],
                positions=f[7],
                zero_cdeg=f[8],
                gyro_bias_mdps=(f[9], f[10], f[11]),
                accel_bias_mg=(f[12], f[13], f[14]),
                scale_q14=f[15],
            )
        except ValueError:
            return None

    @classmethod
    def load(cls, path):
        """The calibration stored at `path`, or None if it is missing or corrupt."""
        try:
            with open(path, "rb") as f:
                data = f.read(_SIZE + 3)
        except OSError:
            return None
        return cls.from_bytes(data)

    def save(self, path):
        """Write atomically (temporary file, then rename: inversa.storage);
        raises OSError on failure (the old calibration then stays)."""
        write_atomic(path, self.to_bytes())

    def __eq__(self, other):
        return isinstance(other, Calibration) and self.to_bytes() == other.to_bytes()

    def __repr__(self):
        return (
            "Calibration(long=%s%d up=%s%d zero=%d cdeg gyro=%r mdps accel=%r mg scale=%d flags=%d)"
            % (
                "+" if self.long_sign > 0 else "-",
                self.long_axis,
                "+" if self.up_sign > 0 else "-",
                self.up_axis,
                self.zero_cdeg,
                self.gyro_bias_mdps,
                self.accel_bias_mg,
                self.scale_q14,
                self.flags,
            )
        )


class Calibrator:
    """Collects still positions from raw IMU samples and computes a Calibration.

    still_mdps: the gyro may wander this much (peak to peak, any axis) within
    a position before the position is refused as "moving"."""

    MAX_POSITIONS = 8

    def __init__(self, previous=None, still_mdps=3000):
        self.previous = previous
        self.still_mdps = still_mdps
        self.positions = []  # (hint_cdeg, mean raw a[3], mean raw g[3], n)
        self.error = ""
        self._collecting = False

    def begin(self, angle_hint_cdeg):
        """Start a still position; 0 means level (exact), others are rough hints."""
        if len(self.positions) >= self.MAX_POSITIONS:
            raise ValueError("at most %d positions" % self.MAX_POSITIONS)
        self._hint = int(angle_hint_cdeg)
        self._sum = [0, 0, 0, 0, 0, 0]
        self._min = [1 << 30] * 6
        self._max = [-(1 << 30)] * 6
        self._n = 0
        self._collecting = True

    def add(self, raw):
        """One raw sample: accel x y z, gyro x y z (LSB)."""
        if not self._collecting:
            return
        for i in range(6):
            v = raw[i]
            self._sum[i] += v
            if v < self._min[i]:
                self._min[i] = v
            if v > self._max[i]:
                self._max[i] = v
        self._n += 1

    def end(self, imu=None):
        """Close the position; False (and `error` says why) if it was unusable."""
        self._collecting = False
        if self._n < 20:
            self.error = "too few samples (%d): hold each position for 2 s" % self._n
            return False
        if imu is not None:
            span = max(self._max[i] - self._min[i] for i in range(3, 6))
            if span * imu.gyro_mdps_num // imu.gyro_mdps_den > self.still_mdps:
                self.error = "the table moved during the position: hold it still"
                return False
        n = self._n
        self.positions.append(
            (
                self._hint,
                [self._sum[i] / n for i in range(3)],
                [self._sum[i] / n for i in range(3, 6)],
                n,
            )
        )
        self.error = ""
        return True

    def finish(self, imu):
        """Compute the Calibration from the positions (the first at 0 = level)."""
        if not self.positions:
            raise ValueError("no position recorded: begin(0) at level first")
        level = None
        for p in self.positions:
            if p[0] == 0:
                level = p
        if level is None:
            raise ValueError("one position must be level (angle 0)")
        amg = imu.accel_mg_num / imu.accel_mg_den
        gmd = imu.gyro_mdps_num / imu.gyro_mdps_den
        acc = [[v * amg for v in p[1]] for p in self.positions]
        lev = [v * amg for v in level[1]]
        flags = FLAG_LEVEL

        # up axis: the one carrying gravity at level
        up = 0
        for i in range(3):
            if abs(lev[i]) > abs(lev[up]):
                up = i
        if abs(lev[up]) < 700:
            raise ValueError("no axis sees gravity at level: is the IMU working?")
        up_sign = 1 if lev[up] > 0 else -1

        # long axis: the other axis that changes most across positions
        prev = self.previous
        others = [i for i in range(3) if i != up]
        best = None
        best_change = 0.0
        best_sign = 1
        for k in range(len(acc)):
            p = self.positions[k]
            a = acc[k]
            if p[0] == 0:
                continue
            for i in others:
                d = a[i] - lev[i]
                if abs(d) > best_change and abs(d) > 100:  # > ~6 deg of tilt
                    best_change = abs(d)
                    best = i
                    # a_long = -sin(theta): head down (hint > 0) makes it negative
                    best_sign = -1 if (d > 0) == (p[0] > 0) else 1
        if best is not None:
            long_axis, long_sign = best, best_sign
            flags |= FLAG_AXES
        elif prev is not None and prev.up_axis == up and prev.long_axis != up:
            long_axis, long_sign = prev.long_axis, prev.long_sign
        else:
            long_axis = 0 if up != 0 else 1
            long_sign = 1

        # in-plane points (long, up) in mg, with the signs applied
        pts = [(a[long_axis] * long_sign, a[up] * up_sign) for a in acc]
        spread = _spread_deg(pts)
        bias_l = 0.0
        bias_u = 0.0
        ratio = 1.0
        if len(pts) >= 5 and spread >= 60:
            fit = _fit_ellipse(pts)
            if fit is not None:
                bias_l, bias_u, rl, ru = fit
                ratio = ru / rl
                flags |= FLAG_OFFSETS | FLAG_SCALE
        if not flags & FLAG_OFFSETS and len(pts) >= 3 and spread >= 30:
            fit = _fit_circle(pts)
            if fit is not None:
                bias_l, bias_u = fit[0], fit[1]
                flags |= FLAG_OFFSETS
        if abs(bias_l) > 250 or abs(bias_u) > 250 or not 0.8 < ratio < 1.25:
            raise ValueError("implausible accelerometer fit: repeat with steadier positions")

        ll = (lev[long_axis] * long_sign - bias_l) * ratio
        lu = lev[up] * up_sign - bias_u
        zero_cdeg = round(math.degrees(math.atan2(-ll, lu)) * 100)

        # gyro bias: weighted mean over every still position
        n_total = 0
        gsum = [0.0, 0.0, 0.0]
        for p in self.positions:
            for i in range(3):
                gsum[i] += p[2][i] * p[3]
            n_total += p[3]
        gyro = [round(gsum[i] / n_total * gmd) for i in range(3)]
        abias = [0, 0, 0]
        abias[long_axis] = round(bias_l * long_sign)
        abias[up] = round(bias_u * up_sign)
        return Calibration(
            long_axis=long_axis,
            long_sign=long_sign,
            up_axis=up,
            up_sign=up_sign,
            zero_cdeg=zero_cdeg,
            gyro_bias_mdps=gyro,
            accel_bias_mg=abias,
            scale_q14=round(16384 * ratio),
            flags=flags,
            positions=len(self.positions),
        )


def _spread_deg(pts):
    angs = [math.degrees(math.atan2(-x, y)) for x, y in pts]
    return max(angs) - min(angs)


def _solve(m, v):
    # Gaussian elimination with partial pivoting; None if singular.
    n = len(v)
    a = [list(m[i]) + [v[i]] for i in range(n)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(a[r][c]))
        if abs(a[p][c]) < 1e-12:
            return None
        a[c], a[p] = a[p], a[c]
        for r in range(n):
            if r != c:
                f = a[r][c] / a[c][c]
                for k in range(c, n + 1):
                    a[r][k] -= f * a[c][k]
    return [a[i][n] / a[i][i] for i in range(n)]


def _lsq(rows, rhs):
    n = len(rows[0])
    m = [[sum(r[i] * r[j] for r in rows) for j in range(n)] for i in range(n)]
    v = [sum(rows[k][i] * rhs[k] for k in range(len(rows))) for i in range(n)]
    return _solve(m, v)


def _fit_circle(pts):
    # x^2 + y^2 = 2 a x + 2 b y + c, points in g (1000 mg) for conditioning
    rows = [(2 * x / 1000, 2 * y / 1000, 1.0) for x, y in pts]
    rhs = [(x * x + y * y) / 1e6 for x, y in pts]
    s = _lsq(rows, rhs)
    if s is None:
        return None
    return s[0] * 1000, s[1] * 1000


def _fit_ellipse(pts):
    # axis-aligned: A x^2 + B y^2 + C x + D y = 1, points in g
    rows = [((x / 1000) ** 2, (y / 1000) ** 2, x / 1000, y / 1000) for x, y in pts]
    s = _lsq(rows, [1.0] * len(pts))
    if s is None or s[0] <= 0 or s[1] <= 0:
        return None
    a, b, c, d = s
    x0 = -c / (2 * a)
    y0 = -d / (2 * b)
    k = 1 + a * x0 * x0 + b * y0 * y0
    if k <= 0:
        return None
    return x0 * 1000, y0 * 1000, math.sqrt(k / a) * 1000, math.sqrt(k / b) * 1000
