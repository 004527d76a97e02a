"""MicroPython text the host runs on the emulated Pico's REPL (bench/bench_board.py,
tests/board): one source for how a probe builds the app as ``run()`` does."""

from __future__ import annotations

# Board-side: ``build() -> (app, port)``, the app built from the deployed
# /board.json in a frame of its own (as app._boot_app does), with a
# MemoryPort standing in for the USB CDC.  Needs ``machine`` imported.
BUILD_APP = """
def build():
    # in a frame of its own, as run() builds in app._boot_app
    from inversa.app_build import build_app
    from inversa.board.build import build_board
    from inversa.board.config import load_config
    from inversa.link.port import MemoryPort
    import time

    cfg = load_config("/board.json")
    # The board's port (UsbCdcPort) keeps no buffers of its own; this
    # stand-in holds one period's frames (dropped after each step).
    port = MemoryPort(512, 256)
    app = build_app(cfg, build_board(cfg, machine), time, "/", port,
                    reset_cause=machine.reset_cause(), uid=machine.unique_id(), shed=True)
    return app, port
"""

# Board-side: the live heap after the build, as run() leaves it (the
# boot-only modules dropped); prints ``live`` (bytes) and the free heap at
# boot, after the build and after the shedding.  The one measurement of
# tests/board/test_rp2_heap.py and bench/bench_board.py: the raw REPL compiles
# a script whole, interning its names before ``free_boot``, so a probe that
# ran different text would shift where the qstr pools fill and report
# another figure.  What a probe does afterwards goes in ``run_probe(then=)``.
LIVE_AFTER_BUILD = (
    """
import gc, machine
gc.collect()
free_boot = gc.mem_free()
"""
    + BUILD_APP
    + """
app, port = build()
gc.collect()
free_built_kept = gc.mem_free()
from inversa.app import settle_heap
settle_heap()
free_built = gc.mem_free()
print("free_boot", free_boot)
print("free_after_build_kept", free_built_kept)
print("free_after_build", free_built)
print("live", free_boot - free_built)
"""
)

# The pico board profile the probes deploy (the bench's and the tests' sessions use it too).
PROBE_BOARD = {
    "board": "pico",
    "imu": "mpu6050",
    "hr": "max30102",
    "motor": "hbridge",
    "brake": True,
}


def run_probe(
    script: str,
    board: dict | None = None,
    *,
    debug_lines: bool = False,
    timeout_us: int = 60_000_000,
    then: tuple[str, ...] = (),
) -> str:
    """Boot the emulated Pico with the files `inversa deploy` copies for ``board``
    (``PROBE_BOARD`` by default; ``/main.py`` left out, so the REPL answers
    instead of the control loop), the simulated world's sensors on its I2C bus,
    and run ``script`` in the raw REPL, then each of ``then`` (compiled and run
    one after the other, in the same globals).  Returns what they printed.

    Raises ``RuntimeError`` with the board's traceback when the script fails
    (a MemoryError in the build, say); ``Rp2Unavailable`` where node, rp2040js,
    the image or the boot ROM is missing."""
    from inversa.board.config import validate
    from inversa_host.rp2emu.board import EmuClock, EmulatedPico, RawRepl
    from inversa_host.rp2emu.fsimage import deploy_files, littlefs_image
    from inversa_world.session import DEFAULT_SPEC
    from inversa_world.world import World

    cfg = validate(dict(board or PROBE_BOARD), "probe")
    files = deploy_files("pico", cfg, debug_lines=debug_lines)
    del files["/main.py"]  # the REPL, not the control loop
    clock = EmuClock()
    world = World(dict(DEFAULT_SPEC), clock)
    with EmulatedPico(littlefs_image(files), world.bus, clock, [], []) as pico:
        repl = RawRepl(pico)
        return "".join(repl.exec(code, timeout_us=timeout_us) for code in (script, *then))
