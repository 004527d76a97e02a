# A user's profile: how deep, how long, how fast, heart-rate limits, table
# type, loading angle, contraindications.  Every field is checked against the
# hard limits (limits.py); an invalid profile raises ValueError saying what to
# fix, or (check()) gives a reason code and changes nothing.  to_bytes() and
# from_bytes() use one fixed little-endian layout ending in a CRC-16, used for
# the profile file and on the wire; crc() goes into the link handshake.
#
# CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF; crc16(b"123456789") == 0x29B1),
# the same variant as the link's frame CRC.
#
# Usage:
#     p = beginner_profile()
#     p2 = Profile(max_angle_cdeg=3000, hold_ms=120000)   # others: beginner values
#     p2.validate()                                       # ValueError if bad
#     code, why = check(p2)                               # (0, "") if fine
#     q = Profile.from_bytes(p2.to_bytes())

import struct

from inversa import reasons
from inversa.compat import IS_MICROPYTHON, const
from inversa.control import limits as L
from inversa.control.states import MANUAL, MOTORIZED
from inversa.crc import crc16

LAYOUT_VERSION = const(1)
_MAGIC = b"IP"
# magic, layout, user_id, max_angle, hold_ms, descent_cdps, return_ms, rest_ms,
# rise_cdps, hr_mode, hr_low, hr_high, hr_rise, hr_drop, daily_ms, table_type,
# loading_cdeg, contra_flags
_FMT = "<2sBBhIHIIHBBBBBIBhH"
BODY_LEN = const(36)
PROFILE_LEN = const(38)  # body + CRC16

# Contraindications (bit flags): a flagged profile cannot start an inversion.
C_HYPERTENSION = const(0x01)
C_GLAUCOMA = const(0x02)
C_HEART_DISEASE = const(0x04)
C_PREGNANCY = const(0x08)
C_OSTEOPOROSIS = const(0x10)
C_STROKE_TIA = const(0x20)  # recent stroke or TIA
C_ANTICOAGULANTS = const(0x40)
C_HIATAL_HERNIA = const(0x80)
CONTRA_MASK = const(0xFF)
# their display names: inversa/control/profile_names.py (host only)

HR_OFF = const(0)  # no heart-rate sensor fitted: heart-rate rules off
HR_MONITOR = const(1)  # heart-rate rules on; a baseline is required to descend

FIELDS = (
    "user_id",
    "max_angle_cdeg",
    "hold_ms",
    "descent_cdps",
    "return_ms",
    "rest_ms",
    "rise_cdps",
    "hr_mode",
    "hr_low_bpm",
    "hr_high_bpm",
    "hr_rise_bpm",
    "hr_drop_bpm",
    "daily_ms",
    "table_type",
    "loading_cdeg",
    "contra_flags",
)


class Profile:
    """One user's settings.  Defaults are the safe beginner profile: 20 deg,
    1 min hold, 3 deg/s, 30 s return, 15 s rest, heart-rate rules on."""

    def __init__(
        self,
        user_id=0,
        max_angle_cdeg=2000,
        hold_ms=60000,
        descent_cdps=300,
        return_ms=L.MIN_RETURN_MS,
        rest_ms=15000,
        rise_cdps=300,
        hr_mode=HR_MONITOR,
        hr_low_bpm=45,
        hr_high_bpm=150,
        hr_rise_bpm=25,
        hr_drop_bpm=25,
        daily_ms=300000,
        table_type=MOTORIZED,
        loading_cdeg=-6000,
        contra_flags=0,
    ):
        self.user_id = user_id
        self.max_angle_cdeg = max_angle_cdeg
        self.hold_ms = hold_ms
        self.descent_cdps = descent_cdps
        self.return_ms = return_ms
        self.rest_ms = rest_ms
        self.rise_cdps = rise_cdps
        self.hr_mode = hr_mode
        self.hr_low_bpm = hr_low_bpm
        self.hr_high_bpm = hr_high_bpm
        self.hr_rise_bpm = hr_rise_bpm
        self.hr_drop_bpm = hr_drop_bpm
        self.daily_ms = daily_ms
        self.table_type = table_type
        self.loading_cdeg = loading_cdeg
        self.contra_flags = contra_flags

    def copy(self):
        p = Profile()
        for name in FIELDS:
            setattr(p, name, getattr(self, name))
        return p

    def __eq__(self, other):
        if not isinstance(other, Profile):
            return False
        return all(getattr(self, n) == getattr(other, n) for n in FIELDS)

    if not IS_MICROPYTHON:  # the host's (a test's diff): nothing on the board prints one

        def __repr__(self):
            return "Profile(%s)" % ", ".join("%s=%r" % (n, getattr(self, n)) for n in FIELDS)

    def validate(self, why=True):
        """Raise ValueError naming the first field to fix (why=False: with
        no message, see check)."""
        code, msg = check(self, why)
        if code:
            raise ValueError(msg)

    def contraindicated(self):
        return self.contra_flags & CONTRA_MASK != 0

    def to_bytes(self):
        self.validate()
        body = struct.pack(
            _FMT,
            _MAGIC,
            LAYOUT_VERSION,
            self.user_id,
            self.max_angle_cdeg,
            self.hold_ms,
            self.descent_cdps,
            self.return_ms,
            self.rest_ms,
            self.rise_cdps,
            self.hr_mode,
            self.hr_low_bpm,
            self.hr_high_bpm,
            self.hr_rise_bpm,
            self.hr_drop_bpm,
            self.daily_ms,
            self.table_type,
            self.loading_cdeg,
            self.contra_flags,
        )
        return body + struct.pack("<H", crc16(body, 0, len(body)))

    def crc(self):
        """CRC-16 of the encoded profile (reported in the link handshake)."""
        return crc16(self.to_bytes(), 0, BODY_LEN)

    @staticmethod
    def from_bytes(data, why=True):
        """Decode and validate; ValueError says what is wrong (length, magic,
        layout version, CRC, or the first out-of-range field; why=False: with
        no message, see check)."""
        if len(data) != PROFILE_LEN:
            raise ValueError(_why(why, 59, PROFILE_LEN, len(data)))
        body = bytes(data[:BODY_LEN])
        (want,) = struct.unpack("<H", bytes(data[BODY_LEN:PROFILE_LEN]))
        if crc16(body, 0, len(body)) != want:
            raise ValueError(_why(why, 60))
        v = struct.unpack(_FMT, body)
        if v[0] != _MAGIC:
            raise ValueError(_why(why, 61))
        if v[1] != LAYOUT_VERSION:
            raise ValueError(_why(why, 62, v[1], LAYOUT_VERSION))
        p = Profile(*v[2:])
        p.validate(why)
        return p


def beginner_profile():
    """The safe fallback: 20 deg, short hold, slow, heart-rate rules on."""
    return Profile()


def _why(why, code, *args):
    # The message (inversa/error_text.py), or "" where nobody reads one: the
    # loop's checks of a profile from the host (endpoint, set_profile), where
    # making one would load a module in a period.
    if not why:
        return ""
    from inversa.error_text import text

    return text(code, *args)


def _range(p, name, lo, hi, why):
    v = getattr(p, name)
    if not isinstance(v, int) or isinstance(v, bool):
        return reasons.BAD_ARGUMENT, _why(why, 63, name)
    if v < lo or v > hi:
        return reasons.OUT_OF_RANGE, _why(why, 64, name, v, lo, hi)
    return 0, ""


def check(p, why=True):
    """(0, "") if the profile is within the hard limits and consistent, else
    (reason code, message saying what to fix; "" with why=False)."""
    if not isinstance(p, Profile):
        return reasons.BAD_ARGUMENT, _why(why, 65)
    # one flat table (name, lo, hi, ...): 16 small tuples cost ~370 B more of
    # the module's constants, kept while the loop runs (issue 10 item 4)
    # fmt: off
    t = (
        "user_id", 0, 255,
        "max_angle_cdeg", L.MIN_DEPTH_CDEG, L.MAX_ANGLE_CDEG,
        "hold_ms", L.MIN_HOLD_MS, L.MAX_HOLD_MS,
        "descent_cdps", L.MIN_RATE_CDPS, L.MAX_CMD_RATE_CDPS,
        "return_ms", L.MIN_RETURN_MS, L.MAX_RETURN_MS,
        "rest_ms", L.MIN_REST_MS, L.MAX_REST_MS,
        "rise_cdps", L.MIN_RATE_CDPS, L.MAX_CMD_RATE_CDPS,
        "hr_mode", HR_OFF, HR_MONITOR,
        "hr_low_bpm", L.HR_MIN_BPM, L.HR_MAX_BPM,
        "hr_high_bpm", L.HR_MIN_BPM, L.HR_MAX_BPM,
        "hr_rise_bpm", L.HR_MIN_DELTA_BPM, L.HR_MAX_DELTA_BPM,
        "hr_drop_bpm", L.HR_MIN_DELTA_BPM, L.HR_MAX_DELTA_BPM,
        "daily_ms", L.MIN_DAILY_MS, L.MAX_DAILY_MS,
        "table_type", MOTORIZED, MANUAL,
        "loading_cdeg", L.MIN_LOADING_CDEG, L.MAX_LOADING_CDEG,
        "contra_flags", 0, CONTRA_MASK,
    )
    # fmt: on
    for i in range(0, len(t), 3):
        code, msg = _range(p, t[i], t[i + 1], t[i + 2], why)
        if code:
            return code, msg
    if p.hr_high_bpm - p.hr_low_bpm < L.HR_MIN_SPAN_BPM:
        return reasons.PROFILE_INVALID, _why(why, 66, L.HR_MIN_SPAN_BPM)
    # The whole session fits the hard inverted time (checks.conditions
    # starts the return early otherwise): descent + hold + return.
    t_ms = p.max_angle_cdeg * 1000 // p.descent_cdps + p.hold_ms + p.return_ms
    if t_ms + L.RETURN_MARGIN_MS > L.MAX_INVERTED_MS:
        return (
            reasons.PROFILE_INVALID,
            _why(why, 32, t_ms // 1000, L.MAX_INVERTED_MS // 1000),
        )
    return 0, ""
