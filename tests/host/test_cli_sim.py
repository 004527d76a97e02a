"""The `inversa sim` command as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from inversa_host.cli import main
from inversa_host.sessions.store import Store


def test_sim_runs_a_scenario_and_leaves_a_session_and_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    rc = main(["sim", "quick_session", "--db", str(db), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "expectations: PASS" in out
    assert "deepest angle" in out and "return, deepest to horizontal" in out
    report = tmp_path / "out" / "quick_session"
    assert (report / "session.png").stat().st_size > 10_000
    assert "Expectations: PASS" in (report / "summary.md").read_text()
    with Store(db) as store:
        (s,) = store.sessions()
        assert s.samples > 1000 and s.deepest_cdeg is not None and s.deepest_cdeg > 1400


def test_sim_refuses_a_malformed_scenario_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\nduration_s = 10\ntable = "hover"\n')
    rc = main(["sim", str(bad), "--db", str(tmp_path / "s.db"), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{bad}:4:" in err and "motorized" in err
    assert not (tmp_path / "s.db").exists() or not Store(tmp_path / "s.db").sessions()


def test_sim_reports_an_unknown_name_with_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "no_such_scenario"]) == 2
    err = capsys.readouterr().err
    assert "beginner" in err and "quick_session" in err


def test_sim_list_shows_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--list"]) == 0
    out = capsys.readouterr().out
    assert "beginner" in out and "motor_runon" in out and "manual" in out


def test_report_of_a_recorded_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    assert main(["sim", "quick_session", "--db", str(db), "--out", str(tmp_path / "sim")]) == 0
    capsys.readouterr()
    assert main(["report", "latest", "--db", str(db), "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    deepest = [line for line in out.splitlines() if "deepest angle" in line]
    assert deepest, out
    # quick_session's profile limit is 15 deg: the recorded (measured) deepest
    # angle lies within the over-limit alarm's 0.5 deg margin of it
    assert 14.0 <= float(deepest[0].split()[2]) <= 15.5, deepest
    assert (tmp_path / "rep" / "session.png").stat().st_size > 10_000  # in --out itself
    assert "Expectations" not in (tmp_path / "rep" / "summary.md").read_text()
    assert main(["report", "7", "--db", str(db)]) == 1
    assert "no session '7'" in capsys.readouterr().err
