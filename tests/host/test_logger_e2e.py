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
from collections.abc import Callable

import pytest

from inversa import events as ev
from inversa_host.link.client import LinkClient
from inversa_host.link.fakeboard import FakeBoard
from inversa_host.recording.logger import Logger
from inversa_host.sessions.store import (
    HOST_LINK_LOST,
    HOST_LINK_RESTORED,
    HOST_LOGGER_STARTED,
    Store,
)
from inversa_host.vboards.linkserver import LinkServer


def _run_until(logger: Logger, done: Callable[[], bool], what: str, bound_s: float = 60.0) -> None:
    """Step the logger until ``done()``; the bound only catches a hang (a
    loaded machine is slower, and that is fine)."""
    end = time.monotonic() + bound_s
    while not done():
        assert time.monotonic() < end, f"never happened: {what}"
        logger.step()


def _board_ran(server: LinkServer, periods: int) -> Callable[[], bool]:
    """True once the board has run ``periods`` more 10 ms periods (its own time)."""
    target = server.steps + periods
    return lambda: server.steps >= target


def test_logger_records_a_session_and_survives_unplug(tmp_path):
    board = FakeBoard()
    with LinkServer(board.port, board.step) as server, Store(tmp_path / "s.db") as store:
        lines: list[str] = []
        logger = Logger(store, server.url, status=lines.append, status_interval_s=0.1)
        _run_until(
            logger,
            lambda: logger.session_id is not None and logger.counters()["frames"] >= 20,
            "a session with 20 frames",
        )
        sid = logger.session_id
        assert sid is not None
        r = logger.client.command(0x24) if logger.client else None  # CMD_START
        assert r is not None and r.ok
        _run_until(logger, _board_ran(server, 50), "0.5 s of the board's time")
        server.unplug()
        _run_until(logger, _board_ran(server, 100), "1 s of the board's time, unplugged")
        server.plug()
        frames = logger.counters()["frames"]
        _run_until(
            logger,
            lambda: (
                logger.counters()["reconnects"] >= 1 and logger.counters()["frames"] >= frames + 20
            ),
            "a reconnect and 20 frames more",
        )
        assert logger.session_id == sid  # the same session continues
        logger.close()
        assert server.error is None
        (s,) = store.sessions()
        assert s.board == "fakeboard" and s.uid == b"FAKE0001".hex()
        # 20 Hz telemetry: at most one sample per 5 board periods, and the
        # logger ran until it had at least 40 frames (in its own time)
        assert 30 <= s.samples <= server.steps // 5 + 2
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


def _wait_for_samples(db: str, n: int, bound_s: float = 60.0) -> None:
    end = time.monotonic() + bound_s
    while True:
        try:
            con = sqlite3.connect(db, timeout=5)
            try:
                (have,) = con.execute("SELECT COUNT(*) FROM samples").fetchone()
            finally:
                con.close()
        except sqlite3.OperationalError:  # not created yet
            have = 0
        if have >= n:
            return
        assert time.monotonic() < end, f"the logger stored {have} samples, not {n}"
        time.sleep(0.1)  # poll the db


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_logger_killed_loses_at_most_the_last_second_and_resumes(tmp_path):
    db = str(tmp_path / "s.db")
    board = FakeBoard()
    with LinkServer(board.port, board.step) as server:
        proc = _logger_proc(server.url, db)
        try:
            _wait_for_samples(db, 20)  # the logger is recording
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
            _wait_for_samples(db, n1 + 20)  # the restarted logger records again
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
