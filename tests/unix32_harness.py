"""Runs a tests/mpy module in the 32-bit unix MicroPython with a FIXED heap.

The WebAssembly VM grows its heap on demand and computes in double precision;
this interpreter (../shared/tools/micropython-unix32, or $INVERSA_UNIX32) has
one fixed heap of the size given (-X heapsize=) and single-precision floats,
like a Pico or an ESP32.  The firmware goes in as .mpy compiled for x86 (the
bytecode is the board's; the viper twins become x86 code, so they run and are
compared here too).  The module runs in a chroot (unshare -r) laid out like
the board: /lib (firmware, the machine stand-in, the simulated world), /tests,
/flash.

Heap per module: PICO_HEAP (224k, a Pico's heap at boot), except the modules
in HEAP_OVERRIDES, each with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from mpy_runner import module_source, parse_results, runner_script, test_names

from inversa_host.vm import firmware_dir, mpylib_dir, repo_root

__all__ = ["HEAP_OVERRIDES", "XFAIL", "Unix32Unavailable", "heap_for", "run_module", "test_names"]

MPY_TESTS = Path(__file__).parent / "mpy"
PICO_HEAP = "224k"
# Modules that build the simulated world's sensor fakes: each IMU fake draws
# six tables of 4093 float noise samples (~82 KB each as boxed floats) and a
# PPG source; that is the test rig's memory, not the firmware's.  At 4M-16M
# the tables fail from fragmentation (no free run > ~1.9 KB), so they get a
# generous heap.  The firmware parts of these modules run at the Pico's heap
# in the other modules.
WORLD_HEAP = "64M"
_WORLD = "builds the simulated world's sensor fakes (float noise tables: test rig, not firmware)"
HEAP_OVERRIDES: dict[str, tuple[str, str]] = {
    "test_drv_imu": (WORLD_HEAP, _WORLD),
    "test_drv_ppg": (WORLD_HEAP, _WORLD),
    "test_drv_world": (WORLD_HEAP, _WORLD),
    "test_sense_calibration": (WORLD_HEAP, _WORLD),
    "test_sense_frontend": (WORLD_HEAP, _WORLD),
    "test_sense_heartrate": (WORLD_HEAP, _WORLD),
    "test_sensor_boot": (WORLD_HEAP, _WORLD),
    "test_ctl_persist": (WORLD_HEAP, _WORLD),
    "test_ctl_motion": ("1M", "the test keeps its own 64 KB list of motion samples"),
}
# Known to fail here whatever the heap, with the reason (reported as xfail).
XFAIL: dict[tuple[str, str], str] = {
    ("test_drv_world", "test_rng_is_the_same_in_every_interpreter"): (
        "compares the world's RNG with double-precision values; this interpreter "
        "computes in float32, as the boards do"
    ),
}


class Unix32Unavailable(RuntimeError):
    pass


def interpreter() -> Path:
    env = os.environ.get("INVERSA_UNIX32")
    p = (
        Path(env)
        if env
        else repo_root().parent / "shared" / "tools" / "micropython-unix32" / "micropython"
    )
    if not p.is_file():
        raise Unix32Unavailable(
            f"the 32-bit fixed-heap MicroPython is not at {p} (set INVERSA_UNIX32; "
            "build: MicroPython's ports/unix with CC='gcc -m32', single-precision floats)"
        )
    if shutil.which("unshare") is None or shutil.which("chroot") is None:
        raise Unix32Unavailable("unshare/chroot are needed to run it board-like")
    return p


_ROOT: Path | None = None


def _root() -> Path:
    """A board-like root, built once per process (firmware compiled once)."""
    global _ROOT
    if _ROOT is not None:
        return _ROOT
    from inversa_host.boardtools.mpybuild import compile_tree

    exe = interpreter()
    root = Path(tempfile.mkdtemp(prefix="inversa-unix32-"))
    for d in ("bin", "lib", "tests", "tmp", "flash"):
        (root / d).mkdir()
    shutil.copy(exe, root / "bin" / "micropython")
    bad = [r for r in compile_tree(firmware_dir(), root / "lib", "x86") if not r.ok]
    if bad:
        raise Unix32Unavailable(f"mpy-cross -march=x86 failed: {bad[0].error}")
    shutil.copytree(
        repo_root() / "host" / "inversa_world",
        root / "lib" / "inversa_world",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(mpylib_dir() / "machine.py", root / "lib" / "machine.py")
    for f in MPY_TESTS.glob("*.py"):
        (root / "tests" / f.name).write_text(module_source(f), encoding="utf-8")
    _ROOT = root
    return root


def heap_for(module: str) -> tuple[str, str]:
    return HEAP_OVERRIDES.get(module, (PICO_HEAP, "a Pico's heap"))


def run_module(path: Path, names: list[str]) -> dict[str, tuple[str, str]]:
    root = _root()
    heap, _why = heap_for(path.stem)
    (root / "tests" / "_run.py").write_text(runner_script(path.stem, names))
    env = {"MICROPYPATH": ".frozen:/lib", "PATH": "/bin"}
    p = subprocess.run(
        [
            shutil.which("unshare") or "unshare",
            "-r",
            shutil.which("chroot") or "chroot",
            str(root),
            "/bin/micropython",
            "-X",
            f"heapsize={heap}",
            "/tests/_run.py",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    results = parse_results(p.stdout)
    for n in names:
        if n not in results:
            results[n] = ("FAIL", f"no result (exit {p.returncode}):\n{p.stderr[-2000:]}")
    return results
