"""``inversa plan``: propose the next session's profile from recorded sessions.

Reads the current profile (a file, as ``inversa profile check`` takes) and the
last sessions in the store, and writes the next profile with the reasons for
every change (or for none).  Push it with ``inversa profile push``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inversa_host.commands.profile import add_fill_defaults, read_profile_arg
from inversa_host.link.cliopts import add_db
from inversa_host.outfile import file_target, write_files


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="propose the next session's profile from the recorded ones")
    p.add_argument("profile", help="the current profile file (TOML or JSON)")
    add_db(p)
    p.add_argument("--sessions", type=int, default=20, help="how many recent sessions to read")
    p.add_argument(
        "--out",
        help="write the proposed profile to this file (TOML; missing folders are made); "
        "default: print it",
    )
    p.add_argument(
        "--include-sim",
        action="store_true",
        help="also count simulated and bench sessions (by default only a real board's are "
        "the user's history)",
    )
    add_fill_defaults(p)
    p.add_argument(
        "--advanced",
        action="store_true",
        help="allow planning past 60 deg (full inversion is for the experienced)",
    )
    p.set_defaults(func=run)


def to_toml(fields: dict[str, object]) -> str:
    lines = ["# proposed by `inversa plan`; check it, then `inversa profile push` it"]
    for k, v in fields.items():
        lines.append(f"{k} = {v}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from inversa.control.profile import FIELDS
    from inversa_host.profiles.files import profile_from_dict
    from inversa_host.profiles.plan import plan_next, session_history
    from inversa_host.sessions.store import Store, no_store, warn_damaged

    out = None if args.out is None else file_target(args.out)  # OutputError: a folder
    current = read_profile_arg(args.profile, args.fill_defaults, "error", sys.stdout)
    if current is None:
        return 2
    fields = {name: getattr(current, name) for name in FIELDS}
    if not Path(args.db).exists():
        print(f"error: {no_store(args.db)}", file=sys.stderr)
        return 1
    with Store(args.db, readonly=True) as store:
        everything = store.sessions()
        sources = None if args.include_sim else ("board",)
        chosen = [s for s in everything if sources is None or s.source in sources]
        ids = sorted(s.id for s in chosen)[-args.sessions :]
        history = session_history(store, ids)
        warn_damaged(store)
    plan = plan_next(history, fields, advanced=args.advanced)
    profile_from_dict(plan.profile, "the proposed profile")  # the firmware's own check
    left_out = len(everything) - len(chosen)
    kinds = "recorded" if args.include_sim else "recorded from a board"
    print(
        f"from {len(history)} session(s) {kinds}"
        + (
            f" ({left_out} simulated or bench session(s) left out; --include-sim counts them)"
            if left_out
            else ""
        )
        + ":"
    )
    for r in plan.reasons:
        print(f"  - {r}")
    text = to_toml(plan.profile)
    if out is not None:
        write_files({out: text})  # OutputError: the old file stays whole; folders are made
        print(f"{'proposed' if plan.changed else 'unchanged'} profile written to {args.out}")
    else:
        print(text, end="")
    return 0
