"""Run every benchmark (bench/bench_*.py) and print where the results went.

Each benchmark prints its own table and writes out/bench/<area>.json; the
committed reference figures in bench/results/ stay as they are unless
``--reference`` is given (then they are replaced, for a commit).
``python bench/run.py sensing link`` runs only those areas.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    import outdir

    reference = "--reference" in argv
    wanted = {a for a in argv if a != "--reference"}
    if reference:  # read by each benchmark's outdir.results_path
        os.environ[outdir.ENV] = "1"
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
    where = outdir.results_dir(reference)
    print(f"\nresults in {where}")
    if not reference:
        print(
            f"(the committed reference figures in {outdir.REFERENCE} are unchanged; "
            "`--reference` writes there)"
        )
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
