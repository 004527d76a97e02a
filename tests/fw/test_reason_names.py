"""The reason codes' human text lives in inversa/reason_names.py, which the
board never imports (issue 10 item 4: ~1.3 KB of the Pico's heap)."""

from __future__ import annotations

import ast
from pathlib import Path

from inversa import reason_names, reasons

FW = Path(__file__).resolve().parents[2] / "firmware"


def test_every_reason_code_has_its_text():
    codes = {v for k, v in vars(reasons).items() if k.isupper() and isinstance(v, int)}
    assert len(codes) >= 17
    assert set(reason_names.TEXT) == codes
    assert reason_names.text(reasons.DAILY_LIMIT) == "the daily inverted-time limit is used up"
    assert reason_names.text(999) == "reason 999"


def test_no_firmware_module_imports_the_texts():
    for p in FW.rglob("*.py"):
        if p.name == "reason_names.py":
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n.endswith("reason_names") for n in names), p
