# Viper (machine-code) twin of the CRC's per-byte loop (crc.crc16_table):
# ~1 us per byte on an RP2040 instead of ~15.
#
# Only imported through crc.py, which falls back to the table where the
# interpreter has no native emitter (CPython, the WebAssembly VM): importing
# this module there fails (ImportError / SyntaxError).  Tests run both twins
# on the same inputs and require identical results
# (tests/mpy/test_link_native.py, tests/board/test_rp2_native.py).
#
# A viper function takes at most four arguments, so the range is packed:
# se = start << 16 | end (callers keep end <= 0xFFFF).
#
# Usage (through crc.py):
#     c = crc16_v(buf, start << 16 | end, crc, table)

import micropython


@micropython.viper
def crc16_v(buf, se: int, crc: int, table) -> int:
    p = ptr8(buf)  # noqa: F821 - a viper built-in
    t = ptr16(table)  # noqa: F821 - crc._TABLE, array("H"): a nibble's 16 entries
    c = crc
    i = se >> 16
    end = se & 0xFFFF
    while i < end:
        b = p[i]
        c = ((c << 4) & 0xFFF0) ^ t[((c >> 12) ^ (b >> 4)) & 0xF]
        c = ((c << 4) & 0xFFF0) ^ t[((c >> 12) ^ b) & 0xF]
        i += 1
    return c
