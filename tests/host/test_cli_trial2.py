"""What the second new-user trial met: an interrupted `inversa sim` left an
empty "(open)" session behind, `plan --out DIR/` wrote a file named like the
folder, `monitor --db` on a missing store did not say how to make one, and
`make bench` replaced the committed reference figures."""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from inversa.control import profile as pm
from inversa_host.cli import main
from inversa_host.sessions.store import Store
from inversa_host.sim import runner

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def _engine_stopping_at(monkeypatch: pytest.MonkeyPatch, call: int, how: str) -> None:
    """The simulation's engine, interrupted at its ``call``-th second:
    Ctrl-C (KeyboardInterrupt) or a SIGTERM sent to this process."""
    real = runner.CPythonEngine

    class Stopping(real):  # type: ignore[misc, valid-type]
        calls = 0

        def run_for(self, ms: int) -> Any:
            Stopping.calls += 1
            if Stopping.calls == call:
                if how == "sigterm":
                    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, signal.SIG_IGN):
                        # would end the run (or be ignored) with the session left open
                        raise AssertionError("`inversa sim` does not handle SIGTERM")
                    os.kill(os.getpid(), signal.SIGTERM)  # handled before the next line
                else:
                    raise KeyboardInterrupt
            return super().run_for(ms)

    monkeypatch.setattr(runner, "CPythonEngine", Stopping)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_sim_keeps_what_it_recorded_as_an_interrupted_session(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    _engine_stopping_at(monkeypatch, 6, how)
    db = tmp_path / "s.db"
    previous = signal.signal(signal.SIGTERM, mine)
    try:
        rc = main(["sim", "quick_session", "--db", str(db), "--out", str(tmp_path / "sim")])
        assert signal.getsignal(signal.SIGTERM) is mine  # sim restores what it replaced
    finally:
        signal.signal(signal.SIGTERM, previous)
    err = capsys.readouterr().err
    assert rc == 130, err
    assert "interrupted after 5 s" in err and "session 1 is kept as interrupted" in err, err
    assert "inversa report 1" in err, err
    with Store(db, readonly=True) as store:
        s = store.session(1)
        assert s.interrupted and s.ended is not None and s.samples > 50, s
        assert s.counters["frames"] > 50, s.counters  # the link's counters are kept too
    assert main(["sessions", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "(interrupted)" in out and "(open)" not in out, out
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "(interrupted)" in out and "interrupted:" in out, out


def test_a_sim_interrupted_before_anything_was_recorded_says_so_and_leaves_no_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _engine_stopping_at(monkeypatch, 1, "ctrl-c")
    db = tmp_path / "s.db"
    rc = main(["sim", "quick_session", "--db", str(db), "--out", str(tmp_path / "sim")])
    err = capsys.readouterr().err
    assert rc == 130 and "nothing was recorded" in err, err
    with Store(db, readonly=True) as store:
        assert store.sessions() == []


def _profile(tmp_path: Path) -> Path:
    cur = tmp_path / "current.toml"
    cur.write_text(
        "\n".join(f"{n} = {getattr(pm.beginner_profile(), n)}" for n in pm.FIELDS) + "\n"
    )
    return cur


@pytest.mark.parametrize("command", ["plan", "export"])
def test_an_out_naming_a_folder_is_refused_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.begin_session(port="test")
    target = str(tmp_path / "profiles") + "/"
    if command == "plan":
        args = ["plan", str(_profile(tmp_path)), "--db", str(db), "--out", target]
    else:
        args = ["export", "latest", "--db", str(db), "-o", target]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "names a folder, not a file" in err and "give a file name" in err, err
    assert not (tmp_path / "profiles").exists()  # old: a file named like the folder
    if command == "plan":  # a file name in folders that do not exist yet: they are made
        nxt = tmp_path / "profiles" / "next.toml"
        assert main([*args[:-1], str(nxt)]) == 0
        assert nxt.read_text().startswith("# proposed by `inversa plan`")


def test_monitor_on_a_missing_store_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "none.db"
    assert main(["monitor", "--db", str(db), "--duration", "0.1"]) == 1
    err = capsys.readouterr().err
    assert f"no session store at {db}" in err, err
    assert "inversa log --port" in err and "inversa sim" in err and "--db" in err, err
    assert not db.exists()


def _load(script: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"_trial2_{script.stem}", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("area", ["board", "link", "safety", "sensing", "sim"])
def test_a_benchmark_run_leaves_the_committed_figures_unless_asked(
    monkeypatch: pytest.MonkeyPatch, area: str
) -> None:
    script = BENCH / f"bench_{area}.py"
    monkeypatch.delenv("INVERSA_BENCH_REFERENCE", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    local = _load(script).RESULTS
    assert local == ROOT / "out" / "bench" / f"{area}.json"  # gitignored
    monkeypatch.setenv("INVERSA_BENCH_REFERENCE", "1")  # what `bench/run.py --reference` sets
    reference = _load(script).RESULTS
    assert reference == BENCH / "results" / f"{area}.json"


def test_bench_run_says_where_the_results_went_and_that_the_reference_is_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INVERSA_BENCH_REFERENCE", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    run = _load(BENCH / "run.py")
    assert run.main(["no_such_area"]) == 2  # runs nothing
    capsys.readouterr()
    monkeypatch.setattr(run.HERE.__class__, "glob", lambda self, pattern: iter(()))
    assert run.main([]) == 0
    out = capsys.readouterr().out
    assert f"results in {ROOT / 'out' / 'bench'}" in out, out
    assert "reference figures" in out and "unchanged" in out, out
    assert "INVERSA_BENCH_REFERENCE" not in os.environ


def _held_board() -> Any:
    """A virtual board (LinkServer) whose port another program already holds."""
    from inversa.link.port import MemoryPort
    from inversa_host.vboards.linkserver import LinkServer

    server = LinkServer(MemoryPort(4096, 1024), lambda: None)
    server.start()
    holder = socket.create_connection(server.address, timeout=5)
    deadline = time.monotonic() + 10  # a bound, not a measurement
    while not server.sock.connected:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return server, holder


def test_a_virtual_board_refuses_a_second_program_at_once_as_a_serial_port_does() -> None:
    server, holder = _held_board()
    try:
        second = socket.create_connection(server.address, timeout=5)
        second.settimeout(10)
        assert second.recv(10) == b""  # closed (the old board kept it waiting, unserved)
        second.close()
        assert server.sock.connected  # the first program keeps the port
    finally:
        holder.close()
        server.close()


@pytest.mark.parametrize("command", ["monitor", "log", "profile"])
def test_monitor_log_or_profile_on_a_port_another_program_holds_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    server, holder = _held_board()
    try:
        args = [command, "--port", server.url, "--duration", "30", "--handshake-timeout", "3"]
        if command == "log":
            args += ["--db", str(tmp_path / "s.db"), "--quiet", "--connect-timeout", "0.5"]
        if command == "profile":
            args = ["profile", "show", "--port", server.url]
        rc = main(args)
    finally:
        holder.close()
        server.close()
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "another program" in err and "one program at a time" in err, err
    assert "read failed: read failed" not in err and "write failed: write" not in err, err
    assert not (tmp_path / "s.db").exists()


def test_vboard_help_says_deploy_and_doctor_work_on_the_emulated_pico() -> None:
    # the README and the URL banner say they do (with --time-scale 40); the help said not
    from inversa_host.cli import build_parser

    sub = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    ).choices["vboard"]
    text = " ".join(sub.format_help().split())
    assert "deploy and doctor do not" not in text, text
    assert "deploy and doctor too with --time-scale 40" in text, text


@pytest.mark.parametrize("command", ["report", "export"])
def test_report_and_export_of_a_bad_store_say_error_as_the_other_commands_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    db = tmp_path / "notes.db"
    db.write_text("shopping list\n")
    assert main([command, "latest", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a readable Inversa session store" in err, err
    assert db.read_text() == "shopping list\n"


def test_a_scenario_profile_out_of_range_names_the_file_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sc = tmp_path / "deep.toml"
    sc.write_text(
        '[scenario]\nname = "deep"\nduration_s = 10\ntable = "motorized"\n'
        "[profile]\nmax_angle_cdeg = 9500\n"
    )
    assert main(["sim", str(sc), "--db", str(tmp_path / "s.db"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "max_angle_cdeg=9500 is outside 500..9000" in err, err
    assert err.count(str(sc)) == 1, err
