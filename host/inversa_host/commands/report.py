"""``inversa report``: the plot and summary of a recorded session.

The same report the simulator writes (angle and target, heart rate, states
and alarm priority; a Markdown and an HTML summary), for any session in the
store: a real board's, the virtual board's or a simulated one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inversa_host.link.cliopts import add_db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="plot and summarise a recorded session")
    p.add_argument("session", nargs="?", default="latest", help="session id or 'latest'")
    add_db(p)
    p.add_argument(
        "--out", default=None, help="directory to write into (default out/report/<session id>)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inversa_host.outfile import OutputError
    from inversa_host.sessions.report import summary_lines, write_report
    from inversa_host.sessions.store import StoreError, open_session, warn_damaged
    from inversa_host.sim.runner import trace_from_store
    from inversa_host.sim.trace import summarize

    try:
        store, sid = open_session(args.db, args.session)
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    with store:
        info = store.session(sid)
        trace = trace_from_store(store, sid)
        warn_damaged(store)
    if not trace.t_s:
        # `report` alone takes the latest session: often a recording still
        # under way or cut before the board's first telemetry (Ctrl-C)
        why = " (still open: recording, or cut off before any telemetry)" if not info.ended else ""
        if info.interrupted:
            why = " (interrupted before any telemetry)"
        print(
            f"session {sid} has no telemetry samples to report on{why}; "
            "`inversa sessions` lists the recorded ones, `inversa report ID` reports one",
            file=sys.stderr,
        )
        return 1
    summary = summarize(trace)
    title = f"session {sid}: {info.board or 'board'} firmware {info.fw_version or '?'}"
    if info.interrupted:
        title += " (interrupted)"
    out = Path(args.out) if args.out is not None else Path("out/report") / str(sid)
    try:
        paths = write_report(trace, summary, [], out, title=title)
    except OutputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(title)
    for k, v in summary_lines(summary):
        print(f"  {k:<31} {v}")
    c = info.counters
    print(
        f"  {'link':<31} {c['frames']} frames, {c['lost_frames']} lost in {c['gap_events']} "
        f"gap(s), {c['crc_errors']} CRC errors"
    )
    if c["board_reboots"] or trace.breaks:
        print(
            f"  {'holes and reboots':<31} {c['board_reboots']} board reboot(s); the plot "
            f"breaks at {len(trace.breaks)} place(s)"
        )
    if c["rows_dropped"]:
        print(f"  {'not stored':<31} {c['rows_dropped']} rows (the store could not be written)")
    print(f"  {'source':<31} {info.source}")
    if info.interrupted or not info.ended:
        how = "interrupted: it stops where the recording was cut" if info.interrupted else "open"
        print(f"  {'recording':<31} {how}")
    print(f"  report: {paths.html}  (plot: {paths.png})")
    return 0
