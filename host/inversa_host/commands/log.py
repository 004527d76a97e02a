"""``inversa log``: record a board (or the virtual board) into the session store."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from inversa.link.messages import MAX_TELEMETRY_HZ
from inversa_host.link.cliopts import add_db, add_port, host_port
from inversa_host.recording.logger import Logger, LoggerError
from inversa_host.sessions.store import Store, StoreError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "log",
        help="record telemetry, events and commands to the session store",
        description="Record a session.  Survives unplug/replug (same session); a kill -9 "
        "loses at most the last 0.5 s, and a restarted logger resumes the board's session "
        "(the frames sent meanwhile are counted lost).  A port that does not open, or no "
        "board answering, is an error within the timeouts below; nothing is recorded.  "
        "Ctrl-C ends the session.",
    )
    add_port(p)
    add_db(p)
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--quiet", action="store_true", help="no live status line")
    p.add_argument(
        "--telemetry-hz", type=int, default=None, help=f"ask the board for 0..{MAX_TELEMETRY_HZ} Hz"
    )
    p.add_argument(
        "--resume-window",
        type=float,
        default=120.0,
        help="continue the board's unfinished session if its last data is this recent (s)",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        help="give up when the port has not opened within this many seconds (default 10)",
    )
    p.add_argument(
        "--handshake-timeout",
        type=float,
        default=5.0,
        help="give up when no board answers the handshake within this many seconds (default 5)",
    )
    p.add_argument(
        "--plotjuggler",
        type=host_port,
        default=None,
        metavar="[HOST:]PORT",
        help="also send telemetry as JSON over UDP (PlotJuggler's UDP server, e.g. 9870)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.telemetry_hz is not None and not 0 <= args.telemetry_hz <= MAX_TELEMETRY_HZ:
        print(f"--telemetry-hz must be 0..{MAX_TELEMETRY_HZ}", file=sys.stderr)
        return 2
    for name in ("connect_timeout", "handshake_timeout"):
        if getattr(args, name) <= 0:
            print(f"--{name.replace('_', '-')} must be > 0 seconds", file=sys.stderr)
            return 2
    tty = sys.stdout.isatty()
    new_db = not Path(args.db).exists()
    try:
        return _record(args, tty)
    finally:
        if new_db:
            _remove_if_empty(Path(args.db))


def _remove_if_empty(db: Path) -> None:
    """A store this run created but recorded nothing into goes away again."""
    try:
        with Store(db, readonly=True) as store:
            if store.sessions():
                return
    except StoreError:
        return
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def _record(args: argparse.Namespace, tty: bool) -> int:
    def status(line: str) -> None:
        if tty:
            print("\r\x1b[2K" + line, end="", flush=True)
        else:
            print(line, flush=True)

    with Store(args.db) as store:
        logger = Logger(
            store,
            args.port,
            status=None if args.quiet else status,
            status_interval_s=0.25 if tty else 1.0,
            plotjuggler=args.plotjuggler,
            resume_window_s=args.resume_window,
            baudrate=args.baud,
            telemetry_hz=args.telemetry_hz,
            connect_timeout_s=args.connect_timeout,
            handshake_timeout_s=args.handshake_timeout,
        )
        signal.signal(signal.SIGTERM, lambda *_: logger.stop_event.set())
        try:
            sid = logger.run(args.duration)
        except LoggerError as e:
            if tty and not args.quiet:
                print()
            print(f"error: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            sid = logger.session_id
            logger.close()
        if tty and not args.quiet:
            print()
        c = logger.counters()
        if sid is None:
            print(
                "error: no data received: is the board connected and running the firmware?",
                file=sys.stderr,
            )
            return 1
        print(
            f"session {sid} recorded in {args.db}"
            + (" (resumed)" if logger.resumed else "")
            + f": {c['frames']} frames, {c['lost_frames']} lost in {c['gap_events']} gaps, "
            f"{c['crc_errors']} CRC errors, {c['reconnects']} reconnects"
        )
        if store.write_error:
            print(
                f"error: {store.held_rows} rows could not be written: {store.write_error}",
                file=sys.stderr,
            )
            return 1
        if c["rows_dropped"]:
            print(
                f"warning: {c['rows_dropped']} rows were dropped while the store could not be "
                "written (counted in the session)",
                file=sys.stderr,
            )
    return 0
