"""The MicroPython runs' assert rewriting (tests/mpy_runner.py): a failed
comparison says both values, and every line keeps its number."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "mpy"))
from mpy_runner import rewrite_asserts

SRC = """def t_eq(v):
    assert v == [1, 3], "lists"

def t_multi(v):
    assert (
        v
        < 3
    ), "multi-line %d" % 7  # a comment stays

def t_in(v):
    assert v not in (1, 2)

def t_chain(v):
    assert 0 < v < 3

def t_line():
    import sys
    return sys._getframe().f_lineno
"""


def _load(text: str) -> dict:
    ns: dict = {}
    exec(compile(text, "<rewritten>", "exec"), ns)
    return ns


def test_failed_comparisons_show_both_values_and_the_message() -> None:
    ns = _load(rewrite_asserts(SRC))
    with pytest.raises(AssertionError, match=r"^\[1, 2\] == \[1, 3\]: lists$"):
        ns["t_eq"]([1, 2])
    with pytest.raises(AssertionError, match=r"^5 < 3: multi-line 7$"):
        ns["t_multi"](5)
    with pytest.raises(AssertionError, match=r"^2 not in \(1, 2\)$"):
        ns["t_in"](2)
    ns["t_eq"]([1, 3])  # passing asserts pass
    ns["t_multi"](2)
    ns["t_in"](5)


def test_lines_keep_their_numbers_and_other_asserts_stay() -> None:
    out = rewrite_asserts(SRC)
    assert out.splitlines()[: len(SRC.splitlines())][-1] == SRC.splitlines()[-1]
    assert _load(out)["t_line"]() == _load(SRC)["t_line"]()
    assert "assert 0 < v < 3" in out  # a chained comparison is left to assert
    assert out.count("_inversa_cmp((") == 3
