"""Pytest plugin: every test module in tests/mpy also runs inside MicroPython.

pytest collects ``tests/mpy/test_*.py`` as usual (the CPython run) and this
plugin adds two more items per test function: ``test_name[mpy]``, marked
``mpy``, whose outcome comes from running the same module inside the
MicroPython WebAssembly interpreter, and ``test_name[unix32]``, marked
``unix32``, from the 32-bit unix MicroPython with a fixed, board-sized heap
(tests/unix32_harness.py: 224k, a Pico's; larger only for modules that build
the simulated world, each with its reason).  Each module runs once, in a fresh
interpreter holding the firmware at /lib, the ``machine`` stand-in, the
MicroPython-compatible simulated world and the tests/mpy helpers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings
from mpy_runner import test_names

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
        names = test_names(self.path)
        self._names = names
        self._results: dict[str, tuple[str, str]] | None = None
        self._u32: dict[str, tuple[str, str]] | None = None
        for name in names:
            item = MpyItem.from_parent(self, name=f"{name}[mpy]", func=name)
            item.add_marker(pytest.mark.mpy)
            yield item
        for name in names:
            u = Unix32Item.from_parent(self, name=f"{name}[unix32]", func=name)
            u.add_marker(pytest.mark.unix32)
            yield u

    def unix32_results(self) -> dict[str, tuple[str, str]]:
        if self._u32 is None:
            from unix32_harness import Unix32Unavailable, run_module

            try:
                self._u32 = run_module(self.path, self._names)
            except Unix32Unavailable as e:
                self._u32 = {n: ("SKIP", f"no 32-bit interpreter: {e}") for n in self._names}
        return self._u32

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


class Unix32Item(MpyItem):
    """The same test in the 32-bit fixed-heap MicroPython (tests/unix32_harness.py)."""

    def runtest(self) -> None:
        from unix32_harness import XFAIL, heap_for

        parent = self.parent
        assert isinstance(parent, MpyModule)
        outcome, detail = parent.unix32_results().get(self.func, ("FAIL", "no result reported"))
        if outcome == "SKIP":
            pytest.skip(detail)
        why = XFAIL.get((self.path.stem, self.func))
        if why is not None:
            if outcome == "PASS":
                raise MpyFailure(f"expected to fail here ({why}) but passed: update XFAIL")
            pytest.xfail(why)
        if outcome != "PASS":
            heap, reason = heap_for(self.path.stem)
            raise MpyFailure(f"[heap {heap}: {reason}]\n{detail}")

    def reportinfo(self):
        return self.path, None, f"{self.func} (MicroPython unix32, fixed heap)"


def pytest_collection_modifyitems(config, items) -> None:
    # Reports carry user properties (also across xdist workers), not markers.
    for item in items:
        if item.get_closest_marker("unix32") is not None:
            item.user_properties.append(("interpreter", "MicroPython unix32"))
        elif item.get_closest_marker("mpy") is not None:
            item.user_properties.append(("interpreter", "MicroPython"))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """One line per interpreter, so the log shows both runs at a glance."""
    counts: dict[str, dict[str, int]] = {"CPython": {}, "MicroPython": {}, "MicroPython unix32": {}}
    for outcome in ("passed", "failed", "skipped", "error", "xfailed"):
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
