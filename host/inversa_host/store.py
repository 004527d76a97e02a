"""The session store: one SQLite file (WAL) with devices, sessions, samples,
events and commands.

Writes are batched in memory and committed at least every
``flush_interval_s`` (0.5 s by default, ``synchronous=FULL``), so a logger
killed with ``kill -9`` (or a PC that loses power) loses at most the last
half second of data.  Sequence gaps, CRC and framing errors are kept per
session.

Usage::

    store = Store("inversa.db")
    sid = store.begin_session(port="socket://127.0.0.1:5555")
    store.add_sample(sid, time.time(), seq, telemetry_tuple)
    store.maybe_flush()
    store.end_session(sid)
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inversa import events as ev
from inversa.link.messages import TELEMETRY_FIELDS

SCHEMA_VERSION = 1

# Events the host itself records (kind >= 100), beside the board's EventLog kinds.
HOST_LINK_LOST = 100
HOST_LINK_RESTORED = 101
HOST_LOGGER_STARTED = 102
HOST_EVENT_NAMES = {
    HOST_LINK_LOST: "link-lost",
    HOST_LINK_RESTORED: "link-restored",
    HOST_LOGGER_STARTED: "logger-started",
}

COUNTERS: tuple[str, ...] = (
    "frames",
    "lost_frames",
    "gap_events",
    "crc_errors",
    "framing_errors",
    "version_errors",
    "reconnects",
    "board_reboots",
)

_SAMPLE_COLS = ("session_id", "host_t", "seq", *TELEMETRY_FIELDS)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS devices (
    id INTEGER PRIMARY KEY,
    uid TEXT UNIQUE,
    board TEXT,
    fw_version TEXT,
    protocol INTEGER,
    limits TEXT,
    first_seen REAL,
    last_seen REAL
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    device_id INTEGER REFERENCES devices(id),
    started REAL NOT NULL,
    ended REAL,
    last_data REAL,
    port TEXT,
    board TEXT,
    fw_version TEXT,
    profile_crc INTEGER,
    bench INTEGER DEFAULT 0,
    {", ".join(f"{c} INTEGER DEFAULT 0" for c in COUNTERS)}
);
CREATE TABLE IF NOT EXISTS samples (
    session_id INTEGER NOT NULL,
    host_t REAL NOT NULL,
    seq INTEGER,
    {", ".join(f"{c} INTEGER" for c in TELEMETRY_FIELDS)}
);
CREATE INDEX IF NOT EXISTS samples_by_session ON samples(session_id);
CREATE TABLE IF NOT EXISTS events (
    session_id INTEGER NOT NULL,
    host_t REAL NOT NULL,
    seq INTEGER,
    t_ms INTEGER,
    kind INTEGER,
    code INTEGER,
    value INTEGER,
    source TEXT DEFAULT 'board'
);
CREATE INDEX IF NOT EXISTS events_by_session ON events(session_id);
CREATE TABLE IF NOT EXISTS commands (
    session_id INTEGER,
    host_t REAL NOT NULL,
    cmd INTEGER,
    seq INTEGER,
    reason INTEGER,
    attempts INTEGER,
    payload BLOB
);
"""


@dataclass(frozen=True)
class SessionSummary:
    id: int
    started: float
    ended: float | None
    last_data: float | None
    board: str | None
    fw_version: str | None
    uid: str | None
    samples: int
    deepest_cdeg: int | None
    max_angle_cdeg: int | None
    alarms: int
    max_alarm_priority: int
    faults: int
    counters: dict[str, int]

    @property
    def duration_s(self) -> float:
        end = self.ended or self.last_data or self.started
        return max(0.0, end - self.started)


class StoreError(RuntimeError):
    """No store, or no such session: the message says what to do."""


def open_session(db: str | Path, session: str) -> tuple[Store, int]:
    """Open an existing store and resolve a session ('latest' or an id)."""
    if not Path(db).exists():
        raise StoreError(
            f"no session store at {db} (record one with `inversa log` or `inversa sim`)"
        )
    store = Store(db)
    try:
        return store, store.resolve_session(session)
    except KeyError as e:
        store.close()
        raise StoreError(e.args[0]) from None


class Store:
    def __init__(
        self, path: str | Path, flush_interval_s: float = 0.5, synchronous: str = "FULL"
    ) -> None:
        if synchronous not in ("OFF", "NORMAL", "FULL"):
            raise ValueError("synchronous must be OFF, NORMAL or FULL")
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=10.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.executescript(_SCHEMA)
        self.db.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
        )
        self._samples: list[tuple[Any, ...]] = []
        self._events: list[tuple[Any, ...]] = []
        self._commands: list[tuple[Any, ...]] = []
        self._session_updates: dict[int, dict[str, Any]] = {}
        self._last_flush = time.monotonic()
        self._insert_sample = (
            f"INSERT INTO samples ({', '.join(_SAMPLE_COLS)}) "
            f"VALUES ({', '.join('?' * len(_SAMPLE_COLS))})"
        )

    def close(self) -> None:
        self.flush()
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------
    def upsert_device(
        self, uid: str, board: str, fw_version: str, protocol: int, limits: dict[str, int]
    ) -> int:
        now = time.time()
        self.db.execute(
            "INSERT INTO devices(uid, board, fw_version, protocol, limits, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(uid) DO UPDATE SET board=excluded.board, "
            "fw_version=excluded.fw_version, protocol=excluded.protocol, limits=excluded.limits, "
            "last_seen=excluded.last_seen",
            (uid, board, fw_version, protocol, json.dumps(limits, sort_keys=True), now, now),
        )
        row = self.db.execute("SELECT id FROM devices WHERE uid=?", (uid,)).fetchone()
        return int(row[0])

    def begin_session(self, port: str = "", started: float | None = None) -> int:
        t = time.time() if started is None else started
        cur = self.db.execute(
            "INSERT INTO sessions(started, last_data, port) VALUES (?, ?, ?)", (t, t, port)
        )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def set_session_device(
        self,
        session_id: int,
        device_id: int,
        board: str,
        fw_version: str,
        profile_crc: int,
        bench: bool,
    ) -> None:
        self.db.execute(
            "UPDATE sessions SET device_id=?, board=?, fw_version=?, profile_crc=?, bench=? WHERE id=?",
            (device_id, board, fw_version, profile_crc, int(bench), session_id),
        )

    def resumable_session(
        self, device_id: int, within_s: float, now: float | None = None
    ) -> int | None:
        """An unfinished session of this device with data in the last ``within_s`` seconds."""
        t = time.time() if now is None else now
        row = self.db.execute(
            "SELECT id FROM sessions WHERE device_id=? AND ended IS NULL AND last_data >= ? "
            "ORDER BY id DESC LIMIT 1",
            (device_id, t - within_s),
        ).fetchone()
        return int(row[0]) if row else None

    def counters(self, session_id: int) -> dict[str, int]:
        row = self.db.execute(
            f"SELECT {', '.join(COUNTERS)} FROM sessions WHERE id=?", (session_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no session {session_id}")
        return dict(zip(COUNTERS, (int(v or 0) for v in row), strict=True))

    def delete_session(self, session_id: int) -> None:
        self.flush()
        for table in ("samples", "events", "commands"):
            self.db.execute(f"DELETE FROM {table} WHERE session_id=?", (session_id,))
        self.db.execute("DELETE FROM sessions WHERE id=?", (session_id,))

    def add_sample(self, session_id: int, host_t: float, seq: int, values: tuple[int, ...]) -> None:
        self._samples.append((session_id, host_t, seq, *values))

    def add_samples(self, rows: list[tuple[Any, ...]]) -> None:
        """Rows already shaped (session_id, host_t, seq, *telemetry) (the fast path)."""
        self._samples.extend(rows)

    def add_event(
        self,
        session_id: int,
        host_t: float,
        seq: int | None,
        t_ms: int | None,
        kind: int,
        code: int,
        value: int,
        source: str = "board",
    ) -> None:
        self._events.append((session_id, host_t, seq, t_ms, kind, code, value, source))

    def add_command(
        self,
        session_id: int | None,
        host_t: float,
        cmd: int,
        seq: int,
        reason: int | None,
        attempts: int,
        payload: bytes = b"",
    ) -> None:
        self._commands.append((session_id, host_t, cmd, seq, reason, attempts, payload))

    def update_session(self, session_id: int, **values: Any) -> None:
        """Counters / last_data for the session row, written with the next flush."""
        self._session_updates.setdefault(session_id, {}).update(values)

    def maybe_flush(self, now: float | None = None) -> bool:
        t = time.monotonic() if now is None else now
        if t - self._last_flush >= self.flush_interval_s:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not (self._samples or self._events or self._commands or self._session_updates):
            return
        db = self.db
        db.execute("BEGIN")
        try:
            if self._samples:
                db.executemany(self._insert_sample, self._samples)
            if self._events:
                db.executemany(
                    "INSERT INTO events(session_id, host_t, seq, t_ms, kind, code, value, source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    self._events,
                )
            if self._commands:
                db.executemany(
                    "INSERT INTO commands(session_id, host_t, cmd, seq, reason, attempts, payload) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    self._commands,
                )
            for sid, values in self._session_updates.items():
                cols = ", ".join(f"{k}=?" for k in values)
                db.execute(f"UPDATE sessions SET {cols} WHERE id=?", (*values.values(), sid))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._samples = []
        self._events = []
        self._commands = []
        self._session_updates = {}

    def end_session(self, session_id: int, ended: float | None = None) -> None:
        self.update_session(session_id, ended=time.time() if ended is None else ended)
        self.flush()

    # -- reading -------------------------------------------------------------
    def sessions(self) -> list[SessionSummary]:
        rows = self.db.execute(
            f"""
            SELECT s.id, s.started, s.ended, s.last_data, s.board, s.fw_version, d.uid,
                   (SELECT COUNT(*) FROM samples WHERE session_id=s.id),
                   (SELECT MAX(deepest_cdeg) FROM samples WHERE session_id=s.id),
                   (SELECT MAX(angle_cdeg) FROM samples WHERE session_id=s.id),
                   (SELECT COUNT(*) FROM events WHERE session_id=s.id AND kind={ev.EV_ALARM_RAISED}),
                   (SELECT MAX(value) FROM events WHERE session_id=s.id AND kind={ev.EV_ALARM_RAISED}),
                   (SELECT COUNT(*) FROM events WHERE session_id=s.id AND kind={ev.EV_FAULT}),
                   {", ".join("s." + c for c in COUNTERS)}
            FROM sessions s LEFT JOIN devices d ON d.id = s.device_id
            ORDER BY s.id
            """
        ).fetchall()
        out = []
        for r in rows:
            out.append(
                SessionSummary(
                    id=r[0],
                    started=r[1],
                    ended=r[2],
                    last_data=r[3],
                    board=r[4],
                    fw_version=r[5],
                    uid=r[6],
                    samples=r[7],
                    deepest_cdeg=r[8],
                    max_angle_cdeg=r[9],
                    alarms=r[10],
                    max_alarm_priority=r[11] or 0,
                    faults=r[12],
                    counters=dict(zip(COUNTERS, (int(v or 0) for v in r[13:]), strict=True)),
                )
            )
        return out

    def session(self, session_id: int) -> SessionSummary:
        for s in self.sessions():
            if s.id == session_id:
                return s
        raise KeyError(f"no session {session_id}")

    def resolve_session(self, text: str) -> int:
        """A session id from what a person typed: a number or 'latest'.
        KeyError with a message that says what to do otherwise."""
        if text == "latest":
            sid = self.latest_session_id()
            if sid is None:
                raise KeyError("no sessions recorded yet")
            return sid
        try:
            sid = int(text)
            self.session(sid)
        except (ValueError, KeyError):
            raise KeyError(f"no session {text!r} (see `inversa sessions`)") from None
        return sid

    def latest_session_id(self) -> int | None:
        row = self.db.execute("SELECT MAX(id) FROM sessions").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def samples(self, session_id: int, after_rowid: int = 0) -> Iterator[dict[str, Any]]:
        cols = ("rowid", *_SAMPLE_COLS[1:])
        cur = self.db.execute(
            f"SELECT {', '.join(cols)} FROM samples WHERE session_id=? AND rowid>? ORDER BY rowid",
            (session_id, after_rowid),
        )
        for row in cur:
            yield dict(zip(cols, row, strict=True))

    def events(self, session_id: int) -> Iterator[dict[str, Any]]:
        cols = ("host_t", "seq", "t_ms", "kind", "code", "value", "source")
        cur = self.db.execute(
            f"SELECT {', '.join(cols)} FROM events WHERE session_id=? ORDER BY rowid", (session_id,)
        )
        for row in cur:
            yield dict(zip(cols, row, strict=True))

    def commands(self, session_id: int) -> Iterator[dict[str, Any]]:
        cols = ("host_t", "cmd", "seq", "reason", "attempts")
        cur = self.db.execute(
            f"SELECT {', '.join(cols)} FROM commands WHERE session_id=? ORDER BY rowid",
            (session_id,),
        )
        for row in cur:
            yield dict(zip(cols, row, strict=True))

    def device(self, device_id: int) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT uid, board, fw_version, protocol, limits FROM devices WHERE id=?", (device_id,)
        ).fetchone()
        if row is None:
            return None
        return {
            "uid": row[0],
            "board": row[1],
            "fw_version": row[2],
            "protocol": row[3],
            "limits": json.loads(row[4] or "{}"),
        }
