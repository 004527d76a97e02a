"""Profile files: read, validate and describe a user profile on the PC.

A profile file is JSON or TOML with the fields of
:class:`inversa.control.profile.Profile` (units in the names), plus an
optional list of contraindication names.  Validation is the firmware's own
(``Profile.validate``), so the PC and the board agree on what is allowed.
Every error is a ``ValueError`` whose message names the file and the field.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

UNITS = {"_cdeg": (100, "deg"), "_cdps": (100, "deg/s"), "_ms": (1000, "s"), "_bpm": (1, "bpm")}


def _pm() -> Any:
    from inversa.control import profile

    return profile


def _contra_names() -> tuple[str, ...]:
    """The contraindication flags' names by bit position (host-only module)."""
    from inversa.control.profile_names import CONTRA_NAMES

    return CONTRA_NAMES


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
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(
                f"{where}: contraindications must be a list of names, like "
                f'["glaucoma"], not {names!r}; known: {", ".join(_contra_names())}'
            )
        flags = 0
        for n in names:
            if n not in _contra_names():
                raise ValueError(
                    f"unknown contraindication {n!r}; known: {', '.join(_contra_names())}"
                )
            flags |= 1 << _contra_names().index(n)
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
    try:
        p.validate()
    except ValueError as e:  # the firmware's message names the field, not the file
        raise ValueError(f"{where}: {e}") from None
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
            names = [n for i, n in enumerate(_contra_names()) if v >> i & 1]
            extra = f"  ({', '.join(names) or 'none'})"
            if v:  # Controller: a contraindicated profile never leaves the loading zone
                extra += "\n  contraindicated: the board refuses every inversion with this profile"
        lines.append(f"  {name:<16} {v}{extra}")
    return "\n".join(lines)
