"""The panel's one read of every input on an RP2040 (app_build.build_panel
sets the Panel its word; drivers/buttons.py; issue 10): the word's mask
covers every input pin of the board table, so no input can change unseen;
other platforms read each pin alone.  (That one read and the reads pin by
pin give the same ControlInputs: tests/mpy/test_drv_fastpaths.py.)"""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import pytest

from inversa.app_build import build_panel
from inversa.board.boards import ACTIVE_LEVEL, BOARDS, IN, SIGNALS


class _Pin:
    def value(self) -> int:
        return 0


def _board(name: str) -> SimpleNamespace:
    b = SimpleNamespace(
        cfg=SimpleNamespace(board_def=BOARDS[name]),
        machine=SimpleNamespace(mem32="mem32"),
        active_level=ACTIVE_LEVEL,
    )
    for n, kind in SIGNALS:
        if kind == IN:
            setattr(b, n, _Pin())
    return b


@pytest.mark.parametrize("name", ["pico", "pico2"])
def test_the_word_mask_covers_every_input_pin(name: str, monkeypatch) -> None:
    monkeypatch.setattr(sys, "platform", "rp2")
    p: Any = build_panel(_board(name))  # (the word's address and mask: on an RP2040 only)
    pins = BOARDS[name]["pins"]
    inputs = [n for n, kind in SIGNALS if kind == IN]
    assert len(inputs) == 10
    assert p.mem32 == "mem32" and 0xD0000004 in vars(p).values()  # RP2040 SIO GPIO_IN
    assert p._mask == sum(1 << pins[n] for n in inputs)
    assert bin(p._mask).count("1") == len(inputs)  # ten distinct pins
    assert p._mask < 1 << 30  # GPIO_IN bits 0-29: a small int, no allocation


def test_other_platforms_read_each_pin(monkeypatch) -> None:
    monkeypatch.setattr(sys, "platform", "esp32")
    assert build_panel(_board("esp32")).mem32 is None
