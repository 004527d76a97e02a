"""The controller test rig for the CPython scenario and property tests.

One rig serves both runs: it lives in tests/mpy/ctl_rig.py (written in the
subset MicroPython runs, since the tests/mpy modules use it inside
MicroPython too) and is re-exported here for the tests in tests/fw.
See ctl_rig.py for the plant, its faults and the rig's methods.
"""

from __future__ import annotations

import sys
from pathlib import Path

_MPY_TESTS = str(Path(__file__).resolve().parents[1] / "mpy")
if _MPY_TESTS not in sys.path:
    sys.path.insert(0, _MPY_TESTS)

from ctl_rig import PERIOD_MS, Plant, Rig, TraceRow  # noqa: E402

__all__ = ["PERIOD_MS", "Plant", "Rig", "TraceRow"]
