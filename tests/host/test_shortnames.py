"""A board build shortens the firmware's names (boardtools/shortnames.py;
issue 10 item 4: the private ones ~2.2 KB less interned text on the emulated
Pico, the public ones ~1.8 KB more).  The
folded, shortened build runs side by side with the plain one in the 32-bit
interpreter (tests/host/test_constinline.py: identical link bytes over 600
periods); here: the renaming itself, and that nothing outside the firmware
names a name the build renames."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from inversa_host.boardtools.mpybuild import firmware_sources, module_name
from inversa_host.boardtools.shortnames import KEEP, host_tokens, plan, shorten_names
from inversa_host.vm import firmware_dir

ROOT = Path(__file__).resolve().parents[2]


def _firmware() -> dict[str, str]:
    root = firmware_dir()
    by = {module_name(p.relative_to(root)): p for p in firmware_sources(root)}
    return {k: p.read_text() for k, p in by.items() if k.split(".")[0] == "inversa"}


def test_private_names_are_renamed_alike_everywhere_and_the_rest_is_kept():
    src = {
        "inversa.a": (
            "from inversa.b import _helper\n"
            "import _thread\n"
            "class A:\n"
            "    def __init__(self):\n"
            "        self._count = 0  # _count in a comment stays\n"
            "        self.__hidden = 1\n"
            "        self._by_name = getattr(self, '_by_name', 0)\n"
            "        self._n = 2\n"
            "    def _bump(self):\n"
            "        self._count += _helper(self._count)\n"
            "        return f'{self._count}'\n"
        ),
        "inversa.b": "def _helper(x):\n    return x + 1\n",
    }
    out = shorten_names(src, keep=())
    names = plan(src)
    # _count is read in an f-string (one token before Python 3.12): kept
    assert set(names) == {"_helper", "_bump"}
    assert all(len(v) <= 3 for v in names.values())
    a = out["inversa.a"]
    assert a.count("self._count") == 4 and names["_bump"] in a
    assert f"from inversa.b import {names['_helper']}" in a
    assert f"def {names['_helper']}(x)" in out["inversa.b"]
    for kept in ("import _thread", "self.__hidden", "'_by_name'", "self._by_name", "self._n "):
        assert kept in a
    assert a.count("\n") == src["inversa.a"].count("\n")  # lines stay put
    ns: dict = {}
    exec(compile(out["inversa.b"], "b", "exec"), ns)
    assert ns[names["_helper"]](1) == 2


def _has_docstring(node: ast.AST) -> bool:
    body = getattr(node, "body", None)
    if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) or not body:
        return False
    first = body[0]
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)


def test_nothing_outside_the_firmware_names_a_renamed_private_name():
    # a probe text run on the board (bench/, tests/) would miss a renamed name:
    # every private name in their strings is kept (KEEP); inversa_host's
    # words are kept at build time (host_tokens)
    names = plan(_firmware(), host_tokens())
    seen = set()
    for p in sorted((ROOT / "bench").rglob("*.py")) + sorted((ROOT / "tests").rglob("*.py")):
        if p.name in ("test_shortnames.py", "test_built_once.py", "test_error_text.py"):
            # source analysis, not probes
            continue
        if p.name in ("test_drive_twin.py", "test_drv_fastpaths.py"):
            # their strings name attributes of the plain firmware they run
            # (CPython, the unix ports): a renamed one fails them at once
            continue
        tree = ast.parse(p.read_text())
        docs = {id(d.body[0].value) for d in ast.walk(tree) if _has_docstring(d)}
        for node in ast.walk(tree):
            if id(node) in docs:  # a docstring is never probe text
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                hit = set(re.findall(r"[A-Za-z_]\w*", node.value)) & set(names)
                seen |= {(p.name, w) for w in hit}
    assert not seen, f"keep these in shortnames.KEEP: {sorted(seen)}"
    assert KEEP.isdisjoint(names)
    # and the firmware's own builds: every module still parses
    for text in shorten_names(_firmware(), host_tokens()).values():
        ast.parse(text)
    assert len(names) > 400


def test_public_names_the_firmware_binds_are_renamed_but_not_micropythons_own():
    src = {
        "inversa.a": (
            "import machine\n"
            "from inversa.b import Holder\n"
            "class Port:\n"
            "    def write(self, buf):\n"  # machine.UART's too: kept
            "        self.sent_total = len(buf)\n"
            "def sync_clock(rtc, held):\n"
            "    words = rtc.memory()\n"  # read only (an ESP32's RTC): kept
            "    held.rows_seen += 1\n"
            "    return Holder(rows_seen=held.rows_seen), words, getattr(held, 'label_text')\n"
        ),
        "inversa.b": (
            "_LIMIT = const(3)\n"
            "class Holder:\n"
            "    def __init__(self, rows_seen=0):\n"
            "        self.rows_seen = rows_seen\n"
            "        self.label_text = ''\n"
        ),
    }
    names = plan(src)
    assert {"Port", "sent_total", "sync_clock", "held", "rows_seen", "Holder"} <= set(names)
    for kept in ("write", "memory", "label_text", "machine", "buf"):
        assert kept not in names  # MicroPython's, read only, a string's, or short
    assert names["_LIMIT"].startswith("_")  # a private const stays private (folded)
    assert not any(v.startswith("_") for k, v in names.items() if k[0] != "_")
    out = shorten_names(src)
    ns: dict = {"const": lambda v: v}
    exec(compile(out["inversa.b"], "b", "exec"), ns)
    h = ns[names["Holder"]](**{names["rows_seen"]: 2})
    assert getattr(h, names["rows_seen"]) == 2 and h.label_text == ""


def _image_words(data: bytes) -> set[str]:
    # every suffix of every NUL-terminated identifier-like run (the linker
    # stores "write" as the tail of "inc_write")
    out: set[str] = set()
    for run in re.findall(rb"([A-Za-z0-9_]+)\x00", data):
        s = run.decode()
        out |= {s[k:] for k in range(len(s)) if s[k].isalpha() or s[k] == "_"}
    return out


def test_every_firmware_name_micropython_knows_is_in_mp_names():
    import io
    import tokenize

    import pytest

    from inversa_host.boardtools.mpnames import MP_NAMES

    shared = ROOT.parent / "shared" / "tools"
    uf2 = shared / "micropython-rp2" / "RPI_PICO.uf2"
    unix32 = shared / "micropython-unix32" / "micropython"
    if not (uf2.is_file() and unix32.is_file()):
        pytest.skip(f"MicroPython images not found in {shared}")
    raw = uf2.read_bytes()
    image = b"".join(  # UF2: 512-byte blocks, payload length at 16, data at 32
        raw[i + 32 : i + 32 + int.from_bytes(raw[i + 16 : i + 20], "little")]
        for i in range(0, len(raw), 512)
    )
    known = _image_words(image) | _image_words(unix32.read_bytes())
    assert {"write", "readinto", "value", "duty_u16", "reset_cause"} <= known
    root = firmware_dir()
    idents = set()
    for p in firmware_sources(root):
        for t in tokenize.generate_tokens(io.StringIO(p.read_text()).readline):
            if t.type == tokenize.NAME and not t.string.startswith("_"):
                idents.add(t.string)
    missing = sorted((idents & known) - MP_NAMES)
    assert not missing, f"add to boardtools/mpnames.py: {missing}"


# MicroPython's maps (py/map.c): open addressing from qstr_hash % alloc,
# linear probing, grown to the next size only when full; on rp2 a qstr's
# hash is one byte of djb2 (py/qstr.c, MICROPY_QSTR_BYTES_IN_HASH = 1)
_SIZES = (2, 4, 6, 8, 10, 12, 17, 23, 29, 37, 47, 59, 73, 97, 127, 167, 223, 293)


def _rp2_hash(name: str) -> int:
    h = 5381
    for b in name.encode():
        h = (h * 33) ^ b
    return (h & 0xFF) or 1


def _layout(keys: list[str]) -> list[str | None]:
    table: list[str | None] = []
    for k in keys:
        if None not in table:  # full: grow and re-add in slot order
            old = [o for o in table if o is not None]
            table = [None] * next(a for a in _SIZES if a > len(table))
            for o in old:
                _put(table, o)
        _put(table, k)
    return table


def _put(table: list[str | None], key: str) -> None:
    pos = _rp2_hash(key) % len(table)
    while table[pos] is not None:
        pos = (pos + 1) % len(table)
    table[pos] = key


def _probes(table: list[str | None], key: str) -> int:
    pos, n = _rp2_hash(key) % len(table), 1
    while table[pos] is not None and table[pos] != key:
        pos, n = (pos + 1) % len(table), n + 1
    return n


def test_big_classes_instance_maps_are_probed_briefly_on_rp2():
    # a sequential short name (_a, _b, ...) hashes next to the one before:
    # in HeartRateEstimator's 141-attribute map a hit read 12 slots on
    # average and a method lookup (a miss in the instance map first) 61;
    # the build now picks names that spread over the map
    fw = _firmware()
    names = plan(fw, host_tokens())
    classes = {
        n.name: n
        for s in fw.values()
        for n in ast.walk(ast.parse(s))
        if isinstance(n, ast.ClassDef)
    }
    for cls in ("HeartRateEstimator", "Controller", "TiltEstimator"):
        c = classes[cls]
        fns = [f for f in c.body if isinstance(f, ast.FunctionDef)]
        fns.sort(key=lambda f: f.name != "__init__")  # __init__ assigns first
        attrs: list[str] = []
        for f in fns:
            stores = [
                n
                for n in ast.walk(f)
                if isinstance(n, ast.Attribute)
                and isinstance(n.ctx, ast.Store)
                and isinstance(n.value, ast.Name)
                and n.value.id == "self"
            ]
            for n in sorted(stores, key=lambda n: (n.lineno, n.col_offset)):
                if n.attr not in attrs:
                    attrs.append(n.attr)
        methods = [f.name for f in fns if not f.name.startswith("__")]
        table = _layout([names.get(a, a) for a in attrs])
        hits = [_probes(table, names.get(a, a)) for a in attrs]
        misses = [_probes(table, names.get(m, m)) for m in methods]
        assert len(attrs) > 40 and methods
        assert sum(hits) / len(hits) < 2, (cls, sum(hits) / len(hits))
        assert sum(misses) / len(misses) < 5, (cls, sum(misses) / len(misses))
