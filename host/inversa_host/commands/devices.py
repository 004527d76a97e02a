"""``inversa devices``: serial ports, with the boards recognised by USB VID/PID."""

from __future__ import annotations

import argparse
import json

from inversa_host.link.ports import list_serial_ports


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list serial ports and recognised boards")
    p.add_argument("--all", action="store_true", help="also list ports that are not a known board")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ports = [p for p in list_serial_ports() if args.all or p.board is not None]
    if args.json:
        print(json.dumps([p.__dict__ for p in ports], indent=2))
        return 0
    if not ports:
        print("no board found" + ("" if args.all else " (--all lists every serial port)"))
        return 1
    for p in ports:
        ids = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None and p.pid is not None else "-"
        what = p.board or p.description
        sn = f" serial {p.serial_number}" if p.serial_number else ""
        print(f"{p.device:<20} {ids:<10} {what}{sn}")
    return 0
