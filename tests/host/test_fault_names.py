"""Fault and alarm names on the host are the firmware's, and a mask is never
read as a bit index (issue 13 item 1: an e-stop fault showed as
"tilt-sensor", motor run-on as "self-test", a lost pulse as "fault 32").

The expected names below are written out by hand from the firmware's rule
table (which alarm sets which F_* bit) and its FAULT_NAMES, not computed by
the code under test.
"""

from __future__ import annotations

import struct

import pytest

from inversa import events as ev
from inversa.control import alarm_names as AN
from inversa.control import alarms as A
from inversa.link import messages as M
from inversa.link.message_names import TELEMETRY_FIELDS
from inversa.link.wire import encode_frame
from inversa_host.cli import main
from inversa_host.link.codec import StreamDecoder
from inversa_host.link.names import bit_names, event_text, fault_names
from inversa_host.recording.logger import store_frames
from inversa_host.sessions.store import Store
from inversa_host.sim.runner import trace_from_store
from inversa_host.sim.trace import summarize

# alarm name -> the fault it latches (None: the alarm carries no fault bit)
FAULT_OF_ALARM = {
    "estop": "estop",
    "self-test": "self-test",
    "tilt-sensor": "tilt-sensor",
    "end-switch": "limit-switch",
    "home-timeout": "limit-switch",
    "motor-stall": "motor",
    "motor-run-on": "motor",
    "uncommanded-motion": "motor",
    "tracking-error": "motor",
    "runaway": "motor",
    "over-limit": None,
    "time-limit": None,
    "hr-high": None,
    "hr-low": None,
    "hr-rise": None,
    "hr-drop": None,
    "hr-lost": "hr-sensor",
    "host-lease": "host",
    "reboot-recovery": "reboot",
    "too-fast": None,
    "rising-too-fast": None,
    "hold-over": None,
    "no-baseline": "hr-sensor",
    "daily-limit": None,
    "mains-lost": None,
    "contactor-stuck": "estop",
    "input-stuck": "input",
    "contraindicated": None,
    "switch-fault": "limit-switch",
}

MASK_NAMES = {
    A.F_ESTOP: "estop",
    A.F_TILT: "tilt-sensor",
    A.F_MOTOR: "motor",
    A.F_SWITCH: "limit-switch",
    A.F_SELFTEST: "self-test",
    A.F_HR_SENSOR: "hr-sensor",
    A.F_REBOOT: "reboot",
    A.F_HOST: "host",
    A.F_PROFILE: "profile",
    A.F_INPUT: "input",
}


def _raise_alarm(alarm_id: int) -> list[tuple[int, int, int, int]]:
    """Drive the firmware's alarm engine with one condition until it raises."""
    log = ev.EventLog(64)
    al = A.Alarms(log)
    t = 1000
    out: list[tuple[int, int, int, int]] = []
    rec = [0, 0, 0, 0]
    while t < 200_000 and not any(k == ev.EV_ALARM_RAISED for _, k, _, _ in out):
        al.update(t, 1 << alarm_id)
        while log.pop_into(rec):
            out.append((rec[0], rec[1], rec[2], rec[3]))
        t += 50
    return out


def _through_the_wire(records: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    wire = b"".join(
        b"\x00" + encode_frame(M.MSG_EVENT, i, struct.pack(M.EVENT_FMT, *r))
        for i, r in enumerate(records)
    )
    frames = StreamDecoder().feed(wire + b"\x00")
    return [struct.unpack_from(M.EVENT_FMT, f.payload, 0) for f in frames]


def test_the_expected_table_covers_every_alarm():
    assert set(FAULT_OF_ALARM) == set(AN.ALARM_NAMES)


@pytest.mark.parametrize("alarm", sorted(FAULT_OF_ALARM))
def test_every_fault_event_is_named_right_through_the_real_encoding(alarm):
    records = _through_the_wire(_raise_alarm(AN.ALARM_NAMES.index(alarm)))
    texts = [event_text(k, c, v) for _, k, c, v in records]
    faults = [t for t in texts if t.startswith("fault")]
    assert any(t.startswith(f"alarm-raised {alarm} ") for t in texts), texts
    want = FAULT_OF_ALARM[alarm]
    if want is None:
        assert faults == []
    else:
        assert faults == [f"fault {want} (raised by alarm {alarm})"], texts


@pytest.mark.parametrize(("mask", "name"), sorted(MASK_NAMES.items()))
def test_every_fault_bit_of_a_mask_has_its_name(mask, name):
    assert fault_names(mask) == [name]
    assert bit_names(mask, "fault") == [name]
    assert event_text(ev.EV_FAULT, mask, 0).startswith(f"fault {name} ")


def test_a_mask_of_several_faults_names_each_and_unknown_bits_plainly():
    assert fault_names(A.F_ESTOP | A.F_MOTOR | A.F_HOST) == ["estop", "motor", "host"]
    assert fault_names(1 << 20) == ["fault bit 20"]
    assert event_text(ev.EV_FAULT, A.F_PROFILE, 3) == "fault profile (profile store status 3)"


def _store_with_fault(tmp_path, mask: int, alarm_id: int) -> tuple[str, int]:
    db = str(tmp_path / "s.db")
    wire = b"\x00" + encode_frame(
        M.MSG_TELEMETRY, 1, struct.pack(M.TELEMETRY_FMT, *([0] * len(TELEMETRY_FIELDS)))
    )
    wire += b"\x00" + encode_frame(
        M.MSG_EVENT, 2, struct.pack(M.EVENT_FMT, 5, ev.EV_FAULT, mask, alarm_id)
    )
    wire += b"\x00" + encode_frame(
        M.MSG_TELEMETRY, 3, struct.pack(M.TELEMETRY_FMT, 50, *([0] * (len(TELEMETRY_FIELDS) - 1)))
    )
    with Store(db) as store:
        sid = store.begin_session("test")
        store_frames(store, sid, 1000.0, StreamDecoder().feed(wire + b"\x00"))
        store.end_session(sid)
    return db, sid


def test_summaries_exports_and_reports_name_the_fault_from_its_mask(tmp_path, capsys):
    db, sid = _store_with_fault(tmp_path, A.F_ESTOP, A.A_ESTOP)
    with Store(db) as store:
        summary = summarize(trace_from_store(store, sid))
    assert summary.faults == ["estop"]
    assert main(["export", str(sid), "--db", db, "--what", "events", "--format", "jsonl"]) == 0
    out = capsys.readouterr().out
    assert "fault estop (raised by alarm estop)" in out and "tilt" not in out
    assert main(["report", str(sid), "--db", db, "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "estop" in out and "tilt" not in out


def test_an_escalated_alarm_event_names_its_level_once():
    # Found by trying the README's examples: a cleared escalated alarm read
    # "(priority priority 4)"; the engine logs levels above high once loud.
    from inversa import events as ev
    from inversa.control import alarms as A
    from inversa_host.link.names import event_text

    loud = event_text(ev.EV_ALARM_CLEARED, A.A_INPUT_STUCK, A.P_HIGH + 1)
    assert loud == "alarm-cleared input-stuck (priority high, escalated (loud))"
    assert event_text(ev.EV_ALARM_RAISED, A.A_TILT, A.P_HIGH).endswith("(priority high)")
