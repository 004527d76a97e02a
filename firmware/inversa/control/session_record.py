# What a reset must not forget about the table's motion: the session's
# deepest trusted angle, the last trusted angle (to 2 deg) and the motor's
# learned speed gain (Controller.record()).  The next boot hands it back as
# Controller(resume=...), so an open-loop return after a reset plans for the
# depth it can prove instead of the worst case.  Written only when it
# changes (in 2 deg steps: a few dozen small writes per session), through a
# temporary file renamed into place, with a checksum: a power cut mid-write
# leaves the old record or none, never a wrong one.
#
# Usage:
#     rec = load_record("/motion.bin")       # (deep, last, gain) or None (unknown)
#     ok = save_record("/motion.bin", ctrl.record())

from inversa.storage import stored_copies, write_atomic

_MAGIC = 0x4D52  # "MR"
_LEN = 12


def _pack(rec):
    deep, last, gain = rec
    b = bytearray(_LEN)
    i = 0
    for v in (_MAGIC, deep, last, gain & 0xFFFF):
        v &= 0xFFFF
        b[i] = v & 0xFF
        b[i + 1] = v >> 8
        i += 2
    s = 0
    for k in range(8):
        s = (s * 31 + b[k]) & 0xFFFFFFFF
    for k in range(4):
        b[8 + k] = (s >> (8 * k)) & 0xFF
    return b


def _s16(lo, hi):
    v = lo | (hi << 8)
    return v - 0x10000 if v & 0x8000 else v


def load_record(path):
    """(deepest_cdeg, last_cdeg, gain_pct), or None if missing or corrupt
    (then nothing is known: the controller assumes the worst depth).  A
    valid PATH.tmp serves when PATH is missing or corrupt: on FAT a power
    cut between write_atomic's remove and rename leaves only that (review,
    30 Nov: the depth was forgotten and an open-loop return planned for 90
    deg)."""
    for b in stored_copies(path, _LEN + 1):
        if len(b) != _LEN:
            continue
        rec = (_s16(b[2], b[3]), _s16(b[4], b[5]), b[6] | (b[7] << 8))
        if _pack(rec) == b and (b[0] | (b[1] << 8)) == _MAGIC:
            return rec
    return None


def save_record(path, rec):
    """Persist rec; False if the flash could not be written (nothing lost:
    the old record stays)."""
    try:
        write_atomic(path, _pack(rec))
    except OSError:
        # The old record must not stand for this one: a write ahead of a
        # session that failed left "at the loading position", and after a
        # power cut with the tilt sensor gone the open loop went home at
        # full speed from 15 deg (review attack6).  Removed, the next boot
        # knows nothing: the worst depth, after a creep (drive.py).
        import os  # (here: rare, and no global kept on the heap)

        try:
            os.remove(path)
        except OSError:
            pass
        return False
    return True
