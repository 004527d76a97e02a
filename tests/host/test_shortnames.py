"""A board build shortens the firmware's private names (boardtools/shortnames.py;
issue 10 item 4: ~2.2 KB less interned text on the emulated Pico).  The
folded, shortened build runs side by side with the plain one in the 32-bit
interpreter (tests/host/test_constinline.py: identical link bytes over 600
periods); here: the renaming itself, and that nothing outside the firmware
names a private name the build renames."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from inversa_host.boardtools.mpybuild import firmware_sources, module_name
from inversa_host.boardtools.shortnames import KEEP, host_tokens, plan, shorten_names
from inversa_host.vm import firmware_dir

ROOT = Path(__file__).resolve().parents[2]


def _firmware() -> dict[str, str]:
    root = firmware_dir()
    by = {module_name(p.relative_to(root)): p for p in firmware_sources(root)}
    return {k: p.read_text() for k, p in by.items() if k.split(".")[0] == "inversa"}


def test_private_names_are_renamed_alike_everywhere_and_the_rest_is_kept():
    src = {
        "inversa.a": (
            "from inversa.b import _helper\n"
            "import _thread\n"
            "class A:\n"
            "    def __init__(self):\n"
            "        self._count = 0  # _count in a comment stays\n"
            "        self.__hidden = 1\n"
            "        self._by_name = getattr(self, '_by_name', 0)\n"
            "        self._n = 2\n"
            "    def _bump(self):\n"
            "        self._count += _helper(self._count)\n"
            "        return f'{self._count}'\n"
        ),
        "inversa.b": "def _helper(x):\n    return x + 1\n",
    }
    out = shorten_names(src, keep=())
    names = plan(src)
    # _count is read in an f-string (one token before Python 3.12): kept
    assert set(names) == {"_helper", "_bump"}
    assert all(len(v) <= 3 for v in names.values())
    a = out["inversa.a"]
    assert a.count("self._count") == 4 and names["_bump"] in a
    assert f"from inversa.b import {names['_helper']}" in a
    assert f"def {names['_helper']}(x)" in out["inversa.b"]
    for kept in ("import _thread", "self.__hidden", "'_by_name'", "self._by_name", "self._n "):
        assert kept in a
    assert a.count("\n") == src["inversa.a"].count("\n")  # lines stay put
    ns: dict = {}
    exec(compile(out["inversa.b"], "b", "exec"), ns)
    assert ns[names["_helper"]](1) == 2


def test_nothing_outside_the_firmware_names_a_renamed_private_name():
    # a probe text run on the board (bench/, tests/) would miss a renamed name:
    # every private name in their strings is kept (KEEP); inversa_host's
    # words are kept at build time (host_tokens)
    names = plan(_firmware(), host_tokens())
    seen = set()
    for p in sorted((ROOT / "bench").rglob("*.py")) + sorted((ROOT / "tests").rglob("*.py")):
        if p.name == "test_shortnames.py":  # its own examples
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                hit = set(re.findall(r"[A-Za-z_]\w*", node.value)) & set(names)
                seen |= {(p.name, w) for w in hit}
    assert not seen, f"keep these in shortnames.KEEP: {sorted(seen)}"
    assert KEEP.isdisjoint(names)
    # and the firmware's own builds: every module still parses
    for text in shorten_names(_firmware(), host_tokens()).values():
        ast.parse(text)
    assert len(names) > 400
