"""Maintenance: the only way into the REPL once the loop runs (the watchdog
cannot be stopped and the link turns Ctrl-C off), and never with a person in
a session."""

from __future__ import annotations

from pathlib import Path

from inversa import reasons
from inversa.app_boot import maintenance_requested
from inversa.control import states as S
from inversa.link import messages as M
from inversa.storage import MAINTENANCE_FILE
from inversa_host.link.codec import ACK, StreamDecoder
from inversa_world.session import SimSession


def _acks(data: bytes, cmd: int) -> list[int]:
    out = []
    for f in StreamDecoder().feed(data):
        if f.msg_type == M.MSG_ACK:
            _seq, acked, reason = ACK.unpack_from(f.payload, 0)
            if acked == cmd:
                out.append(reason)
    return out


def _session(tmp_path: Path, events: list) -> SimSession:
    return SimSession(
        {"duration_ms": 600000, "events": events, "host_connected": True, "seed": 3},
        str(tmp_path),
    )


def _stop_stuck_then_reset_at_depth(*extra: tuple) -> list:
    """A session held at depth, the STOP button stuck, then a power reset
    (campaign seed 11, timeline 28), with `extra` events before the reset."""
    return [
        (1000, "press_start", {}),
        (20000, "hold_down", {}),
        (40000, "release_down", {}),
        (45000, "button_stuck", {"button": "stop"}),
        *extra,
        (45200, "power_reset", {}),
    ]


def test_maintenance_when_idle_acks_then_reboots_into_the_repl(tmp_path: Path) -> None:
    s = _session(tmp_path, [])
    s.run_for(3000)
    assert s.app is not None and s.app.ctrl.state == S.IDLE
    s._host_send(M.CMD_MAINTENANCE, b"")
    s.run_for(100)
    tx = s.take_tx()
    assert reasons.OK in _acks(tx, M.CMD_MAINTENANCE)  # answered before the reset
    s.run_for(500)
    assert s.in_maintenance and s.app is None and s.boots == 2
    # Outputs as the board builder left them: motor off, brake engaged.
    pins = s.cfg.board_def["pins"]
    assert s.machine.pins[pins["motor_en"]].level == 0
    assert s.machine.pins[pins["brake"]].level == 0
    assert not (tmp_path / MAINTENANCE_FILE).exists()  # used once


def test_maintenance_is_refused_in_a_session(tmp_path: Path) -> None:
    s = _session(tmp_path, [(1000, "press_start", {}), (20000, "hold_down", {})])
    s.run_for(40000)
    assert s.app is not None and s.app.ctrl.state in (S.DESCENT, S.HOLD)
    s.take_tx()
    s._host_send(M.CMD_MAINTENANCE, b"")
    s.run_for(1000)
    assert reasons.WRONG_STATE in _acks(s.take_tx(), M.CMD_MAINTENANCE)
    assert not s.in_maintenance and s.boots == 1
    assert not (tmp_path / MAINTENANCE_FILE).exists()


def test_boot_mark_is_used_once(tmp_path: Path) -> None:
    assert not maintenance_requested(str(tmp_path))
    (tmp_path / MAINTENANCE_FILE).write_text("1")
    assert maintenance_requested(str(tmp_path))
    assert not maintenance_requested(str(tmp_path))


def test_stop_held_at_boot_asks_for_maintenance_only_with_the_table_idle(
    tmp_path: Path,
) -> None:
    # STOP held while the board powers up at the loading position: once the
    # controller is idle it asks for maintenance as the host's command does.
    s = _session(tmp_path, [(1000, "button_stuck", {"button": "stop"}), (2000, "power_reset", {})])
    s.run_for(40000)  # the boot's rest near horizontal, then idle
    assert s.in_maintenance and s.app is None


def test_a_stuck_stop_at_a_reset_mid_session_does_not_leave_the_person_inverted(
    tmp_path: Path,
) -> None:
    # Found by `inversa sim --campaign 300 --seed 11` (timeline 28): the STOP
    # button stuck and a reset while the person hangs at depth sent the boot
    # into maintenance (no control loop): the person stayed at 27 deg.
    s = _session(tmp_path, _stop_stuck_then_reset_at_depth())
    s.run_for(60000)
    assert not s.in_maintenance and s.app is not None
    assert s.app.ctrl.state not in (S.IDLE, S.DONE)  # a return is under way


def test_a_maintenance_refused_for_storage_leaves_no_mark(tmp_path: Path, monkeypatch) -> None:
    # Issue 14: a refused command changes nothing.  The mark file is created
    # but its write fails: the refusal must not leave it behind for the next boot.
    import builtins

    import inversa.app as app_module

    s = _session(tmp_path, [])
    s.run_for(3000)
    assert s.app is not None and s.app.ctrl.state == S.IDLE
    real_open = builtins.open

    class _Failing:
        def __init__(self, path: str, mode: str) -> None:
            self._f = real_open(path, mode)

        def __enter__(self) -> _Failing:
            return self

        def __exit__(self, *exc: object) -> None:
            self._f.close()

        def write(self, _data: str) -> int:
            raise OSError(28, "no space left on device")

    monkeypatch.setattr(app_module, "open", _Failing, raising=False)
    assert s.app.request_maintenance() == reasons.STORAGE_ERROR
    monkeypatch.undo()
    assert not (tmp_path / MAINTENANCE_FILE).exists()
    s.run_for(500)
    assert not s.in_maintenance and s.boots == 1


def test_a_stuck_stop_at_a_reset_with_the_imu_gone_does_not_enter_maintenance(
    tmp_path: Path,
) -> None:
    # Campaign seed 11, timeline 28, the kind: after a reset with the IMU gone
    # the controller idles with the angle unknown; that is no proof that
    # nobody hangs inverted, so neither STOP held nor the host's command may
    # take the board into maintenance.
    s = _session(tmp_path, _stop_stuck_then_reset_at_depth((45100, "imu_disconnect", {})))
    s.run_for(60000)
    assert not s.in_maintenance and s.app is not None
    s.take_tx()
    s._host_send(M.CMD_MAINTENANCE, b"")
    s.run_for(1000)
    assert reasons.WRONG_STATE in _acks(s.take_tx(), M.CMD_MAINTENANCE)
    assert not s.in_maintenance and s.boots == 2
