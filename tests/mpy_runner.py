"""What both MicroPython harnesses share (the WebAssembly VM's,
``mpy_harness.py``, and the 32-bit fixed-heap interpreter's,
``unix32_harness.py``): the runner script that imports a tests/mpy module
inside MicroPython and reports each test function, the list of test names,
and the parsing of its report lines.

    script = runner_script("test_ctl_motion", ["test_a", "test_b"])
    results = parse_results(stdout)  # name -> (PASS|FAIL|SKIP, detail)
"""

from __future__ import annotations

import ast
from pathlib import Path

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
