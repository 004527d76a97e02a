"""``inversa about``: versions of the firmware, the protocol and the toolchain."""

from __future__ import annotations

import argparse
import platform

from inversa import VERSION


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("about", help="show firmware and toolchain versions")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(f"inversa firmware {VERSION}")
    print("MicroPython target 1.29.0 (mpy-cross, stubs and the WebAssembly interpreter)")
    print(f"host Python {platform.python_version()}")
    return 0
