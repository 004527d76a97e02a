# Whole frames at once, allocating: encode_frame builds one complete wire
# frame, parse_body checks an unstuffed one.  For the host and the tests; the
# board never imports this module (it sends and receives through
# link/frame.py's preallocated FrameWriter and FrameReader; issue 10: these
# cost the board ~0.5 KB of heap it never used).
#
# Usage (host):
#     wire = encode_frame(MSG_ACK, seq, payload)
#     v, t, flags, seq, payload = parse_body(cobs.decode(wire[:-1]))

import struct

from inversa.crc import crc16
from inversa.link.cobs import encode_into, max_encoded_len
from inversa.link.messages import CRC_LEN, HEADER_FMT, HEADER_LEN, MAX_BODY, PROTOCOL_VERSION

_MIN_BODY = HEADER_LEN + CRC_LEN


def encode_frame(msg_type, seq, payload=b"", flags=0, version=PROTOCOL_VERSION):
    """One complete wire frame (stuffed, with a trailing delimiter), as bytes."""
    if len(payload) > MAX_BODY - _MIN_BODY:
        raise ValueError("payload too long: %d bytes" % len(payload))
    body = bytearray(struct.pack(HEADER_FMT, version, msg_type, flags, seq & 0xFFFF))
    body += payload
    c = crc16(body, 0, len(body))
    body.append(c & 0xFF)
    body.append(c >> 8)
    out = bytearray(max_encoded_len(len(body)) + 1)
    m = encode_into(body, 0, len(body), out, 0)
    out[m] = 0
    return bytes(out[: m + 1])


def parse_body(body):
    """Check an unstuffed frame: (version, type, flags, seq, payload) or None."""
    n = len(body)
    if n < _MIN_BODY or n > MAX_BODY:
        return None
    if crc16(body, 0, n - CRC_LEN) != (body[n - 2] | (body[n - 1] << 8)):
        return None
    return body[0], body[1], body[2], body[3] | (body[4] << 8), body[HEADER_LEN : n - CRC_LEN]
