"""What the second new-user trial met: an interrupted `inversa sim` left an
empty "(open)" session behind, `plan --out DIR/` wrote a file named like the
folder, `monitor --db` on a missing store did not say how to make one, and
`make bench` replaced the committed reference figures."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
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
