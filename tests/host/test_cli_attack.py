"""A hostile first-time user of the host tools: a full disk under every file
a command writes, malformed profile files, and the names of what the
firmware reports.  Bad input gets a plain message and a non-zero exit, no
traceback, and changes nothing (an older output stays as it was, no
half-written file is left behind)."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from inversa import events as ev
from inversa.control import alarms as A
from inversa.control import profile as pm
from inversa.control.profile_store import STORE_CORRUPT, STORE_MISSING
from inversa.link import messages as M
from inversa.link.port import MemoryPort
from inversa.link.wire import encode_frame
from inversa_host.cli import main
from inversa_host.link.names import event_text
from inversa_host.vboards.linkserver import LinkServer

ROOT = Path(__file__).resolve().parents[2]
# past the store's 32 KB shared-memory file (read-only commands map it too),
# under a session's export and plot
_LIMIT = 40_000


@pytest.fixture(scope="module")
def session_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("attack")
    db = d / "s.db"
    assert main(["sim", "quick_session", "--db", str(db), "--out", str(d / "sim")]) == 0
    return db


def _cli_with_small_disk(cwd: Path, limit_bytes: int, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI where no file may grow past ``limit_bytes`` (RLIMIT_FSIZE:
    a write past it fails with EFBIG, as a full disk fails with ENOSPC)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'host'}{os.pathsep}{ROOT / 'firmware'}")
    return subprocess.run(
        [sys.executable, "-m", "inversa_host.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
    )


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())} if d.exists() else {}


def test_export_to_a_full_disk_says_so_and_leaves_no_half_file(
    session_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "samples.csv"
    out.write_text("an older export\n")
    proc = _cli_with_small_disk(
        tmp_path, _LIMIT, "export", "latest", "--db", str(session_db), "-o", str(out)
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert str(out) in proc.stderr and "File too large" in proc.stderr, proc.stderr
    assert out.read_text() == "an older export\n"  # unchanged, not cut off
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples.csv"]


def test_report_to_a_full_disk_keeps_the_older_report_whole(
    session_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    assert main(["report", "latest", "--db", str(session_db), "--out", str(out)]) == 0
    before = _files(out)
    assert set(before) == {"report.html", "session.png", "summary.md"}
    proc = _cli_with_small_disk(
        tmp_path, _LIMIT, "report", "latest", "--db", str(session_db), "--out", str(out)
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "cannot write" in proc.stderr and str(out) in proc.stderr, proc.stderr
    assert _files(out) == before  # every old file whole, no temporary left


def test_a_report_that_cannot_be_written_makes_no_folder(session_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "rep"
    proc = _cli_with_small_disk(
        tmp_path, _LIMIT, "report", "latest", "--db", str(session_db), "--out", str(out)
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot write" in proc.stderr and str(out) in proc.stderr, proc.stderr
    assert not (tmp_path / "new").exists()


def test_sim_whose_report_cannot_be_written_says_the_session_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_folder = tmp_path / "reports"
    not_a_folder.write_text("a file where the report folder should go\n")
    db = tmp_path / "s.db"
    rc = main(["sim", "quick_session", "--db", str(db), "--out", str(not_a_folder)])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "cannot write" in err and "session 1" in err and str(db) in err, err
    assert "inversa report 1" in err, err  # what to do next


def test_plan_out_into_a_file_not_a_folder_says_so(
    session_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cur = tmp_path / "current.json"
    cur.write_text(json.dumps({n: getattr(pm.beginner_profile(), n) for n in pm.FIELDS}))
    nxt = cur / "next.toml"  # under a file: no such folder can be made
    rc = main(["plan", str(cur), "--db", str(session_db), "--include-sim", "--out", str(nxt)])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot write" in err and str(nxt) in err, err
    assert "is a file, not a folder" in err and "free some space" not in err, err


@pytest.mark.parametrize("value", [3, "glaucoma", {"glaucoma": True}, [["glaucoma"]]])
def test_contraindications_that_are_not_a_list_of_names_are_refused_plainly(
    tmp_path: Path, value: object, capsys: pytest.CaptureFixture[str]
) -> None:
    d = {n: getattr(pm.beginner_profile(), n) for n in pm.FIELDS}
    d["contraindications"] = value
    f = tmp_path / "p.json"
    f.write_text(json.dumps(d))
    for args in (["profile", "check", str(f)], ["plan", str(f), "--db", str(tmp_path / "n.db")]):
        rc = main(args)
        err = capsys.readouterr().err
        assert rc == 2, (args, err)
        assert "contraindications" in err and "list of names" in err, err
        assert "unknown contraindication 'g'" not in err


def test_a_contraindicated_profile_is_valid_but_says_the_board_will_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = {n: getattr(pm.beginner_profile(), n) for n in pm.FIELDS}
    d["contraindications"] = ["glaucoma"]
    f = tmp_path / "p.json"
    f.write_text(json.dumps(d))
    assert main(["profile", "check", str(f)]) == 0
    out = capsys.readouterr().out
    assert "refuse" in out and "glaucoma" in out, out


def test_the_stored_profile_fault_names_the_stores_status() -> None:
    # events.py: EV_FAULT F_PROFILE carries the profile store's status
    # (control/profile_store.py: STORE_MISSING, STORE_CORRUPT), and the
    # board then runs on the beginner profile (ProfileStore.load).
    missing = event_text(ev.EV_FAULT, A.F_PROFILE, STORE_MISSING)
    corrupt = event_text(ev.EV_FAULT, A.F_PROFILE, STORE_CORRUPT)
    assert "no stored profile" in missing and "beginner profile" in missing, missing
    assert "stored profile damaged" in corrupt and "beginner profile" in corrupt, corrupt
    assert "status" not in missing + corrupt


def _board_of_protocol(version: int) -> tuple[MemoryPort, Callable[[], None]]:
    """A board whose every frame is well formed but of another protocol version
    (a newer firmware than these host tools, or an older one)."""
    port = MemoryPort(4096, 1024)
    seq = [0]

    def step() -> None:
        if port.tx_pending() < 1024:
            frame = encode_frame(M.MSG_HELLO, seq[0], b"\x00" * 24, version=version)
            port.write(frame, len(frame))
            seq[0] += 1

    return port, step


@pytest.mark.parametrize("command", ["log", "monitor", "profile show", "start", "stop"])
def test_a_board_of_another_protocol_version_is_named_not_called_silent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    port, step = _board_of_protocol(M.PROTOCOL_VERSION + 1)
    with LinkServer(port, step) as server:
        args = {
            "log": ["log", "--port", server.url, "--db", str(tmp_path / "s.db"), "--quiet"],
            "monitor": ["monitor", "--port", server.url],
            "profile show": ["profile", "show", "--port", server.url],
            "start": ["start", "--port", server.url, "--db", str(tmp_path / "s.db"), "--quiet"],
            "stop": ["stop", "--port", server.url],
        }[command]
        if command in ("log", "monitor"):
            args += ["--handshake-timeout", "1", "--duration", "30"]
        rc = main(args)
    err = capsys.readouterr().err
    assert rc == 1, err
    newer = M.PROTOCOL_VERSION + 1
    assert f"protocol version {newer}" in err and "update" in err, err
    assert "Traceback" not in err


def test_start_on_a_port_where_no_board_answers_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    assert main(["start", "--port", "loop://", "--db", str(db), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "no board answered on loop://" in err and "Nothing was recorded" in err, err
    assert "Traceback" not in err


_QUICK = ROOT / "host/inversa_host/sim/scenarios/quick_session.toml"


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ('alarms_exclude = ["over-limit"', 'alarms_exclude = ["over-limitt"', "'over-limitt'"),
        ('final_state_any = ["done", "idle"]', 'final_state_any = ["done", "idel"]', "'idel'"),
        ('final_state_any = ["done", "idle"]', 'faults_include = ["estopp"]', "'estopp'"),
        ('final_state_any = ["done", "idle"]', 'states_include = ["holdd"]', "'holdd'"),
        ('final_state_any = ["done", "idle"]', "final_state_any = [3]", "3"),
    ],
)
def test_an_expectation_naming_no_firmware_alarm_state_or_fault_is_refused(
    old: str, new: str, says: str
) -> None:
    """A misspelt alarm in alarms_exclude made a check that could never fail."""
    from inversa_host.sim.scenario import ScenarioError, parse_scenario

    text = _QUICK.read_text()
    assert old in text
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text.replace(old, new), "s.toml")
    msg = str(e.value)
    assert says in msg and "known:" in msg, msg
    assert msg.startswith(("s.toml:35:", "s.toml:36:")), msg  # the line of the key


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("badscheme://x", "unknown kind of port"),
        ("socket://localhost", "socket://HOST:PORT"),
        ("socket://localhost:abc", "socket://HOST:PORT"),
        ("rfc2217://x", "rfc2217://HOST:PORT"),
        ("loop://?bad=1", "cannot open loop://?bad=1"),
    ],
)
@pytest.mark.parametrize("command", ["log", "monitor", "stop"])
def test_a_malformed_port_url_is_refused_at_once_and_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, says: str, command: str
) -> None:
    args = {
        "log": ["log", "--port", url, "--db", str(tmp_path / "s.db"), "--quiet"],
        "monitor": ["monitor", "--port", url],
        "stop": ["stop", "--port", url],
    }[command]
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 1, err
    assert says in err, err
    assert "tried for" not in err  # not retried: the URL itself is wrong
    assert "NoneType" not in err and "debug|info" not in err  # pyserial's insides
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("badscheme://x", "unknown kind of port"),
        ("socket://localhost", "socket://HOST:PORT"),
        ("loop://?bad=1", "cannot open loop://?bad=1"),
        ("loop://", "no MicroPython REPL on loop://"),
        # nothing listens on port 1: no cable to check, a virtual board to start
        ("socket://127.0.0.1:1", "(`inversa vboard` prints its URL)"),
    ],
)
@pytest.mark.parametrize("command", ["doctor", "deploy"])
def test_doctor_and_deploy_refuse_a_port_plainly(
    capfd: pytest.CaptureFixture[str], url: str, says: str, command: str
) -> None:
    args = ["doctor", "--port", url]
    if command == "deploy":
        args = ["deploy", "--port", url, "--board", "pico"]
    rc = main(args)
    out, err = capfd.readouterr()
    assert rc == 1, err
    assert says in err, err
    assert "Traceback" not in err
    assert "b'" not in out + err  # mpremote's raw bytes are not the person's business


def test_a_sensor_event_names_the_sensor_and_what_happened() -> None:
    # sensor_standin.py: EV_SENSOR code SENSOR_IMU / SENSOR_PPG, value 0 when
    # found absent at boot, n >= 1 when it came back (the n-th re-initialisation)
    from inversa.sensor_standin import SENSOR_IMU, SENSOR_PPG

    gone = event_text(ev.EV_SENSOR, SENSOR_IMU, 0)
    back = event_text(ev.EV_SENSOR, SENSOR_PPG, 2)
    assert "tilt sensor (IMU)" in gone and "absent at boot" in gone, gone
    assert "heart-rate sensor" in back and "back" in back and "2" in back, back
    assert "sensor 7" in event_text(ev.EV_SENSOR, 7, 0)  # an unknown code, plainly


def test_plan_proposes_no_progression_for_a_contraindicated_profile() -> None:
    from inversa_host.profiles.plan import SessionRecord, plan_next

    fields = {n: getattr(pm.beginner_profile(), n) for n in pm.FIELDS}
    fields["contra_flags"] = pm.C_GLAUCOMA
    clean = SessionRecord(
        session_id=1,
        deepest_cdeg=fields["max_angle_cdeg"],
        hold_ms=fields["hold_ms"],
        completed=True,
        worst_priority=0,
        alarms=(),
        faults=0,
        hr_rise_bpm=5,
    )
    plan = plan_next([clean] * 5, fields)
    assert not plan.changed and plan.profile == fields
    said = " ".join(plan.reasons)
    assert "glaucoma" in said and "refuses" in said, said


def test_damaged_rows_in_a_store_are_skipped_and_counted_not_a_traceback(
    session_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil
    import sqlite3

    db = tmp_path / "damaged.db"
    shutil.copy(session_db, db)
    with sqlite3.connect(db) as c:  # another program wrote into it
        n_samples = c.execute("UPDATE samples SET angle_cdeg=NULL WHERE rowid % 50 = 0").rowcount
        c.execute("UPDATE samples SET hr_bpm='x' WHERE rowid % 50 = 0")
        n_events = c.execute("UPDATE events SET kind=NULL WHERE rowid % 3 = 0").rowcount
    assert n_samples > 10 and n_events > 1
    cur = tmp_path / "current.json"
    cur.write_text(json.dumps({n: getattr(pm.beginner_profile(), n) for n in pm.FIELDS}))
    for args in (
        ["report", "latest", "--db", str(db), "--out", str(tmp_path / "rep")],
        ["plan", str(cur), "--db", str(db), "--include-sim"],
        ["monitor", "--db", str(db), "--duration", "0.3"],
    ):
        rc = main(args)
        err = capsys.readouterr().err
        assert rc == 0, (args, err)
        assert f"{n_samples + n_events} damaged rows" in err, (args, err)
    assert (tmp_path / "rep" / "session.png").exists()
