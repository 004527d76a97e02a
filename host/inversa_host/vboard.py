"""The virtual board: the firmware behind a ``socket://`` serial URL.

The real firmware runs, period by period, on a simulated machine; its link
port is served on a localhost TCP port by the link's
:class:`~inversa_host.linkserver.LinkServer`, so ``inversa log``,
``inversa monitor``, ``inversa profile`` (and ``inversa bench``) talk to it
exactly as to a board on a serial port.

Two kinds of rig behind the port:

* **simulated table** (default): the whole simulated world of ``inversa sim``
  (:class:`inversa_world.session.SimSession`: table, person, heart, the
  register-level sensor fakes read by the real drivers) with its internal
  virtual host switched off (``"virtual_host": False``): the real host on the
  socket keeps the lease and sends the commands.  A scenario adds its
  timeline (the person, faults); its ``host_*`` events are dropped (the real
  host decides).
* **bench mode** (``bench=True``): the firmware booted with ``"bench": true``:
  injected sensor drivers fed over the link by ``inversa bench``, the table
  itself simulated on the host side.  Limit switches read "not at the limit"
  (jumpered, as on a bench board).

Either rig runs in CPython (default) or inside the MicroPython interpreter
(``vm=True``; the firmware and the world in the WebAssembly port, stepped in
chunks, bytes moved in and out through ``exec``).

The local, physical actions at the table (start/stop buttons, hold-to-run,
e-stop, a power reset) are :meth:`VirtualBoard.press` here: they never come
over the link.

Usage::

    with VirtualBoard(VBoardConfig(bench=True)) as vb:    # serving at once
        print(vb.url)                                     # socket://127.0.0.1:PORT
        vb.press("hold_down")
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from inversa.link.port import MemoryPort

from .linkserver import LinkServer
from .sim.scenario import Scenario

PERIOD_MS = 10
FOREVER_MS = 1_000_000_000  # the rig's own end: 11.6 days (a small int in MicroPython too)
VM_CHUNK_MS = 50  # board time per exec() round trip into the MicroPython VM
# Bench mode: the samples arrive once per chunk, so shorter chunks (the
# board's 4-deep jitter buffer absorbs 2 periods' worth without loss).
VM_BENCH_CHUNK_MS = 20

# The local actions at the table (scenario action names), and what they mean.
PANEL_ACTIONS: dict[str, str] = {
    "press_start": "press START",
    "press_stop": "press STOP",
    "hold_down": "hold the DOWN (deeper) button",
    "release_down": "release the DOWN button",
    "hold_up": "hold the UP button",
    "release_up": "release the UP button",
    "press_estop": "press the E-STOP",
    "release_estop": "release (twist) the E-STOP",
    "break_estop_wire": "break the e-stop wire",
    "mains_lost": "unplug the table's mains supply (the battery takes over)",
    "mains_restored": "plug the mains supply back in",
    "contactor_welded": "(fault) the motor contactor's contacts weld shut",
    "power_reset": "cut and restore the board's power",
}
HOST_ACTIONS = ("host_start", "host_return", "host_silent")


@dataclass
class VBoardConfig:
    """What the virtual board is: a simulated table (optionally a scenario's)
    or a bench-mode board; CPython or MicroPython; its sensors."""

    scenario: Scenario | None = None
    bench: bool = False
    vm: bool = False
    board: str = "pico"
    table: str = "motorized"  # without a scenario
    imu: str = "mpu6050"
    hr: str = "max30102"
    seed: int = 1
    # Each virtual board has its own id (a real board's is machine.unique_id()),
    # so two of them recorded into one store are two devices, two sessions.
    uid: bytes = field(default_factory=lambda: b"VBD" + os.urandom(5))
    notes: list[str] = field(default_factory=list)  # filled: what was left out and why


class Rig(Protocol):
    """Where the firmware runs: one exchange = host bytes in, some periods, board bytes out."""

    def exchange(self, rx: bytes, connected: bool, actions: list[str], ms: int) -> bytes: ...

    def close(self) -> None: ...


def session_spec(cfg: VBoardConfig) -> dict[str, Any]:
    """The SimSession spec of a simulated-table virtual board."""
    if cfg.scenario is not None:
        from .sim.runner import build_spec

        spec = build_spec(cfg.scenario)
        events = []
        for ev in spec["events"]:
            if ev[1] in HOST_ACTIONS:
                cfg.notes.append(
                    f"scenario event {ev[1]} at {ev[0] / 1000:g} s left out: the real host decides"
                )
            else:
                events.append(ev)
        spec["events"] = events
    else:
        from .commands.profile import profile_from_dict

        # The table's loading stop and the profile's loading angle are one fact.
        profile = profile_from_dict(
            {"loading_cdeg": -6000, "table_type": 0 if cfg.table == "motorized" else 1},
            "virtual board profile",
        )
        spec = {
            "table": cfg.table,
            "board": cfg.board,
            "imu": cfg.imu,
            "hr": cfg.hr,
            "brake": True,
            "seed": cfg.seed,
            "telemetry_hz": 20,
            "person": {},
            "table_params": {"loading_deg": -60.0},
            "profile": bytes(profile.to_bytes()),
            "events": [],
        }
    spec["uid"] = cfg.uid
    spec["duration_ms"] = FOREVER_MS
    spec["host_connected"] = False
    spec["virtual_host"] = False
    return spec


def bench_values(cfg: VBoardConfig) -> dict[str, Any]:
    """The board.json of a bench-mode virtual board."""
    return {
        "board": cfg.board,
        "imu": cfg.imu,
        "hr": cfg.hr,
        "motor": "hbridge" if cfg.table == "motorized" else "none",
        "brake": True,
        "buzzer": True,
        "link": "usb",
        "bench": True,
    }


class CPythonRig:
    """The rig in this process: SimSession or BenchRig."""

    def __init__(self, cfg: VBoardConfig) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="inversa-vboard-")
        self.rig: Any
        if cfg.bench:
            from inversa_world.bench_rig import BenchRig

            self.rig = BenchRig(bench_values(cfg), self._dir.name, uid=cfg.uid)
        else:
            from inversa_world.session import SimSession

            self.rig = SimSession(session_spec(cfg), self._dir.name)

    def exchange(self, rx: bytes, connected: bool, actions: list[str], ms: int) -> bytes:
        r = self.rig
        for a in actions:
            r.events.append((r.t_ms, a, {}))  # applied at the next period
        r.port.connected = connected
        if rx:
            r.port.feed_rx(rx)
        r.run_for(ms)
        return r.take_tx()

    def close(self) -> None:
        self._dir.cleanup()


class VMRig:
    """The rig inside the MicroPython WebAssembly interpreter."""

    def __init__(self, cfg: VBoardConfig) -> None:
        from .vm import MicroPythonVM, repo_root

        self.vm = MicroPythonVM(heap_bytes=8 * 1024 * 1024)
        try:
            self.vm.install_firmware()
            self.vm.put_tree(repo_root() / "host" / "inversa_world", "/lib/inversa_world")
            self.vm.exec("import os\ntry:\n    os.mkdir('/flash')\nexcept OSError:\n    pass")
            if cfg.bench:
                make = f"from inversa_world.bench_rig import BenchRig\n__r = BenchRig({bench_values(cfg)!r}, '/flash', uid={cfg.uid!r})\n"
            else:
                make = f"from inversa_world.session import SimSession\n__r = SimSession({session_spec(cfg)!r}, '/flash')\n"
            self.vm.exec(make)
        except BaseException:
            self.vm.close()
            raise

    def exchange(self, rx: bytes, connected: bool, actions: list[str], ms: int) -> bytes:
        code = [f"__r.port.connected = {bool(connected)}"]
        for a in actions:
            code.append(f"__r.events.append((__r.t_ms, {a!r}, {{}}))")
        if rx:
            code.append(f"__r.port.feed_rx(bytes.fromhex({rx.hex()!r}))")
        code.append(f"__r.run_for({int(ms)})")
        # hex, not base64: the interpreter's b2a_base64 is slow on a busy heap
        code.append("print(__r.take_tx().hex())")
        out = self.vm.exec("\n".join(code) + "\n")
        line = out.splitlines()[-1].strip() if out.strip() else ""
        return bytes.fromhex(line)

    def close(self) -> None:
        self.vm.close()


class LinkApp:
    """A rig and its wire: ``port`` (a MemoryPort: host bytes in its rx ring,
    board bytes out of its tx ring) and ``step()`` (one exchange).  The shape
    the LinkServer here and the REPL board's ``app`` factory
    (:mod:`inversa_host.vboard_repl`, after a hard reset) both bridge to a
    socket.  The rig's own port may be replaced by a reboot; the wire stays,
    as a USB-serial adapter's would."""

    def __init__(self, cfg: VBoardConfig | None = None) -> None:
        self.cfg = cfg if cfg is not None else VBoardConfig()
        if self.cfg.bench and self.cfg.scenario is not None:
            raise ValueError(
                "a bench-mode virtual board has no simulated world of its own: "
                "give the scenario to `inversa bench` instead"
            )
        self.rig: Rig = VMRig(self.cfg) if self.cfg.vm else CPythonRig(self.cfg)
        self.chunk_ms = PERIOD_MS
        if self.cfg.vm:
            self.chunk_ms = VM_BENCH_CHUNK_MS if self.cfg.bench else VM_CHUNK_MS
        self.port = MemoryPort(tx_capacity=64 * 1024, rx_capacity=16 * 1024)
        self._rx = bytearray(16 * 1024)
        self._actions: list[str] = []
        self._lock = threading.Lock()
        self.virtual_ms = 0

    def press(self, action: str) -> None:
        """A local action at the table (PANEL_ACTIONS), applied at the next period."""
        if action not in PANEL_ACTIONS:
            raise ValueError(f"unknown panel action {action!r}; one of: {', '.join(PANEL_ACTIONS)}")
        with self._lock:
            self._actions.append(action)

    def step(self) -> None:
        wire = self.port
        n = wire.readinto(self._rx)
        with self._lock:
            actions, self._actions = self._actions, []
        tx = self.rig.exchange(bytes(self._rx[:n]), wire.connected, actions, self.chunk_ms)
        self.virtual_ms += self.chunk_ms
        if tx:
            wire.write(tx, len(tx))  # full (host far behind): dropped, as a board would

    def close(self) -> None:
        self.rig.close()


class VirtualBoard:
    """A LinkApp behind a LinkServer: ``url`` is what the host tools open."""

    def __init__(
        self,
        cfg: VBoardConfig | None = None,
        tcp_port: int = 0,
        speed: float = 1.0,
        host: str = "127.0.0.1",
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.app = LinkApp(cfg)
        self.cfg = self.app.cfg
        try:
            self.server = LinkServer(
                self.app.port,
                self.app.step,
                host=host,
                tcp_port=tcp_port,
                period_s=self.app.chunk_ms / 1000.0,
                speed=speed,
            )
        except BaseException:
            self.app.close()
            raise

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def connected(self) -> bool:
        return self.server.connected

    @property
    def error(self) -> BaseException | None:
        """What stopped the firmware thread, if anything did."""
        return self.server.error

    def press(self, action: str) -> None:
        """A local action at the table (PANEL_ACTIONS), applied at the next period."""
        self.app.press(action)

    def start(self) -> VirtualBoard:
        self.server.start()
        return self

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            self.app.close()

    def __enter__(self) -> VirtualBoard:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def link_app_for(repl_board: Any) -> LinkApp:
    """An ``app`` factory for the REPL board (:mod:`inversa_host.vboard_repl`):
    after ``inversa deploy`` resets it, the firmware runs as ``/board.json``
    says (bench mode or a simulated table, its sensors and motor)."""
    import json

    values = json.loads(repl_board.read_file("/board.json"))
    return LinkApp(
        VBoardConfig(
            bench=bool(values.get("bench", False)),
            board=str(values["board"]),
            table="manual" if values.get("motor") == "none" else "motorized",
            imu=str(values["imu"]),
            hr=str(values["hr"]),
        )
    )
