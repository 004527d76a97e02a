"""Fold the firmware's integer constants across modules before mpy-cross.

MicroPython folds ``_NAME = const(1)`` inside one module, but a public
``NAME = const(1)`` stays a module global (a dictionary slot and an interned
name, a qstr, in RAM), and every other module that reads it pays again: a
``from m import NAME`` is one more global and qstr, an ``M.NAME`` is a
dictionary lookup at run time.  The firmware has some 330 public integer
constants (alarm ids and bits, reasons, limits, message types, states) read
some 450 times across modules: on a board without frozen code (a stock
RPI_PICO runs the ``.mpy`` files from RAM) they cost heap for names the
board never needs.

This rewrites the sources that ``inversa deploy`` compiles (never the sources
themselves: CPython, the tests and the host keep the names):

* every read of a firmware integer constant, ``NAME`` or ``module.NAME``,
  becomes its value (what ``const()`` does within one module);
* a ``from m import NAME`` of such a constant is dropped, and so is a
  ``from pkg import module as M`` whose every use was such a read: the board
  then never loads a module that only held constants (``inversa.reasons``,
  ``control.limits``: a module object, its globals and three interned names
  each);
* with ``drop_public``, a public ``NAME = const(v)`` becomes ``_NAME =
  const(v)``, which mpy-cross drops: the name is gone from the board's heap.
  The deployed modules then no longer export those names, so nothing that
  imports them from the ``.mpy`` files (the tests, the simulated world) may
  use a tree built this way; the deploy and the board's heap probes do.

Conservative: a name bound anywhere else in the module (an argument, a
local, a loop variable, a ``global``) is left alone, and so is a value
outside MicroPython's small-int range.  Edits keep every line where it was,
so a traceback on the board points at the source line.  ``check`` afterwards
fails if a module still reads a constant that its module no longer defines.

Usage::

    out = inline_consts({"inversa.app": src, ...}, drop_public=True)
"""

from __future__ import annotations

import ast
from collections.abc import Callable

SMALL_INT_MIN = -(1 << 30)
SMALL_INT_MAX = (1 << 30) - 1


class ConstInlineError(ValueError):
    pass


def _module_of(pkg_mod: str, name: str, modules: set[str]) -> str | None:
    full = f"{pkg_mod}.{name}"
    return full if full in modules else None


class _Module:
    def __init__(self, name: str, src: str, modules: set[str]) -> None:
        self.name = name
        self.src = src
        self.tree = ast.parse(src)
        self.exprs: dict[str, ast.expr] = {}  # own NAME = const(expr)
        self.defs: dict[str, ast.Assign] = {}
        self.imported: dict[str, tuple[str, str]] = {}  # local -> (module, name)
        self.aliases: dict[str, str] = {}  # local -> firmware module
        self.plain: set[str] = set()  # defined without const()
        for node in self.tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "const"
                and len(node.value.args) == 1
            ):
                self.exprs[node.targets[0].id] = node.value.args[0]
                self.defs[node.targets[0].id] = node
            elif (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(
                    node.value, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Name, ast.Attribute)
                )
            ):
                # a plain module-level int (X = 10) that nothing rebinds is a
                # constant too; it becomes _X = const(10) where it is dropped
                self.exprs[node.targets[0].id] = node.value
                self.defs[node.targets[0].id] = node
                self.plain.add(node.targets[0].id)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname and a.name in modules:
                        self.aliases[a.asname] = a.name
        # from-imports at any level (an import inside a function too): a
        # local name bound to two different things is left alone
        clash: set[str] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    local = a.asname or a.name
                    sub = _module_of(node.module, a.name, modules)
                    if sub is not None:
                        if self.aliases.setdefault(local, sub) != sub:
                            clash.add(local)
                    elif node.module in modules:
                        target = (node.module, a.name)
                        if self.imported.setdefault(local, target) != target:
                            clash.add(local)
        # Names bound anywhere but by the definitions above: left alone.
        self.rebound: set[str] = set()
        def_targets = {id(d.targets[0]) for d in self.defs.values()}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                if id(node) not in def_targets:
                    self.rebound.add(node.id)
            elif isinstance(node, ast.arg):
                self.rebound.add(node.arg)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                self.rebound.update(node.names)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                self.rebound.add(node.name)
        self.rebound |= clash
        for local in set(self.aliases) & set(self.imported):
            self.rebound.add(local)
        self.values: dict[str, int] = {}


def _evaluate(mods: dict[str, _Module]) -> None:
    """Every module's constants (its own and those it imports) to ints."""

    def lookup(m: _Module, node: ast.expr) -> int | None:
        if isinstance(node, ast.Name):
            if node.id in m.values:
                return m.values[node.id]
            return None
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in m.aliases
        ):
            return mods[m.aliases[node.value.id]].values.get(node.attr)
        return None

    def ev(m: _Module, node: ast.expr) -> int | None:
        if isinstance(node, ast.Constant):
            v = node.value
            return v if isinstance(v, int) and not isinstance(v, bool) else None
        if isinstance(node, (ast.Name, ast.Attribute)):
            return lookup(m, node)
        if isinstance(node, ast.UnaryOp):
            a = ev(m, node.operand)
            if a is None:
                return None
            if isinstance(node.op, ast.USub):
                return -a
            if isinstance(node.op, ast.Invert):
                return ~a
            if isinstance(node.op, ast.UAdd):
                return a
            return None
        if isinstance(node, ast.BinOp):
            a = ev(m, node.left)
            b = ev(m, node.right)
            if a is None or b is None:
                return None
            ops: dict[type, Callable[[int, int], int]] = {
                ast.Add: lambda x, y: x + y,
                ast.Sub: lambda x, y: x - y,
                ast.Mult: lambda x, y: x * y,
                ast.FloorDiv: lambda x, y: x // y,
                ast.Mod: lambda x, y: x % y,
                ast.LShift: lambda x, y: x << y,
                ast.RShift: lambda x, y: x >> y,
                ast.BitOr: lambda x, y: x | y,
                ast.BitAnd: lambda x, y: x & y,
                ast.BitXor: lambda x, y: x ^ y,
            }
            f = ops.get(type(node.op))
            if f is None or (isinstance(node.op, (ast.FloorDiv, ast.Mod)) and b == 0):
                return None
            return f(a, b)
        return None

    changed = True
    while changed:
        changed = False
        for m in mods.values():
            for name, expr in m.exprs.items():
                if name in m.values or name in m.rebound:
                    continue
                v = ev(m, expr)
                if v is not None:
                    m.values[name] = v
                    changed = True
            for local, (src_mod, name) in m.imported.items():
                if local in m.values or local in m.rebound:
                    continue
                v = mods[src_mod].values.get(name)
                if v is not None:
                    m.values[local] = v
                    changed = True


def _line_starts(data: bytes) -> list[int]:
    starts = [0]
    for i, b in enumerate(data):
        if b == 10:
            starts.append(i + 1)
    return starts


def _literal(v: int) -> str:
    return f"({v})" if v < 0 else str(v)


def _rewrite(
    m: _Module,
    mods: dict[str, _Module],
    drop: set[str],
    folds: list[tuple[str, str, str]] | None = None,
) -> str:
    data = m.src.encode()
    starts = _line_starts(data)
    edits: list[tuple[int, int, str]] = []

    def span(node: ast.AST) -> tuple[int, int]:
        a = starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        b = starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        return a, b

    def foldable(v: int | None) -> bool:
        return v is not None and SMALL_INT_MIN <= v <= SMALL_INT_MAX

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.ImportFrom):
            import_from(node)
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            v = m.values.get(node.id)
            if node.id not in m.rebound and foldable(v):
                edits.append((*span(node), _literal(v)))  # type: ignore[arg-type]
                if folds is not None:
                    folds.append((*m.imported.get(node.id, (m.name, node.id)), edits[-1][2]))
            return
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name)
            and node.value.id in m.aliases
            and node.value.id not in m.rebound
        ):
            v = mods[m.aliases[node.value.id]].values.get(node.attr)
            if foldable(v):
                edits.append((*span(node), _literal(v)))  # type: ignore[arg-type]
                if folds is not None:
                    folds.append((m.aliases[node.value.id], node.attr, edits[-1][2]))
                return
        for child in ast.iter_child_nodes(node):
            visit(child)

    def import_from(node: ast.ImportFrom) -> None:
        if node.module in mods and node.level == 0:
            keep = [
                a
                for a in node.names
                if not (
                    (a.asname or a.name) in m.imported
                    and foldable(m.values.get(a.asname or a.name))
                    and (a.asname or a.name) not in m.rebound
                )
            ]
            if len(keep) != len(node.names):
                lines = node.end_lineno - node.lineno  # type: ignore[operator]
                names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in keep)
                text = f"from {node.module} import {names}" if keep else "pass"
                edits.append((*span(node), text + "\n" * lines))

    for node in m.tree.body:
        if isinstance(node, ast.Assign) and node in m.defs.values():
            name = node.targets[0].id  # type: ignore[union-attr]
            visit(node.value)
            if name not in drop or not foldable(m.values.get(name)) or name in m.rebound:
                continue
            if name.startswith("_"):
                new = name
            elif "_" + name not in m.values and "_" + name not in m.rebound:
                new = "_" + name
            else:
                continue
            if name in m.plain:  # X = 10  ->  _X = const(10)
                a, b = span(node.value)
                edits.extend(((a, a, "const("), (b, b, ")")))
            elif new == name:
                continue
            edits.append((*span(node.targets[0]), new))
            continue
        visit(node)
    edits.sort()
    out = bytearray()
    pos = 0
    for a, b, text in edits:
        if a < pos:
            raise ConstInlineError(f"{m.name}: overlapping edits at byte {a}")
        out += data[pos:a] + text.encode()
        pos = b
    out += data[pos:]
    return out.decode()


def _globals_of(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        for n in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else ():
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                names.add(n.id)
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                names.add(a.asname or a.name.split(".")[0])
        elif isinstance(node, (ast.If, ast.Try)):
            for n in ast.walk(node):
                if isinstance(n, (ast.FunctionDef, ast.ClassDef)):
                    names.add(n.name)
                elif isinstance(n, (ast.Import, ast.ImportFrom)):
                    for a in n.names:
                        names.add(a.asname or a.name.split(".")[0])
    return names


def _references(sources: dict[str, str]) -> set[tuple[str, str]]:
    """(module, name): every name a module reads from another firmware module
    (an import at any level, or ``alias.NAME``)."""
    modules = set(sources)
    refs: set[tuple[str, str]] = set()
    for tree in (ast.parse(v) for v in sources.values()):
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    sub = _module_of(node.module, a.name, modules)
                    if sub is not None:
                        aliases[a.asname or a.name] = sub
                    elif node.module in modules:
                        refs.add((node.module, a.name))
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname and a.name in modules:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
            ):
                refs.add((aliases[node.value.id], node.attr))
    return refs


def check(sources: dict[str, str]) -> None:
    """Fail if a module reads a name from a firmware module that does not
    define it (a constant that was dropped but is still read)."""
    modules = set(sources)
    defined = {k: _globals_of(ast.parse(v)) for k, v in sources.items()}
    for mod, name in sorted(_references(sources)):
        if name not in defined[mod] and f"{mod}.{name}" not in modules:
            raise ConstInlineError(f"{name} is read from {mod}, which no longer defines it")


def inline_consts(
    sources: dict[str, str],
    drop_public: bool = True,
    folds: list[tuple[str, str, str]] | None = None,
) -> dict[str, str]:
    """{module name: source} -> the same modules with the constants folded.
    ``folds`` collects (module, name, literal) for every read that was folded."""
    modules = set(sources)
    mods = {k: _Module(k, v, modules) for k, v in sources.items()}
    for m in mods.values():  # module.X = ... anywhere: X is not a constant
        for node in ast.walk(m.tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, (ast.Store, ast.Del))
                and isinstance(node.value, ast.Name)
                and node.value.id in m.aliases
            ):
                mods[m.aliases[node.value.id]].rebound.add(node.attr)
    _evaluate(mods)
    out = {k: _rewrite(m, mods, set()) for k, m in mods.items()}
    if drop_public:
        # drop a public constant only where nothing still reads it by name
        # (an import inside a function, say): a second pass
        still = _references(out)
        out = {
            k: _rewrite(m, mods, {n for n in m.values if (k, n) not in still}, folds)
            for k, m in mods.items()
        }
    elif folds is not None:
        for m in mods.values():
            _rewrite(m, mods, set(), folds)
    out = {k: _drop_orphaned_imports(sources[k], v, modules) for k, v in out.items()}
    check(out)
    return out


def _loaded_names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _drop_orphaned_imports(before: str, after: str, modules: set[str]) -> str:
    """Drop ``from pkg import module [as M]`` (a firmware module) where the
    original source read the name and the folded one no longer does: every
    read was a constant folded away.  Lines stay where they were."""
    used_before = _loaded_names(ast.parse(before))
    tree = ast.parse(after)
    used_after = _loaded_names(tree)
    data = after.encode()
    starts = _line_starts(data)
    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        keep = [
            a
            for a in node.names
            if _module_of(node.module, a.name, modules) is None
            or (a.asname or a.name) in used_after
            or (a.asname or a.name) not in used_before
        ]
        if len(keep) == len(node.names):
            continue
        lines = node.end_lineno - node.lineno  # type: ignore[operator]
        names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in keep)
        text = f"from {node.module} import {names}" if keep else "pass"
        a = starts[node.lineno - 1] + node.col_offset
        b = starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[operator]
        edits.append((a, b, text + "\n" * lines))
    out = bytearray()
    pos = 0
    for a, b, text in sorted(edits):
        out += data[pos:a] + text.encode()
        pos = b
    out += data[pos:]
    return out.decode()
