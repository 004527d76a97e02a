"""``inversa deploy``: compile, copy what changed, configure, reset, confirm."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from inversa.board.boards import HR_DRIVERS, IMU_DRIVERS, MOTOR_DRIVERS, board_names


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "deploy",
        help="put the firmware and the board config on a board",
        description=(
            "Compile the firmware with mpy-cross for the board, copy the files that "
            "changed, write /board.json, reset and confirm the link handshake. "
            "Never deploy with a person on the table: it stops the running firmware."
        ),
    )
    p.add_argument("--port", required=True, help="serial device or URL (socket://host:port)")
    p.add_argument("--board", choices=board_names(), help="board (detected when omitted)")
    p.add_argument("--config", type=Path, help="board config JSON to write (see hardware/)")
    p.add_argument("--imu", choices=sorted(IMU_DRIVERS))
    p.add_argument("--hr", choices=sorted(HR_DRIVERS))
    p.add_argument("--motor", choices=sorted(MOTOR_DRIVERS), help="none = manual table")
    p.add_argument("--brake", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--buzzer", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--link", choices=("usb", "uart"))
    p.add_argument("--bench", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--no-confirm", action="store_true", help="skip the link handshake")
    p.add_argument("--timeout", type=float, default=10.0, help="handshake wait, seconds")
    p.add_argument(
        "--debug-lines",
        action="store_true",
        help="keep line numbers in the compiled files (tracebacks on the board name "
        "the line; costs ~8 KB of the board's heap)",
    )
    add_time_scale_option(p)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="check the board, its MicroPython and the room on its flash, and list what "
        "would be copied, removed and written; write nothing (the board is reset into the "
        "firmware it has)",
    )
    p.set_defaults(func=run)


def add_time_scale_option(p: argparse.ArgumentParser) -> None:
    """``--time-scale`` (deploy, doctor); checked by boardtools.deploy.check_time_scale."""
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply every wait: for a board slower than real time "
        "(the emulated Pico: `inversa vboard --board rp2040` prints the value)",
    )


def overrides_from(args: argparse.Namespace) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    if args.config is not None:
        from inversa_host.textfile import read_text

        try:
            loaded = json.loads(read_text(args.config, "board config", say_path=False))
        except ValueError as e:  # read_text's message, or JSON's with its line
            raise SystemExit(f"deploy: {args.config}: {e}") from None
        if not isinstance(loaded, dict):
            raise SystemExit(f"deploy: {args.config} must hold a JSON object")
        values.update(loaded)
    for key in ("imu", "hr", "motor", "brake", "buzzer", "link", "bench"):
        v = getattr(args, key)
        if v is not None:
            values[key] = v
    return values or None


def run(args: argparse.Namespace) -> int:
    from inversa_host.boardtools.deploy import DeployError, check_time_scale, deploy

    overrides = overrides_from(args)
    if overrides is not None and "board" in overrides:
        if args.board is None:
            args.board = overrides["board"]
        elif overrides["board"] != args.board:
            print(
                f"deploy: --board {args.board} but the config names {overrides['board']}",
                file=sys.stderr,
            )
            return 2
    try:
        check_time_scale(args.time_scale)
    except ValueError as e:
        print(f"deploy: {e}", file=sys.stderr)
        return 2
    try:
        report = deploy(
            args.port,
            args.board,
            overrides,
            confirm=not args.no_confirm,
            confirm_timeout_s=args.timeout,
            time_scale=args.time_scale,
            whole_config=args.config is not None,
            debug_lines=args.debug_lines,
            dry_run=args.dry_run,
        )
    except (DeployError, ValueError) as e:
        print(f"deploy failed: {e}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0 if report.ok else 1
