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
                # whole-frame encode/parse: host and tests only (link/wire.py)
                assert "link.wire" not in code, (p, line)


def _commented_codes(name: str) -> list[tuple[str, str]]:
    """(code, field named by the comment) for each line of messages.NAME's
    format, in wire order."""
    import io
    import pathlib
    import tokenize

    src = (pathlib.Path(M.__file__).read_text()).splitlines(keepends=True)
    start = next(i for i, line in enumerate(src) if line.startswith(name + " = ("))
    rows: list[tuple[str, str]] = []
    code = None
    for tok in tokenize.generate_tokens(io.StringIO("".join(src[start:])).readline):
        if tok.type == tokenize.OP and tok.string == ")":
            break
        if tok.type == tokenize.STRING:
            code = tok.string.strip("\"'")
        elif tok.type == tokenize.COMMENT and code is not None:
            rows.append((code, tok.string[1:].split(":")[0].strip()))
            code = None
    return rows


def test_every_payload_field_has_its_name_in_wire_order_and_the_lengths_agree():
    # messages.*_FMT is the board's (one code per line, the comment names the
    # field); message_names.*_FIELDS the host's names: same fields, same order
    import struct

    for kind in ("TELEMETRY", "EVENT", "HEARTBEAT", "ACK"):
        fmt = getattr(M, kind + "_FMT")
        rows = _commented_codes(kind + "_FMT")
        assert fmt == "<" + "".join(c for c, _ in rows), kind
        assert tuple(n for _, n in rows) == getattr(N, kind + "_FIELDS"), kind
        assert len(struct.unpack(fmt, bytes(struct.calcsize(fmt)))) == len(rows), kind
        assert struct.calcsize(fmt) == getattr(M, kind + "_LEN"), kind
    assert M.TELEMETRY_LEN == 48  # endpoint.py's _TELEMETRY_LEN (test_inlined_consts.py)
