"""The virtual board: the firmware (simulated table or bench mode, CPython or
MicroPython) behind a socket:// URL that the real host tools open.

Socket tests are loopback only, short, and wait on conditions with timeouts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inversa.link import messages as M
from inversa.link.message_names import TELEMETRY_FIELDS
from inversa_host.link.client import LinkClient
from inversa_host.link.codec import TELEMETRY, Frame
from inversa_host.sim.scenario import parse_scenario
from inversa_host.vboards.vboard import (
    PANEL_ACTIONS,
    CPythonRig,
    VBoardConfig,
    VirtualBoard,
    session_spec,
)
from inversa_world.session import SimSession

_T = {name: i for i, name in enumerate(TELEMETRY_FIELDS)}


def _collect(
    client: LinkClient, until: Callable[[list[Frame]], bool], timeout_s: float = 30.0
) -> list[Frame]:
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        frames += client.poll(0.05)
        if until(frames):
            return frames
    raise AssertionError(f"condition not met within {timeout_s} s ({len(frames)} frames)")


def _telemetry(frames: list[Frame]) -> list[tuple[int, ...]]:
    return [TELEMETRY.unpack_from(f.payload, 0) for f in frames if f.msg_type == M.MSG_TELEMETRY]


# -- behind the socket -----------------------------------------------------------


def test_host_tools_talk_to_it_as_to_a_board() -> None:
    with VirtualBoard() as vb, LinkClient.open(vb.url) as client:
        assert vb.url.startswith("socket://127.0.0.1:")
        hello = client.info()
        assert hello.board == "pico" and not hello.bench
        assert hello.limits["max_angle_cdeg"] == 9000
        frames = _collect(client, lambda fs: len(_telemetry(fs)) >= 10)
        tele = _telemetry(frames)
        # the simulated table sits at its loading stop, trusted, with our lease
        assert all(-6100 <= v[_T["angle_cdeg"]] <= -5900 for v in tele[-3:])
        assert tele[-1][_T["io_bits"]] & M.IO_HOST_LEASE
        assert all(not f.flags & M.FLAG_BENCH for f in frames)
        assert client.set_telemetry_rate(50).ok
        assert vb.error is None


def test_bench_mode_board_flags_every_frame() -> None:
    with VirtualBoard(VBoardConfig(bench=True)) as vb, LinkClient.open(vb.url) as client:
        assert client.info().bench
        frames = _collect(client, lambda fs: len(_telemetry(fs)) >= 5)
        assert frames and all(f.flags & M.FLAG_BENCH for f in frames)
        # no samples injected yet: the board does not trust an angle
        assert not _telemetry(frames)[-1][_T["io_bits"]] & M.IO_TILT_OK


def test_a_reset_at_the_table_reboots_the_firmware_behind_the_same_url() -> None:
    with VirtualBoard() as vb, LinkClient.open(vb.url) as client:
        client.info()
        _collect(client, lambda fs: len(_telemetry(fs)) >= 2)
        vb.press("power_reset")
        # a reboot says HELLO with seq 0, and telemetry goes on on the same connection
        frames = _collect(
            client, lambda fs: any(f.msg_type == M.MSG_HELLO and f.seq == 0 for f in fs)
        )
        i = next(i for i, f in enumerate(frames) if f.msg_type == M.MSG_HELLO and f.seq == 0)
        _collect(client, lambda fs: len(_telemetry(fs)) >= 3)
        assert vb.connected and i >= 0


def test_inversa_log_records_a_session_from_it(tmp_path: Path) -> None:
    from inversa_host.recording.logger import Logger
    from inversa_host.sessions.store import Store

    with VirtualBoard() as vb, Store(tmp_path / "s.db") as store:
        logger = Logger(store, vb.url)
        deadline = time.monotonic() + 60.0  # a bound on a condition, not a duration
        while time.monotonic() < deadline:
            logger.step()
            if logger.session_id is not None and logger.counters()["frames"] >= 30:
                break
        logger.close()
        sid = logger.session_id
        assert sid is not None
        rows = list(store.samples(sid))
        assert len(rows) >= 10
        s = store.session(sid)
        assert s.board == "pico"


def test_the_speed_option_runs_the_firmware_faster() -> None:
    # The pacing, on a virtual clock: at 5x a 10 ms period is 2 ms of ours.
    from inversa_host.vboards.linkserver import Pacer

    now = [100.0]
    pacer = Pacer(0.010 / 5.0, clock=lambda: now[0])
    waited = 0.0
    for _ in range(500):  # 5 s of the board's time, no work: 1 s of ours
        waited += max(0.0, pacer.next_delay())
        now[0] += max(0.0, pacer.left())
    assert waited == pytest.approx(1.0)
    # a stalled PC (2 s behind) restarts the pacing: no burst of 1000 periods
    now[0] += 2.0
    assert pacer.next_delay() < -1.0 and pacer.restarts == 1
    assert pacer.next_delay() > 0
    # and the server paces by it, the board's time going on at that speed
    with VirtualBoard(speed=5.0) as vb, LinkClient.open(vb.url) as client:
        assert vb.speed == 5.0
        client.info()
        frames = _collect(client, lambda fs: len(_telemetry(fs)) >= 60, timeout_s=60.0)
        t = [v[_T["t_ms"]] for v in _telemetry(frames)]
        assert (t[-1] - t[0]) / 1000 >= 2.9  # 60 samples at 20 Hz: 3 s of board time


@pytest.mark.mpy
@pytest.mark.parametrize("bench", [False, True])
def test_the_firmware_runs_inside_micropython_behind_the_socket(bench: bool) -> None:
    with (
        VirtualBoard(VBoardConfig(vm=True, bench=bench)) as vb,
        LinkClient.open(vb.url) as client,
    ):
        hello = client.info(timeout=3.0)
        assert hello.bench == bench and hello.board == "pico"
        frames = _collect(client, lambda fs: len(_telemetry(fs)) >= 5, timeout_s=60.0)
        if not bench:
            assert -6100 <= _telemetry(frames)[-1][_T["angle_cdeg"]] <= -5900
        assert vb.error is None


# -- the rig, without a socket ---------------------------------------------------------


def test_panel_actions_reach_the_firmwares_inputs() -> None:
    rig = CPythonRig(VBoardConfig(bench=True))
    try:
        app = rig.rig.app
        rig.exchange(b"", True, [], 200)
        assert not app.inp.estop_pressed
        rig.exchange(b"", True, ["press_estop"], 200)
        assert app.inp.estop_pressed
        rig.exchange(b"", True, ["release_estop", "hold_down"], 200)
        assert not app.inp.estop_pressed and app.inp.hold_down
        rig.exchange(b"", True, ["release_down"], 200)
        assert not app.inp.hold_down
    finally:
        rig.close()


def test_simulated_table_rig_takes_the_panel_too() -> None:
    rig = CPythonRig(VBoardConfig())
    try:
        s = rig.rig
        assert isinstance(s, SimSession)
        rig.exchange(b"", True, ["hold_down"], 100)
        assert s.panel.holding_down and s.app.inp.hold_down
    finally:
        rig.close()


def test_unknown_panel_action_is_refused() -> None:
    vb = VirtualBoard()
    try:
        with pytest.raises(ValueError, match="unknown panel action"):
            vb.press("fly")
        assert set(PANEL_ACTIONS) >= {"press_start", "hold_down", "press_estop", "power_reset"}
    finally:
        vb.stop()


def test_a_bench_board_takes_no_scenario() -> None:
    sc = parse_scenario('[scenario]\nname = "x"\nduration_s = 5\ntable = "motorized"\n')
    with pytest.raises(ValueError, match="inversa bench"):
        VirtualBoard(VBoardConfig(bench=True, scenario=sc))


def test_scenario_host_events_are_left_to_the_real_host() -> None:
    sc = parse_scenario(
        '[scenario]\nname = "x"\nduration_s = 60\ntable = "motorized"\n'
        '[[events]]\nt_s = 1\naction = "host_start"\n'
        '[[events]]\nt_s = 2\naction = "hold_down"\n'
        '[[events]]\nt_s = 3\naction = "host_silent"\n'
    )
    cfg = VBoardConfig(scenario=sc)
    spec = session_spec(cfg)
    assert [e[1] for e in spec["events"]] == ["hold_down"]
    assert len(cfg.notes) == 2 and "host_start" in cfg.notes[0]
    assert spec["virtual_host"] is False and spec["host_connected"] is False
    assert spec["duration_ms"] > 10 * 24 * 3600 * 1000  # runs until stopped


def _lease_after(spec_extra: dict[str, Any], tmp_path: Path) -> bool:
    spec = session_spec(VBoardConfig())
    spec.update(spec_extra)
    s = SimSession(spec, str(tmp_path))
    s.run_for(3000)
    assert s.app.link is not None
    return s.app.link.lease_ok


def test_the_sessions_virtual_host_can_be_switched_off(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # with its virtual host the session keeps its own lease ...
    assert _lease_after({"virtual_host": True, "host_connected": True}, tmp_path / "a")
    # ... without it, nobody on the port means no lease
    assert not _lease_after({"virtual_host": False, "host_connected": True}, tmp_path / "b")


# -- the command ---------------------------------------------------------------


def test_vboard_command_prints_the_url_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    from inversa_host.cli import main

    assert main(["vboard", "--duration", "0.3", "--no-console"]) == 0
    out = capsys.readouterr().out
    assert "socket://127.0.0.1:" in out and "inversa log --port socket://" in out


def test_vboard_command_refuses_bench_with_a_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    from inversa_host.cli import main

    assert main(["vboard", "--bench", "--scenario", "beginner", "--duration", "0.1"]) == 2
    assert "inversa bench" in capsys.readouterr().err


def test_console_words_map_to_panel_actions() -> None:
    from inversa_host.commands.vboard import console_actions

    assert console_actions("down\n") == ("hold_down",)
    assert console_actions(" Release ") == ("release_down", "release_up")
    assert console_actions("press_estop") == ("press_estop",)
    assert console_actions("jump") is None


@pytest.mark.mpy
def test_after_a_hard_reset_the_repl_board_runs_the_firmware_its_board_json_names() -> None:
    # The REPL board (deploy's side) hands over to this firmware rig when
    # reset, as a board runs main.py: deploy, reset, then the link speaks.
    import socket

    from inversa_host.vboards.repl import ReplBoard, VirtualHardware
    from inversa_host.vboards.vboard import LinkApp, link_app_for

    rb = ReplBoard(hardware=VirtualHardware.healthy("pico"), app=link_app_for).start()
    try:
        rb.exec(
            'f = open(\'/board.json\', \'w\'); f.write(\'{"board": "pico", "imu": "lsm6dsox", '
            '"hr": "none", "motor": "none", "bench": true}\'); f.close()'
        )
        host, port = rb.url[len("socket://") :].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"\r\x03\x03import machine\r\nmachine.reset()\r\n")
            # wait for what is asserted (the application running), not for the
            # reset counter, which moves before the application is built
            deadline = time.monotonic() + 30.0
            while not rb.running_app and time.monotonic() < deadline:
                time.sleep(0.02)
        assert rb.hard_resets == 1 and rb.running_app, rb.boot_error
        app = rb._rig
        assert isinstance(app, LinkApp)
        assert app.cfg.bench and app.cfg.imu == "lsm6dsox" and app.cfg.table == "manual"
        with LinkClient.open(rb.url) as client:
            hello = client.info(timeout=3.0)
            assert hello.bench and hello.board == "pico"
    finally:
        rb.close()
