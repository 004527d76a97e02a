"""Pytest plugin: every test module in tests/mpy also runs inside MicroPython.

pytest collects ``tests/mpy/test_*.py`` as usual (the CPython run) and this
plugin adds one more item per test function, ``test_name[mpy]``, marked
``mpy``, whose outcome comes from running the same module inside the
MicroPython WebAssembly interpreter.  Each module runs once, in a fresh
interpreter holding the firmware at /lib, the ``machine`` stand-in, the
MicroPython-compatible simulated world and the tests/mpy helpers.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests: CI runs a fixed set of examples (a red CI must mean a
# change broke something, not that a new random example was drawn); a
# developer's run draws new ones each time (two real controller bugs were
# found that way), and `HYPOTHESIS_PROFILE=explore` draws more where a test
# does not set its own count.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif os.environ.get("CI"):
    settings.load_profile("ci")

MPY_TESTS = Path(__file__).parent / "mpy"


def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("test_")
        and file_path.parent == MPY_TESTS
    ):
        return MpyModule.from_parent(parent, path=file_path)
    return None


class MpyModule(pytest.File):
    def collect(self):
        tree = ast.parse(self.path.read_text(encoding="utf-8"))
        names = [
            n.name
            for n in tree.body
            if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
        ]
        self._names = names
        self._results: dict[str, tuple[str, str]] | None = None
        for name in names:
            item = MpyItem.from_parent(self, name=f"{name}[mpy]", func=name)
            item.add_marker(pytest.mark.mpy)
            yield item

    def results(self) -> dict[str, tuple[str, str]]:
        if self._results is None:
            from mpy_harness import run_module

            self._results = run_module(self.path, self._names)
        return self._results


class MpyItem(pytest.Item):
    def __init__(self, *, func: str, **kw):
        super().__init__(**kw)
        self.func = func

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, MpyModule)
        outcome, detail = parent.results().get(self.func, ("FAIL", "no result reported"))
        if outcome == "SKIP":
            pytest.skip(detail)
        if outcome != "PASS":
            raise MpyFailure(detail)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, MpyFailure):
            return "inside MicroPython:\n" + str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"{self.func} (MicroPython)"


class MpyFailure(Exception):
    pass


def pytest_collection_modifyitems(config, items) -> None:
    # Reports carry user properties (also across xdist workers), not markers.
    for item in items:
        if item.get_closest_marker("mpy") is not None:
            item.user_properties.append(("interpreter", "MicroPython"))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """One line per interpreter, so the log shows both runs at a glance."""
    counts: dict[str, dict[str, int]] = {"CPython": {}, "MicroPython": {}}
    for outcome in ("passed", "failed", "skipped", "error"):
        for rep in terminalreporter.stats.get(outcome, []):
            when = getattr(rep, "when", "call")
            if when != "call" and not (outcome in ("skipped", "error") and when == "setup"):
                continue
            props = dict(getattr(rep, "user_properties", []))
            where = props.get("interpreter", "CPython")
            counts[where][outcome] = counts[where].get(outcome, 0) + 1
    for where, c in counts.items():
        parts = ", ".join(f"{n} {k}" for k, n in sorted(c.items())) or "none"
        terminalreporter.write_line(f"{where} tests: {parts}")
