"""`inversa start`: arm a session on the board from the PC, record it, and
keep the host lease while it runs.

The PC cannot move the table: after `start` the board measures the resting
heart rate, then waits for the person at the table (hold DOWN on a motorized
table, tilt it by hand on a manual one).  The session is recorded as `inversa
log` records it (the port has one reader: `start` is that reader).  Ctrl-C
(or --duration running out) asks the board for a return; a second Ctrl-C
leaves, and the board, losing the host, brings the person back on its own.
"""

from __future__ import annotations

import argparse
import sys
import time

from inversa_host.link.cliopts import add_db, add_port

READY_S = 15.0  # the board's handshake, through its boot self-test


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "start",
        help="arm a session from the PC (motion still needs the person at the table), record it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_port(p)
    add_db(p)
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="ask for the return after this many seconds (default: when the session ends)",
    )
    p.add_argument("--quiet", action="store_true", help="no live status line")
    p.set_defaults(func=run)


def _state(values: tuple[int, ...] | None) -> int | None:
    from inversa.link.message_names import TELEMETRY_FIELDS

    return None if values is None else values[TELEMETRY_FIELDS.index("state")]


def run(args: argparse.Namespace) -> int:
    from inversa.control import states as S
    from inversa.link import messages as M
    from inversa_host.link.names import reason_text, state_name
    from inversa_host.link.ports import NoBoardFound, resolve
    from inversa_host.recording.logger import Logger, LoggerError
    from inversa_host.sessions.store import Store, StoreError

    try:
        url = resolve(args.port)
    except NoBoardFound as e:
        print(f"start: {e}", file=sys.stderr)
        return 2
    tty = sys.stdout.isatty() and not args.quiet

    def status(line: str) -> None:
        if tty:
            sys.stdout.write("\r" + line[:120].ljust(120))
            sys.stdout.flush()

    try:
        store = Store(args.db)
    except (StoreError, OSError) as e:
        print(f"start: {e}", file=sys.stderr)
        return 1
    with store:
        logger = Logger(store, url, status=status)
        try:
            return _session(args, logger, S, M, reason_text, state_name, tty)
        except LoggerError as e:  # the port never opened, or no board (of ours) answered
            if tty:
                print()
            print(f"start: {e}", file=sys.stderr)
            return 1
        finally:
            logger.close()


def _session(args, logger, S, M, reason_text, state_name, tty) -> int:
    deadline = time.monotonic() + READY_S
    while logger.client is None or logger.hello is None or _state(logger.last_values) is None:
        if time.monotonic() > deadline:
            print(
                f"start: no board with the Inversa firmware answered on {logger.url} within "
                f"{READY_S:.0f} s: check the port (`inversa devices`), and that no other "
                "program (`inversa log`, a serial monitor) holds it",
                file=sys.stderr,
            )
            return 1
        logger.step()
    client = logger.client
    assert client is not None
    # a board still in its boot self-test is waited for
    while _state(logger.last_values) == S.SELFTEST and time.monotonic() < deadline:
        logger.step()
    r = client.command(M.CMD_START)
    if not r.ok:
        print(
            f"start refused by the board: {reason_text(r.reason) if r.reason is not None else r.text}"
            f" (state {state_name(_state(logger.last_values) or 0)}); nothing was started",
            file=sys.stderr,
        )
        return 1
    print(
        f"session armed on {logger.hello.board} (recording into session {logger.session_id}):\n"
        "  the board measures the resting heart rate, then waits for the person at the "
        "table:\n"
        "  hold DOWN to go deeper (motorized), or tilt it by hand (manual): the PC cannot "
        "move the table.\n"
        "  Ctrl-C here asks for the return.",
        flush=True,
    )
    end = None if args.duration is None else time.monotonic() + args.duration
    started = False
    returning = False
    try:
        while True:
            logger.step()
            st = _state(logger.last_values)
            if st is not None and st not in (S.IDLE, S.DONE, S.SELFTEST):
                started = True
            if started and st in (S.IDLE, S.DONE):
                break
            if st in (S.FAULT, S.ESTOP):
                print(
                    f"\nthe board is in {state_name(st)}: it holds the table safe; clear it at "
                    "the table (release the e-stop, RESET)",
                    flush=True,
                )
                return 1
            if not returning and end is not None and time.monotonic() >= end:
                returning = _ask_return(client, M, reason_text)
    except KeyboardInterrupt:
        if not returning:
            _ask_return(client, M, reason_text)
            print("waiting for the board to finish the return (Ctrl-C again leaves) ...")
            try:
                while _state(logger.last_values) not in (S.IDLE, S.DONE):
                    logger.step()
            except KeyboardInterrupt:
                print("left: the board, without a host, brings the person back by itself")
                return 130
    if tty:
        print()
    print(
        f"session over: {state_name(_state(logger.last_values) or 0)}; recorded as session "
        f"{logger.session_id} in {args.db}"
    )
    return 0


def _ask_return(client, M, reason_text) -> bool:
    r = client.command(M.CMD_RETURN)
    if r.ok:
        print(
            "\nreturn asked: the board brings the table back gradually (at least 30 s from "
            "the deepest angle); on a manual table the buzzer coaches the person's return",
            flush=True,
        )
        return True
    what = reason_text(r.reason) if r.reason is not None else r.text
    print(f"\nthe board refused the return: {what}", file=sys.stderr)
    return False
