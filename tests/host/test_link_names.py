# One source per fact: the board keeps the link's command types and limit ids
# (inversa/link/messages.py), the host their names (inversa/link/message_names.py,
# never loaded on the board: its strings would be interned names there, issue 10).
# A code added on one side only fails here.
from inversa.link import message_names as N
from inversa.link import messages as M


def test_every_command_type_has_a_name_and_nothing_else_does():
    assert len(set(M.COMMANDS)) == len(M.COMMANDS)
    assert sorted(N.COMMAND_NAMES) == sorted(M.COMMANDS)
    # every CMD_* / INJECT_* constant of the schema is a command
    declared = {
        v for k, v in vars(M).items() if k.startswith("CMD_") or k in ("INJECT_IMU", "INJECT_PPG")
    }
    assert declared == set(M.COMMANDS)
    assert len(set(N.COMMAND_NAMES.values())) == len(N.COMMAND_NAMES)


def test_every_limit_id_has_a_name_and_nothing_else_does():
    ids = {v for k, v in vars(M).items() if k.startswith("LIMIT_") and isinstance(v, int)}
    assert sorted(N.LIMIT_NAMES) == sorted(ids)
    # the names are the limits' own (in the unit of the name)
    assert N.LIMIT_NAMES[M.LIMIT_HR_MAX_BPM] == "hr_max_bpm"
    assert len(set(N.LIMIT_NAMES.values())) == len(N.LIMIT_NAMES)


def test_the_board_modules_never_import_the_names():
    import pathlib

    fw = pathlib.Path(__file__).resolve().parents[2] / "firmware" / "inversa"
    for p in fw.rglob("*.py"):
        if p.name in ("message_names.py", "chip_names.py", "reason_names.py"):
            continue
        for line in p.read_text().splitlines():
            code = line.split("#")[0]
            if "import" in code:
                assert "message_names" not in code and "chip_names" not in code, (p, line)
