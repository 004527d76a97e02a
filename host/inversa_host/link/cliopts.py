"""Options shared by the link subcommands (log, monitor, profile)."""

from __future__ import annotations

import argparse
import os

DEFAULT_DB = "inversa.db"


def add_port(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--port",
        default=os.environ.get("INVERSA_PORT", "auto"),
        help="serial device, socket://host:port (virtual board), rfc2217://host:port, loop://, "
        "or auto (the one connected board; default, or $INVERSA_PORT)",
    )
    p.add_argument("--baud", type=int, default=115200, help="UART baud rate (default 115200)")


def add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default=os.environ.get("INVERSA_DB", DEFAULT_DB),
        help=f"session store (SQLite; default {DEFAULT_DB} or $INVERSA_DB)",
    )


def host_port(text: str) -> tuple[str, int]:
    """``9870`` or ``host:9870`` -> (host, port)."""
    host, _, port = text.rpartition(":")
    try:
        n = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected [HOST:]PORT, got {text!r}") from None
    if not 0 < n < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {n}")
    return (host or "127.0.0.1", n)
