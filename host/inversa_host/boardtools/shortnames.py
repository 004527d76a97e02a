"""Shorten the firmware's private names in a board build.

On a board that runs ``.mpy`` files from RAM every name the code uses (a
global, an attribute, a function, an argument) is interned when its module
loads and never freed: ~500 of the firmware's ~1,220 names are private
(``_poll_imu``, ``self._tele_next``), ~4.2 KB of text.  A board build renames
each of them to a short one (``_a``, ``_b``, ... ``_aZ``), the same everywhere
in the package, so an attribute set in one module and read in another still
meets; the count of names (and so MicroPython's qstr pools) stays, the text
shrinks (issue 10 item 4).  The sources, CPython, the tests and the host keep
the names; a traceback on the board then names a private function by its
short name (``inversa deploy --debug-lines`` keeps them, with the lines).

Conservative: a name is left alone when it is a dunder or mangled
(``__x``), when it is already short, when some string in the firmware
equals it (``getattr(o, "_x")``) or an f-string reads it, when it names a
module, or when code that
runs on the board but lives outside the package may use it: the host's
probe texts and the VM's stand-ins (every token of ``inversa_host``, which
ships with the deploy tool) and ``KEEP``.  Edits stay on their line, so a
traceback with ``--debug-lines`` still points at the source line.

Usage::

    out = shorten_names({"inversa.app": src, ...}, keep=host_tokens())
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
from collections.abc import Iterable
from pathlib import Path

# Private names that texts outside inversa_host name (bench/, tests/: a
# probe run on the board reads imath._ATAN, say); tests/host/test_shortnames.py
# checks that every such name is here.
KEEP: frozenset[str] = frozenset(
    (
        "_ATAN",
        "_B_ESTOP",
        "_FIELDS",
        "_FMT",
        "_JitterIMU",
        "_LEN",
        "_MAX_RATE_CDPS",
        "_compact",
        "_near",
        "_open_board_port",
        "_prev",
        "_read_mpy",
        "_read_v",  # tests/board/test_rp2_native.py on main (the MPU-6050 twin)
        "_tx_count",
    )
)

_PRIVATE = re.compile(r"^_[A-Za-z0-9]\w*$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = _ALPHABET + "0123456789"


def _tokens(src: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(src).readline))


def _words(src: str) -> set[str]:
    """Every identifier-like word of a text, strings and comments included."""
    return set(re.findall(r"[A-Za-z_]\w*", src))


def host_tokens(root: Path | None = None) -> set[str]:
    """Every identifier-like word in the host package (``inversa_host``),
    strings included: its probe texts run on the board."""
    if root is None:
        import inversa_host

        root = Path(inversa_host.__file__).resolve().parent
    words: set[str] = set()
    for p in sorted(root.rglob("*")):
        if p.suffix in (".py", ".mjs", ".js") and "__pycache__" not in p.parts:
            words |= _words(p.read_text(encoding="utf-8", errors="replace"))
    return words


def _names(n: int, taken: set[str]) -> Iterable[str]:
    """Short private names not in ``taken``: _a.._Z, then _aa.. (n of them)."""
    made = 0
    width = 1
    while made < n:
        for i in range(len(_ALPHABET) * len(_DIGITS) ** (width - 1)):
            first, rest = divmod(i, len(_DIGITS) ** (width - 1))
            tail = ""
            for _ in range(width - 1):
                rest, d = divmod(rest, len(_DIGITS))
                tail = _DIGITS[d] + tail
            name = "_" + _ALPHABET[first % len(_ALPHABET)] + tail
            if name in taken or keyword.iskeyword(name):
                continue
            yield name
            made += 1
            if made == n:
                return
        width += 1


def plan(sources: dict[str, str], keep: Iterable[str] = ()) -> dict[str, str]:
    """{old private name: short name} for the modules' sources."""
    idents: dict[str, int] = {}
    fixed: set[str] = set(keep) | KEEP
    for src in sources.values():
        tree = ast.parse(src)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                fixed |= _words(node.value)
            elif isinstance(node, ast.JoinedStr):  # an f-string: one token before 3.12
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Name):
                        fixed.add(sub.id)
                    elif isinstance(sub, ast.Attribute):
                        fixed.add(sub.attr)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    mods.append(node.module)
                for m in mods:
                    fixed |= set(m.split("."))
                if isinstance(node, ast.ImportFrom) and not (
                    node.module and node.module.split(".")[0] == "inversa"
                ):
                    fixed |= {a.name for a in node.names}
        for tok in _tokens(src):
            if tok.type == tokenize.NAME:
                idents[tok.string] = idents.get(tok.string, 0) + 1
    todo = sorted(
        (
            n
            for n in idents
            if _PRIVATE.match(n) and not n.startswith("__") and len(n) > 3 and n not in fixed
        ),
        key=lambda n: (-idents[n], n),  # the most used get the shortest
    )
    return dict(zip(todo, _names(len(todo), set(idents) | fixed), strict=True))


def rename(src: str, names: dict[str, str]) -> str:
    """The source with every NAME token in ``names`` replaced (same lines)."""
    lines = src.splitlines(keepends=True)
    edits: dict[int, list[tuple[int, int, str]]] = {}
    for tok in _tokens(src):
        if tok.type == tokenize.NAME and tok.string in names:
            (row, a), (_, b) = tok.start, tok.end
            edits.setdefault(row, []).append((a, b, names[tok.string]))
    for row, es in edits.items():
        line = lines[row - 1]
        for a, b, new in sorted(es, reverse=True):
            line = line[:a] + new + line[b:]
        lines[row - 1] = line
    return "".join(lines)


def shorten_names(sources: dict[str, str], keep: Iterable[str] = ()) -> dict[str, str]:
    """{module name: source} -> the same modules with the private names shortened."""
    names = plan(sources, keep)
    return {k: rename(v, names) for k, v in sources.items()}
