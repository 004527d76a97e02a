"""The harness must catch MicroPython incompatibility that CPython lets pass."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from inversa_host.vm import MicroPythonError, MicroPythonVM
from inversa_host.vm.alloc import heap_lock_check, measure_alloc
from mpy_harness import run_module

FIXTURES = Path(__file__).parent / "fixtures"


def _run_in_cpython(path: Path) -> dict[str, str]:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    outcome = {}
    for name in dir(mod):
        if name.startswith("test_"):
            getattr(mod, name)()
            outcome[name] = "PASS"
    return outcome


@pytest.mark.parametrize(
    "fixture",
    ["fixture_imports_dataclasses.py", "fixture_positional_only.py"],
)
def test_module_incompatible_with_micropython_fails_there_only(fixture: str) -> None:
    path = FIXTURES / fixture
    assert set(_run_in_cpython(path).values()) == {"PASS"}
    results = run_module(path)
    assert results, "the MicroPython run reported nothing"
    for outcome, detail in results.values():
        assert outcome == "FAIL"
        assert "import failed" in detail
        assert "Error" in detail  # MicroPython's own traceback is carried through


def test_cpython_only_method_fails_only_that_test() -> None:
    path = FIXTURES / "fixture_cpython_only_method.py"
    assert _run_in_cpython(path) == {"test_portable": "PASS", "test_removeprefix": "PASS"}
    results = run_module(path)
    assert results["test_portable"][0] == "PASS"
    outcome, detail = results["test_removeprefix"]
    assert outcome == "FAIL"
    assert "removeprefix" in detail


def test_vm_reports_micropython_traceback() -> None:
    with MicroPythonVM() as vm:
        with pytest.raises(MicroPythonError) as err:
            vm.exec("def f():\n    raise ValueError('bad angle')\nf()")
        assert "ValueError: bad angle" in err.value.traceback
        # The interpreter survives an exception and keeps its state.
        vm.exec("x = 41")
        assert vm.exec("print(x + 1)").strip() == "42"


def test_vm_is_micropython_without_machine() -> None:
    with MicroPythonVM() as vm:
        assert vm.exec("import sys; print(sys.implementation.name)").strip() == "micropython"
        with pytest.raises(MicroPythonError):
            vm.exec("import machine")
        vm.install_firmware()
        assert vm.exec("import machine; print(machine.Pin(2).value())").strip() == "0"


def test_alloc_probe_separates_int_from_float_work() -> None:
    with MicroPythonVM() as vm:
        setup = "buf = [0, 1.5]\ndef int_step():\n    buf[0] = (buf[0] + 3) & 255\ndef float_step():\n    buf[1] = buf[1] * 1.01\n"
        ints = measure_alloc(vm, setup, "int_step()", n=300)
        floats = measure_alloc(vm, setup, "float_step()", n=300)
        assert ints.bytes_per_call == 0
        assert floats.bytes_per_call >= 8  # one boxed float per call
        assert heap_lock_check(vm, "int_step()") is None
        trace = heap_lock_check(vm, "float_step()")
        assert trace is not None and "MemoryError" in trace


def test_alloc_probe_rejects_nonpositive_count() -> None:
    with MicroPythonVM() as vm, pytest.raises(ValueError):
        measure_alloc(vm, "pass", "pass", n=0)
