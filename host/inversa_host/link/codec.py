"""Fast stream decoding of frames from the board, and decoded message types.

:class:`StreamDecoder` splits the byte stream at the 0x00 delimiters (in C),
unstuffs and checks each frame with the firmware's own
:mod:`inversa.link.frame` code, and counts what went wrong: CRC and framing
errors, frames of another protocol version, and sequence gaps (frames lost in
transit: the board's sequence number advances only when a frame leaves it).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from inversa.crc import crc16
from inversa.link import messages as M
from inversa.link.cobs import decode as cobs_decode
from inversa.link.message_names import LIMIT_NAMES, TELEMETRY_FIELDS
from inversa.link.wire import encode_frame

__all__ = [
    "ACK",
    "EVENT",
    "HEARTBEAT",
    "TELEMETRY",
    "Frame",
    "Hello",
    "StreamDecoder",
    "encode_frame",
    "parse_hello",
    "telemetry_dict",
]

TELEMETRY = struct.Struct(M.TELEMETRY_FMT)
EVENT = struct.Struct(M.EVENT_FMT)
HEARTBEAT = struct.Struct(M.HEARTBEAT_FMT)
ACK = struct.Struct(M.ACK_FMT)
_HELLO_HEAD = struct.Struct(M.HELLO_HEAD_FMT)
_LIMIT = struct.Struct("<Bi")
_MAX_WIRE = M.MAX_BODY + M.MAX_BODY // 254 + 2


class Frame(NamedTuple):
    msg_type: int
    seq: int
    flags: int
    payload: bytes


@dataclass(frozen=True)
class Hello:
    """The board's handshake."""

    protocol: int
    telemetry_hz: int
    lease_ms: int
    profile_crc: int
    reset_cause: int
    uid: str  # hex
    fw_version: str
    board: str
    limits: dict[str, int] = field(default_factory=dict)
    bench: bool = False


def parse_hello(payload: bytes, flags: int = 0) -> Hello:
    """Decode a MSG_HELLO payload; ValueError if it is malformed."""
    try:
        proto, hz, lease, crc, cause, uid = _HELLO_HEAD.unpack_from(payload, 0)
        o = _HELLO_HEAD.size
        texts = []
        for _ in range(2):
            n = payload[o]
            texts.append(payload[o + 1 : o + 1 + n].decode("ascii", "replace"))
            o += 1 + n
        count = payload[o]
        o += 1
        limits = {}
        for _ in range(count):
            lid, value = _LIMIT.unpack_from(payload, o)
            limits[LIMIT_NAMES.get(lid, f"limit_{lid}")] = value
            o += _LIMIT.size
    except (struct.error, IndexError) as e:
        raise ValueError(f"malformed handshake: {e}") from None
    return Hello(
        protocol=proto,
        telemetry_hz=hz,
        lease_ms=lease,
        profile_crc=crc,
        reset_cause=cause,
        uid=uid.hex(),
        fw_version=texts[0],
        board=texts[1],
        limits=limits,
        bench=bool(flags & M.FLAG_BENCH),
    )


def telemetry_dict(payload: bytes) -> dict[str, int]:
    """Telemetry payload as {field: value} (for display and export, not the hot path)."""
    return dict(zip(TELEMETRY_FIELDS, TELEMETRY.unpack_from(payload, 0), strict=True))


class StreamDecoder:
    """Bytes in, checked frames out.  Never raises on bad input; counts it."""

    def __init__(self) -> None:
        self._tail = b""
        self._skipping = False
        self.last_seq: int | None = None  # carried over a reconnect by the logger
        self.frames = 0
        self.bytes = 0
        self.crc_errors = 0
        self.framing_errors = 0
        self.too_long = 0
        self.version_errors = 0
        self.lost_frames = 0  # sum of sequence gaps
        self.gap_events = 0  # how many times a gap was seen
        self.seq_resets = 0  # the board restarted its sequence (reboot)
        self.discarded_bytes = 0  # bytes of bad or unterminated frames, thrown away
        self.foreign_version: int | None = None

    def errors(self) -> int:
        return self.crc_errors + self.framing_errors + self.too_long

    def reset_stream(self) -> None:
        """Forget a partial frame (the port was closed and opened again)."""
        self.discarded_bytes += len(self._tail)
        self._tail = b""
        self._skipping = False

    def feed(self, data: bytes) -> list[Frame]:
        self.bytes += len(data)
        buf = self._tail + data if self._tail else data
        parts = buf.split(b"\x00")
        tail = parts.pop()
        if len(tail) > _MAX_WIRE:
            if not self._skipping:
                self.too_long += 1
            self._skipping = True
            self.discarded_bytes += len(tail)
            tail = b""
        self._tail = tail
        out: list[Frame] = []
        append = out.append
        version = M.PROTOCOL_VERSION
        for p in parts:
            if not p:
                continue
            if self._skipping:
                self._skipping = False
                self.discarded_bytes += len(p) + 1
                continue
            n = len(p)
            if n > _MAX_WIRE:
                self.too_long += 1
                self.discarded_bytes += n + 1
                continue
            body = cobs_decode(p)
            if body is None:
                self.framing_errors += 1
                self.discarded_bytes += n + 1
                continue
            if len(body) < 7:
                self.framing_errors += 1
                self.discarded_bytes += n + 1
                continue
            if crc16(body, 0, len(body) - 2) != body[-2] | (body[-1] << 8):
                self.crc_errors += 1
                self.discarded_bytes += n + 1
                continue
            if body[0] != version:
                self.version_errors += 1
                self.foreign_version = body[0]
                self.discarded_bytes += n + 1
                continue
            n = len(body)
            seq = body[3] | (body[4] << 8)
            last = self.last_seq
            if last is not None:
                gap = (seq - last - 1) & 0xFFFF
                if gap:
                    if gap < 0x8000 and not (seq == 0 and body[1] == M.MSG_HELLO):
                        self.lost_frames += gap
                        self.gap_events += 1
                    else:
                        self.seq_resets += 1
            self.last_seq = seq
            self.frames += 1
            append(Frame(body[1], seq, body[2], body[5 : n - 2]))
        return out
