"""`inversa stop`: ask the board, from the PC, to end the session and bring
the person back up (gradually: at least 30 s from the deepest angle; on a
manual table the buzzer coaches the person's own return).

The port has one reader: while `inversa start` or `inversa log` holds it,
press Ctrl-C in `inversa start`, or STOP at the table.  The STOP button and
the e-stop at the table always work, with or without the PC.
"""

from __future__ import annotations

import argparse
import sys

from inversa_host.link.cliopts import add_port


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stop",
        help="ask the board for a return (end the session) from the PC",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_port(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inversa.link import messages as M
    from inversa_host.link.client import LinkClient, LinkError
    from inversa_host.link.names import reason_text, state_name
    from inversa_host.link.ports import NoBoardFound, resolve

    try:
        url = resolve(args.port)
        with LinkClient.open(url, args.baud) as client:
            hello = client.info()
            r = client.command(M.CMD_RETURN)
            state = None
            for f in client.poll(0.3):
                if f.msg_type == M.MSG_TELEMETRY:
                    state = f.payload[4]
    except (LinkError, NoBoardFound) as e:
        print(
            f"stop: {e}\n  if `inversa start` or `inversa log` holds the port, press Ctrl-C in "
            "`inversa start`; STOP at the table always works",
            file=sys.stderr,
        )
        return 1
    if r.reason is None:
        print(f"stop: {r.text}; press STOP at the table", file=sys.stderr)
        return 1
    if not r.ok:
        print(f"stop refused by the board: {reason_text(r.reason)}", file=sys.stderr)
        return 1
    now = "" if state is None else f" (now {state_name(state)})"
    print(
        f"return asked on {hello.board}{now}: the board brings the table back gradually "
        "(at least 30 s from the deepest angle); nothing to do if no session was running"
    )
    return 0
