# The viper twin of the front end's IMU map (inversa/sense/imath_native.py's map_v)
# gives exactly what the plain version (frontend._map_raw) gives, or declines
# (-1, nothing written) where its 32-bit integers might not: every axis
# assignment, offsets and scales within the ranges set_calibration marks
# (m[23]) and beyond them, raw samples at and beyond full scale.  Where the interpreter has no native
# emitter (CPython, the WebAssembly VM) there is no twin to compare: skipped.
# It runs in the 32-bit unix interpreter (x86 native code) and on the
# emulated Pico (armv6m: tests/board/test_rp2_native.py runs the same check).

from array import array

from mpyunit import assert_no_alloc, skip


def _native():
    try:
        from inversa.sense import imath_native
    except (ImportError, SyntaxError, ValueError):
        skip("no native emitter in this interpreter (plain twin only)")
    return imath_native  # pyright: ignore[reportPossiblyUnbound]


def _maps():
    # the front end's map (frontend.SensorFrontEnd.set_calibration): every
    # axis assignment, offsets and scales from none to far beyond a chip's
    x = 4242
    axes = ((0, 2), (2, 0), (1, 2), (0, 1), (2, 1), (1, 0))
    for k in range(400):
        x = (x * 1103515245 + 12345) % 2147483648
        lo, up = axes[k % 6]
        p = 3 - lo - up
        big = k % 9 == 0
        off = (1 << 24) if big else 3000
        m = [lo, up, 3 + p, (1, -1)[x & 1], (1, -1)[(x >> 1) & 1]]
        m += [(x >> 2) % off - off // 2, (x >> 3) % off - off // 2]
        m += [16384 + (x >> 4) % 2000 - 1000 if not big else (x >> 4) % 70000]
        fb = (x >> 5) % 3
        m += [14 - fb, fb, (1, -1)[(x >> 6) & 1] * (4000, 35, 70000)[k % 3], (131, 1000, 7)[k % 3]]
        m += [(x >> 7) % 20000 - 10000, p, (1, -1)[(x >> 8) & 1], (x >> 9) % off - off // 2]
        m += [3 + lo, 4000 * (1, -1)[(x >> 10) & 1], (x >> 11) % 9000 - 4500]
        m += [3 + up, 4000 * (1, -1)[(x >> 12) & 1], (x >> 13) % 9000 - 4500]
        m += [(32767, 32000, 100)[k % 3], 0, 7, 7, 7, 7, 7, 7]
        # set_calibration's rule (frontend.py): 1 where the twin's ranges hold
        m[23] = int(
            max(abs(m[5]), abs(m[6]), abs(m[15])) <= 0x7FFFF
            and max(abs(m[12]), abs(m[18]), abs(m[21])) <= 0x1FFFFFFF
            and max(abs(m[3]), abs(m[4]), abs(m[14])) <= 1
            and max(abs(m[10]), abs(m[17]), abs(m[20])) <= 0x7FFF
            and 0 <= m[7] <= 0xFFFF
            and 0 <= m[8] <= 30
            and 0 <= m[9] <= 8
            and m[11] >= 1
        )
        yield array("i", m), x


def test_map_twin_matches_the_plain_version():
    from inversa.sense import frontend

    native = _native()
    assert frontend.map_v is native.map_v
    n = declined = 0
    for m, x in _maps():
        for j in range(20):
            x = (x * 1103515245 + 12345) % 2147483648
            sc = 70000 if j == 7 else 65536
            r = array("i", [((x >> i) % sc) - sc // 2 for i in range(6)])
            if j == 3:
                r = array("i", [32767, -32768, 0, 1, -1, 32766])
            m1 = array("i", m)
            m2 = array("i", m)
            got = native.map_v(r, m1)
            if got < 0:
                declined += 1
                assert m1 == m
                continue
            want = frontend._map_raw(r, m2)
            assert got == want, (list(r), list(m), got, want)
            assert m1 == m2, (list(r), list(m), list(m1), list(m2))
            n += 1
    assert n > 3000
    assert declined > 50


def test_map_twin_allocates_nothing():
    native = _native()
    m = array(
        "i",
        [0, 2, 4, 1, 1, 0, 0, 16384, 14, 0, 4000, 131, 0, 1, 1, 0, 3, 4000, 0, 5, 4000, 0, 32767],
    )
    r = array("i", [-300, 40, 16300, 12, -50, 70])
    assert_no_alloc(lambda: native.map_v(r, m))
