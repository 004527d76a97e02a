# COBS (Consistent Overhead Byte Stuffing): removes every 0x00 from a frame so
# 0x00 can delimit frames on the wire.  Overhead: 1 byte per 254, plus the
# delimiter.  A receiver that joins a stream mid-frame, or sees REPL text or
# line noise, resynchronises at the next 0x00.
#
# The board encodes into a preallocated buffer (encode_into allocates
# nothing); the board decodes byte by byte in frame.FrameReader.  The host
# decodes whole frames with decode(), which works block by block.
#
# encode_into is the viper twin in link/native.py where there is a native
# emitter (~1 us/byte on an RP2040 instead of ~14), else encode_into_plain.
#
# Usage:
#     m = encode_into(src, 0, n, dst, 0)     # dst[0:m] holds the stuffed bytes
#     dst[m] = 0                             # the delimiter
#     body = decode(bytes(dst[0:m]))         # None if malformed

from inversa.compat import const

_BLOCK = const(0xFF)


def max_encoded_len(n):
    # Stuffed length for n payload bytes, without the delimiter.
    return n + n // 254 + 1


def encode_into_plain(src, start, end, dst, off):
    """Stuff src[start:end] into dst from off; return the index after the last byte."""
    code_i = off
    o = off + 1
    code = 1
    for i in range(start, end):
        b = src[i]
        if b == 0:
            dst[code_i] = code
            code_i = o
            o += 1
            code = 1
        else:
            dst[o] = b
            o += 1
            code += 1
            if code == _BLOCK and i + 1 < end:  # full block, more to come
                dst[code_i] = code
                code_i = o
                o += 1
                code = 1
    dst[code_i] = code
    return o


try:  # the viper twin (link/native.py) where the interpreter has a native emitter
    from inversa.link.native import encode_v as _encode_v

    def encode_into(src, start, end, dst, off):
        """Stuff src[start:end] into dst from off; return the index after the last byte."""
        if end > 0xFFFF:
            return encode_into_plain(src, start, end, dst, off)
        return _encode_v(src, dst, (start << 16) | end, off)

    NATIVE = True
except (ImportError, SyntaxError, ValueError):  # CPython, the WebAssembly VM, another arch
    encode_into = encode_into_plain
    NATIVE = False


def decode(data):
    """Unstuff one frame (delimiter removed); return bytes, or None if malformed."""
    if 0 in data:
        return None  # a delimiter cannot be inside a frame
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        c = data[i]
        if c == 0:
            return None
        j = i + c
        if j > n:
            return None  # truncated block
        out += data[i + 1 : j]
        i = j
        if c != _BLOCK and i < n:
            out.append(0)
    return bytes(out)
