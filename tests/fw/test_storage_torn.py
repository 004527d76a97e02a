"""A power cut inside write_atomic on FAT (review, 30 Nov): FAT cannot rename
over a file, so write_atomic removes PATH, then renames PATH.tmp into place;
a cut between the two leaves only PATH.tmp, whole.  Required (DESIGN.md §3,
trapped inverted and rising too fast: a reboot mid-session is recovered by a
gradual return; docs/SAFETY.md "What survives a reset"): what was written is
not forgotten.  Before this change only persist.bin read PATH.tmp: the
session record was lost (the open-loop return then planned for 90 deg and
came up too fast from a shallow depth), the profile fell back to the
beginner's (its contraindications dropped), the calibration to none."""

from __future__ import annotations

import os
from pathlib import Path

from inversa.control.profile import Profile
from inversa.control.profile_store import STORE_OK, ProfileStore
from inversa.control.session_record import load_record, save_record
from inversa.sense.calibration import Calibration
from inversa.storage import write_atomic


def _cut_between_remove_and_rename(path: Path, write) -> None:
    """Write twice through write_atomic as FAT does it, the second time cut
    after os.remove(PATH): only PATH.tmp is left."""
    write()  # the first record: PATH
    real_rename = os.rename
    calls = []

    def fat_rename(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) == 1:
            raise OSError(17, "EEXIST")  # FAT: will not rename over a file
        raise SystemExit("power cut")  # the cut, after the remove

    os.rename = fat_rename  # type: ignore[assignment]
    try:
        try:
            write()
        except SystemExit:
            pass
    finally:
        os.rename = real_rename  # type: ignore[assignment]
    assert not path.exists() and Path(str(path) + ".tmp").exists()


def test_the_session_record_survives_a_cut_between_remove_and_rename(tmp_path: Path) -> None:
    path = tmp_path / "motion.bin"
    recs = iter([(2500, 2400, 130), (2600, 2600, 131)])
    _cut_between_remove_and_rename(path, lambda: save_record(str(path), next(recs)))
    assert load_record(str(path)) == (2600, 2600, 131)


def test_the_profile_survives_a_cut_between_remove_and_rename(tmp_path: Path) -> None:
    path = tmp_path / "profile.bin"
    store = ProfileStore(str(path))
    prof = Profile(max_angle_cdeg=1500, contra_flags=1)
    _cut_between_remove_and_rename(path, lambda: store.save(prof))
    got, status = ProfileStore(str(path)).load()
    assert status == STORE_OK
    assert got.to_bytes() == prof.to_bytes()


def test_the_calibration_survives_a_cut_between_remove_and_rename(tmp_path: Path) -> None:
    path = tmp_path / "calibration.bin"
    cal = Calibration(zero_cdeg=-123)
    _cut_between_remove_and_rename(path, lambda: write_atomic(str(path), cal.to_bytes()))
    assert Calibration.load(str(path)) == cal
