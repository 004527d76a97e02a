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

import os


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
