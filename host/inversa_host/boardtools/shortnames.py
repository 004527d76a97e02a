"""Shorten the firmware's names in a board build.

On a board that runs ``.mpy`` files from RAM every name the code uses (a
global, an attribute, a function, an argument) is interned when its module
loads and never freed (~1,220 names on the emulated Pico).  A board build
renames the firmware's own names to short ones, the same everywhere in the
package, so an attribute set in one module and read in another still meets:
private ones (``_poll_imu``, ``self._tele_next``) to ``_a``, ``_b``, ...
``_aZ`` (a private ``_X = const(1)`` stays private: mpy-cross drops it),
public ones (``hr_backlog``, ``set_goal``) to ``a``.. ``Z``, ``ab``...  The
count of names (and so MicroPython's qstr pools) stays, the text shrinks
(issue 10 item 4).  Which short name a name gets matters for speed: an
instance's attributes live in a hash map (py/map.c: open addressing from
``qstr_hash % alloc``, linear probing, grown only when full), a method call
``self._m()`` first misses in that map, and on rp2 a qstr hash is one byte
of djb2, so ``_a``, ``_b``, ... land on neighbouring slots and probe long
runs (HeartRateEstimator's 141 attributes in 167 slots, simulated: 12
slots read for a hit and 61 for a miss on average with names given in
order, 3.6 and 35 with the readable names, 1.2 and 2.2 as picked now;
``tests/host/test_shortnames.py``).  Each name takes, among the free short
names of the length it would have had (so the text keeps its size), the
one whose hash lands on the emptiest slot of the big classes' maps it is
an attribute or a method of (``_spread``).  The sources, CPython, the
tests and the host keep the names; a traceback on the board then names a function by its short name
(``inversa deploy --debug-lines`` keeps them, with the lines).

Conservative: a name is left alone when it is a dunder or mangled
(``__x``), when it is already short, when some string in the firmware
equals it (``getattr(o, "_x")``) or an f-string reads it, when it names a
module, when MicroPython itself knows it (``mpnames.MP_NAMES``: ``write``
may be machine.UART's), when it is public and the firmware never binds it
(only reads it: ``rtc.memory()`` on an ESP32), or when code that runs on
the board but lives outside the package may use it: ``main.py``, the
host's probe texts and the VM's stand-ins (every token of ``inversa_host``,
which ships with the deploy tool) and ``KEEP``.  Edits stay on their line,
so a traceback with ``--debug-lines`` still points at the source line.

Usage::

    out = shorten_names({"inversa.app": src, ...}, keep=host_tokens())
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import tokenize
from collections.abc import Iterable
from pathlib import Path

from inversa_host.boardtools.mpnames import MP_NAMES

# Names that texts outside inversa_host name (bench/, tests/: a probe run on
# the board reads imath._ATAN or app.sensors.hr_est.spread, say);
# tests/host/test_shortnames.py checks that every such name is here.
KEEP: frozenset[str] = frozenset(
    (
        "a_long",
        "A_MAINS_LOST",
        "a_up",
        "advance_us",
        "_ATAN",
        "atan2_udeg_plain",
        "harm",
        "lags",
        "B_ESTOP",
        "_B_ESTOP",
        "BenchInjector",
        "build_panel",
        "cmd_cdps",
        "collect_timed",
        "COMMANDS",
        "_compact",
        "crc16_table",
        "delta",
        "DESCENT",
        "dt_us",
        "encode_into",
        "encode_into_plain",
        "_FIELDS",
        "_FMT",
        "gc_in_slack",
        "gc_runs",
        "HEADER_FMT",
        "HeartRateEstimator",
        "in_session",
        "InjectedPPG",
        "_JitterIMU",
        "_LEN",
        "_map_raw",  # tests/board/test_rp2_native.py: the IMU map's twins
        "map_v",
        "_MAX_RATE_CDPS",
        "_near",
        "_open_board_port",
        "parse_config",
        "pattern",
        "pct",
        "persist_latched",
        "pop_into",
        "_prev",
        "PROFILE_HEAD_FMT",
        "rate_mdps",
        "_read_mpy",
        "_read_v",  # tests/board/test_rp2_native.py on main (the MPU-6050 twin)
        "retained_for",
        "RETURN",
        "SensorFrontEnd",
        "silent",
        "spread",
        "start_pressed",
        "TAB",
        "TiltEstimator",
        "_tx_count",
        "tx_room",
        "vib",
        "wanted",
        "zero_udeg",
    )
)

_PRIVATE = re.compile(r"^_[A-Za-z0-9]\w*$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = _ALPHABET + "0123456789"


def _tokens(src: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(src).readline))


def words(src: str) -> set[str]:
    """Every identifier-like word of a text, strings and comments included."""
    return set(re.findall(r"[A-Za-z_]\w*", src))


def host_tokens(root: Path | None = None) -> set[str]:
    """Every identifier-like word in the host package (``inversa_host``),
    strings included: its probe texts run on the board."""
    if root is None:
        import inversa_host

        root = Path(inversa_host.__file__).resolve().parent
    out: set[str] = set()
    for p in sorted(root.rglob("*")):
        if p.suffix in (".py", ".mjs", ".js") and "__pycache__" not in p.parts:
            out |= words(p.read_text(encoding="utf-8", errors="replace"))
    return out


def _names(n: int, taken: set[str], prefix: str) -> Iterable[str]:
    """Short names not in ``taken``: prefix + a..Z, then aa.. (n of them)."""
    made = 0
    width = 1
    while made < n:
        for i in range(len(_ALPHABET) * len(_DIGITS) ** (width - 1)):
            first, rest = divmod(i, len(_DIGITS) ** (width - 1))
            tail = ""
            for _ in range(width - 1):
                rest, d = divmod(rest, len(_DIGITS))
                tail = _DIGITS[d] + tail
            name = prefix + _ALPHABET[first % len(_ALPHABET)] + tail
            if name in taken or keyword.iskeyword(name):
                continue
            yield name
            made += 1
            if made == n:
                return
        width += 1


def _bound(tree: ast.AST) -> set[str]:
    """The names a module binds: functions, classes, arguments, assigned
    globals, locals and attributes (a name only ever read may belong to
    something outside the firmware: ``rtc.memory()`` on an ESP32)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
    return out


def plan(sources: dict[str, str], keep: Iterable[str] = ()) -> dict[str, str]:
    """{old name: short name} for the modules' sources."""
    idents: dict[str, int] = {}
    fixed: set[str] = set(keep) | KEEP | MP_NAMES | set(dir(builtins))
    bound: set[str] = set()
    trees: list[ast.Module] = []
    for src in sources.values():
        tree = ast.parse(src)
        trees.append(tree)
        bound |= _bound(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                fixed |= words(node.value)
            elif isinstance(node, ast.JoinedStr):  # an f-string: one token before 3.12
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Name):
                        fixed.add(sub.id)
                    elif isinstance(sub, ast.Attribute):
                        fixed.add(sub.attr)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    mods.append(node.module)
                for m in mods:
                    fixed |= set(m.split("."))
                if isinstance(node, ast.ImportFrom) and not (
                    node.module and node.module.split(".")[0] == "inversa"
                ):
                    fixed |= {a.name for a in node.names}
        for tok in _tokens(src):
            if tok.type == tokenize.NAME:
                idents[tok.string] = idents.get(tok.string, 0) + 1
    todo = sorted(
        (
            n
            for n in idents
            if not n.startswith("__")
            and not keyword.iskeyword(n)
            and n not in fixed
            and (len(n) > 3 if _PRIVATE.match(n) else len(n) > 2 and n in bound)
        ),
        key=lambda n: (-idents[n], n),  # the most used get the shortest
    )
    # a private name stays private (``_X = const(1)`` is folded away, ``X``
    # would be stored), a public one public
    taken = set(idents) | fixed
    private = [n for n in todo if n[0] == "_"]
    public = [n for n in todo if n[0] != "_"]
    maps = _class_maps(trees)
    renamed = set(todo)
    for m in maps:  # the names the build keeps sit where they sit
        for name in sorted(m.attrs | m.misses):
            if name not in renamed:
                m.put(name, qstr_hash(name))
    out: dict[str, str] = {}
    for group, prefix in ((private, "_"), (public, "")):
        _spread(group, list(_names(len(group), taken, prefix)), taken, prefix, maps, out)
    return out


# MicroPython's map sizes (py/map.c): a map grows to the next one only when full
_ALLOCS = (2, 4, 6, 8, 10, 12, 17, 23, 29, 37, 47, 59, 73, 97, 127, 167, 223, 293, 389, 521)
_MIN_ATTRS = 8  # classes with fewer instance attributes are left to chance


def qstr_hash(name: str, nbytes: int = 1) -> int:
    """MicroPython's qstr hash (py/qstr.c, djb2), ``nbytes`` of it: 1 on rp2
    (``MICROPY_QSTR_BYTES_IN_HASH``), 2 on unix and esp32."""
    h = 5381
    for b in name.encode():
        h = (h * 33) ^ b
    return (h & ((1 << (8 * nbytes)) - 1)) or 1


class _Map:
    """One class's instance map as the board build lays it out: its
    attributes (``self.x = ...`` in any method, the base classes' too) and
    the names looked up in it and missed there (its methods and class
    attributes: ``self._m()`` reads the instance map first).  ``used`` /
    ``missed``: how many attributes / missed names already have each home
    slot (a clash between attributes counts twice: it costs every hit of
    the run after it)."""

    def __init__(self, attrs: set[str], misses: set[str]) -> None:
        self.attrs = attrs
        self.misses = misses - attrs
        self.alloc = next((a for a in _ALLOCS if a >= len(attrs)), 521)
        self.used: dict[int, int] = {}
        self.missed: dict[int, int] = {}

    def cost(self, name: str, h: int) -> int:
        slot = h % self.alloc
        if name in self.attrs:
            return 2 * self.used.get(slot, 0) + self.missed.get(slot, 0)
        return self.used.get(slot, 0) if name in self.misses else 0

    def put(self, name: str, h: int) -> None:
        slot = h % self.alloc
        if name in self.attrs:
            self.used[slot] = self.used.get(slot, 0) + 1
        elif name in self.misses:
            self.missed[slot] = self.missed.get(slot, 0) + 1


def _class_maps(trees: list[ast.Module]) -> list[_Map]:
    """The instance maps of the firmware's classes with _MIN_ATTRS or more
    attributes."""
    classes = {n.name: n for t in trees for n in ast.walk(t) if isinstance(n, ast.ClassDef)}

    def names(c: ast.ClassDef, seen: frozenset[str] = frozenset()) -> tuple[set[str], set[str]]:
        attrs: set[str] = set()
        lookups: set[str] = set()
        for st in c.body:
            if isinstance(st, ast.FunctionDef):
                lookups.add(st.name)
                for n in ast.walk(st):
                    if (
                        isinstance(n, ast.Attribute)
                        and isinstance(n.ctx, ast.Store)
                        and isinstance(n.value, ast.Name)
                        and n.value.id == "self"
                    ):
                        attrs.add(n.attr)
            elif isinstance(st, ast.Assign):
                lookups |= {t.id for t in st.targets if isinstance(t, ast.Name)}
        for b in c.bases:
            if isinstance(b, ast.Name) and b.id in classes and b.id not in seen:
                a, m = names(classes[b.id], seen | {c.name})
                attrs |= a
                lookups |= m
        return attrs, lookups

    maps = [_Map(*names(c)) for _, c in sorted(classes.items())]
    return [m for m in maps if len(m.attrs) >= _MIN_ATTRS]


def _spread(
    todo: list[str], seq: list[str], taken: set[str], prefix: str, maps: list[_Map], out: dict
) -> None:
    """Give ``todo`` (most used first) the names of ``seq`` -- each the same
    length as in ``seq``'s order, so the text stays the same size -- choosing
    among those of that length the one whose hash lands on the emptiest slot
    of the big classes' instance maps it belongs to (on rp2 a qstr hash is
    one byte; ``_a``, ``_b``, ... hash to neighbouring slots, so in a
    141-attribute map the hits and the misses (every ``self._m()``) probed
    long runs).  The longest length draws on every free name of its length."""
    widths = sorted({len(s) for s in seq})
    pool: dict[int, list[str]] = {w: [s for s in seq if len(s) == w] for w in widths}
    if widths:  # the longest: every name of that length, in _names' order
        w = widths[-1]
        for s in _names(1 << 30, taken, prefix):
            if len(s) > w:
                break
            if len(s) == w and s not in pool[w]:
                pool[w].append(s)
    hashes = {s: qstr_hash(s) for w in widths for s in pool[w]}
    for old, first in zip(todo, seq, strict=True):
        mine = [m for m in maps if old in m.attrs or old in m.misses]
        cands = pool[len(first)]
        best = 0
        if mine:
            costs = [sum(m.cost(old, hashes[s]) for m in mine) for s in cands]
            best = costs.index(min(costs))
        name = cands.pop(best)
        for m in mine:
            m.put(old, hashes[name])
        out[old] = name


def rename(src: str, names: dict[str, str]) -> str:
    """The source with every NAME token in ``names`` replaced (same lines)."""
    lines = src.splitlines(keepends=True)
    edits: dict[int, list[tuple[int, int, str]]] = {}
    for tok in _tokens(src):
        if tok.type == tokenize.NAME and tok.string in names:
            (row, a), (_, b) = tok.start, tok.end
            edits.setdefault(row, []).append((a, b, names[tok.string]))
    for row, es in edits.items():
        line = lines[row - 1]
        for a, b, new in sorted(es, reverse=True):
            line = line[:a] + new + line[b:]
        lines[row - 1] = line
    return "".join(lines)


def shorten_names(sources: dict[str, str], keep: Iterable[str] = ()) -> dict[str, str]:
    """{module name: source} -> the same modules with the private names shortened."""
    names = plan(sources, keep)
    return {k: rename(v, names) for k, v in sources.items()}
