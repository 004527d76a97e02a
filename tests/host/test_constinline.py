"""The deploy's constant folding (inversa_host.boardtools.constinline): what it
folds, what it must leave alone, and that the folded firmware behaves the
same as the plain one on MicroPython (issue 10: the Pico's heap)."""

from __future__ import annotations

import ast

import pytest

from inversa_host.boardtools.constinline import ConstInlineError, check, inline_consts
from inversa_host.vm.chip_standin import CHIP_CLASS

LIMITS = """\
from micropython import const
MAX_CDEG = const(9000)
_PRIV = const(3)
NEG = const(-5)
BIT = const(1 << 4)
BIG = const(1 << 30)
NOT_CONST = (7,)
PLAIN = 3 * 4
FLAG = False
try:
    import native
    FLAG = True
except ImportError:
    pass
"""


def _fold(mods: dict[str, str], drop: bool = True) -> dict[str, str]:
    return inline_consts({"pkg": "", **mods}, drop_public=drop)


def test_reads_by_name_and_by_module_become_values_and_their_imports_go():
    out = _fold(
        {
            "pkg.limits": LIMITS,
            "pkg.user": (
                "from pkg.limits import MAX_CDEG, NOT_CONST\n"
                "from pkg import limits as L\n"
                "def f(x):\n"
                "    return x < MAX_CDEG and x > L.NEG and L.BIT + NOT_CONST\n"
            ),
        }
    )
    user = out["pkg.user"]
    assert "from pkg.limits import NOT_CONST\n" in user
    assert "return x < 9000 and x > (-5) and 16 + NOT_CONST" in user
    # the definitions lose their public names (mpy-cross drops _NAME = const())
    lim = out["pkg.limits"]
    assert "_MAX_CDEG = const(9000)" in lim and "_NEG = const(-5)" in lim
    assert "NOT_CONST = (7,)" in lim


def test_a_module_import_whose_every_read_was_folded_goes_and_one_still_read_stays():
    # (issue 10 item 4: the board then never loads a module that only held
    # constants, inversa.reasons or control.limits)
    out = _fold(
        {
            "pkg.limits": LIMITS,
            "pkg.reasons": "from micropython import const\nE_X = const(4)\n",
            "pkg.user": (
                "from pkg import limits as L\n"
                "from pkg import reasons\n"
                "def f(x):\n"
                "    from pkg import reasons as R\n"
                "    return x < L.MAX_CDEG and R.E_X + reasons.E_X\n"
            ),
            "pkg.other": (
                "from pkg import limits as L, reasons\n"
                "def g():\n"
                "    return L.NOT_CONST, L.MAX_CDEG, reasons.E_X\n"
            ),
        }
    )
    user = out["pkg.user"]
    assert "import" not in user, user
    assert user.count("\n") == 5 and "    pass\n" in user  # lines stay where they were
    assert "return x < 9000 and 4 + 4" in user
    other = out["pkg.other"]  # L.NOT_CONST is not a constant: L stays, reasons goes
    assert "from pkg import limits as L\n" in other
    assert "return L.NOT_CONST, 9000, 4" in other
    # a module never imported at all is left alone (no read was folded away)
    out = _fold({"pkg.limits": LIMITS, "pkg.u": "from pkg import limits\n"})
    assert out["pkg.u"] == "from pkg import limits\n"


def test_a_plain_int_nothing_rebinds_is_a_constant_and_one_that_changes_is_not():
    out = _fold(
        {
            "pkg.limits": LIMITS,
            "pkg.user": "from pkg import limits as L\nx = L.PLAIN + L.FLAG\n",
            "pkg.other": "from pkg import limits as L\nL.NEG = 3\n",
        }
    )
    assert out["pkg.user"] == "from pkg import limits as L\nx = 12 + L.FLAG\n"
    lim = out["pkg.limits"]
    assert "_PLAIN = const(3 * 4)" in lim  # mpy-cross drops it
    assert "\nFLAG = False\n" in lim
    # a module that assigns L.NEG makes NEG a variable: kept, not folded
    assert "\nNEG = const(-5)" in lim


def test_lines_stay_where_they_were():
    src = "from pkg.limits import (\n    MAX_CDEG,\n    NEG,\n)\ndef f():\n    return MAX_CDEG\n"
    out = _fold({"pkg.limits": LIMITS, "pkg.user": src})["pkg.user"]
    assert out.count("\n") == src.count("\n")
    assert out.splitlines()[5] == "    return 9000"
    assert out.startswith("pass\n")


def test_a_name_bound_elsewhere_in_the_module_is_left_alone():
    src = (
        "from pkg.limits import MAX_CDEG\n"
        "def f(MAX_CDEG=1):\n"  # an argument of the same name
        "    return MAX_CDEG\n"
    )
    out = _fold({"pkg.limits": LIMITS, "pkg.user": src})
    assert out["pkg.user"] == src
    # and its definition keeps its name: something still imports it
    assert "MAX_CDEG = const(9000)" in out["pkg.limits"]
    assert "_MAX_CDEG" not in out["pkg.limits"]


def test_an_import_inside_a_function_is_folded_too():
    src = "def f():\n    from pkg.limits import MAX_CDEG\n    return MAX_CDEG\n"
    out = _fold({"pkg.limits": LIMITS, "pkg.user": src})["pkg.user"]
    assert out == "def f():\n    pass\n    return 9000\n"


def test_values_outside_the_small_int_range_keep_their_name():
    src = "from pkg.limits import BIG\nx = BIG\n"
    out = _fold({"pkg.limits": LIMITS, "pkg.user": src})
    assert out["pkg.user"] == src
    assert "BIG = const(1 << 30)" in out["pkg.limits"]


def test_without_drop_the_definitions_keep_their_names():
    out = _fold({"pkg.limits": LIMITS, "pkg.user": "from pkg.limits import NEG\ny = NEG\n"}, False)
    assert out["pkg.limits"] == LIMITS
    assert out["pkg.user"] == "pass\ny = (-5)\n"


def test_check_fails_on_a_name_that_is_read_but_no_longer_defined():
    with pytest.raises(ConstInlineError, match="MAX_CDEG"):
        check(
            {
                "pkg.limits": "_MAX_CDEG = const(1)\n",
                "pkg.user": "from pkg import limits as L\nx = L.MAX_CDEG\n",
            }
        )
    with pytest.raises(ConstInlineError, match="MAX_CDEG"):
        check(
            {
                "pkg.limits": "_MAX_CDEG = const(1)\n",
                "pkg.user": "from pkg.limits import MAX_CDEG\n",
            }
        )


def test_the_whole_firmware_folds_and_every_module_still_parses():
    from inversa_host.boardtools.mpybuild import firmware_sources, module_name
    from inversa_host.vm import firmware_dir

    root = firmware_dir()
    srcs = {
        module_name(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in firmware_sources(root)
        if p.relative_to(root).parts[0] == "inversa"
    }
    folds: list[tuple[str, str, str]] = []
    out = inline_consts(srcs, folds=folds)
    # every literal folded in is the value CPython computes for that name
    import importlib

    assert len(folds) > 400
    for mod, name, text in folds:
        assert getattr(importlib.import_module(mod), name) == ast.literal_eval(text), (mod, name)
    for name, src in out.items():
        ast.parse(src, name)
        assert src.count("\n") == srcs[name].count("\n"), name
    # the kind the folding is for: no public alarm bit is left in the board's alarms
    alarms = out["inversa.control.alarms"]
    assert "\nB_ESTOP = const(" not in alarms and "\n_B_ESTOP = const(" in alarms


# The same session on both builds, in the 32-bit MicroPython (the board's
# object model): the board's bytes on the link (telemetry, events, answers to
# every command, hello, profile) must be identical, step by step.
_SESSION = (
    r"""
import sys
"""
    + CHIP_CLASS
    + r"""

imu = Chip(((0x75, 0x68), (0x40, 0x40)))  # 1 g on z: the table lies flat
machine.I2C.attach(0, 0x68, imu)
machine.I2C.attach(0, 0x57, Chip(((0xFF, 0x15),)))
from inversa.app_build import build_app
from inversa.board.build import build_board
from inversa.board.clock import VirtualClock
from inversa.board.config import parse_config
from inversa.link.wire import encode_frame
from inversa.link.port import MemoryPort

cfg = parse_config('{"board": "pico", "imu": "mpu6050", "hr": "max30102", "motor": "hbridge", "brake": true}')
clock = VirtualClock(1000)
port = MemoryPort(8192, 1024)
app = build_app(cfg, build_board(cfg, machine), clock, "store/", port)
# host frames: heartbeat, info, get-profile, rate, start, return, clear,
# calibrate, an unknown command, a command with a bad argument
cmds = ((0x20, b""), (0x21, b""), (0x22, b""), (0x26, bytes((50,))), (0x24, b""),
        (0x25, b""), (0x28, b""), (0x27, b""), (0x7E, b""), (0x24, b"x"), (0x26, bytes((99,))))
seq = 0
for i in range(600):
    if i % 40 == 5:
        c = cmds[(i // 40) % len(cmds)]
        seq += 1
        port.feed_rx(encode_frame(c[0], seq, c[1]))
    if i % 50 == 10:
        port.feed_rx(encode_frame(0x20, 0, b""))
    ok = app.step()
    clock.advance_us(10000)
    tx = port.take_tx()
    print("S", i, int(ok), app.ctrl.state, bytes(tx).hex())
print("alarm_names loaded:", "inversa.control.alarm_names" in sys.modules)
"""
)


def test_the_folded_firmware_behaves_as_the_plain_one_on_micropython(tmp_path):
    import os
    import shutil
    import subprocess

    from unix32_harness import Unix32Unavailable, interpreter

    from inversa_host.boardtools.mpybuild import BOARD_OPTIMIZE, compile_tree
    from inversa_host.vm import firmware_dir, mpylib_dir

    try:
        exe = interpreter()
    except Unix32Unavailable as e:
        pytest.skip(str(e))
    outs = []
    for inline in (False, True):
        lib = tmp_path / f"lib{int(inline)}"
        # the folded build is the board's: also without line numbers (-O3)
        opt = BOARD_OPTIMIZE if inline else 0
        bad = [
            r
            for r in compile_tree(
                firmware_dir(), lib, "x86", inline=inline, optimize=opt, short_names=inline
            )
            if not r.ok
        ]
        assert not bad, bad[0].error
        shutil.copy(mpylib_dir() / "machine.py", lib / "machine.py")
        store = tmp_path / "store"  # each build starts from an empty flash
        shutil.rmtree(store, ignore_errors=True)
        store.mkdir()
        probe = tmp_path / "session.py"
        probe.write_text(_SESSION)
        p = subprocess.run(
            [str(exe), "-X", "heapsize=224k", str(probe)],
            capture_output=True,
            text=True,
            env=dict(os.environ, MICROPYPATH=f".frozen:{lib}"),
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        outs.append(p.stdout.splitlines())
    plain, folded = outs
    assert len(plain) == 601
    # not a vacuous comparison: the link answered and the state moved
    assert sum(len(ln.split()[-1]) for ln in plain[:-1] if ln.startswith("S")) > 20000
    assert len({ln.split()[3] for ln in plain[:-1]}) > 1
    for a, b in zip(plain, folded, strict=True):
        assert a == b
    assert plain[-1] == "alarm_names loaded: False"
