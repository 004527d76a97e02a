# Profiles: hard-limit validation, fixed byte layout with CRC, the store's
# fallback to the beginner profile.  Runs in CPython and inside MicroPython.
from inversa import reasons
from inversa.control import limits as L
from inversa.control.profile import (
    C_PREGNANCY,
    PROFILE_LEN,
    Profile,
    beginner_profile,
    check,
)
from inversa.control.profile_store import STORE_CORRUPT, STORE_MISSING, STORE_OK, ProfileStore
from inversa.crc import crc16
from mpyunit import raises


def _tmpdir():
    try:
        import tempfile

        return tempfile.mkdtemp()
    except ImportError:  # MicroPython: the VM's filesystem root is writable
        return ""


def test_beginner_profile_is_valid_and_mild():
    p = beginner_profile()
    assert check(p) == (0, "")
    assert p.max_angle_cdeg <= 3000  # beginners start at 20-30 deg
    assert p.return_ms >= L.MIN_RETURN_MS
    assert not p.contraindicated()


def test_round_trip_through_bytes():
    p = Profile(user_id=7, max_angle_cdeg=4500, hold_ms=180000, loading_cdeg=-6500)
    b = p.to_bytes()
    assert len(b) == PROFILE_LEN
    q = Profile.from_bytes(b)
    assert q == p
    assert q.crc() == p.crc() == crc16(b, 0, PROFILE_LEN - 2)


def test_every_field_past_its_hard_limit_is_refused_with_its_name():
    cases = (
        ("max_angle_cdeg", L.MAX_ANGLE_CDEG + 1),
        ("max_angle_cdeg", L.MIN_DEPTH_CDEG - 1),
        ("hold_ms", L.MAX_HOLD_MS + 1),
        ("descent_cdps", L.MAX_CMD_RATE_CDPS + 1),
        ("return_ms", L.MIN_RETURN_MS - 1),
        ("rest_ms", L.MIN_REST_MS - 1),
        ("rise_cdps", 0),
        ("hr_high_bpm", L.HR_MAX_BPM + 1),
        ("hr_low_bpm", L.HR_MIN_BPM - 1),
        ("hr_rise_bpm", L.HR_MAX_DELTA_BPM + 1),
        ("daily_ms", L.MAX_DAILY_MS + 1),
        ("table_type", 2),
        ("loading_cdeg", 0),
        ("contra_flags", 0x100),
    )
    for name, value in cases:
        p = Profile()
        setattr(p, name, value)
        code, why = check(p)
        assert code == reasons.OUT_OF_RANGE, name
        assert name in why
        e = raises(ValueError, p.validate)
        assert name in str(e)


def test_longest_profile_fits_the_inverted_time_hard_limit():
    # The inverted-time alarm fires at hold + return + grace: even the longest
    # profile leaves it within the hard limit.
    assert L.MAX_HOLD_MS + L.MAX_RETURN_MS + L.TIME_GRACE_MS <= L.MAX_INVERTED_MS
    assert check(Profile(hold_ms=L.MAX_HOLD_MS, return_ms=L.MAX_RETURN_MS)) == (0, "")


def test_a_session_longer_than_the_inverted_time_hard_limit_is_refused():
    # descent + hold + return must fit the 15 min (review attack3: a 90 deg
    # descent at 0.5 deg/s, a 10 min hold and a 3 min return took 16 min).
    long = Profile(
        max_angle_cdeg=L.MAX_ANGLE_CDEG,
        descent_cdps=L.MIN_RATE_CDPS,
        hold_ms=L.MAX_HOLD_MS,
        return_ms=L.MAX_RETURN_MS,
    )
    code, why = check(long)
    assert code == reasons.PROFILE_INVALID
    assert "hold_ms" in why and "return_ms" in why and "descent_cdps" in why
    e = raises(ValueError, long.validate)
    assert "hard limit" in str(e)
    # ... one second shorter than the limit (with the return's margin) fits
    descent_ms = L.MAX_ANGLE_CDEG * 1000 // L.MIN_RATE_CDPS
    fits = L.MAX_INVERTED_MS - L.RETURN_MARGIN_MS - descent_ms - L.MAX_RETURN_MS
    long.hold_ms = fits
    assert check(long) == (0, "")
    long.hold_ms = fits + 1
    assert check(long)[0] == reasons.PROFILE_INVALID


def test_inconsistent_and_mistyped_profiles_are_refused():
    assert check(Profile(hr_low_bpm=100, hr_high_bpm=110))[0] == reasons.PROFILE_INVALID
    assert check(Profile(hold_ms="60000"))[0] == reasons.BAD_ARGUMENT
    assert check(None)[0] == reasons.BAD_ARGUMENT


def test_corrupt_bytes_are_refused():
    b = bytearray(Profile().to_bytes())
    b[5] ^= 0x40
    e = raises(ValueError, Profile.from_bytes, bytes(b))
    assert "CRC" in str(e)
    raises(ValueError, Profile.from_bytes, bytes(b[:-1]))
    raises(ValueError, Profile.from_bytes, b"")


def test_contraindication_flag_is_kept():
    p = Profile(contra_flags=C_PREGNANCY)
    assert p.contraindicated()
    assert Profile.from_bytes(p.to_bytes()).contra_flags == C_PREGNANCY


def test_store_missing_file_gives_beginner_profile_and_says_so():
    st = ProfileStore(_tmpdir() + "/nope_ctl_profile.bin")
    p, status = st.load()
    assert status == STORE_MISSING
    assert p == beginner_profile()
    assert "beginner" in st.message


def test_store_round_trip_and_corruption():
    path = _tmpdir() + "/ctl_profile.bin"
    st = ProfileStore(path)
    mine = Profile(user_id=3, max_angle_cdeg=3500)
    assert st.save(mine) == 0
    p, status = st.load()
    assert status == STORE_OK and p == mine
    # An invalid profile is not written; the stored one is unchanged.
    bad = Profile(max_angle_cdeg=L.MAX_ANGLE_CDEG + 100)
    assert st.save(bad) == reasons.PROFILE_INVALID
    assert st.load()[0] == mine
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[10] ^= 0x01
    with open(path, "wb") as f:
        f.write(data)
    p, status = st.load()
    assert status == STORE_CORRUPT and p == beginner_profile()
    assert "CRC" in st.message
