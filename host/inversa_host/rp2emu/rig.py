"""``inversa vboard --board rp2040``: a virtual board's rig on the emulated Pico.

The firmware is the stock MicroPython RPI_PICO image running the deployed
``.mpy`` files in rp2040js (:class:`~inversa_host.rp2emu.session.Rp2Session`),
inside the same simulated world as the CPython virtual board (table, person,
heart, register-level sensor chips).  The host's bytes go into the board's USB
CDC, the board's come back out: ``inversa log``, ``monitor`` and ``profile``
then talk to real MicroPython on an RP2040.

Emulated time runs 5-30x slower than real time (the machine's load decides), so
the board's clock and the host's wall clock disagree: the host's heartbeats
arrive more often in the board's time than on a real board, never less.

Maintenance is the real thing: the host's maintenance command makes the
firmware mark its flash and call ``machine.reset()``; the emulated chip resets
(runner.mjs makes a new chip on the same flash: the USB enumerates again, and
the server drops the host's connection, as with a board), boots into
MicroPython's own REPL, and ``inversa deploy`` / ``inversa doctor`` talk to it
with mpremote, writing the emulated flash.  ``machine.reset()`` from there
boots what the flash now holds.  Not modelled (refused with the reason): a
power cycle at the table (``power_reset``) and an empty board.

Usage (vboards.vboard.LinkApp makes it for ``VBoardConfig(emulated="rp2040")``)::

    rig = Rp2Rig(cfg)
    board_bytes = rig.exchange(host_bytes, True, ["press_start"], 10)
"""

from __future__ import annotations

from typing import Any

EMPTY_NOT_MODELLED = (
    "the emulated Pico always starts with the firmware deployed: use `inversa vboard "
    "--empty` (CPython) for a board with nothing on it"
)


BOOT_LIMIT_MS = 8000  # emulated: boot to the first handshake (~1.5 s measured)


class Rp2Rig:
    """The Rig protocol of vboards.vboard with the firmware on an emulated Pico."""

    # Panel actions this rig cannot carry out, and why (LinkApp.press refuses them).
    unsupported_actions = {"power_reset": "the emulator does not model a power cycle"}

    def __init__(self, cfg: Any) -> None:
        from inversa_host.rp2emu.session import Rp2Session
        from inversa_host.vboards.vboard import session_spec

        if cfg.bench:
            raise ValueError("bench mode is not available on the emulated Pico: drop --bench")
        if cfg.empty:
            raise ValueError(f"an empty emulated Pico: {EMPTY_NOT_MODELLED}")
        spec = session_spec(cfg)
        self.session = Rp2Session(spec, uf2=cfg.uf2, bootrom=cfg.bootrom, keep_telemetry=False)
        try:
            self._boot()
        except BaseException:
            self.session.close()
            raise

    def _boot(self, limit_ms: int = BOOT_LIMIT_MS) -> None:
        # Booting takes ~1.5 s of emulated time, far longer than a host's
        # handshake timeout in wall time: boot before anyone can connect.
        # What the board writes meanwhile goes nowhere (no host yet).
        s = self.session
        while s.stats.first_hello_us is None:
            if s.t_ms >= limit_ms:
                text = bytes(s.text[:300]).decode("ascii", "replace")
                raise RuntimeError(
                    f"the emulated Pico sent no handshake within {limit_ms / 1000:g} s "
                    f"of emulated time; it printed: {text!r}"
                )
            s.run_for(100)

    def exchange(self, rx: bytes, connected: bool, actions: list[str], ms: int) -> bytes:
        s = self.session
        for a in actions:
            s.events.append((s.t_ms, a, {}))  # carried out at the next period
        if rx:
            s.send_raw(rx)
        tx, _truth, _finished = s.run_for(ms)
        return tx if connected else b""  # an unplugged cable: the output vanishes

    @property
    def virtual_ms(self) -> int:
        return self.session.t_ms

    @property
    def reboots(self) -> int:
        """Chip resets so far (LinkApp re-enumerates the wire on a change)."""
        return self.session.stats.resets

    def in_maintenance(self) -> bool:
        # MicroPython's own REPL answers on the same wire: nothing to swap in
        return False

    def storage(self) -> dict[str, bytes]:
        return {}  # the firmware's files stay on the emulated flash

    def put_storage(self, files: dict[str, bytes | None]) -> None:
        raise ValueError("the emulated Pico's flash is written through its REPL (mpremote)")

    def input_levels(self) -> dict[int, int]:
        return {}

    def close(self) -> None:
        self.session.close()
