"""Shared by the emulated-Pico tests: skip, with the reason, where the emulated Pico is unavailable."""

from __future__ import annotations

import pytest

from inversa_host.rp2emu.tools import Rp2Unavailable, find_rp2_tools, node_and_rp2040js


@pytest.fixture(scope="session")
def emulated_pico() -> None:
    """Skips the test when node with rp2040js, the RPI_PICO image or the boot ROM is missing
    (`make setup` installs rp2040js; the image and ROM: see README "The emulated Pico")."""
    try:
        node_and_rp2040js()
        find_rp2_tools()
    except Rp2Unavailable as e:
        pytest.skip(f"no emulated Pico: {e}")
