# Viper (machine-code) twin of the link's COBS stuffing (cobs.encode_into);
# the frame CRC's twin is inversa/crc_native.py.  On an RP2040 the plain
# versions cost ~15 us per byte each, most of a telemetry period.
#
# Only imported through cobs.py, which falls back to the plain twin
# where the interpreter has no native emitter (CPython, the WebAssembly VM):
# importing this module there fails (ImportError / SyntaxError).  Tests run
# both twins on the same inputs and require identical results
# (tests/mpy/test_link_native.py, and on the emulated Pico in
# tests/board/test_rp2_native.py).
#
# Viper functions take at most four arguments here, so COBS gets its range
# packed: se = start << 16 | end (callers keep end <= 0xFFFF).
#
# Usage (through cobs.py):
#     m = encode_v(src, dst, start << 16 | end, off)

import micropython


@micropython.viper
def encode_v(src, dst, se: int, off: int) -> int:
    s = ptr8(src)  # noqa: F821 - a viper built-in
    d = ptr8(dst)  # noqa: F821
    start = se >> 16
    end = se & 0xFFFF
    code_i = off
    o = off + 1
    code = 1
    i = start
    while i < end:
        b = s[i]
        if b == 0:
            d[code_i] = code
            code_i = o
            o += 1
            code = 1
        else:
            d[o] = b
            o += 1
            code += 1
            if code == 0xFF and i + 1 < end:
                d[code_i] = code
                code_i = o
                o += 1
                code = 1
        i += 1
    d[code_i] = code
    return o
