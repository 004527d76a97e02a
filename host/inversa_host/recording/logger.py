"""The recording loop behind ``inversa log``.

It connects to a board (any pyserial URL, or ``auto``), shakes hands, keeps
the host lease alive, and records telemetry, events and commands into the
:class:`~inversa_host.sessions.store.Store`.  When the port goes away (cable pulled,
board reset, virtual board restarted) it records a ``link-lost`` event, keeps
trying to reopen the port, and continues **the same session** when the same
board answers again.  A logger that was killed and restarted resumes the
board's unfinished session if its last data is recent (``resume_window_s``),
the board is the same one (its unique id) and it has not rebooted since (its
clock moved on by about the time that passed); the frames sent while no
logger was recording are counted as lost (a ``frames-lost`` event marks the
gap, so reports break the plot there).

A port that cannot be opened, or a port with no board answering the
handshake, is a :class:`LoggerError` that says what failed and what to do,
within ``connect_timeout_s`` / ``handshake_timeout_s``; nothing is recorded.
Once a board has answered, a lost port is retried for as long as the logger
runs (unplug and replug continue the session), with the reason on the
status line.  A store that cannot be written (full disk, locked by another
program) does not stop the recording: the store holds the rows (bounded) and
writes them when it can; the status line says what is wrong.

Usage::

    with Store("inversa.db") as store:
        Logger(store, "socket://127.0.0.1:5555", status=print).run(duration_s=60)
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from inversa import events as ev
from inversa.link import messages as M
from inversa_host.link.client import (
    CommandResult,
    LinkClient,
    LinkError,
    PortURLError,
    closed_at_once,
)
from inversa_host.link.codec import EVENT, TELEMETRY, Frame, Hello, StreamDecoder
from inversa_host.link.names import bit_names, state_name
from inversa_host.link.ports import NoBoardFound, resolve
from inversa_host.link.silence import other_protocol
from inversa_host.sessions.store import (
    COUNTERS,
    HOST_FRAMES_LOST,
    HOST_LINK_LOST,
    HOST_LINK_RESTORED,
    HOST_LOGGER_STARTED,
    TELEMETRY_FIELDS,  # the sample columns' names (inversa/link/message_names.py)
    Store,
    StoreError,
)

_T = {name: i for i, name in enumerate(TELEMETRY_FIELDS)}
_CLOCK_WAIT_S = 2.0  # after the HELLO, wait this long for a frame carrying the board's clock
_MAX_PENDING = 5000  # frames held before the session is known (about 4 minutes at 20 Hz)
_TICKS_PERIOD = 1 << 30  # the board's ticks_ms wraps here
MAX_BOARD_SPEED = 100.0  # a virtual board may run this much faster than real time


class LoggerError(RuntimeError):
    """The port could not be opened, or no board answered: the message says what to do."""


def same_boot(
    last_board_ms: int | None,
    last_host_t: float | None,
    board_ms: int,
    host_t: float,
    clock_only: bool = False,
) -> bool:
    """Whether a board whose clock reads ``board_ms`` at ``host_t`` is still in the
    boot that last read ``last_board_ms`` at ``last_host_t``: its clock moved
    forward, by no less than half and no more than MAX_BOARD_SPEED times the
    host time that passed (with 5 s of slack for buffering).  ``clock_only``:
    only whether the clock went forward (telemetry moments apart)."""
    if last_board_ms is None or (last_host_t is None and not clock_only):
        return False
    d_ms = (board_ms - last_board_ms) % _TICKS_PERIOD
    if d_ms >= _TICKS_PERIOD // 2:
        return False  # the clock went back: a reboot
    if clock_only or last_host_t is None:
        return True
    elapsed_ms = max(0.0, host_t - last_host_t) * 1000.0
    return elapsed_ms * 0.5 - 5000.0 <= d_ms <= elapsed_ms * MAX_BOARD_SPEED + 5000.0


def _board_ms(f: Frame) -> int | None:
    """The board's clock in a frame, if it carries one (telemetry, event, heartbeat)."""
    if f.msg_type in (M.MSG_TELEMETRY, M.MSG_EVENT, M.MSG_HEARTBEAT) and len(f.payload) >= 4:
        return int.from_bytes(f.payload[:4], "little")
    return None


def _decoder_counters(d: StreamDecoder) -> dict[str, int]:
    return {
        "frames": d.frames,
        "lost_frames": d.lost_frames,
        "gap_events": d.gap_events,
        "crc_errors": d.crc_errors,
        "framing_errors": d.framing_errors + d.too_long,
        "version_errors": d.version_errors,
        "discarded_bytes": d.discarded_bytes,
    }


def status_line(values: tuple[int, ...] | None, counters: dict[str, int], connected: bool) -> str:
    """One line: state, angle, heart rate, alarms, link health."""
    link = "link ok" if connected else "LINK LOST"
    health = f"frames {counters.get('frames', 0)} lost {counters.get('lost_frames', 0)} crc {counters.get('crc_errors', 0)}"
    if values is None:
        return f"waiting for telemetry | {link} | {health}"
    angle = values[_T["angle_cdeg"]] / 100
    hr = values[_T["hr_bpm"]]
    hr_txt = f"HR {hr} bpm ({values[_T['hr_quality_pct']]}%)" if hr else "HR --"
    alarms = bit_names(values[_T["alarm_bits"]], "alarm")
    faults = bit_names(values[_T["fault_bits"]], "fault")
    parts = [
        state_name(values[_T["state"]]),
        f"angle {angle:+6.1f} deg",
        hr_txt,
        "alarms: " + (", ".join(alarms) if alarms else "none"),
    ]
    if faults:
        parts.append("FAULTS: " + ", ".join(faults))
    parts += [link, health]
    return " | ".join(parts)


class StoredFrames(NamedTuple):
    last_values: tuple[int, ...] | None  # the newest telemetry among the frames
    boots: int  # EV_BOOT events among them
    hello_seen: bool
    first_values: tuple[int, ...] | None = None  # the oldest telemetry among the frames


def store_frames(
    store: Store,
    session_id: int,
    host_t: float,
    frames: list[Frame],
    on_telemetry: Callable[[float, tuple[int, ...]], None] | None = None,
) -> StoredFrames:
    """Record decoded frames (telemetry, events) into a session: the one path
    from the wire to the store, shared by the logger and the simulator."""
    rows = []
    last: tuple[int, ...] | None = None
    first: tuple[int, ...] | None = None
    boots = 0
    hello = False
    for f in frames:
        t = f.msg_type
        if t == M.MSG_TELEMETRY and len(f.payload) >= TELEMETRY.size:
            values = TELEMETRY.unpack_from(f.payload, 0)
            rows.append((session_id, host_t, f.seq, *values))
            last = values
            if first is None:
                first = values
            if on_telemetry is not None:
                on_telemetry(host_t, values)
        elif t == M.MSG_EVENT and len(f.payload) >= EVENT.size:
            t_ms, kind, code, value = EVENT.unpack_from(f.payload, 0)
            store.add_event(session_id, host_t, f.seq, t_ms, kind, code, value)
            if kind == ev.EV_BOOT:
                boots += 1
        elif t == M.MSG_HELLO:
            hello = True
    if rows:
        store.add_samples(rows)
    return StoredFrames(last, boots, hello, first)


class Logger:
    def __init__(
        self,
        store: Store,
        url: str,
        *,
        status: Callable[[str], None] | None = None,
        status_interval_s: float = 0.25,
        plotjuggler: tuple[str, int] | None = None,
        resume_window_s: float = 120.0,
        reconnect_s: float = 0.5,
        baudrate: int = 115200,
        serial_number: str | None = None,
        telemetry_hz: int | None = None,
        connect_timeout_s: float = 10.0,
        handshake_timeout_s: float = 5.0,
    ) -> None:
        self.store = store
        self.connect_timeout_s = connect_timeout_s
        self.handshake_timeout_s = handshake_timeout_s
        self.last_error: str | None = None  # why the port could not be opened / was lost
        self.resumed = False
        self.notices: list[str] = []  # things a person should know (resume, new boot, store)
        self._started = time.monotonic()
        self._ever_connected = False
        self._first_frame_at: float | None = None
        self._hello_at: float | None = None
        self._last_board_ms: int | None = None  # the newest telemetry's board clock
        self.url = url
        self.status = status
        self.status_interval_s = status_interval_s
        self.resume_window_s = resume_window_s
        self.reconnect_s = reconnect_s
        self.baudrate = baudrate
        self.serial_number = serial_number
        self.telemetry_hz = telemetry_hz
        self.session_id: int | None = None
        self.device_uid: str | None = None
        self.hello: Hello | None = None
        self.client: LinkClient | None = None
        self.last_values: tuple[int, ...] | None = None
        self._base = dict.fromkeys(COUNTERS, 0)
        self._pending: list[tuple[float, Frame]] = []
        self._connected_at = 0.0
        self._link_up = False
        self._was_up = False
        self._last_seq: int | None = None
        self._next_status = 0.0
        self._udp: socket.socket | None = None
        self._pj = plotjuggler
        if plotjuggler is not None:
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.stop_event = threading.Event()

    # -- counters ------------------------------------------------------------
    def counters(self) -> dict[str, int]:
        c = dict(self._base)
        if self.client is not None:
            for k, v in _decoder_counters(self.client.decoder).items():
                c[k] += v
        c["write_retries"] += self.store.write_retries
        if self.session_id is not None:
            c["rows_dropped"] += self.store.dropped_by_session.get(self.session_id, 0)
        return c

    def _fold(self) -> None:
        """Move the decoder's counts into the base (before the decoder goes away)."""
        if self.client is not None:
            d = self.client.decoder
            self._last_seq = d.last_seq
            for k, v in _decoder_counters(d).items():
                self._base[k] += v
            d.frames = d.lost_frames = d.gap_events = d.crc_errors = 0
            d.framing_errors = d.too_long = d.version_errors = d.discarded_bytes = 0

    # -- connection ----------------------------------------------------------
    def _connect(self) -> bool:
        try:
            url = resolve(self.url, self.serial_number)
            client = LinkClient.open(url, self.baudrate)
        except PortURLError as e:
            raise LoggerError(str(e)) from None
        except (LinkError, NoBoardFound) as e:
            self.last_error = str(e)
            if not self._ever_connected and (
                time.monotonic() - self._started > self.connect_timeout_s
            ):
                raise LoggerError(
                    f"{e}\n  tried for {self.connect_timeout_s:g} s. Check the --port "
                    "(`inversa devices` lists serial ports; the virtual board prints its "
                    "socket:// URL), that the board is plugged in and powered, and that no "
                    "other program holds the port."
                ) from None
            return False
        self._ever_connected = True
        self.last_error = None
        client.on_command = self._on_command
        client.decoder.last_seq = self._last_seq  # frames lost while unplugged count as gaps
        self.client = client
        self._connected_at = time.monotonic()
        self._hello_at = None
        self._link_up = False  # until the first frame arrives
        try:
            client.info(timeout=0.3, retries=2)
            if self.telemetry_hz is not None:
                client.set_telemetry_rate(self.telemetry_hz)
        except LinkError:
            pass  # the HELLO also comes unsolicited once our heartbeats arrive
        return self.client is not None

    def _check_handshake(self) -> None:
        """No session yet: a port with no board answering is an error, not an empty session."""
        if self.session_id is not None or self.client is None:
            return
        waited = time.monotonic() - self._connected_at
        if self.client.hello is None and waited > self.handshake_timeout_s:
            d = self.client.decoder
            why = other_protocol(d)
            if why is not None:
                raise LoggerError(f"no handshake on {self.url}: {why}. Nothing was recorded.")
            got = (
                "nothing at all"
                if d.bytes == 0
                else f"{d.bytes} bytes, {d.frames + self._base['frames']} frames, no handshake"
            )
            raise LoggerError(
                f"no board answered on {self.url} within {self.handshake_timeout_s:g} s "
                f"(received {got}). Is this the board's port, is it running the Inversa "
                "firmware (`inversa doctor`), and is the baud rate right? Nothing was recorded."
            )

    def _disconnect(self, why: str) -> None:
        self._fold()
        if self.client is not None:
            self.client.close()
        self.client = None
        if self.session_id is not None and self._link_up:
            self.store.add_event(
                self.session_id, time.time(), None, None, HOST_LINK_LOST, 0, 0, "host"
            )
        self._link_up = False
        self.last_error = why
        if self.session_id is not None:
            self.store.update_session(self.session_id, **self.counters())
            self.store.flush()

    def _on_command(self, result: CommandResult, payload: bytes) -> None:
        self.store.add_command(
            self.session_id,
            result.host_t,
            result.cmd,
            result.seq,
            result.reason,
            result.attempts,
            payload,
        )

    # -- sessions ------------------------------------------------------------
    def _on_hello(self, hello: Hello, first: tuple[float, int, int] | None = None) -> None:
        """Take the board's handshake: continue, resume or begin its session.
        ``first``: (host time, seq, board ms) of the first frame of this link
        that carries the board's clock (None: none came)."""
        if self.session_id is not None and self.device_uid not in (None, hello.uid):
            # another board on the same port: close this session, start afresh
            self.store.update_session(self.session_id, **self.counters())
            self.store.end_session(self.session_id)
            self.notices.append(
                f"another board ({hello.uid}) answered: session {self.session_id} ended"
            )
            self.session_id = None
            self._last_board_ms = None
            self._fold()
            self._base = dict.fromkeys(COUNTERS, 0)
        device_id = self.store.upsert_device(
            hello.uid, hello.board, hello.fw_version, hello.protocol, hello.limits
        )
        if self.session_id is None:
            sid = self._resumable(device_id, first)
            if sid is not None:
                self._resume(sid, first)
            else:
                self.session_id = self.store.begin_session(self.url)
                self.store.add_event(
                    self.session_id, time.time(), None, None, HOST_LOGGER_STARTED, 0, 0, "host"
                )
        self.device_uid = hello.uid
        self.hello = hello
        assert self.session_id is not None
        self.store.set_session_device(
            self.session_id,
            device_id,
            hello.board,
            hello.fw_version,
            hello.profile_crc,
            hello.bench,
        )

    def _resumable(self, device_id: int, first: tuple[float, int, int] | None) -> int | None:
        sid = self.store.resumable_session(device_id, self.resume_window_s)
        if sid is None:
            return None
        _seq, last_ms, last_t = self.store.session_position(sid)
        if first is None or not same_boot(last_ms, last_t, first[2], first[0]):
            self.notices.append(
                f"the board's unfinished session {sid} is not continued: the board "
                "rebooted since (or its clock could not be read); a new session begins"
            )
            return None
        return sid

    def _resume(self, sid: int, first: tuple[float, int, int] | None) -> None:
        old = self.store.counters(sid)
        self._fold()
        for k in COUNTERS:
            self._base[k] += old[k]
        last_seq, last_ms, _t = self.store.session_position(sid)
        lost = 0
        if first is not None and last_seq is not None:
            gap = (first[1] - int(last_seq) - 1) & 0xFFFF
            if 0 < gap < 0x8000:
                lost = gap
        self.session_id = sid
        self.resumed = True
        now = time.time()
        self.store.add_event(sid, now, None, None, HOST_LOGGER_STARTED, 1, 0, "host")
        if lost:
            self._base["lost_frames"] += lost
            self._base["gap_events"] += 1
            span_ms = (
                0 if first is None or last_ms is None else (first[2] - last_ms) % _TICKS_PERIOD
            )
            self.store.add_event(
                sid, first[0] if first else now, None, first[2] if first else None,
                HOST_FRAMES_LOST, lost, span_ms, "host",
            )  # fmt: skip
        self.notices.append(
            f"resumed session {sid} of this board"
            + (
                f" ({lost} frames were sent while no logger was recording: counted lost)"
                if lost
                else ""
            )
        )

    def _ensure_session(self, now: float) -> int | None:
        """The session for the frames held in ``_pending``, once the board is known."""
        if self.session_id is not None or self.client is None:
            return self.session_id
        hello = self.client.hello
        if hello is None:
            self._check_handshake()
            return None
        if self._hello_at is None:
            self._hello_at = now
        # The board's clock now: telemetry or a heartbeat (an event may have
        # waited in the board's ring since before the logger went away).
        first = None
        for kinds in ((M.MSG_TELEMETRY, M.MSG_HEARTBEAT), (M.MSG_EVENT,)):
            for t, f in self._pending:
                ms = _board_ms(f) if f.msg_type in kinds else None
                if ms is not None:
                    first = (t, f.seq, ms)
                    break
            if first is not None:
                break
        if first is None and now - self._hello_at < _CLOCK_WAIT_S:
            return None  # wait a moment for a frame carrying the board's clock
        if first is not None:
            # the sequence gap runs to the first frame of this link, whatever its kind
            first = (first[0], self._pending[0][1].seq, first[2])
        self._on_hello(hello, first)
        return self.session_id

    # -- frames --------------------------------------------------------------
    def _record(self, host_t: float, frames: list[Frame]) -> None:
        sid = self.session_id
        assert sid is not None
        stored = store_frames(self.store, sid, host_t, frames, on_telemetry=self._forward)
        if stored.first_values is not None:
            # A reboot: the board's clock went back (the first EV_BOOT a
            # logger sees is usually the boot before the session, not a reboot).
            t_ms = stored.first_values[_T["t_ms"]]
            if self._last_board_ms is not None and not same_boot(
                self._last_board_ms, None, t_ms, 0.0, clock_only=True
            ):
                self._base["board_reboots"] += 1
        if stored.last_values is not None:
            self.last_values = stored.last_values
            self._last_board_ms = stored.last_values[_T["t_ms"]]
        if (
            stored.hello_seen
            and self.client is not None
            and self.client.hello is not None
            and self.client.hello is not self.hello
        ):
            self._on_hello(self.client.hello)

    def _forward(self, host_t: float, values: tuple[int, ...]) -> None:
        if self._udp is None or self._pj is None:
            return
        msg: dict[str, Any] = {"timestamp": host_t}
        msg.update(zip(TELEMETRY_FIELDS, values, strict=True))
        msg["angle_deg"] = values[_T["angle_cdeg"]] / 100
        try:
            self._udp.sendto(json.dumps({"inversa": msg}).encode(), self._pj)
        except OSError:
            pass

    # -- the loop ------------------------------------------------------------
    def step(self) -> None:
        """One pass: (re)connect if needed, read, record, flush when due."""
        if self.client is None and not self._connect():
            self._report()
            self.stop_event.wait(self.reconnect_s)
            return
        assert self.client is not None
        try:
            frames = self.client.poll(0.05)
        except LinkError as e:
            # closed before a byte, again and again for --connect-timeout: as a
            # port that does not open (a serial port held by another program)
            if (
                self.client.bytes_in == 0
                and not self._was_up
                and time.monotonic() - self._started > self.connect_timeout_s
            ):
                raise LoggerError(closed_at_once(self.url, e) + " Nothing was recorded.") from None
            self._disconnect(str(e))
            return
        now = time.time()
        if frames:
            if not self._link_up:
                self._link_up = True
                if self.session_id is not None and self._was_up:
                    self._base["reconnects"] += 1
                    self.store.add_event(
                        self.session_id, now, None, None, HOST_LINK_RESTORED, 0, 0, "host"
                    )
                self._was_up = True
            self._pending.extend((now, f) for f in frames)
        try:
            sid = self._ensure_session(now)
        except StoreError as e:
            sid = None  # the store cannot be written yet: hold the frames, try again
            self.store.write_error = str(e)
        if sid is None:
            if len(self._pending) > _MAX_PENDING:
                drop = len(self._pending) - _MAX_PENDING
                del self._pending[:drop]
                self._base["rows_dropped"] += drop
            self._report()
            return
        if self._pending:
            pending, self._pending = self._pending, []
            i = 0
            while i < len(pending):  # one host time per batch, as received
                j = i
                while j < len(pending) and pending[j][0] == pending[i][0]:
                    j += 1
                self._record(pending[i][0], [f for _, f in pending[i:j]])
                i = j
        self.store.update_session(sid, last_data=now, **self.counters())
        self.store.maybe_flush()
        self._report()

    def problems(self) -> list[str]:
        """What is wrong right now, in words (empty when all is well)."""
        out = []
        if self.client is None and self.last_error:
            what = "reconnecting" if self._ever_connected else "connecting"
            out.append(f"{what}: {self.last_error}")
        if self.store.write_error:
            out.append(
                f"NOT SAVED: {self.store.write_error}; holding {self.store.held_rows} rows "
                "in memory, written as soon as the store can be written"
            )
        return out

    def _report(self) -> None:
        if self.status is None:
            return
        t = time.monotonic()
        while self.notices:
            self.status(self.notices.pop(0))
        if t >= self._next_status:
            self._next_status = t + self.status_interval_s
            line = status_line(self.last_values, self.counters(), self.client is not None)
            self.status(" | ".join([line, *self.problems()]))

    def run(self, duration_s: float | None = None) -> int | None:
        """Record until ``duration_s`` passes or ``stop_event`` is set; return the session id.
        LoggerError when the port never opens or no board answers."""
        end = None if duration_s is None else time.monotonic() + duration_s
        try:
            while not self.stop_event.is_set() and (end is None or time.monotonic() < end):
                self.step()
            if self.session_id is None:
                self._fail_without_session()
        finally:
            self.close()
        return self.session_id

    def _fail_without_session(self) -> None:
        if not self._ever_connected:
            raise LoggerError(
                f"{self.last_error or 'the port did not open'}\n  Check the --port "
                "(`inversa devices` lists serial ports) and that the board is plugged in."
            )
        if self.client is not None and self.client.hello is None:
            d = self.client.decoder
            why = other_protocol(d)
            if why is not None:
                raise LoggerError(f"no handshake on {self.url}: {why}. Nothing was recorded.")
            raise LoggerError(
                f"no board answered on {self.url} (received {d.bytes} bytes, no handshake). "
                "Is it running the Inversa firmware? Nothing was recorded."
            )

    def close(self) -> None:
        self._fold()
        try:
            if self.session_id is not None:
                self.store.update_session(self.session_id, **self.counters())
                self.store.end_session(self.session_id)
            else:
                self.store.flush()
        finally:
            if self.client is not None:
                self.client.close()
                self.client = None
            if self._udp is not None:
                self._udp.close()
                self._udp = None
