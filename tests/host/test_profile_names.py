"""The contraindication flags' display names live host-side
(inversa/control/profile_names.py) so the board interns none of them (issue
10, the qstr pools): every flag in profile.py has exactly one name at its bit
position, and no board module imports the names."""

from __future__ import annotations

import re
from pathlib import Path

from inversa.control import profile
from inversa.control.profile_names import CONTRA_NAMES

FW = Path(__file__).resolve().parents[2] / "firmware" / "inversa"


def test_every_contraindication_flag_has_one_name_at_its_bit() -> None:
    src = (FW / "control" / "profile.py").read_text()
    flags = re.findall(r"^(C_[A-Z_]+) = const\((0x[0-9A-F]+)\)", src, re.M)
    assert len(flags) == 8
    bits = sorted(int(v, 16).bit_length() - 1 for _, v in flags)
    assert bits == list(range(len(CONTRA_NAMES)))
    assert len(set(CONTRA_NAMES)) == len(CONTRA_NAMES)
    assert (1 << len(CONTRA_NAMES)) - 1 == profile.CONTRA_MASK
    assert CONTRA_NAMES[profile.C_GLAUCOMA.bit_length() - 1] == "glaucoma"
    assert CONTRA_NAMES[profile.C_STROKE_TIA.bit_length() - 1] == "recent-stroke-or-tia"


def test_no_board_module_imports_the_names() -> None:
    for f in FW.rglob("*.py"):
        if f.name == "profile_names.py":
            continue
        imports = re.findall(r"^\s*(?:from|import)\s.*profile_names", f.read_text(), re.M)
        assert not imports, f
