"""End to end: the firmware endpoint behind socket:// (LinkServer), the real
host logger on the other side, recording into SQLite; unplug and replug
(same session); the logger killed with SIGKILL and restarted (at most the
last flush interval lost, the session resumed)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from inversa import events as ev
from inversa_host.link.client import LinkClient
from inversa_host.link.fakeboard import FakeBoard
from inversa_host.linkserver import LinkServer
from inversa_host.logger import Logger
from inversa_host.store import HOST_LINK_LOST, HOST_LINK_RESTORED, HOST_LOGGER_STARTED, Store


def _run_for(logger: Logger, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        logger.step()


def test_logger_records_a_session_and_survives_unplug(tmp_path):
    board = FakeBoard()
    with LinkServer(board.port, board.step) as server, Store(tmp_path / "s.db") as store:
        lines: list[str] = []
        logger = Logger(store, server.url, status=lines.append, status_interval_s=0.1)
        _run_for(logger, 1.5)
        sid = logger.session_id
        assert sid is not None
        r = logger.client.command(0x24) if logger.client else None  # CMD_START
        assert r is not None and r.ok
        _run_for(logger, 0.5)
        server.unplug()
        _run_for(logger, 1.0)
        server.plug()
        _run_for(logger, 1.5)
        assert logger.session_id == sid  # the same session continues
        logger.close()
        assert server.error is None
        (s,) = store.sessions()
        assert s.board == "fakeboard" and s.uid == b"FAKE0001".hex()
        # ~3.5 s of link at 20 Hz; generous bounds for a loaded CI machine
        assert 40 <= s.samples <= 100
        assert s.counters["reconnects"] == 1
        assert s.counters["crc_errors"] == 0
        assert s.counters["lost_frames"] > 0  # frames sent while unplugged are counted lost
        kinds = [e["kind"] for e in store.events(sid)]
        assert kinds.index(HOST_LINK_LOST) < kinds.index(HOST_LINK_RESTORED)
        assert ev.EV_BOOT in kinds and HOST_LOGGER_STARTED in kinds
        cmds = list(store.commands(sid))
        assert any(c["cmd"] == 0x24 and c["reason"] == 0 for c in cmds)
        angles = [r["angle_cdeg"] for r in store.samples(sid)]
        assert max(angles) > angles[0]  # the table moved after the start
        assert any("angle" in line and "idle" in line for line in lines)


def test_client_commands_retry_and_report_refusals():
    board = FakeBoard()
    board.ctrl.require_local_action = True
    with LinkServer(board.port, board.step) as server, LinkClient.open(server.url) as link:
        hello = link.info()
        assert hello.board == "fakeboard"
        r = link.command(0x24)  # CMD_START
        assert r.reason == 6 and "button" in r.text  # NEEDS_LOCAL_ACTION
        assert link.set_telemetry_rate(5).ok
        with pytest.raises(ValueError):
            link.set_telemetry_rate(99)
    assert board.ctrl.calls.count("start") == 1  # retries never execute twice


def test_command_without_answer_is_retried_then_reported(tmp_path):
    board = FakeBoard()
    with LinkServer(board.port, board.step) as server, LinkClient.open(server.url) as link:
        link.info()
        with server.lock:
            board.port.connected = False  # the board's answers vanish
        r = link.command(0x25, timeout=0.1, retries=2)
        assert r.reason is None and r.attempts == 3 and "no answer" in r.text


def _logger_proc(url: str, db: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "inversa_host.cli", "log", "--port", url, "--db", db, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_logger_killed_loses_at_most_the_last_second_and_resumes(tmp_path):
    db = str(tmp_path / "s.db")
    board = FakeBoard()
    with LinkServer(board.port, board.step) as server:
        proc = _logger_proc(server.url, db)
        try:
            time.sleep(3.0)
            t_kill = time.time()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        con = sqlite3.connect(db)
        n1, last_t = con.execute("SELECT COUNT(*), MAX(host_t) FROM samples").fetchone()
        con.close()
        assert n1 > 10
        assert t_kill - last_t <= 1.0, f"lost {t_kill - last_t:.2f} s of data"
        proc = _logger_proc(server.url, db)
        try:
            time.sleep(2.5)
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err.decode()
    with Store(db) as store:
        sessions = store.sessions()
        assert len(sessions) == 1, "the restarted logger resumes the unfinished session"
        s = sessions[0]
        assert s.ended is not None and s.samples > n1
        starts = [e for e in store.events(s.id) if e["kind"] == HOST_LOGGER_STARTED]
        assert [e["code"] for e in starts] == [0, 1]  # started, then resumed
