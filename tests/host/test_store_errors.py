"""Every way the session store can fail says so plainly (issue 13 item 6):
a store from a newer inversa is refused with both version numbers and left
unchanged; an older one is migrated; a damaged, foreign, read-only or locked
file is a clear error with no traceback, and the reading commands work on a
read-only store; a write that fails (full disk, another writer holding the
lock) keeps the rows (bounded, counted) and writes them, into the same
session, as soon as it can.

The full disk and the read-only disk are real: a small tmpfs mounted for the
test (skipped, with the reason, where the machine does not allow mounting).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from inversa.link.message_names import TELEMETRY_FIELDS
from inversa_host.cli import main
from inversa_host.sessions.store import SCHEMA_VERSION, Store, StoreError

# The schema as version 1 wrote it (before sources and resume positions).
_V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE devices (id INTEGER PRIMARY KEY, uid TEXT UNIQUE, board TEXT, fw_version TEXT,
    protocol INTEGER, limits TEXT, first_seen REAL, last_seen REAL);
CREATE TABLE sessions (id INTEGER PRIMARY KEY, device_id INTEGER REFERENCES devices(id),
    started REAL NOT NULL, ended REAL, last_data REAL, port TEXT, board TEXT, fw_version TEXT,
    profile_crc INTEGER, bench INTEGER DEFAULT 0, frames INTEGER DEFAULT 0,
    lost_frames INTEGER DEFAULT 0, gap_events INTEGER DEFAULT 0, crc_errors INTEGER DEFAULT 0,
    framing_errors INTEGER DEFAULT 0, version_errors INTEGER DEFAULT 0,
    reconnects INTEGER DEFAULT 0, board_reboots INTEGER DEFAULT 0);
CREATE TABLE samples (session_id INTEGER NOT NULL, host_t REAL NOT NULL, seq INTEGER, {cols});
CREATE TABLE events (session_id INTEGER NOT NULL, host_t REAL NOT NULL, seq INTEGER,
    t_ms INTEGER, kind INTEGER, code INTEGER, value INTEGER, source TEXT DEFAULT 'board');
CREATE TABLE commands (session_id INTEGER, host_t REAL NOT NULL, cmd INTEGER, seq INTEGER,
    reason INTEGER, attempts INTEGER, payload BLOB);
INSERT INTO meta VALUES ('schema', '1');
""".format(cols=", ".join(f"{c} INTEGER" for c in TELEMETRY_FIELDS))


def _values(angle: int = 0, t_ms: int = 0) -> tuple[int, ...]:
    v = dict.fromkeys(TELEMETRY_FIELDS, 0)
    v["angle_cdeg"] = angle
    v["t_ms"] = t_ms
    return tuple(v[k] for k in TELEMETRY_FIELDS)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _recorded(path: Path, n: int = 5) -> int:
    with Store(path) as s:
        sid = s.begin_session("socket://x")
        for i in range(n):
            s.add_sample(sid, 1000.0 + i, i, _values(100 * i, 50 * i))
        s.end_session(sid)
    return sid


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    """mount(size) -> a fresh tmpfs of that size under tmp_path (unmounted after)."""
    points: list[Path] = []

    def mount(size: str) -> Path:
        d = tmp_path / f"fs{len(points)}"
        d.mkdir()
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(d)],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({r.stderr.strip() or r.returncode})")
        points.append(d)
        return d

    yield mount
    for d in reversed(points):
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def test_a_store_from_a_newer_inversa_is_refused_and_left_unchanged(tmp_path, capsys):
    db = tmp_path / "s.db"
    _recorded(db)
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    before = _digest(db)
    with pytest.raises(
        StoreError, match=rf"version {SCHEMA_VERSION + 1}.*up to version {SCHEMA_VERSION}"
    ):
        Store(db)
    for cmd in (["sessions"], ["export", "latest"], ["report", "latest"]):
        assert main([*cmd, "--db", str(db)]) == 1
        err = capsys.readouterr().err
        assert f"schema version {SCHEMA_VERSION + 1}" in err and "update inversa" in err
    assert main(["log", "--port", "loop://", "--db", str(db), "--handshake-timeout", "0.5"]) == 1
    assert f"schema version {SCHEMA_VERSION + 1}" in capsys.readouterr().err
    assert _digest(db) == before


def test_a_version_1_store_is_migrated_keeping_every_session(tmp_path):
    db = tmp_path / "v1.db"
    con = sqlite3.connect(db)
    con.executescript(_V1_SCHEMA)
    cols = ", ".join(TELEMETRY_FIELDS)
    con.execute(
        "INSERT INTO sessions(id, started, port, frames) VALUES (1, 10.0, 'sim://beginner', 7)"
    )
    con.execute("INSERT INTO sessions(id, started, port, bench) VALUES (2, 20.0, 'socket://x', 1)")
    con.execute("INSERT INTO sessions(id, started, port) VALUES (3, 30.0, '/dev/ttyACM0')")
    con.execute(
        f"INSERT INTO samples(session_id, host_t, seq, {cols}) VALUES (3, 31.0, 41, "
        + ", ".join("1234" if c == "t_ms" else "0" for c in TELEMETRY_FIELDS)
        + ")"
    )
    con.commit()
    con.close()
    with Store(db) as s:
        assert s.schema_version == SCHEMA_VERSION
        got = {x.id: (x.source, x.counters["frames"]) for x in s.sessions()}
        assert {x.counters["discarded_bytes"] for x in s.sessions()} == {0}  # added by v3
        assert got == {1: ("simulation", 7), 2: ("bench", 0), 3: ("board", 0)}
        assert s.session_position(3)[:2] == (41, 1234)  # a restarted logger can resume it
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    con.close()


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"this is not a database at all, just some text\n" * 100, "not a readable Inversa"),
        (b"SQLite format 3\x00" + os.urandom(4000), "not a readable Inversa"),
    ],
)
def test_a_damaged_store_is_a_plain_error_for_every_command(tmp_path, capsys, content, what):
    db = tmp_path / "s.db"
    db.write_bytes(content)
    for cmd in (["sessions"], ["export", "latest"], ["report", "latest"], ["monitor", "--db"]):
        args = [*cmd, str(db)] if cmd[-1] == "--db" else [*cmd, "--db", str(db)]
        assert main(args) == 1
        err = capsys.readouterr().err
        assert what in err and "Traceback" not in err and "move it aside" in err
    assert db.read_bytes() == content


def test_an_sqlite_file_of_another_program_is_refused_unchanged(tmp_path, capsys):
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE photos (name TEXT)")
    con.commit()
    con.close()
    before = _digest(db)
    assert main(["sessions", "--db", str(db)]) == 1
    assert "not an Inversa session store" in capsys.readouterr().err
    assert main(["log", "--port", "loop://", "--db", str(db), "--handshake-timeout", "0.5"]) == 1
    assert "not an Inversa session store" in capsys.readouterr().err
    assert _digest(db) == before


def test_reading_commands_work_on_a_read_only_store_and_writing_says_why_not(
    tmp_path, capsys, mounted
):
    d = mounted("4m")
    db = d / "s.db"
    sid = _recorded(db, n=30)
    r = subprocess.run(["mount", "-o", "remount,ro", str(d)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot remount read-only: {r.stderr.strip()}")
    assert main(["sessions", "--db", str(db)]) == 0
    assert f"{sid:>4}" in capsys.readouterr().out
    assert main(["export", str(sid), "--db", str(db), "-o", str(tmp_path / "x.csv")]) == 0
    assert len((tmp_path / "x.csv").read_text().splitlines()) == 31
    assert main(["report", str(sid), "--db", str(db), "--out", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    assert main(["log", "--port", "loop://", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "read-only" in err and "Traceback" not in err


def test_a_store_locked_by_another_writer_waits_holds_and_then_writes(tmp_path, capsys):
    db = tmp_path / "s.db"
    s = Store(db, busy_timeout_s=0.05)
    sid = s.begin_session("socket://x")
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    for i in range(10):
        s.add_sample(sid, 1.0 + i, i, _values(t_ms=i * 50))
    assert s.flush() is False
    assert s.write_error is not None and "locked by another program" in s.write_error
    assert s.held_rows == 10 and s.write_retries == 1
    # opening it for writing meanwhile is a plain error too
    assert main(["log", "--port", "loop://", "--db", str(db), "--connect-timeout", "1"]) == 1
    assert "locked by another program" in capsys.readouterr().err
    other.execute("COMMIT")
    other.close()
    assert s.flush() is True and s.write_error is None and s.held_rows == 0
    assert [r["seq"] for r in s.samples(sid)] == list(range(10))
    s.close()


def test_held_rows_are_bounded_and_what_is_dropped_is_counted(tmp_path):
    db = tmp_path / "s.db"
    s = Store(db, busy_timeout_s=0.01, max_held_rows=100)
    sid = s.begin_session("socket://x")
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    for i in range(250):
        s.add_sample(sid, 1.0 + i, i, _values(t_ms=i * 50))
        if i % 50 == 49:
            s.flush()
    assert s.held_rows <= 100
    assert s.rows_dropped == 250 - s.held_rows == s.dropped_by_session[sid]
    other.execute("COMMIT")
    other.close()
    assert s.flush()
    seqs = [r["seq"] for r in s.samples(sid)]
    assert seqs == list(range(250 - len(seqs), 250))  # the newest kept, in order
    s.close()


def test_a_full_disk_keeps_the_rows_and_writes_them_into_the_same_session(mounted):
    d = mounted("400k")
    db = d / "s.db"
    s = Store(db)
    sid = s.begin_session("socket://x")
    s.flush()
    filler = d / "filler"
    with open(filler, "wb", buffering=0) as f:  # fill the disk
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    n = 0
    ok = True
    while ok and n < 20000:
        for _ in range(200):
            s.add_sample(sid, 1.0 + n, n % 65536, _values(t_ms=n * 50))
            n += 1
        ok = s.flush()
    assert not ok, "the disk never filled up"
    assert s.write_error is not None and "is full" in s.write_error
    assert s.held_rows > 0 and s.write_retries >= 1
    held = s.held_rows
    filler.unlink()  # space again
    assert s.flush(), s.write_error
    assert s.held_rows == 0 and s.write_error is None
    assert sum(1 for _ in s.samples(sid)) == n  # every row, the held ones included
    assert len(s.sessions()) == 1 and held > 0
    s.close()


def test_cli_reports_store_errors_without_traceback_in_a_subprocess(tmp_path):
    db = tmp_path / "s.db"
    db.write_bytes(b"garbage" * 500)
    r = subprocess.run(
        [sys.executable, "-m", "inversa_host.cli", "sessions", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr and "move it aside" in r.stderr


def test_an_output_that_cannot_be_written_is_a_plain_error(tmp_path, capsys):
    db = tmp_path / "s.db"
    sid = _recorded(db)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert main(["export", str(sid), "--db", str(db), "-o", str(blocker / "x.csv")]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert main(["report", str(sid), "--db", str(db), "--out", str(blocker)]) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and str(blocker) in err and "Traceback" not in err


def test_a_new_session_waits_for_another_writer_and_counts_it(tmp_path):
    db = tmp_path / "s.db"
    Store(db).close()
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.8, lambda: other.execute("COMMIT"))
    release.start()
    try:
        with Store(db, busy_timeout_s=0.05) as s:
            sid = s.begin_session("socket://x")  # waited for the other writer
            assert s.write_retries >= 1
            assert [x.id for x in s.sessions()] == [sid]
    finally:
        release.join()
        other.close()


def test_an_empty_file_is_no_sessions_yet_not_a_traceback(tmp_path, capsys):
    db = tmp_path / "s.db"
    db.write_bytes(b"")
    assert main(["sessions", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "is empty" in err and "Traceback" not in err
    assert db.read_bytes() == b""
