"""Write the files a command produces (reports, exports, profiles, scenario
files) all or nothing: each goes to a temporary file beside its target and
replaces the target only once every file of the set is written, so a full
disk, a read-only folder or Ctrl-C leaves the old files as they were and no
half-written one behind.

Usage::

    write_files({out / "summary.md": text, out / "session.png": png_bytes})
    with atomic_open(path) as f:        # a text stream; the file appears on success
        f.write(...)
    OutputError.of(path, e)             # one plain message for an OSError
    file_target("out/")                 # OutputError: a folder, not a file
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO


class OutputError(RuntimeError):
    """A file could not be written; the message says which and what to do."""

    @classmethod
    def of(cls, path: str | Path, e: OSError) -> OutputError:
        why = e.strerror or str(e)
        if e.errno in (errno.EEXIST, errno.ENOTDIR):  # a folder on the way is a file
            hint = "a part of that path is a file, not a folder: choose another place"
        elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            hint = "choose a place you may write to"
        elif e.errno == errno.EISDIR:
            hint = "that is a folder: give a file name"
        else:
            hint = "free some space, or choose another place to write"
        return cls(f"cannot write {path}: {why}; nothing was written there ({hint})")


def file_target(text: str | Path) -> Path:
    """The file an ``--out`` / ``--output`` names.  Missing folders on the way
    are made when it is written; a name that ends with a separator names a
    folder, not a file: OutputError before anything is done."""
    if isinstance(text, str) and text.endswith(("/", os.sep)):
        raise OutputError(
            f"cannot write {text}: that names a folder, not a file; nothing was written "
            f"(give a file name, e.g. {text}next.toml)"
        )
    return Path(text)


def _temp_beside(path: Path) -> tuple[int, str]:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as open() would make it, not mkstemp's 0600
    return fd, tmp


def _made_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` (and parents); the folders this made, deepest first."""
    made = []
    p = folder
    while not p.exists():
        made.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    return made


def _remove_empty(dirs: list[Path]) -> None:
    for d in dirs:
        with contextlib.suppress(OSError):
            d.rmdir()


def write_files(files: Mapping[Path, str | bytes]) -> None:
    """Write every file (text as UTF-8) or none; OutputError if one fails."""
    temps: list[tuple[str, Path]] = []
    made: list[Path] = []
    current = Path(".")
    try:
        for path, data in files.items():
            current = path
            made += _made_dirs(path.parent)
            fd, tmp = _temp_beside(path)
            temps.append((tmp, path))
            with os.fdopen(fd, "wb") as f:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
        for tmp, path in temps:
            current = path
            os.replace(tmp, path)
    except OSError as e:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _remove_empty(made)
        raise OutputError.of(current, e) from None
    except BaseException:  # Ctrl-C: the same, then on up
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _remove_empty(made)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, newline: str | None = None) -> Iterator[IO[str]]:
    """A UTF-8 text stream whose file replaces ``path`` only if the block ends
    without an exception; OutputError if writing fails."""
    target = file_target(path)
    try:
        made = _made_dirs(target.parent)
        fd, tmp = _temp_beside(target)
    except OSError as e:
        raise OutputError.of(target, e) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as f:
            yield f
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _remove_empty(made)
        if isinstance(e, OSError):
            raise OutputError.of(target, e) from None
        raise
