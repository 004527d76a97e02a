"""``inversa doctor``: check a connected board and say what to fix."""

from __future__ import annotations

import argparse
import sys

from inversa_host.commands.deploy import add_time_scale_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check a connected board: firmware, sensors, e-stop, limits, calibration",
        description=(
            "Stops the running firmware, checks the board with the table empty at its "
            "loading position, then resets it. Every failed check says what to check."
        ),
    )
    p.add_argument("--port", required=True, help="serial device or URL (socket://host:port)")
    p.add_argument("--no-reset", action="store_true", help="leave the board at the REPL")
    p.add_argument("--handshake", action="store_true", help="after the reset, check the link")
    p.add_argument("--timeout", type=float, default=10.0, help="handshake wait, seconds")
    add_time_scale_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inversa_host.boardtools.deploy import DeployError, check_time_scale
    from inversa_host.boardtools.doctor import doctor

    try:
        check_time_scale(args.time_scale)
    except ValueError as e:
        print(f"doctor: {e}", file=sys.stderr)
        return 2
    try:
        checks = doctor(
            args.port,
            reset=not args.no_reset,
            handshake=args.handshake,
            log=print,
            confirm_timeout_s=args.timeout,
            time_scale=args.time_scale,
        )
    except DeployError as e:
        print(f"doctor: {e}", file=sys.stderr)
        return 1
    for c in checks:
        print(c.line())
    failed = [c for c in checks if c.status == "fail"]
    warned = [c for c in checks if c.status == "warn"]
    print(f"{len(checks)} checks: {len(failed)} failed, {len(warned)} warnings")
    return 1 if failed else 0
