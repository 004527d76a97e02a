"""What both MicroPython harnesses share (the WebAssembly VM's,
``mpy_harness.py``, and the 32-bit fixed-heap interpreter's,
``unix32_harness.py``): the runner script that imports a tests/mpy module
inside MicroPython and reports each test function, the list of test names,
and the parsing of its report lines.

    script = runner_script("test_ctl_motion", ["test_a", "test_b"])
    results = parse_results(stdout)  # name -> (PASS|FAIL|SKIP, detail)
    text = module_source(path)  # a test module, its asserts showing values

MicroPython has no assertion rewriting: a failed ``assert a == b`` says only
file and line.  ``module_source`` rewrites each single comparison in an
``assert`` into ``mpyunit.check_cmp(a, "==", b, msg)``, which fails with
both values, keeping every line where it was (tracebacks still point at the
test's own lines).  The CPython run is pytest's, untouched.
"""

from __future__ import annotations

import ast
from pathlib import Path

_OPS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_CMP = "_inversa_cmp"


def rewrite_asserts(text: str) -> str:
    """`text` with every ``assert A <op> B[, msg]`` (one comparison) made a
    call that reports both values when it fails; lines keep their numbers."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln))
    edits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assert):
            continue
        t = node.test
        if not (isinstance(t, ast.Compare) and len(t.ops) == 1 and type(t.ops[0]) in _OPS):
            continue
        if node.end_lineno is None or node.end_col_offset is None:
            continue
        left = ast.get_source_segment(text, t.left)
        right = ast.get_source_segment(text, t.comparators[0])
        msg = ast.get_source_segment(text, node.msg) if node.msg is not None else "None"
        if left is None or right is None or msg is None:
            continue
        a = starts[node.lineno - 1] + len(
            lines[node.lineno - 1].encode()[: node.col_offset].decode()
        )
        b = starts[node.end_lineno - 1] + len(
            lines[node.end_lineno - 1].encode()[: node.end_col_offset].decode()
        )
        new = f"{_CMP}(({left}), {_OPS[type(t.ops[0])]!r}, ({right}), ({msg}))"
        new += "\n" * (text.count("\n", a, b) - new.count("\n"))
        edits.append((a, b, new))
    for a, b, new in sorted(edits, reverse=True):
        text = text[:a] + new + text[b:]
    # Bound at the end, so no line above moves (tests run after the import).
    return text + f"\nfrom mpyunit import check_cmp as {_CMP}\n"


def module_source(path: Path) -> str:
    """The text of a tests/mpy module as MicroPython runs it: test modules
    with their asserts rewritten (``rewrite_asserts``), helpers as they are."""
    text = path.read_text(encoding="utf-8")
    return rewrite_asserts(text) if path.name.startswith("test_") else text


_RUNNER = """
import sys, io
if '/tests' not in sys.path:
    sys.path.insert(0, '/tests')
def __report(name, outcome, detail):
    print('@@RESULT ' + name + ' ' + outcome + ' ' + repr(detail))
try:
    __mod = __import__({module!r})
except BaseException as __e:
    __s = io.StringIO()
    sys.print_exception(__e, __s)
    for __n in {names!r}:
        __report(__n, 'FAIL', 'import failed:\\n' + __s.getvalue())
else:
    import mpyunit
    for __n in {names!r}:
        try:
            getattr(__mod, __n)()
            __report(__n, 'PASS', '')
        except mpyunit.SkipTest as __e:
            __report(__n, 'SKIP', str(__e))
        except BaseException as __e:
            __s = io.StringIO()
            sys.print_exception(__e, __s)
            __report(__n, 'FAIL', __s.getvalue())
"""


def runner_script(module: str, names: list[str]) -> str:
    """MicroPython source that runs `names` of tests/mpy module `module`."""
    return _RUNNER.format(module=module, names=names)


def test_names(path: Path) -> list[str]:
    """The module's top-level ``test_*`` functions, in file order."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
    ]


def parse_results(stdout: str) -> dict[str, tuple[str, str]]:
    """The runner's report lines: name -> (PASS|FAIL|SKIP, detail)."""
    results: dict[str, tuple[str, str]] = {}
    for line in stdout.splitlines():
        if line.startswith("@@RESULT "):
            _, name, outcome, detail = line.split(" ", 3)
            results[name] = (outcome, ast.literal_eval(detail))
    return results
