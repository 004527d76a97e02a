"""``inversa vboard --board rp2040``: the host tools against the firmware on an
emulated Pico (stock MicroPython in rp2040js) behind a socket:// URL.

Short: the board boots before the URL is served, then a LinkClient gets the
handshake, the active profile and some telemetry.  Waits are bounded
conditions (the emulator runs 5-30x slower than real time).  Skipped, with the
reason, where Node/rp2040js or the firmware image/boot ROM is missing."""

from __future__ import annotations

import time

import pytest

from inversa import VERSION
from inversa.control.profile import Profile
from inversa.link import messages as M
from inversa_host.link.client import LinkClient
from inversa_host.link.codec import TELEMETRY
from inversa_host.vboards.vboard import VBoardConfig, VirtualBoard


def test_host_tools_talk_to_real_micropython_on_the_emulated_pico(emulated_pico: None) -> None:
    with VirtualBoard(VBoardConfig(emulated="rp2040")) as vb, LinkClient.open(vb.url) as client:
        # wall-clock command timeouts, stretched for a board 5-30x slower than real time
        # (and a busy machine): a bound on the answer, not a duration
        hello = client.info(timeout=15.0)
        assert hello.fw_version == VERSION and hello.board == "pico"
        assert hello.protocol == M.PROTOCOL_VERSION
        assert client.command(M.CMD_GET_PROFILE, timeout=15.0).ok and client.profile is not None
        profile = Profile.from_bytes(client.profile[1])
        assert profile.loading_cdeg == -6000, "the profile the world's flash holds"
        tele = []
        deadline = time.monotonic() + 240.0  # a bound on a condition, not a duration
        while len(tele) < 5 and time.monotonic() < deadline:
            tele += [
                TELEMETRY.unpack_from(f.payload, 0)
                for f in client.poll(0.1)
                if f.msg_type == M.MSG_TELEMETRY
            ]
        assert len(tele) >= 5, f"only {len(tele)} telemetry frames"
        # the board does not model a power cycle: refused, the board lives on
        with pytest.raises(ValueError, match="not on this board"):
            vb.press("power_reset")
        assert vb.error is None


def test_vboard_rp2040_refuses_options_it_cannot_honour(capsys: pytest.CaptureFixture[str]) -> None:
    from inversa_host.cli import main

    assert main(["vboard", "--board", "rp2040", "--bench", "--duration", "0"]) == 2
    err = capsys.readouterr().err
    assert "--board rp2040" in err and "drop" in err


def test_vboard_rp2040_without_the_image_says_where_to_get_it(
    capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    from inversa_host.cli import main

    missing = str(tmp_path / "RPI_PICO.uf2")
    assert main(["vboard", "--board", "rp2040", "--uf2", missing, "--duration", "0"]) == 2
    err = capsys.readouterr().err
    assert "micropython.org/download/RPI_PICO" in err and "INVERSA_RP2_UF2" in err
