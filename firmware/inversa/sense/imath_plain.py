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


# The heart-rate estimator's hot loops (sense/heartrate.py: the second-rhythm
# check's autocorrelation of the comb residual, the slope's harmonics), the
# reference for their viper twins in imath_native.py.  Values as there: every
# one below 2**30.


def harm(hs, dr, sn, i, sc, t16, k0, k1):
    """Adds the points k0 <= k < k1 of harmonics 1-5 at the period t16 (1/16
    sample) to hs[0:10] (re, im): y = dr[i - k] // sc within +-2047, sn the
    sine table (64 + 63 sin, 64 steps a turn)."""
    n = len(dr)
    for k in range(k0, k1):
        y = dr[(i - k) % n] // sc
        y = y if -2047 <= y <= 2047 else (2047 if y > 0 else -2047)
        p = (k << 16) // t16
        q = 0
        for h in range(0, 10, 2):
            q += p
            j = (q >> 6) & 63
            hs[h] += y * (sn[(j + 16) & 63] - 64)
            hs[h + 1] += y * (sn[j] - 64)


def lags(ys, rl, l0, l1, e0, e, t, n2):
    """The residual's autocorrelation r (%) over n2 points at the lags
    l0 <= lag < l1 into rl[lag] (array "h"; e0 the window's energy at lag 0,
    e at l0); rl[0] the best r away from t and its multiples (or at a
    multiple while r near t < -20), rl[1] the best r near t: carried from
    the lags before (-200: none).  Returns the window's energy at l1."""
    best = rl[0]
    rt = rl[1]
    for lag in range(l0, l1):
        acc = 0
        for k in range(n2):
            acc += ys[k] * ys[k + lag]
        r = acc // ((e0 + e) // 200 + 1)
        m = lag % t
        if (m if m < t - m else t - m) * 100 > 15 * t or (lag * 2 > t * 3 and rt < -20):
            if r > best:
                best = r
        elif lag * 2 < t * 3 and r > rt:
            rt = r
        rl[lag] = r
        if lag + n2 < len(ys):  # the window's energy one lag on
            v = ys[lag]
            w = ys[lag + n2]
            e = e - v * v + w * w
    rl[0] = best
    rl[1] = rt
    return e
