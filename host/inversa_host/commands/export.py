"""``inversa export``: a session's samples, events or commands as CSV or JSON Lines."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from inversa_host.link.cliopts import add_db
from inversa_host.link.names import event_text
from inversa_host.outfile import atomic_open
from inversa_host.sessions.store import (
    HOST_EVENT_NAMES,
    HOST_FRAMES_LOST,
    Store,
    StoreError,
    open_session,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a session as CSV or JSON Lines")
    p.add_argument("session", help="session id, or 'latest'")
    add_db(p)
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    p.add_argument("--what", choices=("samples", "events", "commands"), default="samples")
    p.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    p.set_defaults(func=run)


def _rows(store: Store, sid: int, what: str) -> Iterator[dict[str, Any]]:
    if what == "samples":
        for r in store.samples(sid):
            r.pop("rowid", None)
            yield r
    elif what == "events":
        for r in store.events(sid):
            if r["source"] == "host":
                r["text"] = HOST_EVENT_NAMES.get(r["kind"], str(r["kind"]))
                if r["kind"] == HOST_FRAMES_LOST:
                    r["text"] += f": {r['code']} frames over {r['value'] / 1000:g} s of board time"
            else:
                r["text"] = event_text(r["kind"], r["code"], r["value"])
            yield r
    else:
        yield from store.commands(sid)


def _columns(what: str) -> list[str]:
    """The CSV header of an export with no rows (as the rows' keys would be)."""
    from inversa_host.sessions.store import _SAMPLE_COLS

    return {
        "samples": list(_SAMPLE_COLS[1:]),
        "events": ["host_t", "seq", "t_ms", "kind", "code", "value", "source", "text"],
        "commands": ["host_t", "cmd", "seq", "reason", "attempts"],
    }[what]


def write(
    rows: Iterator[dict[str, Any]], fmt: str, out: IO[str], columns: list[str] | None = None
) -> int:
    n = 0
    writer: csv.DictWriter[str] | None = None
    for r in rows:
        if fmt == "jsonl":
            out.write(json.dumps(r) + "\n")
        else:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(r))
                writer.writeheader()
            writer.writerow(r)
        n += 1
    if n == 0 and fmt == "csv" and columns:
        csv.DictWriter(out, fieldnames=columns).writeheader()  # an empty table, not nothing
    return n


def run(args: argparse.Namespace) -> int:
    try:
        store, sid = open_session(args.db, args.session)
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    with store:
        cols = _columns(args.what)
        if args.output == "-":
            n = write(_rows(store, sid, args.what), args.format, sys.stdout, cols)
            if n == 0:
                print(f"session {sid} has no {args.what}", file=sys.stderr)
        else:
            # all or nothing: a full disk leaves an older file whole (OutputError)
            with atomic_open(args.output, newline="") as f:
                n = write(_rows(store, sid, args.what), args.format, f, cols)
            print(f"{n} {args.what} of session {sid} written to {args.output}", file=sys.stderr)
    return 0
