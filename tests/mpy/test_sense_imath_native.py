# The viper twin of atan2 (inversa/sense/imath_native.py) gives exactly what
# the plain version (imath_plain.atan2_udeg_plain) gives: every octant and axis,
# the table's step edges, both scaling loops (inputs up to 2**30) and seeded
# random vectors.  Where the interpreter has no native emitter (CPython, the
# WebAssembly VM) there is no twin to compare: skipped.  It runs in the
# 32-bit unix interpreter (x86 native code) and on the emulated Pico (armv6m:
# tests/board/test_rp2_native.py runs this module's checks there).

from inversa.sense import imath, imath_plain
from mpyunit import assert_no_alloc, skip


def _native():
    try:
        from inversa.sense import imath_native
    except (ImportError, SyntaxError, ValueError):
        skip("no native emitter in this interpreter (plain twin only)")
    return imath_native  # pyright: ignore[reportPossiblyUnbound]


def _inputs():
    # axes, diagonals, the octant edges and the table's step edges
    vals = [0, 1, 2, 3, 127, 128, 129, 255, 256, 16383, 16384, 32767, 32768, 65535]
    vals += [(1 << 30) - 1, 1 << 29, 123456789, 70000, 1000003]
    for a in vals:
        for b in vals:
            for sy in (1, -1):
                for sx in (1, -1):
                    yield sy * a, sx * b
    for i in range(129):  # every table step: ratio i/128 and just either side
        for d in (-1, 0, 1):
            yield i * 128 + d, 16384
            yield -16384, -(i * 128 + d)
    x = 12345
    for _ in range(3000):
        x = (x * 1103515245 + 12345) % 2147483648
        y = ((x >> 8) & 0x3FFFF) - 0x20000  # +-2**17: the estimator's range
        x = (x * 1103515245 + 12345) % 2147483648
        z = ((x >> 3) % (1 << 27)) - (1 << 26) if x & 1 else ((x >> 8) & 0xFFFF) - 0x8000
        yield y, z


def test_atan2_twin_matches_the_plain_version():
    native = _native()
    assert imath.NATIVE
    assert imath.atan2_udeg is native.atan2_v
    imath_plain.TAB = imath._ATAN  # imath sets it only where it uses the plain one
    n = 0
    for y, x in _inputs():
        want = imath_plain.atan2_udeg_plain(y, x)
        got = native.atan2_v(y, x)
        assert got == want, (y, x, got, want)
        n += 1
    assert n > 5000


def test_atan2_twin_allocates_nothing():
    native = _native()
    assert_no_alloc(lambda: native.atan2_v(-12345, 16000))


def test_the_table_has_its_extra_entry_for_45_degrees():
    t = imath._ATAN
    assert len(t) == 130 and t[129] == t[128] == 450000 and t[0] == 0
