"""The one console command, ``inversa``, with a subcommand per host tool.

Each module in ``inversa_host.commands`` adds its own subcommand through a
``register(subparsers)`` function that sets ``func`` (taking the parsed
arguments, returning an exit code), so a tool lives in one file.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import sqlite3
import sys
from collections.abc import Sequence

from inversa import VERSION
from inversa_host import commands


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
            before = set(sub.choices)
            register(sub)
            for name in set(sub.choices) - before:
                _describe(sub.choices[name], module.__doc__)
    return parser


def _describe(p: argparse.ArgumentParser, doc: str | None) -> None:
    """Every command (and sub-action) says in --help what it does: its own
    description, else its module's docstring, else its one-line help."""
    if not p.description and doc:
        p.description = inspect.cleandoc(doc).replace("``", "`")
        p.formatter_class = argparse.RawDescriptionHelpFormatter
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                if not child.description and helps.get(name):
                    child.description = str(helps[name])[:1].upper() + str(helps[name])[1:] + "."


def _stdout_gone() -> int:
    """The reader went away (`inversa export ... | head`): no traceback; the
    rest of the output goes nowhere, as with any Unix tool."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a writer cut off


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            code = _main(argv)
        except SystemExit:  # --help, or argparse's usage error: its output too
            sys.stdout.flush()
            raise
        sys.stdout.flush()  # inside the try: a closed pipe fails here, not at exit
        return code
    except BrokenPipeError:
        code = _stdout_gone()
        if argv is None:  # the console command: as a shell would report it
            raise SystemExit(code) from None
        return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    from inversa_host.outfile import OutputError
    from inversa_host.sessions.store import StoreError

    try:
        return int(func(args) or 0)
    except (StoreError, OutputError) as e:
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
