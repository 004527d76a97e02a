"""The emulated Pico's Node process and a Ctrl-C at the terminal."""

from __future__ import annotations

import io
from typing import Any

import pytest

from inversa_host.rp2emu import board as rp2board


class _FakeProc:
    def __init__(self, cmd: list[str], **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.stdin = io.BytesIO()
        self.stdout = io.BytesIO()
        self.stderr = io.BytesIO()

    def poll(self) -> int:
        return 0


def test_the_emulator_runs_in_its_own_session_so_ctrl_c_leaves_it_to_the_tool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A terminal's Ctrl-C signals the whole foreground process group: the Node
    # emulator died under `inversa vboard --board rp2040` and its link thread
    # printed "RuntimeError: the emulated Pico stopped" before "interrupted".
    made: list[_FakeProc] = []

    def popen(cmd: list[str], **kwargs: Any) -> _FakeProc:
        made.append(_FakeProc(cmd, **kwargs))
        return made[-1]

    monkeypatch.setattr(rp2board, "node_and_rp2040js", lambda: "node")
    monkeypatch.setattr(rp2board, "find_rp2_tools", lambda uf2, rom: ("fw.uf2", "rom.bin"))
    monkeypatch.setattr(rp2board.subprocess, "Popen", popen)
    pico = rp2board.EmulatedPico(b"", None, rp2board.EmuClock(), [], [])
    pico.close()
    assert made[0].kwargs.get("start_new_session") is True
