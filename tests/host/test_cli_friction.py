"""What a person meets at the command line (issue 13, items 13 and 14):
every command describes itself, a closed pipe ends quietly, names instead of
raw numbers, clear refusals of bad files, `start` / `stop`, and every byte
or frame dropped on the link is counted where a person can see it."""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from inversa import events as ev
from inversa.link import messages as M
from inversa.link.message_names import TELEMETRY_FIELDS
from inversa.link.wire import encode_frame
from inversa_host.cli import build_parser, main
from inversa_host.link.codec import TELEMETRY, StreamDecoder
from inversa_host.link.names import event_text
from inversa_host.sessions.store import Store
from inversa_host.vboards.vboard import CPythonRig, LinkApp, VBoardConfig, VirtualBoard


def _subparsers(
    p: argparse.ArgumentParser, prefix: str = ""
) -> list[tuple[str, argparse.ArgumentParser]]:
    out = []
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                out.append((f"{prefix}{name}", child))
                out += _subparsers(child, f"{prefix}{name} ")
    return out


def test_every_command_describes_itself_in_its_help() -> None:
    commands = _subparsers(build_parser())
    names = {n for n, _ in commands}
    assert {"devices", "monitor", "sessions", "export", "profile check", "start", "stop"} <= names
    for name, p in commands:
        assert p.description and len(p.description) > 20, f"`inversa {name} --help` says nothing"


def _run_into_closed_pipe(*args: str) -> subprocess.CompletedProcess[bytes]:
    r, w = os.pipe()
    os.close(r)  # the reader is gone before a byte is written: `| head` that already left
    try:
        return subprocess.run(
            [sys.executable, "-m", "inversa_host.cli", *args],
            stdout=w,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(w)


def test_a_closed_pipe_ends_quietly_for_every_kind_of_output(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.begin_session(port="test")
    for args in (
        ("sim", "--list"),
        ("about",),
        ("--help",),
        ("sessions", "--db", str(db)),
        ("export", "latest", "--db", str(db), "--what", "events"),
    ):
        proc = _run_into_closed_pipe(*args)
        err = proc.stderr.decode()
        assert "Traceback" not in err and "BrokenPipe" not in err, (args, err)
        # 141 as a shell reports a writer cut off (argparse's own --help swallows it: 0)
        assert proc.returncode == (0 if args == ("--help",) else 141), (args, proc.returncode, err)


def test_export_of_nothing_prints_the_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.begin_session(port="test")
    assert main(["export", "latest", "--db", str(db), "--what", "commands"]) == 0
    cap = capsys.readouterr()
    assert cap.out.strip() == "host_t,cmd,seq,reason,attempts"
    assert "has no commands" in cap.err


def test_report_of_an_empty_open_session_says_how_to_pick_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # what `report` alone meets after a sim or log cut off by Ctrl-C
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.begin_session(port="test")
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "rep")]) == 1
    err = capsys.readouterr().err
    assert "session 1 has no telemetry samples" in err and "still open" in err, err
    assert "inversa sessions" in err and "inversa report ID" in err, err
    assert not (tmp_path / "rep").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["sim", "{f}"],
        ["vboard", "--scenario", "{f}", "--duration", "0.1", "--no-console"],
        ["bench", "--vboard", "--scenario", "{f}"],
        ["profile", "check", "{f}"],
        ["deploy", "--port", "loop://", "--config", "{f}"],
    ],
)
def test_a_binary_file_is_refused_with_a_clear_message(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "x.toml"
    f.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00\xc0\xff" * 20)
    argv = [a.replace("{f}", str(f)) for a in args]
    try:
        code = main(argv)
    except SystemExit as e:  # deploy's option check exits with its message
        code, msg = 1, str(e.code)
        assert "binary file" in msg
    else:
        assert "binary file" in capsys.readouterr().err
    assert code != 0


def test_names_not_numbers(tmp_path: Path) -> None:
    from inversa_host.commands.monitor import render
    from inversa_host.profiles.files import describe, read_profile

    assert event_text(ev.EV_BOOT, 1, 0) == "boot (power-on)"
    assert event_text(ev.EV_BOOT, 3, 1) == "boot (watchdog, a session was interrupted)"
    values = [0] * len(TELEMETRY_FIELDS)
    screen = render(tuple(values), [], {"frames": 1}, "test")
    assert "action none" in screen and "alarms   none" in screen
    assert "none: none" not in screen
    p = tmp_path / "profile.json"
    p.write_text('{"hr_mode": 1, "table_type": 0}')
    text = describe(read_profile(str(p), fill_defaults=True)[0])
    assert "(monitor)" in text and "(motorized)" in text


def test_profile_show_with_no_board_says_so_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "show", "--port", "loop://"]) == 1
    err = capsys.readouterr().err
    assert "no board answered" in err and "inversa devices" in err
    assert err.count("profile") <= 2 and "could not read the profile: could not" not in err


def test_start_arms_and_says_the_table_needs_the_person_then_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with VirtualBoard() as vb:
        db = str(tmp_path / "s.db")
        assert main(["start", "--port", vb.url, "--db", db, "--duration", "1"]) == 0
        out = capsys.readouterr().out
        assert "session armed" in out and "the PC cannot move the table" in out
        assert "return asked" in out and "session over: idle" in out
        assert main(["stop", "--port", vb.url]) == 0
        assert "return asked on pico" in capsys.readouterr().out
        with Store(db) as store:
            (s,) = store.sessions()
            cmds = [(c["cmd"], c["reason"]) for c in store.commands(s.id)]
        assert (M.CMD_START, 0) in cmds and (M.CMD_RETURN, 0) in cmds
    # report --out writes where it says
    assert main(["report", "--db", db, "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.html").is_file()
    assert str(tmp_path / "r" / "report.html") in capsys.readouterr().out


def test_start_and_stop_without_a_board_say_what_to_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["stop", "--port", "socket://127.0.0.1:9"]) == 1
    assert "STOP at the table" in capsys.readouterr().err


# -- item 13: every dropped byte counted, on both sides -------------------------


def test_the_boards_receive_buffer_counts_what_it_dropped() -> None:
    rig = CPythonRig(VBoardConfig(bench=True))
    try:
        board = rig.rig
        cap = len(board.port._rx)
        flood = encode_frame(M.MSG_HOST_HEARTBEAT, 1, b"") * (3 * cap // 9)
        rig.exchange(flood, True, [], 10)  # more than the firmware's ring holds
        dropped = len(flood) - cap
        assert board.port.rx_overflow == dropped > 0
        assert board.app.link.rx_errors() >= dropped
        # ... and the host sees it in telemetry's rx_errors
        d = StreamDecoder()
        tele = []
        for _ in range(10):
            tele += [
                f for f in d.feed(rig.exchange(b"", True, [], 50)) if f.msg_type == M.MSG_TELEMETRY
            ]
        rx_i = TELEMETRY_FIELDS.index("rx_errors")
        assert TELEMETRY.unpack_from(tele[-1].payload, 0)[rx_i] >= dropped
    finally:
        rig.close()


def test_the_virtual_boards_usb_buffer_counts_what_it_dropped() -> None:
    app = LinkApp(VBoardConfig(bench=True))
    try:
        cap = len(app.port._rx)
        app.port.feed_rx(b"\x00" * (cap + 1000))
        assert app.rx_dropped == 1000
    finally:
        app.close()


def test_the_host_counts_the_bytes_it_threw_away() -> None:
    d = StreamDecoder()
    good = encode_frame(M.MSG_HEARTBEAT, 1, struct.pack("<IBB", 0, 1, 0))
    bad = bytearray(good)
    bad[3] ^= 0xFF  # a CRC error
    frames = d.feed(b"junk\x00" + bytes(bad) + good)
    assert len(frames) == 1
    assert d.discarded_bytes == len(b"junk\x00") + len(bad)
    d.feed(b"partial frame")
    d.reset_stream()  # the port closed mid-frame
    assert d.discarded_bytes == len(b"junk\x00") + len(bad) + len(b"partial frame")
