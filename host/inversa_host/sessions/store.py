"""The session store: one SQLite file (WAL) with devices, sessions, samples,
events and commands.

Writes are batched in memory and committed at least every
``flush_interval_s`` (0.5 s by default, ``synchronous=FULL``), so a logger
killed with ``kill -9`` (or a PC that loses power) loses at most the last
half second of data.  Sequence gaps, CRC and framing errors are kept per
session.

Every failure is a :class:`StoreError` with a message that says what to do,
never a raw sqlite traceback: a store written by a newer inversa (schema
version), a damaged file, a read-only file or directory, a store locked by
another program, a full disk.  Reading commands open the store read-only
(``Store(path, readonly=True)``) and work on a read-only file.  When a write
fails (full disk, locked too long), the rows stay in memory (bounded by
``max_held_rows``; what must be dropped past the bound is counted) and are
written with the next flush that succeeds, into the same session;
``write_error`` says what is wrong meanwhile.

Usage::

    store = Store("inversa.db")
    sid = store.begin_session(port="socket://127.0.0.1:5555")
    store.add_sample(sid, time.time(), seq, telemetry_tuple)
    store.maybe_flush()
    store.end_session(sid)
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inversa import events as ev
from inversa.link.message_names import TELEMETRY_FIELDS
from inversa_host.closing import Closing

SCHEMA_VERSION = 3  # 2: sessions.source, last_seq, last_board_ms; store write counters
# 3: sessions.discarded_bytes

SOURCES = ("board", "bench", "simulation")
DIRECT_WRITE_WAIT_S = 5.0  # a session's own rows (begin, device) wait this long for a lock
# The unique id of every virtual board (`inversa vboard`) starts with these
# bytes; a session recorded from one is a simulation, not the user's history.
VIRTUAL_UID_PREFIX = b"VBD"
# The emulated Pico (rp2040js) answers the flash's unique-id read with
# zeros; a real chip's factory id is never all zero.  Its sessions are a
# simulation too, not the user's history (the planner must not count them).
EMULATED_UID = bytes(8)

# Events the host itself records (kind >= 100), beside the board's EventLog kinds.
HOST_LINK_LOST = 100
HOST_LINK_RESTORED = 101
HOST_LOGGER_STARTED = 102
HOST_FRAMES_LOST = 103  # code: frames lost (sequence gap), value: board ms between them
HOST_INTERRUPTED = 104  # the recording was stopped before its end (Ctrl-C, SIGTERM)
HOST_EVENT_NAMES = {
    HOST_LINK_LOST: "link-lost",
    HOST_LINK_RESTORED: "link-restored",
    HOST_LOGGER_STARTED: "logger-started",
    HOST_FRAMES_LOST: "frames-lost",
    HOST_INTERRUPTED: "interrupted",
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
    "write_retries",  # flushes that waited for another writer or failed and were retried
    "rows_dropped",  # rows the logger could not hold while the store could not be written
    "discarded_bytes",  # received bytes of bad or unterminated frames, thrown away
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
    source TEXT DEFAULT 'board',
    last_seq INTEGER,
    last_board_ms INTEGER,
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
    source: str
    samples: int
    deepest_cdeg: int | None
    max_angle_cdeg: int | None
    alarms: int
    max_alarm_priority: int
    faults: int
    counters: dict[str, int]
    interrupted: bool = False  # closed by an interruption (HOST_INTERRUPTED), not its end

    @property
    def duration_s(self) -> float:
        end = self.ended or self.last_data or self.started
        return max(0.0, end - self.started)


def _migrate(db: sqlite3.Connection, version: int) -> None:
    """Bring an older store up to SCHEMA_VERSION (inside the caller's transaction)."""
    if version < 2:
        for col, decl in (
            ("source", "TEXT DEFAULT 'board'"),
            ("last_seq", "INTEGER"),
            ("last_board_ms", "INTEGER"),
            ("write_retries", "INTEGER DEFAULT 0"),
            ("rows_dropped", "INTEGER DEFAULT 0"),
        ):
            db.execute(f"ALTER TABLE sessions ADD COLUMN {col} {decl}")
        db.execute(
            "UPDATE sessions SET source = CASE WHEN port LIKE 'sim://%' THEN 'simulation' "
            "WHEN bench OR port LIKE 'bench:%' THEN 'bench' ELSE 'board' END"
        )
        # Where each unfinished session stands, for a logger that resumes it.
        db.execute(
            "UPDATE sessions SET last_seq = (SELECT seq FROM samples WHERE session_id=sessions.id "
            "ORDER BY rowid DESC LIMIT 1), last_board_ms = (SELECT t_ms FROM samples WHERE "
            "session_id=sessions.id ORDER BY rowid DESC LIMIT 1) WHERE ended IS NULL"
        )
    if version < 3:
        db.execute("ALTER TABLE sessions ADD COLUMN discarded_bytes INTEGER DEFAULT 0")
    db.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION),))


def _numbers(ints: tuple[Any, ...], host_t: Any) -> bool:
    """Every value an integer (not a bool) and the host time a number."""
    return isinstance(host_t, (int, float)) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in ints
    )


def no_store(path: str | Path) -> str:
    """What a reading command says when its store does not exist."""
    return (
        f"no session store at {path}: record one with `inversa log --port URL` (a board, or "
        "the URL `inversa vboard` prints) or `inversa sim`, or name another with --db "
        "(or $INVERSA_DB)"
    )


class StoreError(RuntimeError):
    """No store, no such session, or a store that cannot be used: the message
    says what is wrong and what to do."""


def warn_damaged(store: Store) -> None:
    """Say on stderr how many damaged rows the whole-only readers left out."""
    import sys

    if store.damaged_rows:
        print(
            f"warning: {store.damaged_rows} damaged rows in {store.path} were left out (values "
            "that are not numbers: another program wrote into the store); `inversa export` "
            "shows every row as stored",
            file=sys.stderr,
        )


def explain(path: str | Path, e: BaseException, doing: str) -> str:
    """A sqlite error as a sentence a person can act on."""
    text = str(e)
    low = text.lower()
    if "locked" in low or "busy" in low:
        return (
            f"{path} is locked by another program ({doing}: {text}); close the other "
            "program (a second `inversa log`, an sqlite shell) or use another --db"
        )
    if "readonly" in low or "read-only" in low or "read only" in low:
        return (
            f"{path} is read-only ({doing}: {text}); record into a writable file with --db, "
            "or fix its permissions (reading commands such as `inversa sessions` work on it)"
        )
    if "full" in low or "no space" in low:
        return f"the disk holding {path} is full ({doing}: {text}); free some space"
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return (
            f"{path} is not a readable Inversa session store (damaged, or another kind of "
            f"file: {text}); move it aside and record into a new --db, or restore a backup"
        )
    if "unable to open" in low and Path(path).exists() and not os.access(path, os.W_OK):
        return (
            f"{path} is read-only ({doing}: {text}); record into a writable file with --db "
            "(reading commands such as `inversa sessions` work on it)"
        )
    if "unable to open" in low or "disk i/o" in low:
        return (
            f"cannot {doing} {path} ({text}): check that its folder exists and is writable, "
            "and that the disk works"
        )
    return f"{path}: {doing} failed ({text})"


def open_session(db: str | Path, session: str) -> tuple[Store, int]:
    """Open an existing store read-only and resolve a session ('latest' or an id)."""
    store = Store(db, readonly=True)
    try:
        return store, store.resolve_session(session)
    except KeyError as e:
        store.close()
        raise StoreError(e.args[0]) from None


def _source_of(port: str) -> str:
    if port.startswith("sim://"):
        return "simulation"
    if port.startswith("bench:"):
        return "bench"
    return "board"


class Store(Closing):
    """The session store.  ``readonly=True`` for the reading commands: the
    file must exist, nothing is created, migrated or written."""

    def __init__(
        self,
        path: str | Path,
        flush_interval_s: float = 0.5,
        synchronous: str = "FULL",
        *,
        readonly: bool = False,
        busy_timeout_s: float = 0.25,
        max_held_rows: int = 200_000,
    ) -> None:
        if synchronous not in ("OFF", "NORMAL", "FULL"):
            raise ValueError("synchronous must be OFF, NORMAL or FULL")
        self.path = Path(path)
        self.readonly = readonly
        self.flush_interval_s = flush_interval_s
        self.max_held_rows = max_held_rows
        self.write_error: str | None = None  # what the last failed write said, None when fine
        self.write_retries = 0
        self.rows_dropped = 0
        self._damaged: set[tuple[str, int]] = set()
        self.dropped_by_session: dict[int, int] = {}
        self._samples: list[tuple[Any, ...]] = []
        self._events: list[tuple[Any, ...]] = []
        self._commands: list[tuple[Any, ...]] = []
        self._session_updates: dict[int, dict[str, Any]] = {}
        self._last_flush = time.monotonic()
        self._insert_sample = (
            f"INSERT INTO samples ({', '.join(_SAMPLE_COLS)}) "
            f"VALUES ({', '.join('?' * len(_SAMPLE_COLS))})"
        )
        if readonly and not self.path.exists():
            raise StoreError(no_store(path))
        if not readonly and self.path.is_dir():
            raise StoreError(f"{path} is a folder: give --db a file name")
        try:
            if readonly:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self.db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=2.0)
            else:
                self.db = sqlite3.connect(
                    str(self.path), isolation_level=None, timeout=busy_timeout_s
                )
        except sqlite3.Error as e:
            raise StoreError(explain(path, e, "open")) from None
        try:
            self._open(synchronous)
        except sqlite3.OperationalError as e:
            self.db.close()
            if not (readonly and "unable to open" in str(e)):
                raise StoreError(explain(path, e, "open")) from None
            # A WAL store on a read-only disk has no -shm to share: read it as
            # an unchanging file (nothing can be writing to a read-only disk).
            uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
            self.db = sqlite3.connect(uri, uri=True, isolation_level=None)
            try:
                self._open(synchronous)
            except sqlite3.Error as e2:
                self.db.close()
                raise StoreError(explain(path, e2, "open")) from None
        except sqlite3.Error as e:
            self.db.close()
            raise StoreError(explain(path, e, "open")) from None
        except StoreError:
            self.db.close()
            raise

    def _schema_version(self) -> int | None:
        has_meta = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        if not has_meta:
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        try:
            return int(row[0]) if row else None
        except ValueError:
            raise StoreError(
                f"{self.path}: unreadable schema version {row[0]!r}: not an Inversa session store?"
            ) from None

    def _open(self, synchronous: str) -> None:
        version = self._schema_version()  # reads first: a damaged file fails here
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer inversa (store schema version {version}; "
                f"this inversa knows up to version {SCHEMA_VERSION}): update inversa, or "
                "record into another --db. Nothing was changed."
            )
        if version is None:
            tables = self.db.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type='table'"
            ).fetchone()[0]
            if tables:
                raise StoreError(
                    f"{self.path} is an SQLite file but not an Inversa session store "
                    "(no schema version): give --db another file. Nothing was changed."
                )
            if self.readonly:
                raise StoreError(f"{self.path} is empty: no sessions recorded in it yet")
        self.schema_version = version or SCHEMA_VERSION
        if self.readonly:
            self.db.execute("PRAGMA query_only=ON")
            self._cols = {r[1] for r in self.db.execute("PRAGMA table_info(sessions)")}
            return
        if self.db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
            pass  # a filesystem without shared memory: rollback journal, still safe
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        deadline = time.monotonic() + DIRECT_WRITE_WAIT_S
        while True:  # another writer may be committing: wait for it, a while
            try:
                self.db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as e:
                if "locked" not in str(e).lower() or time.monotonic() >= deadline:
                    raise
                self.write_retries += 1
        try:
            if version is None:
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self.db.execute(stmt)
                self.db.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )
            elif version < SCHEMA_VERSION:
                _migrate(self.db, version)
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        self.schema_version = SCHEMA_VERSION
        self._cols = {r[1] for r in self.db.execute("PRAGMA table_info(sessions)")}

    def close(self) -> None:
        try:
            if not self.readonly:
                self.flush()
        finally:
            self.db.close()

    # -- writing -------------------------------------------------------------
    def _write(self, doing: str, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """One direct write; a StoreError that says what is wrong if it fails."""
        if self.readonly:
            raise StoreError(f"{self.path} was opened read-only")
        deadline = time.monotonic() + DIRECT_WRITE_WAIT_S
        while True:
            try:
                return self.db.execute(sql, params)
            except sqlite3.OperationalError as e:
                low = str(e).lower()
                if ("locked" in low or "busy" in low) and time.monotonic() < deadline:
                    self.write_retries += 1  # another writer is committing: wait, again
                    continue
                self.write_error = explain(self.path, e, doing)
                raise StoreError(self.write_error) from None
            except sqlite3.Error as e:
                self.write_error = explain(self.path, e, doing)
                raise StoreError(self.write_error) from None

    def upsert_device(
        self, uid: str, board: str, fw_version: str, protocol: int, limits: dict[str, int]
    ) -> int:
        now = time.time()
        self._write(
            "record the board",
            "INSERT INTO devices(uid, board, fw_version, protocol, limits, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(uid) DO UPDATE SET board=excluded.board, "
            "fw_version=excluded.fw_version, protocol=excluded.protocol, limits=excluded.limits, "
            "last_seen=excluded.last_seen",
            (uid, board, fw_version, protocol, json.dumps(limits, sort_keys=True), now, now),
        )
        row = self.db.execute("SELECT id FROM devices WHERE uid=?", (uid,)).fetchone()
        return int(row[0])

    def begin_session(
        self, port: str = "", started: float | None = None, source: str | None = None
    ) -> int:
        t = time.time() if started is None else started
        src = source or _source_of(port)
        if src not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
        cur = self._write(
            "start a session",
            "INSERT INTO sessions(started, last_data, port, source) VALUES (?, ?, ?, ?)",
            (t, t, port, src),
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
        self._write(
            "record the session's board",
            "UPDATE sessions SET device_id=?, board=?, fw_version=?, profile_crc=?, bench=?, "
            "source=CASE WHEN ? THEN 'bench' WHEN (SELECT uid FROM devices WHERE id=?) LIKE ? "
            "OR (SELECT uid FROM devices WHERE id=?) = ? THEN 'simulation' ELSE source END "
            "WHERE id=?",
            (
                device_id,
                board,
                fw_version,
                profile_crc,
                int(bench),
                int(bench),
                device_id,
                VIRTUAL_UID_PREFIX.hex() + "%",
                device_id,
                EMULATED_UID.hex(),
                session_id,
            ),
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

    def session_position(self, session_id: int) -> tuple[int | None, int | None, float | None]:
        """(last sequence number, last board ms, last host time) recorded in a session."""
        row = self.db.execute(
            "SELECT last_seq, last_board_ms, last_data FROM sessions WHERE id=?", (session_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no session {session_id}")
        return row[0], row[1], row[2]

    def counters(self, session_id: int) -> dict[str, int]:
        cols = ", ".join(c if c in self._cols else "0" for c in COUNTERS)
        row = self.db.execute(f"SELECT {cols} FROM sessions WHERE id=?", (session_id,)).fetchone()
        if row is None:
            raise KeyError(f"no session {session_id}")
        return dict(zip(COUNTERS, (int(v or 0) for v in row), strict=True))

    def delete_session(self, session_id: int) -> None:
        self.flush_or_raise()
        for table in ("samples", "events", "commands"):
            self._write("delete", f"DELETE FROM {table} WHERE session_id=?", (session_id,))
        self._write("delete", "DELETE FROM sessions WHERE id=?", (session_id,))

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

    @property
    def held_rows(self) -> int:
        """Rows waiting in memory for the next successful flush."""
        return len(self._samples) + len(self._events) + len(self._commands)

    def maybe_flush(self, now: float | None = None) -> bool:
        t = time.monotonic() if now is None else now
        if t - self._last_flush >= self.flush_interval_s:
            self.flush()
            return True
        return False

    def flush(self) -> bool:
        """Write what is held.  Never raises for a store that cannot be written
        right now (full disk, locked by another writer): the rows stay held
        (bounded), ``write_error`` says why, and the next flush tries again.
        Returns True when everything held is written."""
        self._last_flush = time.monotonic()
        if not (self._samples or self._events or self._commands or self._session_updates):
            return True
        try:
            self._flush()
        except sqlite3.Error as e:
            if self.db.in_transaction:
                try:
                    self.db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            self.write_error = explain(self.path, e, "write")
            self.write_retries += 1
            self._bound()
            return False
        self.write_error = None
        self._samples = []
        self._events = []
        self._commands = []
        self._session_updates = {}
        return True

    def flush_or_raise(self) -> None:
        if not self.flush():
            raise StoreError(f"{self.write_error}; {self.held_rows} rows are not written")

    def _bound(self) -> None:
        """Keep at most max_held_rows rows: drop the oldest samples first
        (telemetry at 20 Hz; events and commands are rarer and matter more)."""
        over = self.held_rows - self.max_held_rows
        if over <= 0:
            return
        n = min(over, len(self._samples))
        if n:
            for row in self._samples[:n]:
                self._count_drop(int(row[0]))
            del self._samples[:n]
            over -= n
        for rows in (self._events, self._commands):
            n = min(over, len(rows))
            if n:
                for row in rows[:n]:
                    if row[0] is not None:
                        self._count_drop(int(row[0]))
                del rows[:n]
                over -= n

    def _count_drop(self, session_id: int) -> None:
        # The writer (the logger) adds rows_dropped to its session's counters.
        self.rows_dropped += 1
        self.dropped_by_session[session_id] = self.dropped_by_session.get(session_id, 0) + 1

    def _flush(self) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        if self._samples:
            db.executemany(self._insert_sample, self._samples)
            last: dict[int, tuple[int, int]] = {}
            for r in self._samples:
                last[r[0]] = (r[2], r[3])  # seq, t_ms
            for sid, (seq, t_ms) in last.items():
                db.execute(
                    "UPDATE sessions SET last_seq=?, last_board_ms=? WHERE id=?", (seq, t_ms, sid)
                )
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

    def end_session(self, session_id: int, ended: float | None = None) -> bool:
        self.update_session(session_id, ended=time.time() if ended is None else ended)
        return self.flush()

    def interrupt_session(self, session_id: int, ended: float | None = None) -> bool:
        """Close a session cut short (Ctrl-C, SIGTERM): what it recorded is
        kept, and a host ``interrupted`` event marks it, so it is listed as
        interrupted rather than open (or resumed by a logger)."""
        t = time.time() if ended is None else ended
        self.add_event(session_id, t, None, None, HOST_INTERRUPTED, 0, 0, "host")
        return self.end_session(session_id, t)

    def recorded_rows(self, session_id: int) -> int:
        """The session's samples and board events, written or still held."""
        held = sum(1 for r in self._samples if r[0] == session_id) + sum(
            1 for r in self._events if r[0] == session_id and r[7] == "board"
        )
        row = self.db.execute(
            "SELECT (SELECT COUNT(*) FROM samples WHERE session_id=?) + "
            "(SELECT COUNT(*) FROM events WHERE session_id=? AND source='board')",
            (session_id, session_id),
        ).fetchone()
        return held + int(row[0])

    # -- reading -------------------------------------------------------------
    def _col(self, name: str, default: str) -> str:
        return f"s.{name}" if name in self._cols else default

    def sessions(self, sources: tuple[str, ...] | None = None) -> list[SessionSummary]:
        """Every session (or those of the given sources), oldest first."""
        source = self._col(
            "source",
            "CASE WHEN s.port LIKE 'sim://%' THEN 'simulation' WHEN s.bench THEN 'bench' "
            "ELSE 'board' END",
        )
        counters = ", ".join(self._col(c, "0") for c in COUNTERS)
        try:
            rows = self._sessions_rows(source, counters)
        except sqlite3.Error as e:
            raise StoreError(explain(self.path, e, "read")) from None
        out = []
        for r in rows:
            s = SessionSummary(
                id=r[0],
                started=r[1],
                ended=r[2],
                last_data=r[3],
                board=r[4],
                fw_version=r[5],
                uid=r[6],
                source=r[7] or "board",
                samples=r[8],
                deepest_cdeg=r[9],
                max_angle_cdeg=r[10],
                alarms=r[11],
                max_alarm_priority=r[12] or 0,
                faults=r[13],
                interrupted=bool(r[14]),
                counters=dict(zip(COUNTERS, (int(v or 0) for v in r[15:]), strict=True)),
            )
            if sources is None or s.source in sources:
                out.append(s)
        return out

    def _sessions_rows(self, source: str, counters: str) -> list[Any]:
        return self.db.execute(
            f"""
            SELECT s.id, s.started, s.ended, s.last_data, s.board, s.fw_version, d.uid, {source},
                   (SELECT COUNT(*) FROM samples WHERE session_id=s.id),
                   (SELECT MAX(deepest_cdeg) FROM samples WHERE session_id=s.id),
                   (SELECT MAX(angle_cdeg) FROM samples WHERE session_id=s.id),
                   (SELECT COUNT(*) FROM events WHERE session_id=s.id AND kind={ev.EV_ALARM_RAISED}),
                   (SELECT MAX(value) FROM events WHERE session_id=s.id AND kind={ev.EV_ALARM_RAISED}),
                   (SELECT COUNT(*) FROM events WHERE session_id=s.id AND kind={ev.EV_FAULT}),
                   EXISTS(SELECT 1 FROM events WHERE session_id=s.id AND source='host'
                          AND kind={HOST_INTERRUPTED}),
                   {counters}
            FROM sessions s LEFT JOIN devices d ON d.id = s.device_id
            ORDER BY s.id
            """
        ).fetchall()

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

    def samples(
        self, session_id: int, after_rowid: int = 0, whole_only: bool = False
    ) -> Iterator[dict[str, Any]]:
        """The session's telemetry rows; with ``whole_only`` a row with a value
        that is not a number (another program wrote into the store) is left
        out and counted in ``damaged_rows``.  Export (not whole_only) keeps
        every row as stored."""
        cols = ("rowid", *_SAMPLE_COLS[1:])
        cur = self.db.execute(
            f"SELECT {', '.join(cols)} FROM samples WHERE session_id=? AND rowid>? ORDER BY rowid",
            (session_id, after_rowid),
        )
        for row in cur:
            if whole_only and not _numbers(row[2:], row[1]):
                self._damaged.add(("samples", row[0]))
                continue
            yield dict(zip(cols, row, strict=True))

    def events(self, session_id: int, whole_only: bool = False) -> Iterator[dict[str, Any]]:
        """The session's events (``whole_only``: as in :meth:`samples`; seq and
        t_ms are empty on the host's own events)."""
        cols = ("host_t", "seq", "t_ms", "kind", "code", "value", "source")
        cur = self.db.execute(
            f"SELECT rowid, {', '.join(cols)} FROM events WHERE session_id=? ORDER BY rowid",
            (session_id,),
        )
        for row in cur:
            if whole_only and not _numbers(row[4:7], row[1]):
                self._damaged.add(("events", row[0]))
                continue
            yield dict(zip(cols, row[1:], strict=True))

    @property
    def damaged_rows(self) -> int:
        """Rows left out by the ``whole_only`` readers (each counted once)."""
        return len(self._damaged)

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
