"""The generated files in hardware/ are up to date and well formed."""

from __future__ import annotations

import importlib.util
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from inversa.board.boards import BOARDS, SIGNALS

HW = Path(__file__).resolve().parents[2] / "hardware"


def gen():
    spec = importlib.util.spec_from_file_location("gen_diagrams", HW / "gen_diagrams.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_diagrams"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_committed_files_are_what_the_generator_writes():
    g = gen()
    stale = [
        p.name
        for p, text in g.outputs().items()
        if not p.exists() or p.read_text(encoding="utf-8") != text
    ]
    assert stale == [], "run: python hardware/gen_diagrams.py"
    assert g.main(["--check"]) == 0


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_wiring_svg_is_valid_and_shows_every_pin(board):
    root = ET.parse(HW / f"wiring_{board}.svg").getroot()
    assert root.tag.endswith("svg")
    texts = [t.text or "" for t in root.iter() if t.tag.endswith("text")]
    for name, _ in SIGNALS:
        assert name in texts, name
        assert f"GPIO{BOARDS[board]['pins'][name]}" in texts, name


def test_safety_svg_shows_the_hard_wired_chain():
    root = ET.parse(HW / "safety_circuit.svg").getroot()
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for part in ("E-STOP NC block 1", "K1 coil", "Overtravel", "K1 main contacts", "RESET"):
        assert part in text, part


def test_check_mode_detects_a_stale_file(tmp_path, monkeypatch):
    g = gen()
    for p, text in g.outputs().items():
        (tmp_path / p.name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(g, "HERE", tmp_path)
    assert g.main(["--check"]) == 0
    (tmp_path / "pins_pico.md").write_text("edited by hand\n", encoding="utf-8")
    assert g.main(["--check"]) == 1
