"""The one console command, ``inversa``, with a subcommand per host tool.

Each module in ``inversa_host.commands`` adds its own subcommand through a
``register(subparsers)`` function that sets ``func`` (taking the parsed
arguments, returning an exit code), so a tool lives in one file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sqlite3
import sys
from collections.abc import Sequence

from inversa import VERSION

from . import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inversa",
        description="Host tools for the Inversa inversion-table controller.",
    )
    parser.add_argument("--version", action="version", version=f"inversa {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    from .store import StoreError

    try:
        return int(func(args) or 0)
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except sqlite3.Error as e:  # a store that fails while being read (damaged pages)
        print(
            f"error: the session store failed ({e}); if it is damaged, move it aside and "
            "record into a new --db",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
