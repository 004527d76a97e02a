"""Read a file a person names on the command line (scenario, profile, board
config) as text, with one plain message for every way it can fail: missing,
unreadable, a directory, or not text at all (a binary file, another encoding).

Usage::

    text = read_text(path, "scenario")     # ValueError: what is wrong and what to give
"""

from __future__ import annotations

from pathlib import Path


def read_text(path: str | Path, what: str = "file", say_path: bool = True) -> str:
    """The file's text; ValueError naming the problem (and the path, unless
    the caller's message already starts with it)."""
    p = Path(path)
    name = f"{p} is" if say_path else "it is"
    try:
        data = p.read_bytes()
    except IsADirectoryError:
        raise ValueError(f"{name} a directory, not a {what} file") from None
    except OSError as e:
        raise ValueError(f"cannot read {p if say_path else 'it'}: {e.strerror or e}") from None
    if b"\x00" in data[:4096]:
        raise ValueError(
            f"{name} a binary file, not a {what} file: give a text file (TOML or JSON)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(
            f"{name} not UTF-8 text (line {line}, byte {e.start}): save the {what} file "
            "as UTF-8 text (TOML or JSON)"
        ) from None
