"""``inversa plan``: propose the next session's profile from recorded sessions.

Reads the current profile (a file, as ``inversa profile check`` takes) and the
last sessions in the store, and writes the next profile with the reasons for
every change (or for none).  Push it with ``inversa profile push``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inversa_host.link.cliopts import add_db


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="propose the next session's profile from the recorded ones")
    p.add_argument("profile", help="the current profile file (TOML or JSON)")
    add_db(p)
    p.add_argument("--sessions", type=int, default=20, help="how many recent sessions to read")
    p.add_argument("--out", help="write the proposed profile here (TOML); default: print it")
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
    from inversa_host.commands.profile import load_profile, profile_from_dict
    from inversa_host.plan import plan_next, session_history
    from inversa_host.store import Store

    try:
        current = load_profile(args.profile)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    fields = {name: getattr(current, name) for name in FIELDS}
    if not Path(args.db).exists():
        print(
            f"no session store at {args.db} (record sessions with `inversa log`)", file=sys.stderr
        )
        return 1
    with Store(args.db) as store:
        ids = sorted(s.id for s in store.sessions())[-args.sessions :]
        history = session_history(store, ids)
    plan = plan_next(history, fields, advanced=args.advanced)
    profile_from_dict(plan.profile, "the proposed profile")  # the firmware's own check
    print(f"from {len(history)} session(s):")
    for r in plan.reasons:
        print(f"  - {r}")
    text = to_toml(plan.profile)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{'proposed' if plan.changed else 'unchanged'} profile written to {args.out}")
    else:
        print(text, end="")
    return 0
