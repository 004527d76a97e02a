# Keeps the active profile on the board's flash, with a checksum (the
# profile's own CRC-16, see profile.py).  A missing or corrupt file gives the
# safe beginner profile and says so (status, message); the controller turns a
# non-OK status into the F_PROFILE fault bit and an event.  Writes go to a
# temporary file first and are renamed into place, so a power cut mid-write
# leaves the old profile (or none), never a half-written one that passes.
#
# Usage:
#     store = ProfileStore("/profile.bin")     # the path is injected
#     profile, status = store.load()           # status: STORE_OK/MISSING/CORRUPT
#     if status: print(store.message)
#     code = store.save(profile)               # 0 or reasons.STORAGE_ERROR


from inversa import reasons
from inversa.compat import const
from inversa.control.profile import PROFILE_LEN, Profile, beginner_profile
from inversa.storage import RecordFile, stored_copies

STORE_OK = const(0)
STORE_MISSING = const(1)
STORE_CORRUPT = const(2)


class ProfileStore(RecordFile):
    def __init__(self, path="/profile.bin"):
        RecordFile.__init__(self, path, "profile")
        self.status = STORE_OK

    def load(self):
        """(profile, status): the stored profile, or the beginner profile if
        the file is missing or fails its checks (message says which)."""
        # A valid PATH.tmp serves when PATH is missing or corrupt: on FAT a
        # power cut between write_atomic's remove and rename leaves only
        # that (review, 30 Nov: the person's profile, contraindications
        # included, fell back to the beginner's).
        data = None
        why = ""
        for data in stored_copies(self.path, PROFILE_LEN + 1):
            try:
                p = Profile.from_bytes(data)
            except ValueError as e:
                why = e
                continue
            self.status = STORE_OK
            self.message = ""
            return p, self.status
        from inversa.error_text import text

        if data is None:
            self.status = STORE_MISSING
            self.message = text(56)
            return beginner_profile(), self.status
        self.status = STORE_CORRUPT
        self.message = text(57, why)
        return beginner_profile(), self.status

    def save(self, profile):
        """Persist profile (validated first); 0, or reasons.STORAGE_ERROR /
        PROFILE_INVALID with self.message saying why.  Changes nothing on error."""
        try:
            data = profile.to_bytes()
        except (ValueError, AttributeError) as e:
            self.message = "not saved: %s" % e
            return reasons.PROFILE_INVALID
        return self._write(data)
