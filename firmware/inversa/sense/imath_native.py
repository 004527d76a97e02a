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
