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
    from inversa.board.clock import SystemClock
    from inversa.board.config import load_config
    from inversa.link.port import MemoryPort

    cfg = load_config("/board.json")
    # The board's port (UsbCdcPort) keeps no buffers of its own; this
    # stand-in holds one period's frames (dropped after each step).
    port = MemoryPort(512, 256)
    app = build_app(cfg, build_board(cfg, machine), SystemClock(), "/", port,
                    reset_cause=machine.reset_cause(), uid=machine.unique_id())
    return app, port
"""
