# Frames: header (version, type, flags, seq), payload, CRC-16, COBS-stuffed,
# 0x00-delimited.  FrameWriter builds and sends frames from preallocated
# buffers (nothing allocated per frame); FrameReader reassembles frames from a
# byte stream one byte at a time and survives garbage, REPL text, truncated
# and over-long frames, counting each kind of error.  The allocating versions for the host and the
# tests, encode_frame and parse_body, are in link/wire.py (not on the board).
#
# Usage (board):
#     w = FrameWriter(port)
#     struct.pack_into(fmt, w.body, HEADER_LEN, ...)
#     w.send(MSG_TELEMETRY, TELEMETRY_LEN)       # False: port full, dropped
#
#     r = FrameReader()
#     i = 0
#     while i < n:
#         i = r.feed(buf, i, n)
#         if r.ready:
#             handle(r.msg_type, r.seq, r.body, HEADER_LEN, r.payload_len)

import struct

from inversa.compat import const
from inversa.crc import crc16
from inversa.link.cobs import encode_into, max_encoded_len
from inversa.link.messages import CRC_LEN, HEADER_LEN, MAX_BODY, PROTOCOL_VERSION

_HEADER_FMT = const("<BBBH")  # messages.HEADER_FMT (folded: the board never loads messages.py)

_MIN_BODY = const(7)  # HEADER_LEN + CRC_LEN


class FrameWriter:
    def __init__(self, port, flags=0):
        self.port = port
        self.flags = flags
        self.seq = 0
        # One buffer for the body (from index 2) and its stuffed frame (from 0
        # or 1, in place): below 254 bytes, COBS writes byte i of the body at
        # off + 1 + i, never past the byte it is reading.
        self._wire = bytearray(max_encoded_len(MAX_BODY) + 2)
        self.body = memoryview(self._wire)[2 : 2 + MAX_BODY]
        self.sent = 0
        self.dropped = 0  # port had no room: the frame was not sent
        self._resync = True  # lead with a delimiter: the line may hold junk

    def send(self, msg_type, payload_len):
        """Send body[HEADER_LEN:HEADER_LEN + payload_len] as one frame; False if dropped.

        The sequence number advances only when a frame leaves, so a gap seen by
        the host means loss in transit; drops at the source are counted here."""
        w = self._wire
        struct.pack_into(_HEADER_FMT, w, 2, PROTOCOL_VERSION, msg_type, self.flags, self.seq)
        n = 2 + HEADER_LEN + payload_len
        c = crc16(w, 2, n)
        w[n] = c & 0xFF
        w[n + 1] = c >> 8
        n += CRC_LEN
        o = 0
        if self._resync:
            w[0] = 0
            o = 1
        m = encode_into(w, 2, n, w, o)
        w[m] = 0
        m += 1
        r = self.port.write(w, m)
        if r == m:
            self.seq = (self.seq + 1) & 0xFFFF
            self.sent += 1
            self._resync = False
            return True
        if r > 0:  # partial: the receiver will drop it; start the next one clean
            self.seq = (self.seq + 1) & 0xFFFF
            self._resync = True
        self.dropped += 1
        return False


class FrameReader:
    def __init__(self, max_body=MAX_BODY):
        self.body = bytearray(max_body)
        self.ready = False  # a valid frame is in body
        self.version = 0
        self.msg_type = 0
        self.flags = 0
        self.seq = 0
        self.payload_len = 0
        self.frames = 0
        self.crc_errors = 0
        self.framing_errors = 0  # truncated COBS block
        self.too_long = 0
        self.too_short = 0
        self._in = 0  # stuffed bytes since the last delimiter
        self._n = 0  # decoded bytes
        self._left = 0  # data bytes left in the current COBS block
        self._zero = False  # a 0x00 is owed before the next block
        self._skip = False  # discarding until the next delimiter

    def errors(self):
        return self.crc_errors + self.framing_errors + self.too_long + self.too_short

    def feed(self, buf, start, end):
        """Consume buf[start:end] up to and including one complete valid frame.

        Returns the index after the last byte consumed; `ready` says whether a
        frame is waiting in `body` (valid until the next call)."""
        self.ready = False
        body = self.body
        cap = len(body)
        n = self._n
        left = self._left
        i = start
        while i < end:
            b = buf[i]
            i += 1
            if b == 0:
                if self._skip:
                    self._skip = False
                elif self._in == 0:
                    pass  # idle delimiter: resync or keep-alive
                elif left != 0:
                    self.framing_errors += 1
                elif n < _MIN_BODY:
                    self.too_short += 1
                elif crc16(body, 0, n - CRC_LEN) != (body[n - 2] | (body[n - 1] << 8)):
                    self.crc_errors += 1
                else:
                    self.version = body[0]
                    self.msg_type = body[1]
                    self.flags = body[2]
                    self.seq = body[3] | (body[4] << 8)
                    self.payload_len = n - _MIN_BODY
                    self.frames += 1
                    self.ready = True
                self._in = 0
                self._zero = False
                self._n = 0
                self._left = 0
                if self.ready:
                    return i
                n = 0
                left = 0
                continue
            if self._skip:
                continue
            self._in += 1
            if left == 0:  # a COBS code byte
                if self._zero:
                    if n >= cap:
                        self._overflow()
                        n = 0
                        continue
                    body[n] = 0
                    n += 1
                left = b - 1
                self._zero = b != 0xFF
            else:
                if n >= cap:
                    self._overflow()
                    n = 0
                    left = 0
                    continue
                body[n] = b
                n += 1
                left -= 1
        self._n = n
        self._left = left
        return i

    def _overflow(self):
        self.too_long += 1
        self._skip = True
        self._in = 0
        self._zero = False
        self._left = 0
