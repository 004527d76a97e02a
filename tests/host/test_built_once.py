"""app.settle_heap drops the __init__ and settle.BOOT_METHODS of every firmware
class loaded by then (settle.drop_boot_methods; issue 10 item 4: ~7 KB of code
on the emulated Pico), so no class may be built after the boot but those of
settle.BUILT_IN_LOOP's modules, and no BOOT_METHODS called.  Here, from the
sources: every call of a firmware class that defines ``__init__``, and every
use of a BOOT_METHODS name, is in a boot-only module (settle.BOOT_ONLY_MODULES:
shed first, a later import makes a fresh class), in an ``__init__`` of a
class built at boot, in a function only the boot runs (BOOT_FUNCTIONS, each
called only from the boot), or builds a class of a BUILT_IN_LOOP module.
The emulated Pico runs whole sessions after it (tests/board)."""

from __future__ import annotations

import ast
from pathlib import Path

from inversa.settle import BOOT_METHODS, BOOT_ONLY_MODULES, BUILT_IN_LOOP, LATE_SENSOR_MODULES
from inversa_host.boardtools.mpybuild import firmware_sources, module_name
from inversa_host.vm import firmware_dir

# (module, top-level function): only the boot runs them
BOOT_FUNCTIONS = {
    ("inversa.app", "run"),  # main.py
    ("inversa.app", "_start"),  # run()
    ("inversa.app", "_boot_app"),  # _start
    ("inversa.app", "_open_board_port"),  # _boot_app
    ("inversa.app", "settle_heap"),  # _start
    ("inversa.gcorder", "shed_modules"),  # settle_heap, build_app
    ("inversa.app", "_shed_boot"),  # settle_heap
    ("inversa.retained", "retained_for"),  # app_boot
    ("inversa.retained", "rp2_scratch"),  # retained_for
    ("inversa.bench_sensors", "build_bench_sensors"),  # app_build
}
# functions whose lambdas only the boot calls: _boot_app's open_port (boot()
# opens the port once)
BOOT_LAMBDAS = {("inversa.app", "_boot_app")}


def _sources() -> dict[str, ast.Module]:
    root = firmware_dir()
    return {
        module_name(p.relative_to(root)): ast.parse(p.read_text()) for p in firmware_sources(root)
    }


def _calls(tree: ast.AST, stack: tuple[str, ...] = ()):
    """(enclosing defs, called name, line) for every call."""
    for ch in ast.iter_child_nodes(tree):
        if isinstance(ch, (ast.FunctionDef, ast.ClassDef, ast.Lambda)):
            yield from _calls(ch, (*stack, _scope(ch)))
            continue
        if isinstance(ch, ast.Call):
            f = ch.func
            if isinstance(f, ast.Name):
                yield stack, f.id, ch.lineno
            elif isinstance(f, ast.Attribute):
                yield stack, f.attr, ch.lineno
        yield from _calls(ch, stack)


def _settled(srcs: dict[str, ast.Module]) -> dict[tuple[str, str], int]:
    """{(module, top-level function): line of its settle_heap() call}: what
    such a boot function does after it runs with the methods dropped
    (run() builds its Scheduler there)."""
    out = {}
    for mod, tree in srcs.items():
        for f in tree.body:
            if isinstance(f, ast.FunctionDef):
                lines = [
                    c.lineno
                    for c in ast.walk(f)
                    if isinstance(c, ast.Call)
                    and isinstance(c.func, ast.Name)
                    and c.func.id == "settle_heap"
                ]
                if lines:
                    out[(mod, f.name)] = min(lines)
    return out


def _scope(node: ast.AST) -> str:
    return node.name if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else "<lambda>"


def _boot_context(mod: str, stack: tuple[str, ...]) -> bool:
    """Code only the boot runs: a top-level function of a boot-only module or
    one of BOOT_FUNCTIONS, not a function or lambda made there (app_build's
    sensor factories run again in the loop when a sensor comes up late), nor
    a method of a class there (the Board's bus recovery)."""
    if stack[1:] == ("<lambda>",) and (mod, stack[0]) in BOOT_LAMBDAS:
        return True
    top = len(stack) == 1 and stack[0] != "<lambda>"
    return mod == "main" or (
        top and (mod in BOOT_ONLY_MODULES or (mod, stack[0]) in BOOT_FUNCTIONS)
    )


def _in_init(mod: str, stack: tuple[str, ...]) -> bool:
    """In the __init__ of a class built only at boot (nothing made there)."""
    return len(stack) == 2 and stack[1] == "__init__" and mod not in BUILT_IN_LOOP


def _in_boot_method(mod: str, stack: tuple[str, ...]) -> bool:
    """In a method or module function that is itself one of BOOT_METHODS
    (this test checks its own uses), not a function made there."""
    if mod in BUILT_IN_LOOP:
        return False
    return (len(stack) == 1 and stack[0] in BOOT_METHODS) or (
        len(stack) == 2 and stack[1] in BOOT_METHODS
    )


def test_no_class_whose_init_is_dropped_is_built_after_the_boot():
    srcs = _sources()
    inits: dict[str, set[str]] = {}  # class name -> modules defining it with an __init__
    for mod, tree in srcs.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.FunctionDef) and b.name == "__init__" for b in node.body
            ):
                inits.setdefault(node.name, set()).add(mod)
    late = []
    settled = _settled(srcs)
    assert ("inversa.app", "_start") in settled
    for mod, tree in srcs.items():
        for stack, name, line in _calls(tree):
            after = bool(stack) and line > settled.get((mod, stack[0]), line)
            if name not in inits or (_boot_context(mod, stack) and not after):
                continue
            if _in_init(mod, stack):
                continue  # built while its owner is built
            homes = inits[name] - set(BOOT_ONLY_MODULES) - set(BUILT_IN_LOOP)
            if homes:
                late.append((mod, ".".join(stack), name))
    assert not late, (
        "built after the boot, so settle.drop_boot_methods would break it: add its module to"
        f" settle.BUILT_IN_LOOP or build it at boot: {sorted(set(late))}"
    )


def _reads(tree: ast.AST, stack: tuple[str, ...] = ()):
    """(enclosing defs, name, module it is imported from or None) for every
    name read and every ``from m import name``."""
    for ch in ast.iter_child_nodes(tree):
        if isinstance(ch, (ast.FunctionDef, ast.ClassDef, ast.Lambda)):
            yield from _reads(ch, (*stack, _scope(ch)))
            continue
        if isinstance(ch, ast.Name):
            yield stack, ch.id, None
        elif isinstance(ch, ast.ImportFrom):
            for a in ch.names:
                yield stack, a.name, ch.module
        yield from _reads(ch, stack)


def test_the_boot_functions_are_called_only_from_the_boot():
    srcs = _sources()
    for mod, tree in srcs.items():
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        for stack, name, source in _reads(tree):
            home = source or mod
            if (home, name) in BOOT_FUNCTIONS and not _boot_context(mod, stack):
                raise AssertionError(f"{name} used outside the boot: {mod} {'.'.join(stack)}")
        for m, f in BOOT_FUNCTIONS:
            if m == mod:
                assert f in defined, (mod, f)
    main = (Path(firmware_dir()) / "main.py").read_text()
    assert "from inversa.app import run" in main


def _named(tree: ast.AST, stack: tuple[str, ...] = ()):
    """(enclosing defs, word) for every name, attribute and string."""
    for ch in ast.iter_child_nodes(tree):
        if isinstance(ch, (ast.FunctionDef, ast.ClassDef, ast.Lambda)):
            yield from _named(ch, (*stack, _scope(ch)))
            continue
        if isinstance(ch, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "BOOT_METHODS" for t in ch.targets
        ):
            continue  # settle.py: the list itself
        if not stack and isinstance(ch, ast.Assign):
            yield from _named(ch.value, stack)  # a module table's binding is no use
            continue
        if isinstance(ch, ast.Name):
            yield stack, ch.id
        elif isinstance(ch, ast.Attribute):
            yield stack, ch.attr
        elif isinstance(ch, ast.Constant) and isinstance(ch.value, str):
            yield stack, ch.value
        yield from _named(ch, stack)


def test_the_boot_methods_are_used_only_while_the_app_is_built():
    late = []
    for mod, tree in _sources().items():
        # a module's body runs at its import: one of its own functions used
        # there ran before the drop, or its module was loaded after it
        own = {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
        for stack, word in _named(tree):
            if word not in BOOT_METHODS or word == "__init__":
                continue
            if _boot_context(mod, stack) or (not stack and word in own):
                continue
            if _in_init(mod, stack) or _in_boot_method(mod, stack):
                continue
            late.append((mod, ".".join(stack), word))
    assert not late, f"used after the boot, so settle.drop_boot_methods would break it: {late}"


def test_the_sensor_drivers_a_late_sensor_builds_keep_their_methods():
    # app_build's factories (lambdas) build the IMU/PPG driver again in the
    # loop when a sensor that failed at boot comes up (sensor_standin, loaded
    # only then; settle_heap then keeps LATE_SENSOR_MODULES): every driver
    # module and the modules of its base classes are there
    from inversa.board.boards import HR_DRIVERS, IMU_DRIVERS

    srcs = _sources()
    for spec in (*IMU_DRIVERS.values(), *HR_DRIVERS.values()):
        if spec is None:
            continue
        mod = spec[0]
        assert mod in LATE_SENSOR_MODULES, mod
        for node in ast.walk(srcs[mod]):
            if isinstance(node, ast.ImportFrom) and node.module in srcs:
                assert node.module in LATE_SENSOR_MODULES or not any(
                    isinstance(n, ast.ClassDef) for n in srcs[node.module].body
                ), (mod, node.module)
    # the stand-ins are the only holders of a sensor factory after the boot
    standin = srcs["inversa.sensor_standin"]
    assert "inversa.sensor_boot" in BOOT_ONLY_MODULES
    assert any(isinstance(n, ast.ClassDef) for n in standin.body)


# classmethods that build their class (``cls(...)``), run only by the boot
BOOT_CLASSMETHODS = {("inversa.link.usb_port", "UsbCdcPort", "open")}  # _open_board_port


def test_a_classmethod_that_builds_its_class_runs_only_at_boot():
    srcs = _sources()
    makers = set()
    for mod, tree in srcs.items():
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            for f in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
                builds = any(
                    isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == "cls"
                    for c in ast.walk(f)
                )
                if builds and mod not in BOOT_ONLY_MODULES and mod not in BUILT_IN_LOOP:
                    makers.add((mod, cls.name, f.name))
    assert makers == BOOT_CLASSMETHODS
    for mod, tree in srcs.items():
        for stack, node in _attrs(tree):
            for _, c, f in BOOT_CLASSMETHODS:
                if node.attr == f and isinstance(node.value, ast.Name) and node.value.id == c:
                    assert _boot_context(mod, stack), (mod, stack)


def _attrs(tree: ast.AST, stack: tuple[str, ...] = ()):
    for ch in ast.iter_child_nodes(tree):
        if isinstance(ch, (ast.FunctionDef, ast.ClassDef, ast.Lambda)):
            yield from _attrs(ch, (*stack, _scope(ch)))
            continue
        if isinstance(ch, ast.Attribute):
            yield stack, ch
        yield from _attrs(ch, stack)
