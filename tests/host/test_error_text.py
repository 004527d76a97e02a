"""The boot's error messages live in inversa/error_text.py (issue 10 item 4):
a module's constant strings stay on the heap as long as any of its code, so
a constructor's message in a module the loop keeps cost heap for good even
after settle_heap dropped the constructor (~2.2 KB on the emulated Pico).
Here, from the sources: no constructor or boot-only function of such a
module raises with a message of its own, and every message in the table is
raised from where its comment says, once."""

from __future__ import annotations

import ast
import re

from inversa.error_text import TEXT, text
from inversa.settle import BOOT_METHODS, BOOT_ONLY_MODULES
from inversa_host.boardtools.mpybuild import firmware_sources, module_name
from inversa_host.vm import firmware_dir

# modules the board never loads, or loads only where a person cannot be on
# the table (a failed sensor's stand-in, the calibration procedure)
NOT_KEPT = set(BOOT_ONLY_MODULES) | {
    "inversa.error_text",
    "inversa.sensor_standin",
    "inversa.sense.calibrator",
}


def _sources() -> dict[str, ast.Module]:
    root = firmware_dir()
    return {
        module_name(p.relative_to(root)): ast.parse(p.read_text()) for p in firmware_sources(root)
    }


def _messages(fn: ast.AST) -> list[str]:
    """The literal messages (longer than MicroPython interns) fn raises."""
    out = []
    for n in ast.walk(fn):
        if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call) and n.exc.args:
            a = n.exc.args[0]
            if isinstance(a, ast.BinOp):
                a = a.left
            if isinstance(a, ast.Constant) and isinstance(a.value, str) and len(a.value) > 10:
                out.append(a.value)
    return out


def test_the_kept_modules_constructors_raise_no_message_of_their_own():
    own = []
    for mod, tree in _sources().items():
        if mod in NOT_KEPT:
            continue
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef) and fn.name in BOOT_METHODS:
                own += [(mod, fn.name, m) for m in _messages(fn)]
    assert not own, f"a message kept on the board's heap for good: move it to error_text: {own}"


def test_every_message_is_raised_once_from_where_its_comment_says():
    src = (firmware_dir() / "inversa" / "error_text.py").read_text()
    where = {int(c): m for c, m in re.findall(r"# (\d+): (inversa[\w.]*)", src)}
    assert sorted(where) == list(range(len(TEXT)))
    used: dict[int, list[str]] = {}
    for mod, tree in _sources().items():
        for n in ast.walk(tree):
            # text(code, ...), or profile's _why(why, code, ...)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
                at = {"text": 0, "_why": 1}.get(n.func.id)
                c = n.args[at] if at is not None and len(n.args) > at else None
                if isinstance(c, ast.Constant) and isinstance(c.value, int):
                    used.setdefault(c.value, []).append(mod)
    assert used == {c: [m] for c, m in where.items()}


def test_the_loops_checks_of_a_profile_make_no_message():
    # a profile from the host is checked in the loop (endpoint, set_profile):
    # making a message there would load error_text in a period
    import sys

    from inversa.control.profile import Profile, check

    bad = Profile(hold_ms=-1)
    assert check(bad, False) == (check(bad)[0], "")
    assert "hold_ms" in check(bad)[1]
    sys.modules.pop("inversa.error_text", None)
    try:
        Profile.from_bytes(b"short", False)
        raise AssertionError("accepted")
    except ValueError as e:
        assert str(e) == ""
    assert "inversa.error_text" not in sys.modules


def test_text_formats_its_arguments():
    assert text(5) == "led_ma must be within 0..50"
    assert text(3, 3200, 411) == "3200 samples/s is too fast for a 411 us pulse"
    assert text(15, "MPU-6050") == "MPU-6050 did not come out of reset"


def test_text_forgets_its_module_so_a_failed_boot_keeps_no_table():
    # a boot with a missing record or a failed sensor makes a message during
    # the build, whose peak decides whether an ESP32's 140 KB heap fits
    import sys

    import inversa
    from inversa.error_text import text as fresh

    standin = sys.modules.pop("inversa.sensor_standin", None)  # another test's
    try:
        assert "inversa.error_text" in sys.modules
        fresh(28)
        assert "inversa.error_text" not in sys.modules
        assert not hasattr(inversa, "error_text")
    finally:
        if standin is not None:
            sys.modules["inversa.sensor_standin"] = standin


def test_text_keeps_its_module_while_a_sensor_is_retried():
    # a wrong chip raises at every retry in the loop (sensor_standin loads
    # error_text): no import from the flash in a period each time
    import sys

    loaded = "inversa.sensor_standin" in sys.modules
    import inversa.sensor_standin  # noqa: F401
    from inversa.error_text import text as kept

    try:
        kept(28)
        assert "inversa.error_text" in sys.modules
    finally:
        if not loaded:
            del sys.modules["inversa.sensor_standin"]
