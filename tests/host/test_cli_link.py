"""The link subcommands: sessions, export, profile check/push/show, devices,
monitor, against a store recorded from the fake board."""

from __future__ import annotations

import csv
import io
import json

import pytest

from inversa.control.profile import Profile
from inversa_host.cli import main
from inversa_host.commands.monitor import angle_bar, render
from inversa_host.link.fakeboard import FakeBoard
from inversa_host.recording.logger import Logger
from inversa_host.sessions.store import Store
from inversa_host.vboards.linkserver import LinkServer


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "s.db"
    board = FakeBoard()
    with LinkServer(board.port, board.step, speed=1.0) as server, Store(db) as store:
        logger = Logger(store, server.url)
        logger.run(1.5)
    return str(db)


def test_sessions_lists_the_recording(recorded, capsys):
    assert main(["sessions", "--db", recorded]) == 0
    out = capsys.readouterr().out
    assert "fakeboard" in out and "-60.0°" in out
    assert main(["sessions", "--db", recorded, "--json"]) == 0
    (s,) = json.loads(capsys.readouterr().out)
    assert s["samples"] > 10 and s["duration_s"] > 1.0


def test_export_csv_and_jsonl(recorded, capsys, tmp_path):
    out = tmp_path / "x.csv"
    assert main(["export", "latest", "--db", recorded, "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows and rows[0]["angle_cdeg"] == "-6000" and "hr_bpm" in rows[0]
    assert main(["export", "1", "--db", recorded, "--format", "jsonl", "--what", "events"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(e["text"] == "logger-started" for e in events)
    assert any(e["text"].startswith("boot") for e in events)


def test_export_unknown_session_is_a_plain_error(recorded, capsys):
    assert main(["export", "99", "--db", recorded]) == 1
    assert "no session '99'" in capsys.readouterr().err


def test_profile_check_shows_validation_errors_plainly(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_full_profile(max_angle_cdeg=12000)))
    assert main(["profile", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("profile invalid:") and "max_angle_cdeg" in err
    assert f"{bad}: max_angle_cdeg=12000 is outside" in err  # names the file too
    unknown = tmp_path / "u.json"
    unknown.write_text(json.dumps({"max_angle": 3000}))
    assert main(["profile", "check", str(unknown)]) == 2
    assert "unknown field(s) max_angle" in capsys.readouterr().err
    partial = tmp_path / "good.toml"
    partial.write_text('max_angle_cdeg = 3000\ncontraindications = ["glaucoma"]\n')
    assert main(["profile", "check", str(partial), "--fill-defaults"]) == 0
    out, err = capsys.readouterr()
    assert "30 deg" in out and "glaucoma" in out
    assert "filled with beginner defaults: user_id, hold_ms," in err
    assert "max_angle_cdeg" not in err and "contra_flags" not in err


def _full_profile(**fields: int) -> dict[str, int]:
    from inversa.control.profile import FIELDS

    p = Profile()
    return dict({n: getattr(p, n) for n in FIELDS}, **fields)


@pytest.mark.parametrize("text", ["", "max_angle_cdeg = 3000\n"])
def test_profile_with_missing_fields_is_refused_naming_them(tmp_path, capsys, text):
    """Issue 13 item 10: an empty profile, or one missing fields, was accepted
    and silently filled with defaults."""
    f = tmp_path / "p.toml"
    f.write_text(text)
    before = f.read_bytes()
    for cmd in (["profile", "check", str(f)], ["profile", "push", str(f), "--port", "loop://"]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert "missing field(s) user_id, " in err and "hold_ms" in err
        assert "--fill-defaults" in err
    assert f.read_bytes() == before
    full = tmp_path / "full.json"
    full.write_text(json.dumps(_full_profile(max_angle_cdeg=3000)))
    assert main(["profile", "check", str(full)]) == 0
    assert "filled" not in capsys.readouterr().err


class _ProfileBoard(FakeBoard):
    """The fake board holding a real Profile (its controller is a stand-in)."""

    def __init__(self) -> None:
        super().__init__()
        self.ctrl.profile = Profile()  # type: ignore[assignment]
        self.endpoint._profile_from_bytes = Profile.from_bytes


def test_profile_push_then_show(tmp_path, capsys):
    board = _ProfileBoard()
    f = tmp_path / "p.json"
    f.write_text(json.dumps(_full_profile(max_angle_cdeg=2500, hold_ms=90000)))
    with LinkServer(board.port, board.step) as server:
        assert main(["profile", "push", str(f), "--port", server.url]) == 0
        assert "profile pushed" in capsys.readouterr().out
        assert main(["profile", "show", "--port", server.url, "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
    assert shown["max_angle_cdeg"] == 2500 and shown["hold_ms"] == 90000


def test_monitor_panel_renders_names_and_units():
    from inversa.link.message_names import TELEMETRY_FIELDS

    v = dict.fromkeys(TELEMETRY_FIELDS, 0)
    v.update(
        state=5, angle_cdeg=3000, hr_bpm=72, hr_quality_pct=90, alarm_priority=3, alarm_bits=1 << 10
    )
    text = render(tuple(v[k] for k in TELEMETRY_FIELDS), ["state idle -> hold"], {"frames": 5}, "x")
    assert "hold" in text and "+30.00 deg" in text and "72 bpm" in text
    assert "HIGH: over-limit" in text
    assert angle_bar(9000).endswith("#] head-down") and angle_bar(-9000).startswith("head-up [#")


def test_monitor_live_and_devices(capsys):
    board = FakeBoard()
    with LinkServer(board.port, board.step) as server:
        assert main(["monitor", "--port", server.url, "--duration", "0.6"]) == 0
    out = capsys.readouterr().out
    assert "angle     -60.00 deg" in out
    main(["devices", "--all"])  # whatever ports this machine has: must not fail
    capsys.readouterr()
