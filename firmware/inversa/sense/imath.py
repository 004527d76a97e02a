# Integer math for the estimation steps: an atan2 that returns micro-degrees
# from a 129-entry table (built once at import with floats; the lookup
# itself uses integers only, so it allocates nothing and does not depend on
# the board's single-precision floats), and an integer square root.
# On a board with a native emitter (RP2040, ESP32) atan2_udeg is the viper
# twin in imath_native.py (the same integers, ~3-6x faster a call);
# imath_plain.atan2_udeg_plain stays the reference and the fallback.  The
# heart-rate estimator's hot loops (lags, harm) come the same way.
#
# Usage:
#     from inversa.sense.imath import atan2_udeg
#     atan2_udeg(1, 1)        # 45000000 (45 degrees)
#     atan2_udeg(-5, -5)      # -135000000

import math
from array import array

from inversa.compat import const

_N = const(128)  # table steps over 0..45 degrees

# atan(i / 128) in units of 1e-4 degree, i = 0..128 (an extra entry for
# interpolation at 45 degrees).  Single-precision floats are exact enough:
# the worst entry is off by less than 1e-4 degree.  Linear interpolation
# between steps of 1/128 is off by at most 0.00028 degree (|atan''| <= 0.65);
# the ratio, rounded to Q15, by at most 0.00087: 0.0012 degree in all
# (tests/fw/test_imath.py), against 0.0019 with the former 1025-entry table
# and a truncated ratio, in 0.5 KB instead of 4 KB of the board's heap.
# (130 entries: the last repeats entry 128, for interpolation at 45 degrees)
_ATAN = array(
    "i", [int(math.atan(min(i, _N) / _N) * 572957.7951308232 + 0.5) for i in range(_N + 2)]
)


# atan2(y, x) in micro-degrees, within (-180e6, 180e6]; integers in,
# integer out (see imath_plain.py for the error bounds).  The plain version
# is loaded only where it is used, so a board with the twin keeps no second
# copy on its heap.
NATIVE = False  # True when atan2_udeg is the viper twin (imath_native.py)
try:
    from inversa.sense import imath_native

    imath_native.TAB = _ATAN
    from inversa.sense.imath_native import atan2_v as atan2_udeg
    from inversa.sense.imath_native import harm, lags

    NATIVE = True
except (ImportError, SyntaxError, ValueError):  # no native emitter, or another arch's .mpy
    from inversa.sense import imath_plain

    imath_plain.TAB = _ATAN
    from inversa.sense.imath_plain import atan2_udeg_plain as atan2_udeg  # noqa: F401
    from inversa.sense.imath_plain import harm, lags  # noqa: F401


def isqrt(n):
    """Integer square root (floor) of n >= 0, by Newton's method."""
    if n <= 0:
        return 0
    # from the power of two just above sqrt(n) (Newton from any x >= the
    # root lands on it): a few steps, not one per bit of n
    x = 2
    m = n
    while m > 3:
        m >>= 2
        x <<= 1
    y = (x + n // x) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x
