"""Runs a MicroPython-compatible test module inside the WebAssembly interpreter.

Used by the pytest plugin in conftest.py and by the harness's own tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

from inversa_host.vm import MicroPythonError, MicroPythonVM, repo_root

MPY_TESTS = Path(__file__).parent / "mpy"

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


def prepare_vm(vm: MicroPythonVM, extra_dirs: tuple[Path, ...] = ()) -> None:
    """Install firmware, the machine stand-in, the simulated world and test helpers."""
    vm.install_firmware()
    world = repo_root() / "host" / "inversa_world"
    if world.is_dir():
        vm.put_tree(world, "/lib/inversa_world")
    for f in sorted(MPY_TESTS.glob("*.py")):
        if not f.name.startswith("test_"):
            vm.write_file(f"/tests/{f.name}", f.read_text(encoding="utf-8"))
    for d in extra_dirs:
        for f in sorted(d.glob("*.py")):
            if not f.name.startswith("test_"):
                vm.write_file(f"/tests/{f.name}", f.read_text(encoding="utf-8"))


def test_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
    ]


def run_module(path: Path, names: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """Run the test functions of ``path`` inside MicroPython: name -> (PASS|FAIL|SKIP, detail)."""
    if names is None:
        names = test_names(path)
    with MicroPythonVM() as vm:
        prepare_vm(vm, (path.parent,))
        vm.write_file(f"/tests/{path.name}", path.read_text(encoding="utf-8"))
        try:
            out = vm.exec(_RUNNER.format(module=path.stem, names=names))
        except MicroPythonError as e:
            return {n: ("FAIL", "runner failed:\n" + e.traceback) for n in names}
    results: dict[str, tuple[str, str]] = {}
    for line in out.splitlines():
        if line.startswith("@@RESULT "):
            _, name, outcome, detail = line.split(" ", 3)
            results[name] = (outcome, ast.literal_eval(detail))
    return results
