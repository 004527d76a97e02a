"""Deploy gets into a board whose control loop runs by asking it for
maintenance over the link (Ctrl-C is off and the watchdog cannot stop)."""

from __future__ import annotations

import time

from inversa_host.boardtools.deploy import enter_maintenance
from inversa_host.vboards.vboard import VirtualBoard


def test_running_firmware_reboots_into_maintenance_when_idle() -> None:
    said: list[str] = []
    with VirtualBoard() as vb:
        session = vb.app.rig.rig  # the SimSession behind the socket
        deadline = (
            time.monotonic() + 600
        )  # a bound on a condition (the flash build is slow on a loaded PC)
        while session.app is not None and session.app.ctrl.state == 0:  # self-test
            assert time.monotonic() < deadline, "the virtual board never left its self-test"
            time.sleep(0.05)
        assert enter_maintenance(vb.url, said.append, timeout_s=1.0)
        deadline = (
            time.monotonic() + 600
        )  # a bound on a condition (the flash build is slow on a loaded PC)
        while not session.in_maintenance:
            assert time.monotonic() < deadline, "the board did not reboot into maintenance"
            time.sleep(0.05)
    assert any("maintenance" in s for s in said)


def test_no_firmware_on_the_port_means_no_maintenance_needed() -> None:
    # Nothing listens there: a board without our firmware (or no board).
    assert not enter_maintenance("socket://127.0.0.1:9", lambda s: None, timeout_s=0.2)


def test_after_maintenance_the_repl_answers_and_a_power_reset_brings_the_firmware_back() -> None:
    # A valid maintenance frame (a host's, or a random one) must not leave a
    # silent board: the REPL answers on the same URL, and a reset at the
    # table boots the firmware again, which says HELLO.
    from inversa_host.link.client import LinkClient

    with VirtualBoard() as vb:
        session = vb.app.rig.rig
        deadline = (
            time.monotonic() + 600
        )  # a bound on a condition (the flash build is slow on a loaded PC)
        while not enter_maintenance(vb.url, lambda s: None, timeout_s=1.0):
            assert time.monotonic() < deadline, "the board never agreed to maintenance"
        while not vb.at_repl:
            assert time.monotonic() < deadline, "the board did not reboot into maintenance"
            time.sleep(0.05)
        assert session.in_maintenance and vb.app.maintenance_boots == 1
        vb.press("power_reset")
        while vb.at_repl:
            assert time.monotonic() < deadline, "the power reset did not boot the firmware"
            time.sleep(0.05)
        with LinkClient.open(vb.url) as client:
            assert client.info(timeout=3.0).board == "pico"
        assert vb.error is None and vb.app.firmware_boots == 1


def test_a_time_scale_outside_its_range_is_refused_before_the_port_is_touched(
    capsys,
) -> None:
    # --time-scale stretches every wait for a board slower than real time (the
    # emulated Pico); 0 or a negative value would make every wait end at once.
    from inversa_host.cli import main

    for cmd in (["deploy", "--board", "pico"], ["doctor"]):
        for bad in ("0", "-3", "5000"):
            code = main([*cmd, "--port", "socket://127.0.0.1:9", "--time-scale", bad])
            err = capsys.readouterr().err
            assert code == 2, (cmd, bad, err)
            assert "--time-scale" in err and "1-1000" in err and "cannot open" not in err
