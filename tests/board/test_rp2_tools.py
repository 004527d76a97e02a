"""The emulated Pico's inputs: where the firmware image and boot ROM come from
(never from this repository), and the board's filesystem image (exactly what
`inversa deploy` copies).  Fast: no emulation."""

from __future__ import annotations

import subprocess
import sys

import pytest

from inversa.board.config import validate
from inversa_host.rp2emu.fsimage import deploy_files, littlefs_image
from inversa_host.rp2emu.tools import (
    ENV_BOOTROM,
    ENV_UF2,
    Rp2Unavailable,
    find_rp2_tools,
)


def test_missing_image_says_where_to_get_it_and_how_to_point_at_it(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_UF2, str(tmp_path / "nope.uf2"))
    with pytest.raises(Rp2Unavailable) as e:
        find_rp2_tools()
    msg = str(e.value)
    assert str(tmp_path / "nope.uf2") in msg
    assert "micropython.org/download/RPI_PICO" in msg
    assert ENV_UF2 in msg and ENV_BOOTROM in msg and "--uf2" in msg and "--bootrom" in msg


def test_explicit_paths_win_over_the_environment(monkeypatch, tmp_path):
    uf2 = tmp_path / "a.uf2"
    rom = tmp_path / "b.bin"
    uf2.write_bytes(b"x")
    rom.write_bytes(b"y")
    monkeypatch.setenv(ENV_UF2, str(tmp_path / "missing"))
    assert find_rp2_tools(uf2, rom) == (uf2, rom)


def test_sim_board_rp2040_without_the_image_fails_clearly(tmp_path):
    env = {"INVERSA_RP2_UF2": str(tmp_path / "none.uf2"), "PATH": "/usr/bin:/bin"}
    p = subprocess.run(
        [sys.executable, "-m", "inversa_host.cli", "sim", "quick_session", "--board", "rp2040"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert p.returncode == 2
    assert "RPI_PICO" in p.stderr and ENV_UF2 in p.stderr
    assert not (tmp_path / "out").exists()


def test_filesystem_image_holds_exactly_the_deploy_files():
    from littlefs import LittleFS

    cfg = validate({"board": "pico", "imu": "mpu6050", "hr": "max30102", "motor": "hbridge"}, "t")
    files = deploy_files("pico", cfg, {"/profile.bin": b"\x01\x02"})
    img = littlefs_image(files)
    assert len(img) == 1408 * 1024
    fs = LittleFS(
        block_size=4096,
        block_count=352,
        prog_size=256,
        read_size=32,
        lookahead_size=32,
        mount=False,
    )
    fs.context.buffer[:] = img
    fs.mount()
    found = {}
    for root, _dirs, names in fs.walk("/"):
        for n in names:
            path = (root.rstrip("/") + "/" + n) if root != "/" else "/" + n
            with fs.open(path, "rb") as f:
                found[path] = f.read()
    assert found == files
