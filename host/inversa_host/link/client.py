"""LinkClient: the host end of the link.

It decodes what the board sends, keeps the host lease alive with heartbeats
(every 0.5 s), and sends commands that are acknowledged or refused with a
reason code, retrying with the same sequence number (the board answers a
retry without executing it twice).

Usage::

    with LinkClient.open("socket://127.0.0.1:5555") as link:
        hello = link.info()
        r = link.command(CMD_RETURN)
        if not r.ok:
            print(r.text)
        for frame in link.poll(0.1): ...
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import serial

from inversa import reason_names, reasons
from inversa.link import messages as M
from inversa.link.wire import encode_frame
from inversa_host.closing import Closing
from inversa_host.link.codec import ACK, Frame, Hello, StreamDecoder, parse_hello
from inversa_host.link.ports import BadPortURL, open_port

_READ_MAX = 64 * 1024  # bytes taken per read at most


class LinkError(RuntimeError):
    """The port failed (unplugged, closed) or the board did not answer."""


def closed_at_once(url: str, e: BaseException) -> str:
    """What to say of a port that closed before the board sent a byte."""
    return (
        f"{url} closed the connection before the board sent anything ({e}): is another "
        "program (a logger, a monitor) using it? A board's port, and a virtual board, "
        "serve one program at a time."
    )


class PortURLError(LinkError):
    """The --port URL itself is wrong: retrying cannot open it."""


@dataclass(frozen=True)
class CommandResult:
    cmd: int
    seq: int
    reason: int | None  # None: no answer after every retry
    attempts: int
    host_t: float

    @property
    def ok(self) -> bool:
        return self.reason == reasons.OK

    @property
    def text(self) -> str:
        if self.reason is None:
            return f"no answer from the board after {self.attempts} attempts"
        return str(reason_names.text(self.reason))


@dataclass
class PendingCommand:
    """A command sent and not yet answered."""

    cmd: int
    seq: int
    payload: bytes
    sent_t: float  # when last sent, on the tracker's clock (s)
    attempts: int = 1


class CommandRetry:
    """Commands in flight, each sent again with its own sequence number (the
    board answers a repeat without executing it twice) when `timeout_s`
    passes without an answer, up to `retries` more times.  Non-blocking:
    call :meth:`tick` as often as convenient.  :meth:`LinkClient.command`
    waits on one; the bench loop keeps many in flight.

        tracker = CommandRetry(client.send, time.monotonic, 0.3, 3)
        seq = tracker.send(CMD_RETURN)
        ...  # on an ACK frame:
        p = tracker.answer(seq, cmd)  # the PendingCommand, or None
        for p in tracker.tick(): ...  # given up after 1 + retries attempts
    """

    def __init__(
        self,
        send: Callable[[int, bytes, int | None], int],
        clock: Callable[[], float],
        timeout_s: float,
        retries: int,
    ) -> None:
        self._send = send
        self._clock = clock
        self.timeout_s = timeout_s
        self.retries = retries
        self.pending: dict[int, PendingCommand] = {}

    def send(self, cmd: int, payload: bytes = b"") -> int:
        seq = self._send(cmd, payload, None)
        self.pending[seq] = PendingCommand(cmd, seq, payload, self._clock())
        return seq

    def answer(self, seq: int, cmd: int) -> PendingCommand | None:
        """The command an ACK answers, no longer in flight (None: not ours)."""
        p = self.pending.get(seq)
        if p is None or p.cmd != cmd:
            return None
        del self.pending[seq]
        return p

    def tick(self) -> list[PendingCommand]:
        """Send again what is due; return the commands given up on."""
        now = self._clock()
        gone = []
        for p in list(self.pending.values()):
            if now - p.sent_t < self.timeout_s:
                continue
            if p.attempts > self.retries:
                del self.pending[p.seq]
                gone.append(p)
                continue
            self._send(p.cmd, p.payload, p.seq)
            p.sent_t = now
            p.attempts += 1
        return gone


class LinkClient(Closing):
    def __init__(
        self,
        port: serial.Serial,
        heartbeat_s: float = M.HOST_HEARTBEAT_MS / 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.port = port
        self.decoder = StreamDecoder()
        self.heartbeat_s = heartbeat_s
        self._clock = clock
        self._seq = random.randrange(0x10000)  # a restarted host must not look like a retry
        self._next_hb = 0.0
        self._backlog: list[Frame] = []
        self._acks: dict[int, tuple[int, int]] = {}
        self.bytes_out = 0  # bytes written to the port, ever
        self.bytes_in = 0  # bytes read from it, ever
        self.hello: Hello | None = None
        self.profile: tuple[int, bytes] | None = None
        self.on_command: Callable[[CommandResult, bytes], None] | None = None

    @classmethod
    def open(cls, url: str, baudrate: int = 115200) -> LinkClient:
        try:
            return cls(open_port(url, baudrate))  # all URL handlers implement in_waiting
        except BadPortURL as e:
            raise PortURLError(str(e)) from None
        except (serial.SerialException, OSError, ValueError) as e:
            raise LinkError(f"cannot open {url}: {e}") from e

    def close(self) -> None:
        try:
            self.port.close()
        except (serial.SerialException, OSError):
            pass

    # -- bytes ---------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFF
        return self._seq

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            self.bytes_out += len(data)
        except (serial.SerialException, OSError) as e:
            why = str(e)  # pyserial's own may already say "write failed"
            raise LinkError(
                why if why.startswith("write failed") else f"write failed: {why}"
            ) from e

    def send(self, msg_type: int, payload: bytes = b"", seq: int | None = None) -> int:
        """Send one frame; return its sequence number."""
        if seq is None:
            seq = self._next_seq()
        # A leading delimiter: whatever junk is on the line ends before our frame.
        self._write(b"\x00" + encode_frame(msg_type, seq, payload))
        return seq

    def heartbeat(self) -> None:
        self.send(M.MSG_HOST_HEARTBEAT)
        self._next_hb = self._clock() + self.heartbeat_s

    def _read(self, timeout: float) -> list[Frame]:
        try:
            # Wait up to `timeout` for the first byte, then take everything
            # already there.  (pyserial's socket:// says in_waiting == 1
            # whenever anything is there: reading by in_waiting took one byte
            # per call, and a host that polls slowly fell ever further behind.)
            self.port.timeout = timeout
            data = self.port.read(1)
            if data:
                self.port.timeout = 0
                data += self.port.read(_READ_MAX)
        except (serial.SerialException, OSError, TypeError, AttributeError) as e:
            # pyserial's socket:// raises SerialException when the peer goes;
            # some versions fail with TypeError/AttributeError on a closed socket.
            why = str(e)  # pyserial's own may already say "read failed"
            raise LinkError(why if why.startswith("read failed") else f"read failed: {why}") from e
        if not data:
            return []
        self.bytes_in += len(data)
        frames = self.decoder.feed(data)
        for f in frames:
            if f.msg_type == M.MSG_ACK and len(f.payload) >= ACK.size:
                cmd_seq, cmd, reason = ACK.unpack_from(f.payload, 0)
                self._acks[cmd_seq] = (cmd, reason)
            elif f.msg_type == M.MSG_HELLO:
                try:
                    self.hello = parse_hello(f.payload, f.flags)
                except ValueError:
                    self.decoder.framing_errors += 1
            elif f.msg_type == M.MSG_PROFILE and len(f.payload) >= 2:
                self.profile = (f.payload[0] | f.payload[1] << 8, f.payload[2:])
        return frames

    def poll(self, timeout: float = 0.05) -> list[Frame]:
        """Frames received since the last call (heartbeats sent when due)."""
        if self._clock() >= self._next_hb:
            self.heartbeat()
        frames = self._read(timeout)
        if self._backlog:
            frames = self._backlog + frames
            self._backlog = []
        return frames

    # -- commands ------------------------------------------------------------
    def command(
        self, cmd: int, payload: bytes = b"", timeout: float = 0.3, retries: int = 3
    ) -> CommandResult:
        """Send a command and wait for its ACK, retrying with the same sequence number."""
        tracker = CommandRetry(self.send, self._clock, timeout, retries)
        seq = tracker.send(cmd, payload)
        p = tracker.pending[seq]
        reason: int | None = None
        while seq in tracker.pending:
            if self._clock() >= self._next_hb:
                self.heartbeat()
            left = p.sent_t + timeout - self._clock()
            self._backlog.extend(self._read(min(0.02, max(0.0, left))))
            got = self._acks.pop(seq, None)
            if got is not None and tracker.answer(seq, got[0]) is not None:
                reason = got[1]
                break
            tracker.tick()
        attempts = p.attempts
        result = CommandResult(cmd, seq, reason, attempts, time.time())
        if self.on_command is not None:
            self.on_command(result, payload)
        return result

    def _raise_if_other_protocol(self) -> None:
        from inversa_host.link.silence import other_protocol

        why = other_protocol(self.decoder)
        if why is not None:
            raise LinkError(f"no handshake from the board: {why}")

    def info(self, timeout: float = 0.3, retries: int = 3) -> Hello:
        r = self.command(M.CMD_INFO, timeout=timeout, retries=retries)
        if r.reason is None:
            self._raise_if_other_protocol()
            raise LinkError(
                f"no handshake from the board ({r.text}): is it the board's port, "
                "with the Inversa firmware running? (`inversa devices` lists the ports)"
            )
        if not r.ok or self.hello is None:
            raise LinkError(f"no handshake from the board: {r.text}")
        return self.hello

    def get_profile(self) -> tuple[int, bytes]:
        self.profile = None
        r = self.command(M.CMD_GET_PROFILE)
        if r.reason is None:
            self._raise_if_other_protocol()
            raise LinkError(
                f"no board answered on this port ({r.text}): is it the board's port, "
                "with the Inversa firmware running? (`inversa devices` lists the ports)"
            )
        if not r.ok or self.profile is None:
            raise LinkError(f"the board did not send its profile: {r.text}")
        return self.profile

    def set_profile(self, data: bytes) -> CommandResult:
        return self.command(M.CMD_SET_PROFILE, data)

    def set_telemetry_rate(self, hz: int) -> CommandResult:
        if not 0 <= hz <= M.MAX_TELEMETRY_HZ:
            raise ValueError(f"telemetry rate must be 0..{M.MAX_TELEMETRY_HZ} Hz, not {hz}")
        return self.command(M.CMD_SET_TELEMETRY_RATE, bytes([hz]))

    def inject(self, msg_type: int, count: int, samples: bytes) -> None:
        """Bench mode: stream raw sensor samples (not acknowledged unless refused)."""
        self.send(msg_type, bytes([count]) + samples)
