# What survives a reset about the table's motion (control/session_record.py):
# the record round-trips, a missing or damaged file means "nothing known".
# Runs in CPython and inside MicroPython.
from inversa.control.session_record import load_record, save_record


def _tmpdir():
    try:
        import tempfile

        return tempfile.mkdtemp()
    except ImportError:  # MicroPython: the VM's filesystem root is writable
        return ""


def test_record_round_trips_with_negative_angles():
    path = _tmpdir() + "/ctl_motion.bin"
    for rec in ((2500, 2410, 133), (0, 0, 0), (9000, -6000, 300), (0, -8000, 100)):
        assert save_record(path, rec)
        assert load_record(path) == rec


def test_missing_or_damaged_record_means_nothing_is_known():
    d = _tmpdir()
    assert load_record(d + "/nope_ctl_motion.bin") is None
    path = d + "/ctl_motion2.bin"
    assert save_record(path, (2500, 2500, 133))
    with open(path, "rb") as f:
        data = bytearray(f.read())
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x04
        with open(path, "wb") as f:
            f.write(bad)
        assert load_record(path) is None, i
    with open(path, "wb") as f:
        f.write(data[:-1])
    assert load_record(path) is None
