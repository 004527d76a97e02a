# What survives a reset: the latches that only a local clear may drop (the
# e-stop and the cut-off faults) and the daily inverted-time account.  One
# small record on the board's flash, next to the profile (profile_store.py).
#
# Record (little-endian, 18 bytes):
#     magic b"IP", version u8, reserved u8, latched u32 (alarm bits),
#     daily_used_ms u32, day_ms u32 (powered time of the day's window),
#     crc16 u16 (CRC-16/CCITT-FALSE over the 16 bytes before it)
#
# A write goes to path + ".tmp" first and is renamed into place; on a file
# system that will not rename over a file (FAT) the old record is removed
# first, so load() also accepts a valid ".tmp" when the record itself is
# missing or bad.  A write torn by a reset therefore leaves the previous
# record (or the new one).  What load() gives back:
#     STATE_OK       the record
#     STATE_MISSING  neither file: a board that has never run (nothing latched)
#     STATE_CORRUPT  files there but none valid: history unknown, assumed the
#                    worst: the e-stop latched (a local clear is needed) and
#                    the day's allowance used up.
#
# Flash wear: the app writes only when the latched set changes (rare), when
# the daily time used enters a new DAILY_STEP_MS step (at most 60 writes on a
# day with the 30 min maximum allowance) and every DAY_STEP_MS of the day's
# powered window (15 min).  The daily time is stored as the END of the step
# it has entered, so a reset can only count time as used, never give it back; the
# window is stored rounded down, so a reset can only make the day longer.
#
# Usage:
#     store = PersistStore("/persist.bin")
#     latched, daily_ms, day_ms, status = store.load()
#     code = store.save(latched, daily_ms, day_ms)     # 0 or reasons.STORAGE_ERROR

import struct

from inversa.compat import const
from inversa.control import limits as L
from inversa.control.alarms import B_ESTOP
from inversa.crc import crc16
from inversa.storage import RecordFile, stored_copies

VERSION = const(1)
RECORD_LEN = const(18)
_FMT = "<2sBBIII"
_MAGIC = b"IP"
DAILY_STEP_MS = const(30000)
DAY_STEP_MS = const(900000)

STATE_OK = const(0)
STATE_MISSING = const(1)
STATE_CORRUPT = const(2)


def encode(latched, daily_used_ms, day_ms):
    """The record's bytes."""
    body = struct.pack(_FMT, _MAGIC, VERSION, 0, latched, daily_used_ms, day_ms)
    return body + struct.pack("<H", crc16(body, 0, len(body)))


def decode_record(data):
    """(latched, daily_used_ms, day_ms), or ValueError saying what is wrong."""
    if data is None or len(data) != RECORD_LEN:
        from inversa.error_text import text

        raise ValueError(text(50, 0 if data is None else len(data), RECORD_LEN))
    body = data[: RECORD_LEN - 2]
    (crc,) = struct.unpack("<H", data[RECORD_LEN - 2 :])
    if crc16(body, 0, len(body)) != crc:
        from inversa.error_text import text

        raise ValueError(text(51))
    magic, version, _res, latched, daily, day = struct.unpack(_FMT, body)
    if magic != _MAGIC:
        raise ValueError("bad magic")
    if version != VERSION:
        from inversa.error_text import text

        raise ValueError(text(52, version, VERSION))
    if daily > L.MAX_DAILY_MS + DAILY_STEP_MS or day > L.DAY_MS:
        from inversa.error_text import text

        raise ValueError(text(53))
    return latched, daily, day


class PersistStore(RecordFile):
    def __init__(self, path="/persist.bin"):
        RecordFile.__init__(self, path, "persist")
        self.status = STATE_OK

    def load(self):
        """(latched, daily_used_ms, day_ms, status); see the header."""
        seen = False
        why = ""
        for data in stored_copies(self.path, RECORD_LEN + 1):
            seen = True
            try:
                latched, daily, day = decode_record(data)
            except ValueError as e:
                why = str(e)
                continue
            self.status = STATE_OK
            self.message = ""
            return latched, daily, day, STATE_OK
        from inversa.error_text import text

        if not seen:
            self.status = STATE_MISSING
            self.message = text(54)
            return 0, 0, 0, STATE_MISSING
        self.status = STATE_CORRUPT
        self.message = text(55, why)
        return B_ESTOP, L.MAX_DAILY_MS, 0, STATE_CORRUPT

    def save(self, latched, daily_used_ms, day_ms):
        """Write the record (atomically as the file system allows); 0, or
        reasons.STORAGE_ERROR with self.message saying why."""
        data = encode(latched, daily_used_ms, day_ms)
        return self._write(data)


def daily_to_store(daily_used_ms):
    """The daily time as stored when it enters a step: the END of that step
    (0 stays 0), so the time used until the next write is already counted."""
    if daily_used_ms <= 0:
        return 0
    return (daily_used_ms // DAILY_STEP_MS + 1) * DAILY_STEP_MS


def day_to_store(day_ms):
    """The day's powered window as stored: rounded down to DAY_STEP_MS."""
    return day_ms // DAY_STEP_MS * DAY_STEP_MS
