"""The emulated Pico resets as a chip does: the host's maintenance command
makes the firmware mark its flash and call ``machine.reset()``; the emulator
(``rp2emu/runner.mjs``) then boots a new chip on the same flash, so the mark
survives, MicroPython's own REPL comes up instead of the control loop, and a
``machine.reset()`` typed there boots the firmware again.  This is the path
``inversa deploy`` and ``inversa doctor`` take on a board.

Waits are bounded in emulated time (no wall clock).  Skipped, with the
reason, where Node/rp2040js or the firmware image/boot ROM is missing."""

from __future__ import annotations

from inversa.control.states import IDLE
from inversa.link import messages as M
from inversa_host.link.codec import StreamDecoder


def _run_until(s, cond, limit_ms: int, what: str) -> bytes:
    """Run the session in 100 ms slices until ``cond(wire)``; the wire's bytes."""
    wire = bytearray()
    end = s.t_ms + limit_ms
    while s.t_ms < end:
        tx, _truth, _done = s.run_for(100)
        wire += tx
        if cond(bytes(wire)):
            return bytes(wire)
    raise AssertionError(
        f"{what}: not within {limit_ms} ms emulated; the board wrote {bytes(wire[-300:])!r}"
    )


def test_maintenance_reboots_into_the_repl_and_a_reset_boots_the_firmware_again(
    emulated_pico: None,
) -> None:
    from inversa_host.rp2emu.session import Rp2Session

    s = Rp2Session({"duration_ms": 600000, "host_connected": True, "telemetry_hz": 20})
    try:

        def idle(wire: bytes) -> bool:
            return any(t["state"] == IDLE for t in s.stats.telemetry)

        _run_until(s, idle, 6000, "IDLE after boot")
        assert s.stats.resets == 0
        s._host_send(M.CMD_MAINTENANCE, b"")
        s.host_silent = True  # the REPL must not get heartbeats (each frame begins with Ctrl-C)
        # As mpremote does while the board reboots: Ctrl-C, again and again,
        # to take the REPL.  It must not stop the maintenance boot before that
        # boot has used up its mark (main.py disables Ctrl-C first).
        buf = bytearray()
        end = s.t_ms + 4000
        while not buf.endswith(b">>> "):
            assert s.t_ms < end, f"no REPL after the maintenance reset: {bytes(buf[-300:])!r}"
            s.send_raw(b"\r\x03")
            buf += s.run_for(50)[0]
        wire = bytes(buf)
        assert s.stats.resets == 1, "the firmware's machine.reset() reset the chip once"
        assert b"maintenance mode" in wire, "the mark on the flash survived the reset"
        # the REPL is MicroPython's own: it runs what it is given, on the same flash
        s.send_raw(b"import os; print(sorted(os.listdir('/')))\r\n")
        wire = _run_until(s, lambda w: w.endswith(b">>> "), 3000, "the REPL's answer")
        assert b"'board.json'" in wire and b"'maintenance'" not in wire, wire[-200:]
        hellos_before = len([f for f in StreamDecoder().feed(wire) if f.msg_type == M.MSG_HELLO])
        assert hellos_before == 0
        s.send_raw(b"import machine; machine.reset()\r\n")
        s.host_silent = False

        # A host already on the port while the firmware boots: every frame it
        # sends begins with 0x03 (Ctrl-C).  The boot must go through.
        buf = bytearray()
        end = s.t_ms + 5000
        while not any(f.msg_type == M.MSG_HELLO for f in StreamDecoder().feed(bytes(buf))):
            assert s.t_ms < end, f"no handshake after the reset: {bytes(buf[-300:])!r}"
            s.send_raw(b"\x03")
            buf += s.run_for(50)[0]
        assert s.stats.resets == 2
    finally:
        s.close()
