"""Deploy gets into a board whose control loop runs by asking it for
maintenance over the link (Ctrl-C is off and the watchdog cannot stop)."""

from __future__ import annotations

import time

from inversa_host.deploy import enter_maintenance
from inversa_host.vboard import VirtualBoard


def test_running_firmware_reboots_into_maintenance_when_idle() -> None:
    said: list[str] = []
    with VirtualBoard() as vb:
        session = vb.app.rig.rig  # the SimSession behind the socket
        deadline = time.monotonic() + 60  # a bound on a condition
        while session.app is not None and session.app.ctrl.state == 0:  # self-test
            assert time.monotonic() < deadline, "the virtual board never left its self-test"
            time.sleep(0.05)
        assert enter_maintenance(vb.url, said.append, timeout_s=1.0)
        deadline = time.monotonic() + 60  # a bound on a condition
        while not session.in_maintenance:
            assert time.monotonic() < deadline, "the board did not reboot into maintenance"
            time.sleep(0.05)
    assert any("maintenance" in s for s in said)


def test_no_firmware_on_the_port_means_no_maintenance_needed() -> None:
    # Nothing listens there: a board without our firmware (or no board).
    assert not enter_maintenance("socket://127.0.0.1:9", lambda s: None, timeout_s=0.2)
