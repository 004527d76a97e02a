# The plain (bytecode) integer atan2: the reference for the viper twin in
# imath_native.py and the fallback where there is no native emitter
# (CPython, the WebAssembly VM).  imath.py imports it only there (a board
# with the twin keeps no second copy on its heap) and sets TAB to its table;
# tests that compare the twins set TAB = imath._ATAN themselves.
#
# Usage (through imath.py):
#     from inversa.sense.imath import atan2_udeg

from inversa.compat import const

_SHIFT = const(8)  # the ratio is Q15: its top 7 bits pick the step...
_FRAC = const(255)  # ...and the low 8 interpolate within it
_DEG90_UDEG = const(90000000)
_DEG180_UDEG = const(180000000)

TAB = None  # imath._ATAN: atan(i / 128) in 1e-4 degree, i = 0..128, and 128 again


def atan2_udeg_plain(y, x):
    """atan2(y, x) in micro-degrees, within (-180e6, 180e6]; integers in, integer out.

    Error below 0.0012 degree while |x|, |y| < 2**15 (below 0.01 degree up to
    2**30: larger inputs are scaled down first)."""
    tab = TAB
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
        t = tab[i]  # pyright: ignore[reportOptionalSubscript]
        a = (t + (((tab[i + 1] - t) * (r & _FRAC)) >> _SHIFT)) * 100  # pyright: ignore[reportOptionalSubscript]
    else:
        while ay > 0x7FFF:
            ax >>= 2
            ay >>= 2
        r = ((ax << 15) + (ay >> 1)) // ay
        i = r >> _SHIFT
        t = tab[i]  # pyright: ignore[reportOptionalSubscript]
        a = _DEG90_UDEG - (t + (((tab[i + 1] - t) * (r & _FRAC)) >> _SHIFT)) * 100  # pyright: ignore[reportOptionalSubscript]
    if x < 0:
        a = _DEG180_UDEG - a
    if y < 0:
        # Just below the negative x axis, a rounds to 180 deg: the result
        # stays in (-180, 180] (found by hypothesis: y=-1, x=-32768).
        return a if a >= _DEG180_UDEG else -a
    return a
