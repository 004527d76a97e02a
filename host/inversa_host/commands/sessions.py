"""``inversa sessions``: recorded sessions with duration, depth, alarms and link health."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from inversa_host.link.cliopts import add_db
from inversa_host.link.names import priority_name
from inversa_host.sessions.store import SessionSummary, Store, no_store


def _worst(priority: int) -> str:
    """The worst alarm priority of a session, by the firmware's names; "-" for none."""
    return priority_name(min(3, priority)) if priority > 0 else "-"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sessions", help="list recorded sessions")
    add_db(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _notes(s: SessionSummary) -> str:
    c = s.counters
    notes = []
    if c["gap_events"]:
        notes.append(f"{c['lost_frames']} frames lost in {c['gap_events']} gap(s)")
    if c["board_reboots"]:
        notes.append(f"{c['board_reboots']} board reboot(s)")
    if c["discarded_bytes"]:
        notes.append(f"{c['discarded_bytes']} received bytes discarded (bad or cut frames)")
    if c["rows_dropped"]:
        notes.append(f"{c['rows_dropped']} rows not stored (store unwritable)")
    return "  [" + "; ".join(notes) + "]" if notes else ""


def run(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        print(f"error: {no_store(args.db)}", file=sys.stderr)
        return 1
    with Store(args.db, readonly=True) as store:
        sessions = store.sessions()
    if args.json:
        out = []
        for s in sessions:
            d = dict(s.__dict__)
            d["duration_s"] = round(s.duration_s, 3)
            out.append(d)
        print(json.dumps(out, indent=2))
        return 0
    if not sessions:
        print("no sessions recorded yet")
        return 0
    print(
        f"{'id':>4}  {'started':<19}  {'duration':>8}  {'deepest':>8}  {'alarms':>6}  "
        f"{'worst':<6}  {'faults':>6}  {'samples':>7}  {'lost':>5}  {'crc':>4}  {'source':<10}  board"
    )
    for s in sessions:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.started))
        dur = f"{int(s.duration_s // 60)}:{int(s.duration_s % 60):02d}"
        deep = "-" if s.deepest_cdeg is None else f"{s.deepest_cdeg / 100:+.1f}°"
        open_ = "  (interrupted)" if s.interrupted else "" if s.ended else "  (open)"
        print(
            f"{s.id:>4}  {started:<19}  {dur:>8}  {deep:>8}  {s.alarms:>6}  "
            f"{_worst(s.max_alarm_priority):<6}  {s.faults:>6}  {s.samples:>7}  "
            f"{s.counters['lost_frames']:>5}  {s.counters['crc_errors']:>4}  {s.source:<10}  "
            f"{s.board or '?'}{open_}{_notes(s)}"
        )
    return 0
