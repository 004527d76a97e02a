"""Records a user can trust (issue 13 items 2, 3, 4, 5, 7, 15): one session
per board, frames lost while no logger was recording are counted and shown,
a session with reboots runs on one monotonic clock, `log` prints the counts
it stored, a wrong port or a port without a board is a clear error with a
non-zero exit and no empty session, and report labels stay readable."""

from __future__ import annotations

import itertools
import os
import re
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
import serial

from inversa import events as ev
from inversa.control import alarm_names as AN
from inversa.control import alarms as A
from inversa.link import messages as M
from inversa.link.message_names import TELEMETRY_FIELDS
from inversa.link.port import MemoryPort
from inversa.link.wire import encode_frame
from inversa_host.cli import main
from inversa_host.link.client import LinkClient, LinkError
from inversa_host.link.codec import StreamDecoder
from inversa_host.link.fakeboard import FakeBoard
from inversa_host.link.ports import open_port
from inversa_host.recording.logger import Logger, LoggerError, same_boot, store_frames
from inversa_host.sessions.report import LABEL_MAX_CHARS, alarm_labels, write_report
from inversa_host.sessions.store import (
    HOST_FRAMES_LOST,
    HOST_LOGGER_STARTED,
    VIRTUAL_UID_PREFIX,
    Store,
)
from inversa_host.sim.runner import trace_from_store
from inversa_host.sim.trace import SessionTrace, TraceEvent, summarize
from inversa_host.vboards.linkserver import LinkServer


def _run_for(logger: Logger, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        logger.step()


def _killed(logger: Logger) -> None:
    """What kill -9 leaves: the last flush on disk, the session unfinished."""
    logger.store.flush()
    if logger.client is not None:
        logger.client.close()
    logger.store.db.close()


def _board(uid: bytes = b"FAKE0001") -> FakeBoard:
    b = FakeBoard()
    b.endpoint.uid = uid
    return b


# -- item 2: one session per board ---------------------------------------------
def test_every_virtual_board_has_its_own_id():
    from inversa_host.vboards.vboard import VBoardConfig, session_spec

    a, b = VBoardConfig(), VBoardConfig()
    assert a.uid != b.uid and len(a.uid) == 8
    assert a.uid.startswith(VIRTUAL_UID_PREFIX) and b.uid.startswith(VIRTUAL_UID_PREFIX)
    assert session_spec(a)["uid"] == a.uid


def test_two_virtual_boards_recorded_at_once_are_two_sessions(tmp_path):
    from inversa_host.vboards.vboard import VirtualBoard

    db = tmp_path / "s.db"
    with VirtualBoard() as va, VirtualBoard() as vb:
        s1 = Store(db)
        first = Logger(s1, va.url)
        _run_for(first, 2.0)  # the first board's session is open and recent ...
        s2 = Store(db)
        second = Logger(s2, vb.url)
        t = threading.Thread(target=_run_for, args=(first, 2.0))
        t.start()
        _run_for(second, 2.0)  # ... when the second logger starts
        t.join()
        first.close()
        second.close()
        s1.close()
        s2.close()
    with Store(db, readonly=True) as s:
        sessions = s.sessions()
        assert len(sessions) == 2 and sessions[0].uid != sessions[1].uid
        assert {x.source for x in sessions} == {"simulation"}  # a virtual board's
        for x in sessions:
            ms = [r["t_ms"] for r in s.samples(x.id)]
            assert ms == sorted(ms), "two boards' samples interleaved in one session"


def test_a_restarted_logger_resumes_only_the_same_board_in_the_same_boot(tmp_path):
    db = tmp_path / "s.db"
    board = _board()
    with LinkServer(board.port, board.step) as server:
        first = Logger(Store(db), server.url)
        _run_for(first, 1.0)
        sid = first.session_id
        _killed(first)
    other = _board(b"FAKE0002")  # another board on the port: a new session
    with LinkServer(other.port, other.step) as server, Store(db) as store:
        lg = Logger(store, server.url)
        _run_for(lg, 1.0)
        assert lg.session_id not in (None, sid) and not lg.resumed
        _killed(lg)
    rebooted = _board()  # the same board, rebooted: its clock starts again
    with LinkServer(rebooted.port, rebooted.step) as server, Store(db) as store:
        lg = Logger(store, server.url)
        _run_for(lg, 1.0)
        assert lg.session_id is not None and lg.session_id != sid and not lg.resumed
        lg.close()


def test_same_boot_reads_the_board_clock():
    assert same_boot(10_000, 100.0, 15_000, 105.0)  # moved on as time passed
    assert same_boot(10_000, 100.0, 50_000, 105.0)  # a virtual board running faster
    assert not same_boot(10_000, 100.0, 3_000, 105.0)  # went back: rebooted
    assert not same_boot(60_000, 100.0, 62_000, 160.0)  # 2 s for 60 s: rebooted meanwhile
    assert same_boot((1 << 30) - 1000, 100.0, 1000, 102.0)  # ticks_ms wrapped
    assert not same_boot(None, None, 1000, 1.0)


# -- item 3: frames lost while the logger was down ---------------------------------
def test_frames_lost_while_no_logger_recorded_are_counted_stored_and_shown(tmp_path, capsys):
    db = tmp_path / "s.db"
    board = _board()
    with LinkServer(board.port, board.step) as server:
        first = Logger(Store(db), server.url)
        _run_for(first, 1.5)
        sid = first.session_id
        _killed(first)
        time.sleep(2.0)  # the board keeps sending; nobody records
        with Store(db) as store:
            second = Logger(store, server.url)
            _run_for(second, 1.5)
            assert second.session_id == sid and second.resumed
            second.close()
    with Store(db, readonly=True) as s:
        (x,) = s.sessions()
        rows = list(s.samples(sid))
        holes = [
            (a["t_ms"], b["t_ms"])
            for a, b in itertools.pairwise(rows)
            if b["t_ms"] - a["t_ms"] > 500
        ]
        assert len(holes) == 1
        gap_s = (holes[0][1] - holes[0][0]) / 1000.0
        lost = x.counters["lost_frames"]
        # 20 Hz telemetry and a 1 Hz heartbeat went by unrecorded
        assert 0.7 * 20 * gap_s <= lost <= 1.3 * 21 * gap_s + 5, (lost, gap_s)
        assert x.counters["gap_events"] >= 1
        marks = [e for e in s.events(sid) if e["kind"] == HOST_FRAMES_LOST]
        assert len(marks) == 1 and 0.7 * 20 * gap_s <= marks[0]["code"] <= lost
        starts = [e["code"] for e in s.events(sid) if e["kind"] == HOST_LOGGER_STARTED]
        assert starts == [0, 1]
        trace = trace_from_store(s, sid)
    assert len(trace.breaks) == 1  # the plot's lines stop at the hole
    assert main(["sessions", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"{lost} frames lost" in out
    assert main(["report", str(sid), "--db", str(db), "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert f"{lost} lost" in out
    assert main(["export", str(sid), "--db", str(db), "--what", "events", "--format", "jsonl"]) == 0
    assert f"frames-lost: {marks[0]['code']} frames over" in capsys.readouterr().out


def test_bytes_discarded_on_the_link_are_stored_and_shown(tmp_path, capsys):
    # Line noise between frames (a USB hub glitch, a board printing text):
    # the decoder throws the bytes away, and the session says how many.
    db = tmp_path / "s.db"
    board = _board()
    junk = b"noise from a flaky cable\x00"

    def step() -> None:
        board.step()
        board.port.write(junk, len(junk))

    with LinkServer(board.port, step) as server, Store(db) as store:
        logger = Logger(store, server.url)
        want = 10 * len(junk)
        deadline = time.monotonic() + 10.0  # bounded wait on a condition
        while time.monotonic() < deadline and logger.counters()["discarded_bytes"] < want:
            logger.step()
        logger.close()
        counted = logger.counters()["discarded_bytes"]
    with Store(db, readonly=True) as s:
        (x,) = s.sessions()
    assert counted >= want
    assert x.counters["discarded_bytes"] == counted  # every byte counted is stored
    assert x.counters["frames"] > 0  # the frames between the noise still arrive
    assert main(["sessions", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"{x.counters['discarded_bytes']} received bytes discarded" in out


# -- item 4: reboots within a session --------------------------------------------
def _telemetry(seq: int, t_ms: int, angle: int, state: int = 5) -> bytes:
    v = dict.fromkeys(TELEMETRY_FIELDS, 0)
    v.update(t_ms=t_ms, angle_cdeg=angle, state=state, hr_bpm=70, deepest_cdeg=max(angle, 0))
    payload = struct.pack(M.TELEMETRY_FMT, *(v[k] for k in TELEMETRY_FIELDS))
    return b"\x00" + encode_frame(M.MSG_TELEMETRY, seq, payload)


def _event(seq: int, t_ms: int, kind: int, code: int, value: int) -> bytes:
    return b"\x00" + encode_frame(
        M.MSG_EVENT, seq, struct.pack(M.EVENT_FMT, t_ms, kind, code, value)
    )


def test_a_session_with_a_reboot_runs_on_one_monotonic_clock(tmp_path):
    db = tmp_path / "s.db"
    host0 = 1_000_000.0
    with Store(db) as store:
        sid = store.begin_session("socket://x")
        dec = StreamDecoder()
        # boot 1: up for 100 s already; 10 s of session going down to 30 deg
        for i in range(100):
            angle = min(3000, i * 60)
            frames = dec.feed(_telemetry(i, 100_000 + i * 100, angle) + b"\x00")
            store_frames(store, sid, host0 + i * 0.1, frames)
        # the board reboots 1 s later; boot 2 brings the person back up over 8 s
        frames = dec.feed(_event(0, 5, ev.EV_BOOT, 1, 1) + b"\x00")
        store_frames(store, sid, host0 + 11.0, frames)
        frames = dec.feed(_event(1, 2000, ev.EV_ALARM_RAISED, A.A_REBOOT, 2) + b"\x00")
        store_frames(store, sid, host0 + 12.0, frames)
        for i in range(80):
            angle = max(-100, 3000 - i * 40)
            frames = dec.feed(_telemetry(2 + i, 1000 + i * 100, angle, state=6) + b"\x00")
            store_frames(store, sid, host0 + 11.0 + i * 0.1, frames)
        store.end_session(sid)
        trace = trace_from_store(store, sid)
    assert trace.t_s == sorted(trace.t_s), "session time went backwards at the reboot"
    assert trace.breaks == [100]
    boot2_start = trace.t_s[100]
    assert 10.5 <= boot2_start <= 11.5  # placed after boot 1 by the host time between
    summary = summarize(trace)
    assert 18.0 <= summary.duration_s <= 19.5
    assert summary.return_s is not None and summary.return_s > 0
    assert summary.time_inverted_s > 0
    boot = next(e for e in trace.events if e.kind == "boot")
    raised = next(e for e in trace.events if e.kind == "alarm_raised")
    assert boot.t_s >= trace.t_s[99] and raised.t_s > boot2_start
    assert raised.name == "reboot-recovery"
    png = write_report(trace, summary, [], tmp_path / "r", title="reboot").png
    assert png.stat().st_size > 0


# -- item 5: log's final counts -----------------------------------------------------
def _printed_frames(out: str) -> int:
    m = re.search(r"(\d+) frames, (\d+) lost", out)
    assert m, out
    return int(m.group(1))


def test_log_prints_the_counts_it_stored_also_after_a_resume(tmp_path, capsys):
    db = tmp_path / "s.db"
    board = _board()
    with LinkServer(board.port, board.step) as server:
        args = ["log", "--port", server.url, "--db", str(db), "--quiet"]
        first = Logger(Store(db), server.url)
        _run_for(first, 1.0)
        _killed(first)
        with Store(db, readonly=True) as s:
            before = s.sessions()[0].counters["frames"]
        assert main([*args, "--duration", "1.5"]) == 0
        out = capsys.readouterr().out
    assert "(resumed)" in out
    with Store(db, readonly=True) as s:
        (x,) = s.sessions()
    printed = _printed_frames(out)
    assert printed == x.counters["frames"] and printed > before + 15
    assert x.samples <= printed


# -- item 7: ports --------------------------------------------------------------------
def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("duration", [None, "30"])
def test_a_port_that_does_not_open_is_a_clear_error_not_a_hang(tmp_path, capsys, duration):
    db = tmp_path / "s.db"
    args = ["log", "--port", f"socket://127.0.0.1:{_closed_port()}", "--db", str(db)]
    args += ["--quiet", "--connect-timeout", "1"]
    if duration:
        args += ["--duration", duration]
    t0 = time.monotonic()
    assert main(args) == 1
    assert time.monotonic() - t0 < 10
    err = capsys.readouterr().err
    assert "refused" in err.lower() and "--port" in err and "inversa devices" in err
    assert not db.exists()  # nothing recorded, no empty store left behind


@pytest.mark.parametrize("url", ["loop://", "silent"])
def test_a_port_without_a_board_records_no_empty_session(tmp_path, capsys, url):
    db = tmp_path / "s.db"
    with Store(db) as s:  # an existing store keeps exactly what it had
        s.end_session(s.begin_session("socket://earlier"))
    silent = MemoryPort(1024, 1024)
    with LinkServer(silent, lambda: None) as server:
        port = server.url if url == "silent" else url
        args = ["log", "--port", port, "--db", str(db), "--quiet", "--handshake-timeout", "1"]
        assert main([*args, "--duration", "30"]) == 1
    err = capsys.readouterr().err
    assert "no board answered" in err and "Nothing was recorded" in err
    with Store(db, readonly=True) as s:
        assert [x.id for x in s.sessions()] == [1]
        assert s.db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 0


def test_logger_raises_when_no_board_answers_within_the_bound(tmp_path):
    with Store(tmp_path / "s.db") as store:
        lg = Logger(store, "loop://", handshake_timeout_s=0.5)
        with pytest.raises(LoggerError, match="no board answered"):
            lg.run(20.0)
        assert store.sessions() == []


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals and exclusive locks: POSIX")
def test_a_serial_port_is_opened_exclusively():
    master, slave = os.openpty()
    name = os.ttyname(slave)
    try:
        first = open_port(name)
        try:
            with pytest.raises(serial.SerialException, match="exclusively"):
                open_port(name)
            with pytest.raises(LinkError, match="exclusively"):
                LinkClient.open(name)
        finally:
            first.close()
        open_port(name).close()  # free again once the first is closed
    finally:
        os.close(master)
        os.close(slave)


# -- item 6 at the logger: a full disk does not stop the recording ---------------------
def test_the_logger_keeps_receiving_on_a_full_disk_and_writes_everything_later(tmp_path):
    d = tmp_path / "fs"
    d.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(d)], capture_output=True, text=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({r.stderr.strip()})")
    try:
        board = _board()
        lines: list[str] = []
        with LinkServer(board.port, board.step) as server, Store(d / "s.db") as store:
            lg = Logger(store, server.url, status=lines.append, status_interval_s=0.1)
            _run_for(lg, 1.0)
            sid = lg.session_id
            filler = d / "filler"
            with open(filler, "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 4096)
                except OSError:
                    pass
            _run_for(lg, 1.5)  # nothing can be written now
            assert store.write_error is not None and store.held_rows > 0
            assert any("NOT SAVED" in line and "full" in line for line in lines)
            filler.unlink()
            _run_for(lg, 1.0)
            assert store.write_error is None  # written again (the newest rows wait for 0.5 s)
            lg.close()
            assert store.held_rows == 0
            (x,) = store.sessions()
            assert x.id == sid and x.counters["rows_dropped"] == 0
            assert x.counters["write_retries"] >= 1
            seqs = [row["seq"] for row in store.samples(sid)]
            assert seqs == sorted(seqs) and x.samples >= 60  # ~3.5 s at 20 Hz, none missing
            assert x.counters["lost_frames"] == 0
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


# -- item 15: alarm labels ------------------------------------------------------------
def test_close_alarms_share_one_label_that_stays_short():
    tr = SessionTrace(t_s=[0.0, 300.0])
    names = ["estop", "motor-run-on", "tilt-sensor", "over-limit", "estop", "too-fast"]
    names += ["hr-lost", "runaway", "uncommanded-motion", "contactor-stuck"]
    for i, n in enumerate(names):
        tr.events.append(TraceEvent(100.0 + i * 0.2, "alarm_raised", n))
    tr.events.append(TraceEvent(250.0, "alarm_raised", "hr-high"))
    labels = alarm_labels(tr, 300.0)
    assert [lab.t_s for lab in labels] == [100.0, 250.0]
    first = labels[0]
    assert first.text.startswith("estop, motor-run-on, tilt-sensor") and "more" in first.text
    assert first.text.count("estop") == 1 and first.raises == len(names)
    assert len(first.text) <= LABEL_MAX_CHARS + len(" +99 more")
    assert labels[1].text == "hr-high"


def test_labels_far_apart_are_kept_apart():
    tr = SessionTrace(t_s=[0.0, 100.0])
    tr.events += [TraceEvent(t, "alarm_raised", f"a{t:g}") for t in (10.0, 20.0, 30.0)]
    assert [lab.text for lab in alarm_labels(tr, 100.0)] == ["a10", "a20", "a30"]


def test_report_of_the_worst_session_renders(tmp_path: Path):
    tr = SessionTrace()
    for i in range(600):
        tr.t_s.append(i * 0.5)
        tr.angle_deg.append(min(60.0, i * 0.3))
        tr.target_deg.append(30.0)
        tr.rate_dps.append(0.0)
        tr.hr_bpm.append(70.0)
        tr.state.append("hold")
        tr.alarm_priority.append(3 if 200 < i < 260 else 0)
        tr.motor_cmd_dps.append(0.0)
    tr.breaks = [300]
    for k, n in enumerate(AN.ALARM_NAMES):
        tr.events.append(TraceEvent(100.0 + k * 0.1, "alarm_raised", n))
    paths = write_report(tr, summarize(tr), [], tmp_path, title="worst")
    assert paths.png.stat().st_size > 10_000


def test_monitor_on_a_port_without_a_board_says_so(capsys):
    t0 = time.monotonic()
    assert main(["monitor", "--port", "loop://", "--handshake-timeout", "0.5"]) == 1
    assert time.monotonic() - t0 < 10
    assert "no board answered on loop://" in capsys.readouterr().err


def test_the_boot_before_the_session_is_not_a_reboot_but_a_reboot_is(tmp_path):
    from inversa.board.clock import VirtualClock

    board = _board()
    with LinkServer(board.port, board.step) as server, Store(tmp_path / "s.db") as store:
        lg = Logger(store, server.url)
        _run_for(lg, 1.0)
        assert lg.counters()["board_reboots"] == 0  # its EV_BOOT is the one before the session
        with server.lock:  # the board resets: its clock starts again
            fresh = VirtualClock(0)
            board.clock._ms, board.clock._us = fresh._ms, fresh._us
            board.endpoint._tele_next = 0  # as a freshly built endpoint's
            board.events.push(0, ev.EV_BOOT, 1, 1)
        _run_for(lg, 1.0)
        assert lg.counters()["board_reboots"] == 1
        lg.close()
