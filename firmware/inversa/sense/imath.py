# Integer math for the estimation steps: an atan2 that returns micro-degrees
# from a 129-entry table (built once at import with floats; the lookup
# itself uses integers only, so it allocates nothing and does not depend on
# the board's single-precision floats), and an integer square root.
# On a board with a native emitter (RP2040, ESP32) atan2_udeg is the viper
# twin in imath_native.py (the same integers, ~10x faster);
# atan2_udeg_plain stays the reference and the fallback.
#
# Usage:
#     from inversa.sense.imath import atan2_udeg
#     atan2_udeg(1, 1)        # 45000000 (45 degrees)
#     atan2_udeg(-5, -5)      # -135000000

import math
from array import array

from inversa.compat import const

_N = const(128)  # table steps over 0..45 degrees
_SHIFT = const(8)  # the ratio is Q15: its top 7 bits pick the step...
_FRAC = const(255)  # ...and the low 8 interpolate within it
_DEG90_UDEG = const(90000000)
_DEG180_UDEG = const(180000000)

# atan(i / 128) in units of 1e-4 degree, i = 0..128 (an extra entry for
# interpolation at 45 degrees).  Single-precision floats are exact enough:
# the worst entry is off by less than 1e-4 degree.  Linear interpolation
# between steps of 1/128 is off by at most 0.00028 degree (|atan''| <= 0.65);
# the ratio, rounded to Q15, by at most 0.00087: 0.0012 degree in all
# (tests/fw/test_imath.py), against 0.0019 with the former 1025-entry table
# and a truncated ratio, in 0.5 KB instead of 4 KB of the board's heap.
_ATAN = array("i", [int(math.atan(i / _N) * 572957.7951308232 + 0.5) for i in range(_N + 1)])
_ATAN.append(_ATAN[_N])


def atan2_udeg_plain(y, x):
    """atan2(y, x) in micro-degrees, within (-180e6, 180e6]; integers in, integer out.

    Error below 0.0012 degree while |x|, |y| < 2**15 (below 0.01 degree up to
    2**30: larger inputs are scaled down first)."""
    ax = x if x >= 0 else -x
    ay = y if y >= 0 else -y
    if ax >= ay:
        if ax == 0:
            return 0
        while ax > 0x7FFF:  # keep (ay << 15) + ax / 2 below 2**30
            ax >>= 2
            ay >>= 2
        r = ((ay << 15) + (ax >> 1)) // ax  # rounded
        i = r >> _SHIFT
        t = _ATAN[i]
        a = (t + (((_ATAN[i + 1] - t) * (r & _FRAC)) >> _SHIFT)) * 100
    else:
        while ay > 0x7FFF:
            ax >>= 2
            ay >>= 2
        r = ((ax << 15) + (ay >> 1)) // ay
        i = r >> _SHIFT
        t = _ATAN[i]
        a = _DEG90_UDEG - (t + (((_ATAN[i + 1] - t) * (r & _FRAC)) >> _SHIFT)) * 100
    if x < 0:
        a = _DEG180_UDEG - a
    if y < 0:
        # Just below the negative x axis, a rounds to 180 deg: the result
        # stays in (-180, 180] (found by hypothesis: y=-1, x=-32768).
        return a if a >= _DEG180_UDEG else -a
    return a


atan2_udeg = atan2_udeg_plain
NATIVE = False  # True when atan2_udeg is the viper twin (imath_native.py)
try:
    from inversa.sense import imath_native as _native

    _native.TAB = _ATAN
    atan2_udeg = _native.atan2_v  # pyright: ignore[reportAssignmentType]
    NATIVE = True
except (ImportError, SyntaxError, ValueError):  # no native emitter, or another arch's .mpy
    pass


def isqrt(n):
    """Integer square root (floor) of n >= 0, by Newton's method."""
    if n <= 0:
        return 0
    x = n
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x
