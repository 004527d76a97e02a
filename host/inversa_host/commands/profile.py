"""``inversa profile``: show the board's active profile, check or push a profile file.

A profile file is JSON or TOML with the fields of
:class:`inversa.control.profile.Profile` (units in the names), e.g.::

    {"max_angle_cdeg": 3000, "hold_ms": 120000, "contraindications": []}

Every field must be given: a missing field is an error that names it (a
typo or a forgotten line must not silently become a default).  With
``--fill-defaults`` the missing fields take the safe beginner values and the
command says which.  The file is validated on the PC first (the same code as
on the board) and errors are shown plainly; the board validates it again and
answers with a reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

from inversa_host.link.client import LinkClient, LinkError, closed_at_once
from inversa_host.link.cliopts import add_port
from inversa_host.link.ports import resolve
from inversa_host.profiles.files import describe, read_profile

if TYPE_CHECKING:
    from inversa.control.profile import Profile


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="show, check or push a user profile")
    psub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = psub.add_parser("show", help="read the active profile from the board")
    add_port(show)
    show.add_argument("--json", action="store_true", help="print it as a profile file")
    show.set_defaults(func=run_show)
    check = psub.add_parser(
        "check",
        help="validate a profile file (no board needed)",
        description="Validate a profile file (JSON or TOML) with the firmware's own "
        "checks, on the PC; no board needed. Prints every field with its unit.",
    )
    check.add_argument("file")
    add_fill_defaults(check)
    check.set_defaults(func=run_check)
    push = psub.add_parser("push", help="validate a profile file and send it to the board")
    push.add_argument("file")
    add_fill_defaults(push)
    add_port(push)
    push.set_defaults(func=run_push)


def add_fill_defaults(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fill-defaults",
        action="store_true",
        help="give fields missing from the file the safe beginner values (and say which)",
    )


def read_profile_arg(
    path: str,
    fill_defaults: bool,
    invalid: str = "profile invalid",
    filled_to: TextIO | None = None,
) -> Profile | None:
    """The profile file named on the command line, the fields filled with the
    beginner defaults said (on ``filled_to``, stderr unless given); None when
    it is invalid (said on stderr after ``invalid``: the command exits 2)."""
    try:
        p, filled = read_profile(path, fill_defaults)
    except ValueError as e:
        print(f"{invalid}: {e}", file=sys.stderr)
        return None
    if filled:
        print(
            f"{path}: filled with beginner defaults: {', '.join(filled)}",
            file=filled_to or sys.stderr,
        )
    return p


def run_check(args: argparse.Namespace) -> int:
    p = read_profile_arg(args.file, args.fill_defaults)
    if p is None:
        return 2
    print(f"{args.file}: valid (crc {p.crc():#06x})")
    print(describe(p))
    return 0


def _failure(url: str, link: LinkClient | None, e: Exception) -> str:
    """A port closed before the board said anything is most often held by
    another program (closed_at_once); anything else says what it says."""
    closed = isinstance(e, LinkError) and str(e).startswith(("read failed", "write failed"))
    if closed and link is not None and link.bytes_in == 0:
        return closed_at_once(url, e)
    return str(e)


def run_show(args: argparse.Namespace) -> int:
    from inversa.control import profile as pm

    link = None
    try:
        with LinkClient.open(resolve(args.port), args.baud) as link:
            crc, data = link.get_profile()
    except Exception as e:  # the message says what failed and what to check
        print(f"profile show: {_failure(args.port, link, e)}", file=sys.stderr)
        return 1
    try:
        p = pm.Profile.from_bytes(data)
    except ValueError as e:
        print(
            f"the board sent a profile this host cannot read ({e}): {data.hex()}", file=sys.stderr
        )
        return 1
    if args.json:
        print(json.dumps({n: getattr(p, n) for n in pm.FIELDS}, indent=2))
    else:
        print(f"active profile (crc {crc:#06x}):")
        print(describe(p))
    return 0


def run_push(args: argparse.Namespace) -> int:
    p = read_profile_arg(args.file, args.fill_defaults)
    if p is None:
        return 2
    link = None
    try:
        with LinkClient.open(resolve(args.port), args.baud) as link:
            r = link.set_profile(p.to_bytes())
    except Exception as e:
        print(f"could not send the profile: {_failure(args.port, link, e)}", file=sys.stderr)
        return 1
    if not r.ok:
        print(f"the board refused the profile: {r.text}", file=sys.stderr)
        return 1
    print(f"profile pushed (crc {p.crc():#06x})")
    return 0
