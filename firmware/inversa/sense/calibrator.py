# The IMU mount calibration procedure: collect still positions from raw IMU
# samples and fit a Calibration (inversa/sense/calibration.py, the stored
# record the boot reads).  A module of its own so the board's boot, which
# only loads the record, never loads the procedure's code and names (run
# once, from the host's `calibrate` or the board's REPL; see
# calibration.py for the usage).  Floats are used here (once, not in a
# control step).

import math

from inversa.sense.calibration import (
    FLAG_AXES,
    FLAG_LEVEL,
    FLAG_OFFSETS,
    FLAG_SCALE,
    Calibration,
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
