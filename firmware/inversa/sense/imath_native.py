# Viper (machine-code) twin of imath_plain.atan2_udeg_plain: 28 instead of
# 78 us a call on the emulated Pico, most of it the call itself (the tilt
# estimator calls it once or more every control period).
#
# Only imported through imath.py, which uses the plain version where the
# interpreter has no native emitter (CPython, the WebAssembly VM): importing
# this module there fails (ImportError / SyntaxError / ValueError).  imath.py
# sets TAB to its table before it uses atan2_v.  Every value stays below
# 2**30 (the plain version's ranges), so 32-bit machine integers give what
# Python's integers give; tests run both twins over many inputs and require
# identical results (tests/mpy/test_sense_imath_native.py on the 32-bit unix
# interpreter, tests/board/test_rp2_native.py on the emulated Pico).
#
# Usage (through imath.py):
#     a_udeg = atan2_udeg(y, x)
#
# map_v: the twin of frontend._map_raw (a raw IMU sample through the mount
# calibration into the tilt estimator's inputs, every control period: 32
# instead of ~226 us a call on the emulated Pico), imported by frontend.py
# the same way (here: one native module, no new module names on the
# board).  32-bit machine integers give what Python's integers give only
# while every value stays below 2**31: set_calibration marks a map whose
# constants keep every product below that (m[23]), the twin checks the
# sample's values and declines (-1, nothing written) where they might not,
# and the plain version runs instead.  Kept small: viper machine code lives
# on the board's heap (armv6m spends ~40 B on a comparison), so a range is
# checked with shifts ((x >> 15) + 1 >> 1 is 0 exactly for
# -2**15 <= x < 2**15).  Tests: tests/mpy/test_sense_map_native.py
# (unix32), tests/board/test_rp2_native.py (emulated Pico).
#     sat = map_v(raw, m)   # m[24:30]: a_long, a_up, rate, a_across, rate_long, rate_up

import micropython

TAB = None  # imath._ATAN (array "i", 130 entries), set by imath.py


@micropython.viper
def atan2_v(y: int, x: int) -> int:
    # ptr32: a viper built-in; TAB is the table (array "i") once imath.py set it
    t = ptr32(TAB)  # noqa: F821  # pyright: ignore[reportArgumentType]
    ax = x
    if ax < 0:
        ax = -ax
    ay = y
    if ay < 0:
        ay = -ay
    # one path for both octants (smaller machine code): n / d <= 1
    n = ay
    d = ax
    if ax < ay:
        n = ax
        d = ay
    if d == 0:
        return 0
    while d > 0x7FFF:  # keep (n << 15) + d / 2 below 2**30
        d >>= 2
        n >>= 2
    r = ((n << 15) + (d >> 1)) // d  # rounded, >= 0
    i = r >> 8
    v = t[i]
    a = (v + (((t[i + 1] - v) * (r & 255)) >> 8)) * 100
    if ax < ay:
        a = 90000000 - a
    if x < 0:
        a = 180000000 - a
    if y < 0 and a < 180000000:
        return -a
    return a


# The heart-rate estimator's hot loops: twins of imath_plain.lags and harm
# (the second-rhythm check's autocorrelation and harmonics, 36 % and 27 % of
# the estimator's time on the emulated Pico in bytecode; ~1.1 and ~0.8 KB of
# machine code on the heap).  ptr16 reads unsigned: (v ^ 0x8000) - 0x8000
# restores the sign.


@micropython.viper
def harm(hs, dr, sn, i: int, sc: int, t16: int, k0: int, k1: int):
    s = ptr32(hs)  # noqa: F821  # pyright: ignore[reportUndefinedVariable]
    d = ptr32(dr)  # noqa: F821  # pyright: ignore[reportUndefinedVariable]
    t = ptr8(sn)  # noqa: F821  # pyright: ignore[reportUndefinedVariable]
    n = int(len(dr))  # noqa: RUF046 - viper: a machine int, not an object
    k = k0
    while k < k1:
        y = d[(i - k) % n] // sc
        if y > 2047:
            y = 2047
        elif y < -2047:
            y = -2047
        p = (k << 16) // t16
        q = 0
        h = 0
        while h < 10:
            q += p
            j = (q >> 6) & 63
            s[h] += y * (int(t[(j + 16) & 63]) - 64)
            s[h + 1] += y * (int(t[j]) - 64)
            h += 2
        k += 1


@micropython.viper
def lags(ys, rl, l0: int, l1: int, e0: int, e: int, t: int, n2: int) -> int:
    p = ptr16(ys)  # noqa: F821  # pyright: ignore[reportUndefinedVariable]
    q = ptr16(rl)  # noqa: F821  # pyright: ignore[reportUndefinedVariable]
    ny = int(len(ys))  # noqa: RUF046 - viper: a machine int, not an object
    best = (int(q[0]) ^ 0x8000) - 0x8000
    rt = (int(q[1]) ^ 0x8000) - 0x8000
    lag = l0
    while lag < l1:
        acc = 0
        k = 0
        while k < n2:
            acc += ((int(p[k]) ^ 0x8000) - 0x8000) * ((int(p[k + lag]) ^ 0x8000) - 0x8000)
            k += 1
        r = acc // ((e0 + e) // 200 + 1)
        m = lag % t
        if t - m < m:
            m = t - m
        if m * 100 > 15 * t or (lag * 2 > t * 3 and rt < -20):
            if r > best:
                best = r
        elif lag * 2 < t * 3 and r > rt:
            rt = r
        q[lag] = r
        if lag + n2 < ny:
            v = (int(p[lag]) ^ 0x8000) - 0x8000
            w = (int(p[lag + n2]) ^ 0x8000) - 0x8000
            e = e - v * v + w * w
        lag += 1
    q[0] = best
    q[1] = rt
    return e


@micropython.viper
def map_v(r, m) -> int:
    # frontend._map_raw's twin (see the top)
    q = ptr32(r)  # noqa: F821  # pyright: ignore[reportArgumentType]
    c = ptr32(m)  # noqa: F821  # pyright: ignore[reportArgumentType]
    if c[23] == 0:  # constants outside the ranges (set_calibration)
        return -1
    fs = c[22]
    sat = 0
    bad = 0
    i = 0
    while i < 6:
        v = q[i]
        bad |= ((v >> 15) + 1) >> 1
        if v < -fs or v >= fs:
            sat = 1
        i += 1
    x = q[c[0]] * c[3] - c[5]
    if bad | (((x >> 15) + 1) >> 1):  # |x| < 2**15: x * the scale < 2**31
        return -1
    sh = c[9]
    gd = c[11]
    c[24] = (x * c[7]) >> c[8]
    c[25] = (q[c[1]] * c[4] - c[6]) << sh
    c[26] = (q[c[2]] * c[10]) // gd - c[12]
    c[27] = (q[c[13]] * c[14] - c[15]) << sh
    c[28] = (q[c[16]] * c[17]) // gd - c[18]
    c[29] = (q[c[19]] * c[20]) // gd - c[21]
    return sat
