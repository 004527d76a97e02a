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


def _rand(x):
    return (x * 1103515245 + 12345) % 2147483648


def _hr_arrays(x, big):
    # a slope ring (184, as the estimator's: values to +-2**25, or small) and
    # a residual (104 points within +-2047, the edges included)
    from array import array

    dr = array("i", [0] * 184)
    for i in range(184):
        x = _rand(x)
        dr[i] = (x >> 5) - (1 << 25) if big else ((x >> 16) & 0x3FFF) - 0x2000
    ys = array("h", [0] * 104)
    for i in range(104):
        x = _rand(x)
        ys[i] = (-2047, 2047, 0)[i % 3] if i % 17 == 0 else ((x >> 12) % 4095) - 2047
    return x, dr, ys


def test_heart_rate_kernel_twins_match_the_plain_versions():
    # lags, harm (the heart-rate estimator's second-rhythm check):
    # the same r, best r and energies (lags in two batches), the same sums
    # (harm), over seeded random rings, ring indices, periods and scales
    # from 1 (clipped) up
    from array import array

    native = _native()
    assert imath.lags is native.lags and imath.harm is native.harm
    sn = b'@FLRX^chmqtxz|~\x7f\x7f\x7f~|zxtqmhc^XRLF@:4.("\x1d\x18\x13\x0f\x0c\x08\x06\x04\x02\x01\x01\x01\x02\x04\x06\x08\x0c\x0f\x13\x18\x1d"(.4:'
    x = 99
    n = 0
    for trial in range(24):
        x, dr, ys = _hr_arrays(x, trial % 2)
        for lmin, lmax, t in ((2, 40, 17), (6, 40, 30), (9, 33, 9), (2, 12, 2)):
            # in two batches (the second carries the first's best r and energy)
            ra = array("h", [-200] * 41)
            rb = array("h", [-200] * 41)
            e0 = sum(ys[k] * ys[k] for k in range(64))
            el = sum(ys[k] * ys[k] for k in range(lmin, lmin + 64))
            m = (lmin + lmax) // 2
            ea = native.lags(ys, ra, lmin, m, e0, el, t, 64)
            eb = imath_plain.lags(ys, rb, lmin, m, e0, el, t, 64)
            assert ea == eb and ra == rb, (trial, lmin, m, t)
            ea = native.lags(ys, ra, m, lmax + 1, e0, ea, t, 64)
            eb = imath_plain.lags(ys, rb, m, lmax + 1, e0, eb, t, 64)
            assert ea == eb and ra == rb, (trial, m, lmax, t)
            n += 1
        for _ in range(6):
            x = _rand(x)
            i = (x >> 8) % 184
            sc = (1, 2, 7, 300, 4096, 70001)[(x >> 20) % 6]
            k0 = (x >> 24) % 100
            t16 = 33 + (x >> 9) % 700
            ha = array("i", range(12))
            hb = array("i", range(12))
            native.harm(ha, dr, sn, i, sc, t16, k0 % 90, 96)
            imath_plain.harm(hb, dr, sn, i, sc, t16, k0 % 90, 96)
            assert ha == hb, (trial, i, sc, t16, k0)
            n += 1
    assert n > 200


def test_heart_rate_kernel_twins_allocate_nothing():
    from array import array

    native = _native()
    _, dr, ys = _hr_arrays(5, True)
    hs = array("i", [0] * 12)
    sn = b"@" * 64
    rl = array("h", [0] * 41)
    assert_no_alloc(lambda: native.lags(ys, rl, 2, 41, 99999, 88888, 17, 64))
    assert_no_alloc(lambda: native.harm(hs, dr, sn, 100, 77, 300, 0, 96))
