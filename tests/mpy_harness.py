"""Runs a MicroPython-compatible test module inside the WebAssembly interpreter.

Used by the pytest plugin in conftest.py and by the harness's own tests.
"""

from __future__ import annotations

from pathlib import Path

from mpy_runner import module_source, parse_results, runner_script, test_names

from inversa_host.vm import MicroPythonError, MicroPythonVM, repo_root

__all__ = ["prepare_vm", "run_module", "test_names"]

MPY_TESTS = Path(__file__).parent / "mpy"


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


def run_module(path: Path, names: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """Run the test functions of ``path`` inside MicroPython: name -> (PASS|FAIL|SKIP, detail)."""
    if names is None:
        names = test_names(path)
    with MicroPythonVM() as vm:
        prepare_vm(vm, (path.parent,))
        vm.write_file(f"/tests/{path.name}", module_source(path))
        try:
            out = vm.exec(runner_script(path.stem, names))
        except MicroPythonError as e:
            return {n: ("FAIL", "runner failed:\n" + e.traceback) for n in names}
    return parse_results(out)
