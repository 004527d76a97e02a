"""Where a benchmark writes its JSON.

By default ``out/bench/<area>.json`` (gitignored): a run of ``make bench`` or
of one script leaves the committed reference figures in ``bench/results/``
as they are.  ``--reference`` (``bench/run.py``, ``bench_board.py``,
``bench_sensing.py``) or ``INVERSA_BENCH_REFERENCE=1`` writes them there
instead, for a commit of new figures.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "results"  # committed: the figures the README quotes
LOCAL = HERE.parent / "out" / "bench"
ENV = "INVERSA_BENCH_REFERENCE"


def results_dir(reference: bool | None = None) -> Path:
    """``reference`` None: as ``$INVERSA_BENCH_REFERENCE`` says (unset: local)."""
    if reference is None:
        reference = os.environ.get(ENV, "") not in ("", "0")
    return REFERENCE if reference else LOCAL


def results_path(name: str, reference: bool | None = None) -> Path:
    return results_dir(reference) / name
