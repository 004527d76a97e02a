# Small files on the board's flash (the profile, the persisted latches and
# daily time, the session record, the mount calibration), written so that a
# power cut mid-write never leaves a half-written file: the bytes go to
# PATH.tmp, which is then renamed into place.  littlefs renames atomically;
# FAT will not rename over an existing file, so there the old file is removed
# first (a cut between the two leaves PATH.tmp whole, and the reader's
# checksum rejects anything else).
#
# Usage:
#     write_atomic("/profile.bin", data)   # raises OSError if it failed
#     for data in stored_copies("/profile.bin", n): ...   # then PATH.tmp
#     path = file_path(storage_dir, PROFILE_FILE)   # "/flash" + "/profile.bin"
#     class ProfileStore(RecordFile): ...   code = self._write(data)

import os

from inversa import reasons

# Files the firmware keeps on the board's flash (relative to storage_dir).
PROFILE_FILE = "profile.bin"
PERSIST_FILE = "persist.bin"  # what survives a reset (control/persist.py)
CALIBRATION_FILE = "calibration.bin"
MOTION_FILE = "motion.bin"  # control/session_record.py: depth and motor gain across resets
# Present at boot: start in maintenance (the REPL, no control loop, outputs
# safe), once.  Written on the host's maintenance command, which is the only
# way into the REPL once the loop runs: the watchdog cannot be stopped and the
# link turns Ctrl-C off (0x03 may appear inside a frame).
MAINTENANCE_FILE = "maintenance"


def file_path(storage_dir, name):
    """The path (str) of the file `name` in the folder `storage_dir`, with
    one "/" between them whether or not `storage_dir` ends with one."""
    if storage_dir.endswith("/"):
        return storage_dir + name
    return storage_dir + "/" + name


def write_atomic(path, data):
    """Write `data` (bytes) to `path` through a temporary file renamed into
    place.  Raises OSError (flash full, read-only, no file system); the file
    at `path` is then the old one."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    try:
        os.rename(tmp, path)
    except OSError:  # FAT will not rename over an existing file
        os.remove(path)
        os.rename(tmp, path)


def stored_copies(path, nbytes):
    """The bytes (at most `nbytes`) of `path`, then of `path`.tmp, each one
    that can be opened, in that order: write_atomic's reading side.  On FAT
    a power cut between its remove and its rename leaves only PATH.tmp,
    whole; the caller's checksum decides which copy is valid."""
    for p in (path, path + ".tmp"):
        try:
            with open(p, "rb") as f:
                data = f.read(nbytes)
        except OSError:
            continue
        yield data


class RecordFile:
    """What the stores of one small file (control/profile_store.py,
    control/persist.py) share: `path` (str; ValueError "WHAT path must not be
    empty" for ""), `message` ("" or why the last load or save failed), and
    the atomic write.  Each store sets its own `status`."""

    def __init__(self, path, what):
        if not path:
            from inversa.error_text import text

            raise ValueError(text(38, what))
        self.path = path
        self.message = ""

    def _write(self, data):
        """write_atomic(path, data) (bytes); 0, or reasons.STORAGE_ERROR with
        `message` saying why (the file at `path` is then the old one)."""
        try:
            write_atomic(self.path, data)
        except OSError as e:
            self.message = "could not write %s: %s" % (self.path, e)
            return reasons.STORAGE_ERROR
        self.message = ""
        return 0
