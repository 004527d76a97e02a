"""The control loop's hot modules inline the limits, states, alarm and event
numbers they use as const() (issue 10: on an RP2040 a module attribute such
as ``L.MAX_RATE_CDPS`` costs ~4 us a lookup and an imported name ~1 us; a
const() is folded into the bytecode).  Each inlined line names its source
(``_X = const(v)  # limits.X``); here every one is checked against that
source, so a limit changed in limits.py cannot silently keep its old value
in the controller.  And the hot modules must not go back to attribute
lookups of those modules."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

FW = Path(__file__).resolve().parents[2] / "firmware" / "inversa"
HOT = [
    "control/controller.py",
    "control/checks.py",
    "control/phases.py",
    "control/drive.py",
    "control/motion.py",
    "link/endpoint.py",
]
SOURCES = {
    "limits": "inversa.control.limits",
    "states": "inversa.control.states",
    "alarms": "inversa.control.alarms",
    "events": "inversa.events",
    "messages": "inversa.link.messages",
}
LINE = re.compile(
    r"^(_[A-Z0-9_]+) = const\((-?\d+)\)  # (?:= )?(limits|states|alarms|events|messages)\.([A-Z0-9_]+)\b",
    re.M,
)


def _is_number(short: str, name: str) -> bool:
    mod = {"L": "limits", "S": "states", "M": "messages"}[short]
    v = getattr(importlib.import_module(SOURCES[mod]), name)
    return isinstance(v, int) and not isinstance(v, bool)


def inlined(path: Path) -> list[tuple[str, int, str, str]]:
    return [(m[1], int(m[2]), m[3], m[4]) for m in LINE.finditer(path.read_text())]


@pytest.mark.parametrize("rel", HOT)
def test_every_inlined_constant_equals_its_source(rel):
    found = inlined(FW / rel)
    assert found, f"{rel}: no inlined constants found (the pattern changed?)"
    for name, value, mod, src in found:
        want = getattr(importlib.import_module(SOURCES[mod]), src)
        assert value == want, f"{rel}: {name} = {value}, but {mod}.{src} = {want}"


@pytest.mark.parametrize("rel", HOT)
def test_hot_modules_use_no_module_attribute_constants(rel):
    text = (FW / rel).read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    bad = sorted(
        n for n in set(re.findall(r"\b([LSM])\.([A-Z][A-Z0-9_]*)\b", code)) if _is_number(*n)
    )
    assert not bad, f"{rel}: module-attribute constants in the hot path: {bad}"
    for m in re.finditer(
        r"^from (inversa\.(?:control\.(?:limits|states|alarms)|events)) import \(?([^)]+?)\)?$",
        code,
        re.M | re.S,
    ):
        mod = importlib.import_module(m[1])
        for n in (x.strip() for x in m[2].split(",")):
            v = getattr(mod, n) if n else None
            assert not (isinstance(v, int) and not isinstance(v, bool)), (
                f"{rel}: imports the number {m[1]}.{n} (inline it as const)"
            )


def test_the_pattern_catches_a_wrong_value(tmp_path):
    # The checker itself: a stale value is reported.
    p = tmp_path / "m.py"
    p.write_text("_MAX_RATE_CDPS = const(601)  # limits.MAX_RATE_CDPS\n")
    ((name, value, mod, src),) = inlined(p)
    assert (name, value, mod, src) == ("_MAX_RATE_CDPS", 601, "limits", "MAX_RATE_CDPS")
    assert value != importlib.import_module(SOURCES[mod]).MAX_RATE_CDPS


# Formats and tables inlined as const() literals (strings, tuples): the board
# then never loads inversa/link/messages.py (issue 10 item 4: its names).
LITERAL = re.compile(r"^(_[A-Z0-9_]+) = const\((.+)\)  # messages\.([A-Z0-9_]+)\b", re.M)


def test_every_inlined_format_and_table_equals_its_source():
    import ast

    msgs = importlib.import_module(SOURCES["messages"])
    seen = set()
    for rel in ("link/endpoint.py", "link/frame.py"):
        for m in LITERAL.finditer((FW / rel).read_text()):
            value = ast.literal_eval(m[2])
            if isinstance(value, int):
                continue  # the integers: test_every_inlined_constant_equals_its_source
            assert value == getattr(msgs, m[3]), f"{rel}: {m[1]} = {value!r}, not messages.{m[3]}"
            seen.add(m[3])
    assert seen == {
        "ACK_FMT",
        "COMMANDS",
        "EVENT_FMT",
        "HEADER_FMT",
        "HEARTBEAT_FMT",
        "HELLO_HEAD_FMT",
        "PROFILE_HEAD_FMT",
        "TELEMETRY_FMT",
    }


def test_no_board_module_reads_a_format_or_table_of_messages():
    # every module but the host-side names may import messages only for
    # integers, which `inversa deploy` folds (boardtools/constinline.py)
    for p in FW.rglob("*.py"):
        if p.name in ("messages.py", "message_names.py", "wire.py"):
            continue
        code = "\n".join(line.split("#", 1)[0] for line in p.read_text().splitlines())
        assert not re.search(r"\b(?:M|messages)\.[A-Z_]*(?:FMT|COMMANDS|FIELDS)\b", code), p
        assert not re.search(r"import[^\n]*\b[A-Z_]*(?:_FMT|COMMANDS|_FIELDS)\b", code), p
