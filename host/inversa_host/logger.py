"""The recording loop behind ``inversa log``.

It connects to a board (any pyserial URL, or ``auto``), shakes hands, keeps
the host lease alive, and records telemetry, events and commands into the
:class:`~inversa_host.store.Store`.  When the port goes away (cable pulled,
board reset, virtual board restarted) it records a ``link-lost`` event, keeps
trying to reopen the port, and continues **the same session** when the same
board answers again.  A logger that was killed and restarted resumes the
board's unfinished session if its last data is recent (``resume_window_s``).

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

from .link.client import CommandResult, LinkClient, LinkError
from .link.codec import EVENT, TELEMETRY, Frame, Hello, StreamDecoder
from .link.names import bit_names, state_name
from .link.ports import resolve
from .store import (
    COUNTERS,
    HOST_LINK_LOST,
    HOST_LINK_RESTORED,
    HOST_LOGGER_STARTED,
    Store,
)

_T = {name: i for i, name in enumerate(M.TELEMETRY_FIELDS)}
_NO_HELLO_GRACE_S = 2.0


def _decoder_counters(d: StreamDecoder) -> dict[str, int]:
    return {
        "frames": d.frames,
        "lost_frames": d.lost_frames,
        "gap_events": d.gap_events,
        "crc_errors": d.crc_errors,
        "framing_errors": d.framing_errors + d.too_long,
        "version_errors": d.version_errors,
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
    boots: int  # EV_BOOT events among them (board reboots)
    hello_seen: bool


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
    boots = 0
    hello = False
    for f in frames:
        t = f.msg_type
        if t == M.MSG_TELEMETRY and len(f.payload) >= TELEMETRY.size:
            values = TELEMETRY.unpack_from(f.payload, 0)
            rows.append((session_id, host_t, f.seq, *values))
            last = values
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
    return StoredFrames(last, boots, hello)


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
    ) -> None:
        self.store = store
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
        return c

    def _fold(self) -> None:
        if self.client is not None:
            self._last_seq = self.client.decoder.last_seq
            for k, v in _decoder_counters(self.client.decoder).items():
                self._base[k] += v

    # -- connection ----------------------------------------------------------
    def _connect(self) -> bool:
        try:
            url = resolve(self.url, self.serial_number)
            client = LinkClient.open(url, self.baudrate)
        except Exception:
            return False
        client.on_command = self._on_command
        client.decoder.last_seq = self._last_seq  # frames lost while unplugged count as gaps
        self.client = client
        self._connected_at = time.monotonic()
        self._link_up = False  # until the first frame arrives
        try:
            client.info(timeout=0.3, retries=2)
            if self.telemetry_hz is not None:
                client.set_telemetry_rate(self.telemetry_hz)
        except LinkError:
            pass  # the HELLO also comes unsolicited once our heartbeats arrive
        return self.client is not None

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
    def _on_hello(self, hello: Hello) -> None:
        if self.session_id is not None and self.device_uid not in (None, hello.uid):
            # another board on the same port: close this session, start afresh
            self.store.update_session(self.session_id, **self.counters())
            self.store.end_session(self.session_id)
            self.session_id = None
            self._fold()
            self._base = dict.fromkeys(COUNTERS, 0)
            if self.client is not None:
                self.client.decoder = StreamDecoder()
        device_id = self.store.upsert_device(
            hello.uid, hello.board, hello.fw_version, hello.protocol, hello.limits
        )
        if self.session_id is None:
            sid = self.store.resumable_session(device_id, self.resume_window_s)
            if sid is not None:
                old = self.store.counters(sid)
                self._fold()
                for k in COUNTERS:
                    self._base[k] += old[k]
                if self.client is not None:
                    self.client.decoder.frames = 0  # folded above
                    for k in (
                        "lost_frames",
                        "gap_events",
                        "crc_errors",
                        "framing_errors",
                        "too_long",
                        "version_errors",
                    ):
                        setattr(self.client.decoder, k, 0)
                self.session_id = sid
                self.store.add_event(
                    sid, time.time(), None, None, HOST_LOGGER_STARTED, 1, 0, "host"
                )
            else:
                self.session_id = self.store.begin_session(self.url)
                self.store.add_event(
                    self.session_id, time.time(), None, None, HOST_LOGGER_STARTED, 0, 0, "host"
                )
        self.device_uid = hello.uid
        self.hello = hello
        self.store.set_session_device(
            self.session_id,
            device_id,
            hello.board,
            hello.fw_version,
            hello.profile_crc,
            hello.bench,
        )

    def _ensure_session(self) -> int | None:
        if self.session_id is None and self.client is not None:
            if self.client.hello is not None:
                self._on_hello(self.client.hello)
            elif time.monotonic() - self._connected_at > _NO_HELLO_GRACE_S:
                self.session_id = self.store.begin_session(self.url)  # board without handshake
        return self.session_id

    # -- frames --------------------------------------------------------------
    def _record(self, host_t: float, frames: list[Frame]) -> None:
        sid = self.session_id
        assert sid is not None
        stored = store_frames(self.store, sid, host_t, frames, on_telemetry=self._forward)
        if stored.last_values is not None:
            self.last_values = stored.last_values
        self._base["board_reboots"] += stored.boots
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
        msg.update(zip(M.TELEMETRY_FIELDS, values, strict=True))
        msg["angle_deg"] = values[_T["angle_cdeg"]] / 100
        try:
            self._udp.sendto(json.dumps({"inversa": msg}).encode(), self._pj)
        except OSError:
            pass

    # -- the loop ------------------------------------------------------------
    def step(self) -> None:
        """One pass: (re)connect if needed, read, record, flush when due."""
        if self.client is None and not self._connect():
            self.stop_event.wait(self.reconnect_s)
            return
        assert self.client is not None
        try:
            frames = self.client.poll(0.05)
        except LinkError as e:
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
            if self._ensure_session() is None:
                self._pending.append((now, frames[0]))
                self._pending.extend((now, f) for f in frames[1:])
                return
            if self._pending:
                for t, f in self._pending:
                    self._record(t, [f])
                self._pending = []
            self._record(now, frames)
        else:
            self._ensure_session()
        if self.session_id is not None:
            self.store.update_session(self.session_id, last_data=now, **self.counters())
        self.store.maybe_flush()
        self._report()

    def _report(self) -> None:
        if self.status is None:
            return
        t = time.monotonic()
        if t >= self._next_status:
            self._next_status = t + self.status_interval_s
            self.status(status_line(self.last_values, self.counters(), self.client is not None))

    def run(self, duration_s: float | None = None) -> int | None:
        """Record until ``duration_s`` passes or ``stop_event`` is set; return the session id."""
        end = None if duration_s is None else time.monotonic() + duration_s
        try:
            while not self.stop_event.is_set() and (end is None or time.monotonic() < end):
                self.step()
        finally:
            self.close()
        return self.session_id

    def close(self) -> None:
        if self.session_id is not None:
            self.store.update_session(self.session_id, **self.counters())
            self.store.end_session(self.session_id)
        else:
            self.store.flush()
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None
