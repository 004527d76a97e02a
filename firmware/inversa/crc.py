# CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, not reflected, no final xor.
# Check value: crc16(b"123456789") == 0x29B1 (pinned by tests on both sides,
# because several different CRCs are all called "CRC-16").
#
# The board uses a 16-entry table (a nibble at a time: 32 bytes, built once
# at import; a byte's 256 entries would keep 512 bytes of heap) and
# allocates nothing.  CPython's binascii.crc_hqx computes the same CRC in C,
# so the host uses it (MicroPython has no crc_hqx; its crc32 returns a value
# above 2**30, which allocates on every call).
#
# On a board with a native emitter (RP2040, ESP32) crc16 is the viper twin in
# crc_native.py (~1 us/byte instead of ~15); crc16_table stays the reference.
#
# The one CRC of the firmware: link frames, the stored profile, the session
# record and persisted latches, the mount calibration.
#
# Usage:
#     c = crc16(buf, 0, n)            # over buf[0:n]
#     c = crc16(buf, n, m, c)         # continue over buf[n:m]

from array import array

from inversa.compat import const

CHECK_VALUE = const(0x29B1)
_INIT = const(0xFFFF)


def _make_table():
    # a nibble's table (16 entries, 32 bytes; 256 for a byte's would be
    # 512 bytes of the loop's heap): two steps per byte
    t = array("H", [0] * 16)
    for i in range(16):
        c = i << 12
        for _ in range(4):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        t[i] = c & 0xFFFF
    return t


_TABLE = _make_table()
NATIVE = False  # True when crc16 runs the viper twin (crc_native.py)


def crc16_table(buf, start, end, crc=_INIT):
    t = _TABLE
    for i in range(start, end):
        b = buf[i]
        crc = ((crc << 4) & 0xFFF0) ^ t[(crc >> 12) ^ (b >> 4)]
        crc = ((crc << 4) & 0xFFF0) ^ t[(crc >> 12) ^ (b & 0xF)]
    return crc


try:
    from binascii import crc_hqx as _crc_hqx  # pyright: ignore[reportAttributeAccessIssue]

    def crc16(buf, start, end, crc=_INIT):  # pyright: ignore[reportRedeclaration]
        if start == 0 and end == len(buf):
            return _crc_hqx(buf, crc)
        return _crc_hqx(memoryview(buf)[start:end], crc)

except ImportError:  # MicroPython: the viper twin where there is a native emitter
    try:
        from inversa.crc_native import crc16_v as _crc16_v

        def crc16(buf, start, end, crc=_INIT):
            if end > 0xFFFF:
                return crc16_table(buf, start, end, crc)
            return _crc16_v(buf, (start << 16) | end, crc, _TABLE)

        NATIVE = True
    except (ImportError, SyntaxError, ValueError):  # no native emitter, or a .mpy for another arch
        crc16 = crc16_table
