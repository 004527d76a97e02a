"""Check: every firmware file compiles with mpy-cross for armv6m and xtensawin."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from inversa_host.boardtools.mpybuild import CHECK_ARCHES, compile_file, firmware_sources

ROOT = Path(__file__).resolve().parents[1] / "firmware"


def main() -> int:
    sources = firmware_sources(ROOT)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for arch in CHECK_ARCHES:
            bad = []
            for src in sources:
                res = compile_file(
                    src, Path(tmp) / arch / src.relative_to(ROOT).with_suffix(".mpy"), arch
                )
                if not res.ok:
                    bad.append(res)
            status = "ok" if not bad else f"{len(bad)} FAILED"
            print(f"mpy-cross -march={arch}: {len(sources)} files, {status}")
            for res in bad:
                print(f"  {res.source.relative_to(ROOT.parent)}: {res.error}")
            failed += len(bad)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
