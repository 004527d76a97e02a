# The viper twins of the per-byte loops (inversa/crc_native.py, inversa/link/native.py) give
# exactly what the plain versions give: CRC-16 and COBS stuffing over seeded
# random buffers, every offset, every length around the 254-byte COBS block.
# Where the interpreter has no native emitter (CPython, the WebAssembly VM)
# (or the .mpy holds another arch's code) there is no twin to compare: skipped.  They run in the 32-bit
# unix interpreter (x86 native code) and on the emulated Pico (armv6m:
# tests/board/test_rp2_native.py runs this module there).

from inversa import crc
from inversa.link import cobs
from mpyunit import assert_no_alloc, skip


def _native():
    try:
        from inversa.link import native
    except (ImportError, SyntaxError, ValueError):
        skip("no native emitter in this interpreter (plain twins only)")
    return native  # pyright: ignore[reportPossiblyUnbound]


def _crc_native():
    try:
        from inversa import crc_native
    except (ImportError, SyntaxError, ValueError):
        skip("no native emitter in this interpreter (plain twins only)")
    return crc_native  # pyright: ignore[reportPossiblyUnbound]


def _fill(buf, seed):
    x = seed * 2654435761 % 4294967296 or 1
    for i in range(len(buf)):
        x = (x * 1103515245 + 12345) % 2147483648
        r = x >> 16
        buf[i] = 0 if r % 4 == 0 else r & 0xFF  # plenty of zeros for COBS


def test_crc16_twin_matches_the_table():
    native = _crc_native()
    assert crc.NATIVE
    assert crc.crc16(b"123456789", 0, 9) == crc.CHECK_VALUE
    buf = bytearray(300)
    for seed in range(12):
        _fill(buf, seed)
        for start in (0, 1, 7):
            for n in (0, 1, 2, 63, 64, 200, 290):
                want = crc.crc16_table(buf, start, start + n)
                got = native.crc16_v(buf, (start << 16) | (start + n), 0xFFFF, crc._TABLE)
                assert got == want, (seed, start, n, got, want)
                assert crc.crc16(buf, start, start + n) == want


def test_cobs_twin_matches_the_plain_encoder():
    native = _native()
    assert cobs.NATIVE
    src = bytearray(600)
    a = bytearray(700)
    b = bytearray(700)
    for seed in range(8):
        _fill(src, seed)
        if seed == 7:
            for i in range(len(src)):
                src[i] = 1 + i % 255  # no zeros: full 254-byte blocks
        for start in (0, 3):
            for n in (0, 1, 253, 254, 255, 508, 509, 590):
                for i in range(len(a)):
                    a[i] = 0xAA
                    b[i] = 0xAA
                ma = cobs.encode_into_plain(src, start, start + n, a, 2)
                mb = native.encode_v(src, b, (start << 16) | (start + n), 2)
                assert ma == mb, (seed, start, n, ma, mb)
                assert a == b, (seed, start, n)
                assert cobs.decode(bytes(b[2:mb])) == bytes(src[start : start + n])


def test_twins_allocate_nothing():
    _native()
    buf = bytearray(80)
    out = bytearray(90)
    _fill(buf, 3)
    assert_no_alloc(lambda: crc.crc16(buf, 0, 80))
    assert_no_alloc(lambda: cobs.encode_into(buf, 0, 80, out, 0))
