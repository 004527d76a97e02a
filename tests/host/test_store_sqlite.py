"""The session store: schema, batching with a bounded flush interval, counters
and summaries, device records, resumable sessions."""

from __future__ import annotations

import sqlite3

import pytest

from inversa import events as ev
from inversa.link.message_names import TELEMETRY_FIELDS
from inversa_host.sessions.store import HOST_LINK_LOST, Store


def _values(angle: int, deepest: int) -> tuple[int, ...]:
    v = dict.fromkeys(TELEMETRY_FIELDS, 0)
    v["angle_cdeg"] = angle
    v["deepest_cdeg"] = deepest
    return tuple(v[k] for k in TELEMETRY_FIELDS)


def test_wal_mode_and_schema(tmp_path):
    with Store(tmp_path / "s.db") as s:
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in s.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "samples", "events", "commands", "devices"} <= tables


def test_batched_writes_reach_the_file_within_the_flush_interval(tmp_path):
    path = tmp_path / "s.db"
    s = Store(path, flush_interval_s=0.5)
    sid = s.begin_session("test")
    s.add_sample(sid, 1.0, 0, _values(100, 100))
    other = sqlite3.connect(path)  # what a crash would leave behind
    assert other.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 0
    assert not s.maybe_flush(s._last_flush + 0.49)
    assert other.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 0
    assert s.maybe_flush(s._last_flush + 0.5)
    assert other.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 1
    other.close()
    s.close()


def test_session_summary_depth_alarms_and_counters(tmp_path):
    with Store(tmp_path / "s.db") as s:
        dev = s.upsert_device("abcd", "pico", "0.1.0", 1, {"max_angle_cdeg": 9000})
        sid = s.begin_session("socket://x", started=1000.0)
        s.set_session_device(sid, dev, "pico", "0.1.0", 0x1234, False)
        for i, a in enumerate((-6000, 1000, 3000, 2000)):
            s.add_sample(sid, 1000.0 + i, i, _values(a, max(a, 0)))
        s.add_event(sid, 1001.0, 5, 10, ev.EV_ALARM_RAISED, 10, 3)
        s.add_event(sid, 1002.0, 6, 20, ev.EV_ALARM_RAISED, 12, 2)
        s.add_event(sid, 1003.0, None, None, HOST_LINK_LOST, 0, 0, "host")
        s.update_session(sid, frames=40, lost_frames=3, crc_errors=2, last_data=1030.0)
        s.end_session(sid, ended=1060.0)
        (summary,) = s.sessions()
        assert summary.duration_s == 60.0
        assert summary.deepest_cdeg == 3000 and summary.max_angle_cdeg == 3000
        assert summary.alarms == 2 and summary.max_alarm_priority == 3
        assert summary.counters["lost_frames"] == 3 and summary.counters["crc_errors"] == 2
        assert summary.uid == "abcd" and summary.samples == 4
        assert s.device(dev) == {
            "uid": "abcd",
            "board": "pico",
            "fw_version": "0.1.0",
            "protocol": 1,
            "limits": {"max_angle_cdeg": 9000},
        }


def test_resumable_session_only_recent_and_unfinished(tmp_path):
    with Store(tmp_path / "s.db") as s:
        dev = s.upsert_device("abcd", "pico", "0.1.0", 1, {})
        old = s.begin_session("p", started=100.0)
        s.set_session_device(old, dev, "pico", "0.1.0", 0, False)
        s.update_session(old, last_data=100.0)
        s.flush()
        assert s.resumable_session(dev, 60, now=150.0) == old
        assert s.resumable_session(dev, 60, now=200.0) is None
        s.end_session(old, ended=151.0)
        assert s.resumable_session(dev, 60, now=150.0) is None


def test_same_device_is_one_row(tmp_path):
    with Store(tmp_path / "s.db") as s:
        a = s.upsert_device("abcd", "pico", "0.1.0", 1, {})
        b = s.upsert_device("abcd", "pico", "0.2.0", 1, {})
        assert a == b and s.device(a)["fw_version"] == "0.2.0"  # type: ignore[index]


def test_bad_configuration_is_refused(tmp_path):
    with pytest.raises(ValueError, match="synchronous"):
        Store(tmp_path / "s.db", synchronous="MAYBE")


def test_an_emulated_picos_session_is_a_simulation_not_the_users_history(tmp_path):
    # The emulated Pico's flash answers the unique-id read with zeros (no real
    # chip does): its sessions must not count as the user's for the planner.
    with Store(tmp_path / "s.db") as s:
        for uid in ("0000000000000000", "e6614103e7452d2f"):
            dev = s.upsert_device(uid, "pico", "0.1.0", 1, {})
            sid = s.begin_session("socket://127.0.0.1:7000")
            s.set_session_device(sid, dev, "pico", "0.1.0", 0, False)
        sources = {x.uid: x.source for x in s.sessions()}
    assert sources == {"0000000000000000": "simulation", "e6614103e7452d2f": "board"}
