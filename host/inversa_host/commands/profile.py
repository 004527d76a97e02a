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
from pathlib import Path
from typing import Any

from inversa_host.link.client import LinkClient, LinkError
from inversa_host.link.cliopts import add_port
from inversa_host.link.ports import resolve

UNITS = {"_cdeg": (100, "deg"), "_cdps": (100, "deg/s"), "_ms": (1000, "s"), "_bpm": (1, "bpm")}


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


def _pm() -> Any:
    from inversa.control import profile

    return profile


def load_profile(path: str) -> Any:
    """Read a complete JSON/TOML profile file; ValueError with a plain message
    if anything is wrong (a missing field included)."""
    return read_profile(path)[0]


def read_profile(path: str, fill_defaults: bool = False) -> tuple[Any, list[str]]:
    """A validated profile from a file and the fields filled with defaults
    (only with ``fill_defaults``; otherwise a missing field is a ValueError)."""
    from inversa_host.textfile import read_text

    f = Path(path)
    text = read_text(f, "profile")
    try:
        if f.suffix.lower() == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # Python 3.10
                import tomli as tomllib  # pyright: ignore[reportMissingImports]
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except ValueError as e:
        raise ValueError(
            f"{path} is not valid {'TOML' if f.suffix == '.toml' else 'JSON'}: {e}"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a table of fields")
    given = set(data)
    if "contraindications" in given:
        given.add("contra_flags")
    missing = [n for n in _pm().FIELDS if n not in given]
    if set(data) - {"contraindications", *_pm().FIELDS}:
        profile_from_dict(data, path)  # names the unknown field(s) first: a typo, likely
    if missing and not fill_defaults:
        raise ValueError(
            f"{path}: missing field(s) {', '.join(missing)}. Give every field (units are in "
            "the names; `inversa profile show --json` prints a complete profile), or add "
            "--fill-defaults to take the safe beginner values for the missing ones"
        )
    return profile_from_dict(data, path), missing


def profile_from_dict(fields: dict[str, Any], where: str) -> Any:
    """A validated Profile from a table of fields (units in the names) plus an
    optional list of contraindication names; ValueError says what is wrong."""
    pm = _pm()
    data = dict(fields)
    names = data.pop("contraindications", None)
    if names is not None:
        flags = 0
        for n in names:
            if n not in pm.CONTRA_NAMES:
                raise ValueError(
                    f"unknown contraindication {n!r}; known: {', '.join(pm.CONTRA_NAMES)}"
                )
            flags |= 1 << pm.CONTRA_NAMES.index(n)
        data["contra_flags"] = data.get("contra_flags", 0) | flags
    unknown = sorted(set(data) - set(pm.FIELDS))
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(pm.FIELDS)}"
        )
    for k, v in data.items():
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError(
                f"{where}: {k} must be a whole number (units are in the name), got {v!r}"
            )
    p = pm.Profile(**data)
    p.validate()
    return p


def describe(p: Any) -> str:
    pm = _pm()
    lines = []
    for name in pm.FIELDS:
        v = getattr(p, name)
        extra = ""
        for suffix, (div, unit) in UNITS.items():
            if name.endswith(suffix) and div != 1:
                extra = f"  ({v / div:g} {unit})"
        if name == "hr_mode":
            extra = "  (" + {0: "off: no heart-rate rules", 1: "monitor"}.get(v, "?") + ")"
        if name == "table_type":
            from inversa.control.states import TABLE_TYPE_NAMES

            extra = f"  ({TABLE_TYPE_NAMES[v] if 0 <= v < len(TABLE_TYPE_NAMES) else '?'})"
        if name == "contra_flags":
            names = [n for i, n in enumerate(pm.CONTRA_NAMES) if v >> i & 1]
            extra = f"  ({', '.join(names) or 'none'})"
        lines.append(f"  {name:<16} {v}{extra}")
    return "\n".join(lines)


def _say_filled(path: str, filled: list[str]) -> None:
    if filled:
        print(
            f"{path}: filled with beginner defaults: {', '.join(filled)}",
            file=sys.stderr,
        )


def run_check(args: argparse.Namespace) -> int:
    try:
        p, filled = read_profile(args.file, args.fill_defaults)
    except ValueError as e:
        print(f"profile invalid: {e}", file=sys.stderr)
        return 2
    _say_filled(args.file, filled)
    print(f"{args.file}: valid (crc {p.crc():#06x})")
    print(describe(p))
    return 0


def run_show(args: argparse.Namespace) -> int:
    pm = _pm()
    try:
        with LinkClient.open(resolve(args.port), args.baud) as link:
            crc, data = link.get_profile()
    except Exception as e:  # the message says what failed and what to check
        print(f"profile show: {e}", file=sys.stderr)
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
    try:
        p, filled = read_profile(args.file, args.fill_defaults)
    except ValueError as e:
        print(f"profile invalid: {e}", file=sys.stderr)
        return 2
    _say_filled(args.file, filled)
    try:
        with LinkClient.open(resolve(args.port), args.baud) as link:
            r = link.set_profile(p.to_bytes())
    except (LinkError, Exception) as e:
        print(f"could not send the profile: {e}", file=sys.stderr)
        return 1
    if not r.ok:
        print(f"the board refused the profile: {r.text}", file=sys.stderr)
        return 1
    print(f"profile pushed (crc {p.crc():#06x})")
    return 0
