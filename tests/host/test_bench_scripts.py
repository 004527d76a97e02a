"""`make bench` (bench/run.py) runs every bench/bench_*.py through its main():
a helper module named like a benchmark made `make bench` fail (found when
bench_sensing_real.py, a part of bench_sensing.py without a main, was run)."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_every_benchmark_script_has_a_main() -> None:
    scripts = sorted(BENCH.glob("bench_*.py"))
    assert scripts
    for script in scripts:
        tree = ast.parse(script.read_text(encoding="utf-8"))
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert "main" in names, f"{script.name}: bench/run.py calls main(); rename a helper module"
