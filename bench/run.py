"""Run every benchmark (bench/bench_*.py) and print where the results went.

Each benchmark prints its own table and writes bench/results/<area>.json.
``python bench/run.py sensing link`` runs only those areas.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if wanted:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
        missing = wanted - {s.stem.removeprefix("bench_") for s in scripts}
        if missing:
            known = ", ".join(
                s.stem.removeprefix("bench_") for s in sorted(HERE.glob("bench_*.py"))
            )
            print(f"no benchmark named {', '.join(sorted(missing))}; known: {known}")
            return 2
    failed = []
    for n, script in enumerate(scripts, start=1):
        print(f"\n=== [{n}/{len(scripts)}] {script.stem} ===", flush=True)
        spec = importlib.util.spec_from_file_location(script.stem, script)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        t0 = time.perf_counter()
        try:
            spec.loader.exec_module(module)
            rc = module.main()
        except Exception as e:  # report and go on with the others
            print(f"{script.stem} failed: {e!r}")
            rc = 1
        print(f"--- {script.stem}: {time.perf_counter() - t0:.1f} s", flush=True)
        if rc:
            failed.append(script.stem)
    print(f"\nresults in {HERE / 'results'}")
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
