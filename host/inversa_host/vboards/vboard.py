"""The virtual board: the firmware behind a ``socket://`` serial URL.

The real firmware runs, period by period, on a simulated machine; its link
port is served on a localhost TCP port by the link's
:class:`~inversa_host.vboards.linkserver.LinkServer`, so ``inversa log``,
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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from inversa.link.port import MemoryPort
from inversa_host.sim.scenario import Scenario
from inversa_host.vboards.linkserver import LinkServer

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
    # A fresh board: MicroPython flashed, nothing else (it sits at its REPL
    # until `inversa deploy` puts the firmware on it).
    empty: bool = False
    # The chip's MicroPython release as its REPL reports it ("1.19"); None: 1.29.
    micropython: str | None = None
    # "rp2040": the firmware on an emulated Pico (stock MicroPython in
    # rp2040js, inversa_host.rp2emu); None: CPython, or the VM with `vm`.
    emulated: str | None = None
    uf2: str | None = None  # the emulated Pico's MicroPython image (None: found as usual)
    bootrom: str | None = None  # its boot ROM (None: found as usual)


class Rig(Protocol):
    """Where the firmware runs: one exchange = host bytes in, some periods, board bytes out."""

    def exchange(self, rx: bytes, connected: bool, actions: list[str], ms: int) -> bytes: ...

    def in_maintenance(self) -> bool:
        """The firmware rebooted into maintenance: the chip is at its REPL."""
        ...

    def storage(self) -> dict[str, bytes]:
        """The firmware's own files on the flash (profile, calibration)."""
        ...

    def put_storage(self, files: dict[str, bytes | None]) -> None:
        """Write (None: remove) the firmware's own files."""
        ...

    def input_levels(self) -> dict[int, int]:
        """GPIO -> level of what the world drives into the board now."""
        ...

    def close(self) -> None: ...


# The firmware's own files, kept in the rig's storage directory and mirrored
# onto the chip's filesystem root while it is at its REPL (the doctor reads
# the calibration there).
STORAGE_FILES = ("profile.bin", "calibration.bin")


def session_spec(cfg: VBoardConfig) -> dict[str, Any]:
    """The SimSession spec of a simulated-table virtual board."""
    if cfg.scenario is not None:
        from inversa_host.sim.runner import build_spec

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
        from inversa_host.profiles.files import profile_from_dict

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

    def in_maintenance(self) -> bool:
        return bool(getattr(self.rig, "in_maintenance", False))

    def storage(self) -> dict[str, bytes]:
        import os

        out = {}
        for name in STORAGE_FILES:
            path = os.path.join(self._dir.name, name)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    out[name] = f.read()
        return out

    def put_storage(self, files: dict[str, bytes | None]) -> None:
        import os

        for name, data in files.items():
            path = os.path.join(self._dir.name, name)
            if data is None:
                if os.path.isfile(path):
                    os.remove(path)
            else:
                with open(path, "wb") as f:
                    f.write(data)

    def input_levels(self) -> dict[int, int]:
        r = self.rig
        # the world drives the inputs of the pins the last boot made
        table = getattr(r, "table", None)
        if table is not None:
            r.panel.drive(r.machine, r.pins, r.t_ms, table.home_switch, table.end_switch)
        else:
            r._drive()
        pins = getattr(r.machine, "pins", {})
        return {gpio: int(pin.level) for gpio, pin in pins.items() if hasattr(pin, "level")}

    def close(self) -> None:
        self._dir.cleanup()


class VMRig:
    """The rig inside the MicroPython WebAssembly interpreter."""

    def __init__(self, cfg: VBoardConfig) -> None:
        from inversa_host.vm import MicroPythonVM, repo_root

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
        code.append("print(int(getattr(__r, 'in_maintenance', False)), __r.take_tx().hex())")
        out = self.vm.exec("\n".join(code) + "\n")
        line = out.splitlines()[-1].strip() if out.strip() else "0"
        flag, _, data = line.partition(" ")
        self._maintenance = flag == "1"
        return bytes.fromhex(data)

    def in_maintenance(self) -> bool:
        return getattr(self, "_maintenance", False)

    def storage(self) -> dict[str, bytes]:
        out = {}
        for name in STORAGE_FILES:
            text = self.vm.exec(
                f"try:\n with open('/flash/{name}', 'rb') as __f:\n  print(__f.read().hex())\n"
                "except OSError:\n print('-')"
            ).strip()
            if text != "-":
                out[name] = bytes.fromhex(text)
        return out

    def put_storage(self, files: dict[str, bytes | None]) -> None:
        for name, data in files.items():
            if data is None:
                self.vm.exec(
                    f"import os\ntry:\n os.remove('/flash/{name}')\nexcept OSError:\n pass"
                )
            else:
                self.vm.write_file(f"/flash/{name}", data)

    def input_levels(self) -> dict[int, int]:
        return {}  # the healthy wiring (the world's pins stay inside the VM)

    def close(self) -> None:
        self.vm.close()


_IMAGES: dict[str, dict[str, bytes]] = {}  # board -> the compiled firmware (once per process)


def firmware_image(board: str) -> dict[str, bytes]:
    """The firmware as ``inversa deploy`` puts it on ``board`` ({path: bytes})."""
    if board not in _IMAGES:
        from pathlib import Path

        from inversa_host.boardtools.deploy import build_image

        with tempfile.TemporaryDirectory(prefix="inversa-vboard-image-") as tmp:
            _IMAGES[board] = build_image(board, Path(tmp))
    return _IMAGES[board]


def board_json(cfg: VBoardConfig) -> dict[str, Any]:
    """The /board.json a board like ``cfg`` was deployed with."""
    values = bench_values(cfg)
    values["bench"] = cfg.bench
    return values


class LinkApp:
    """A rig and its wire: ``port`` (a MemoryPort: host bytes in its rx ring,
    board bytes out of its tx ring) and ``step()`` (one exchange).  The shape
    the LinkServer here and the REPL board's ``app`` factory
    (:mod:`inversa_host.vboards.repl`, after a hard reset) both bridge to a
    socket.  The rig's own port may be replaced by a reboot; the wire stays,
    as a USB-serial adapter's would.

    **Maintenance** (the host's maintenance command, or STOP held at
    power-on): the firmware reboots into MicroPython's REPL, which is then
    what the wire speaks: a MicroPython interpreter (:class:`ReplChip`) whose
    filesystem is the board's flash (the firmware as deployed, ``/main.py``,
    ``/board.json``, and the firmware's own profile and calibration files).
    ``inversa deploy`` and ``inversa doctor`` work there with mpremote as on a
    board; ``machine.reset()`` (or a power reset at the table) boots what the
    flash now holds: the firmware as ``/board.json`` says, or, with no
    firmware or a broken one, the REPL again (``boot_error`` says why).  An
    ``empty`` board starts at the REPL with nothing on its flash."""

    def __init__(self, cfg: VBoardConfig | None = None) -> None:
        self.cfg = cfg if cfg is not None else VBoardConfig()
        if self.cfg.bench and self.cfg.scenario is not None:
            raise ValueError(
                "a bench-mode virtual board has no simulated world of its own: "
                "give the scenario to `inversa bench` instead"
            )
        if self.cfg.empty and self.cfg.scenario is not None:
            raise ValueError("an empty board runs no firmware: deploy it first, then reset")
        self.chunk_ms = PERIOD_MS
        if self.cfg.vm:
            self.chunk_ms = VM_BENCH_CHUNK_MS if self.cfg.bench else VM_CHUNK_MS
        self.port = MemoryPort(tx_capacity=64 * 1024, rx_capacity=16 * 1024)
        self._rx = bytearray(16 * 1024)
        self._actions: list[str] = []
        self._lock = threading.Lock()
        self.virtual_ms = 0
        self.tx_dropped = 0  # board -> host bytes the wire had no room for
        self.chip: Any = None  # the ReplChip, made at the first maintenance boot
        self.at_repl = False
        self.maintenance_boots = 0
        self.firmware_boots = 0
        self.boot_error = ""
        # Called when the board's USB goes away and comes back (a reboot):
        # the server drops the host's connection.  Set by VirtualBoard.
        self.reenumerate: Callable[[], None] = lambda: None
        self.rig: Rig | None = None
        self._rig_reboots = 0
        self._chip_ready: threading.Thread | None = None
        if self.cfg.empty:
            self._chip(with_firmware=False)
            self.at_repl = True
        else:
            self.rig = self._make_rig(self.cfg)

    def prepare_maintenance(self, wait: bool = False) -> None:
        """Build the chip and its flash now (the compiled firmware takes
        seconds), in the background unless ``wait``: a maintenance reboot
        then does not keep the host waiting for the REPL."""
        if wait:
            self._chip(with_firmware=True)
            return
        if self.chip is None and self._chip_ready is None:
            self._chip_ready = threading.Thread(
                target=self._chip, args=(True,), name="vboard-flash", daemon=True
            )
            self._chip_ready.start()

    @property
    def rx_dropped(self) -> int:
        """Host -> board bytes the wire (the USB buffer) had no room for; what
        the firmware's own receive buffer drops, it counts in rx_errors."""
        return self.port.rx_overflow

    @staticmethod
    def _make_rig(cfg: VBoardConfig) -> Rig:
        if cfg.emulated == "rp2040":
            from inversa_host.rp2emu.rig import Rp2Rig

            return Rp2Rig(cfg)
        return VMRig(cfg) if cfg.vm else CPythonRig(cfg)

    def press(self, action: str) -> None:
        """A local action at the table (PANEL_ACTIONS), applied at the next period."""
        if action not in PANEL_ACTIONS:
            raise ValueError(f"unknown panel action {action!r}; one of: {', '.join(PANEL_ACTIONS)}")
        why = getattr(self.rig, "unsupported_actions", {}).get(action)
        if why is not None:
            raise ValueError(f"{PANEL_ACTIONS[action]}: not on this board ({why})")
        with self._lock:
            self._actions.append(action)

    def step(self) -> None:
        wire = self.port
        n = wire.readinto(self._rx)
        with self._lock:
            actions, self._actions = self._actions, []
        if self.at_repl:
            self._repl_step(bytes(self._rx[:n]), actions)
            return
        assert self.rig is not None
        tx = self.rig.exchange(bytes(self._rx[:n]), wire.connected, actions, self.chunk_ms)
        self.virtual_ms += self.chunk_ms
        reboots = getattr(self.rig, "reboots", 0)
        if reboots != self._rig_reboots:
            # the chip reset itself (an emulated Pico: machine.reset() or its
            # watchdog): its USB went away and came back, as a board's would
            self._rig_reboots = reboots
            self._flush_wire()
            self.reenumerate()
            tx = b""
        if tx and wire.connected and not wire.write(tx, len(tx)):
            self.tx_dropped += len(tx)  # full (host far behind): dropped, as a board would
        if self.rig.in_maintenance():
            self._enter_repl()

    # -- maintenance: the chip at its REPL ----------------------------------
    def _chip(self, with_firmware: bool) -> Any:
        from inversa_host.vboards.repl import ReplChip, VirtualHardware, older_micropython

        t = self._chip_ready
        if t is not None and t is not threading.current_thread():
            t.join()  # being built in the background: wait for it
        if self.chip is None:
            cfg = self.cfg
            hw = VirtualHardware.healthy(cfg.board, cfg.imu, None if cfg.hr == "none" else cfg.hr)
            if cfg.micropython is not None:
                hw.micropython, hw.mpy = older_micropython(cfg.micropython)
            chip = ReplChip(hw)
            if with_firmware:  # as `inversa deploy` left it
                for path, data in firmware_image(cfg.board).items():
                    chip.write_file(path, data)
                from inversa.board.config import validate
                from inversa_host.boardtools.deploy import config_json

                chip.write_file("/board.json", config_json(validate(board_json(cfg), "vboard")))
            self.chip = chip
        return self.chip

    def _enter_repl(self) -> None:
        """The firmware reset into maintenance: the chip's REPL takes the wire."""
        assert self.rig is not None
        chip = self._chip(with_firmware=True)
        for name, data in self.rig.storage().items():
            chip.write_file("/" + name, data)
        levels = self.rig.input_levels()
        if levels:
            hw = chip.hardware
            for gpio in list(hw.inputs):
                if gpio in levels:
                    hw.inputs[gpio] = levels[gpio]
            chip.set_hardware(hw)
        chip.boot()
        self.at_repl = True
        self.maintenance_boots += 1
        self._flush_wire()
        self.reenumerate()

    def _flush_wire(self) -> None:
        self.port.readinto(self._rx)
        self.port.drop_tx()

    def _repl_step(self, rx: bytes, actions: list[str]) -> None:
        chip = self.chip
        assert chip is not None
        if "power_reset" in actions:
            self._boot_from_flash()
            return
        if actions:  # the buttons are wired whatever runs; they act once firmware does
            with self._lock:
                self._actions[:0] = actions
        if not rx:
            return
        out, hard = chip.feed(rx)
        if out and self.port.connected and not self.port.write(out, len(out)):
            self.tx_dropped += len(out)
        if hard:
            self._boot_from_flash()

    def _flash_firmware(self) -> tuple[VBoardConfig | None, str]:
        """What the flash boots: (its config, "") or (None, why it stays at the REPL)."""
        import json

        chip = self.chip
        assert chip is not None
        if not chip.exists("/main.py"):
            return None, "no /main.py: MicroPython's REPL (deploy the firmware)"
        main = chip.read_file("/main.py").decode("utf-8", "replace")
        from inversa_host.boardtools.deploy import DEPLOY_GUARD

        if DEPLOY_GUARD in main:
            return None, (
                "/main.py is deploy's placeholder: a deploy was interrupted; "
                "run `inversa deploy` again"
            )
        out = chip.exec(
            "import sys\nfor __k in list(sys.modules):\n"
            "    if __k.startswith('inversa'):\n        del sys.modules[__k]\n"
            "try:\n import inversa.app, inversa\n print('ok', inversa.VERSION)\n"
            "except Exception as __e:\n print('error', repr(__e))"
        ).strip()
        if not out.startswith("ok"):
            return None, f"main.py: the firmware does not import: {out[6:]}"
        try:
            values = json.loads(chip.read_file("/board.json"))
            from inversa.board.config import validate

            bcfg = validate(values, "/board.json")
        except (ValueError, Exception) as e:
            return None, f"main.py: /board.json: {e}"
        c = self.cfg
        table = "manual" if bcfg.motor == "none" else "motorized"
        same = (
            bcfg.board == c.board
            and bool(bcfg.bench) == c.bench
            and table == c.table
            and bcfg.imu == c.imu
            and bcfg.hr == c.hr
        )
        if same and self.rig is not None:
            return c, ""
        keep = c.scenario if (not bcfg.bench and table == c.table) else None
        return (
            VBoardConfig(
                scenario=keep,
                bench=bool(bcfg.bench),
                vm=c.vm,
                board=bcfg.board,
                table=table,
                imu=bcfg.imu,
                hr=bcfg.hr,
                seed=c.seed,
                micropython=c.micropython,
            ),
            "",
        )

    def _boot_from_flash(self) -> None:
        """A reset with the chip at its REPL: boot what the flash holds."""
        chip = self.chip
        assert chip is not None
        self._flush_wire()
        self.reenumerate()
        cfg, why = self._flash_firmware()
        if cfg is None:
            self.boot_error = why
            chip.boot()
            return
        files: dict[str, bytes | None] = {}
        for name in STORAGE_FILES:
            files[name] = chip.read_file("/" + name) if chip.exists("/" + name) else None
        if cfg is not self.cfg:  # deployed as another board: the rig is built anew
            if self.rig is not None:
                self.rig.close()
            self.cfg = cfg
            self.chunk_ms = PERIOD_MS
            if cfg.vm:
                self.chunk_ms = VM_BENCH_CHUNK_MS if cfg.bench else VM_CHUNK_MS
            self.rig = self._make_rig(cfg)
            self.rig.put_storage(files)
            self.rig.exchange(b"", False, ["power_reset"], 0)  # boot with those files
        else:
            assert self.rig is not None
            self.rig.put_storage(files)
            with self._lock:
                self._actions.insert(0, "power_reset")
        self.boot_error = ""
        self.at_repl = False
        self.firmware_boots += 1

    def close(self) -> None:
        if self.rig is not None:
            self.rig.close()
        if self.chip is not None:
            self.chip.close()


class VirtualBoard(LinkServer):
    """A LinkServer serving a LinkApp: ``url`` is what the host tools open."""

    def __init__(
        self,
        cfg: VBoardConfig | None = None,
        tcp_port: int = 0,
        speed: float = 1.0,
        host: str = "127.0.0.1",
        lockstep_only: bool = False,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.lockstep_only = lockstep_only
        self._lockstep_ms: int | None = None
        self.app = LinkApp(cfg)
        self.cfg = self.app.cfg
        try:
            super().__init__(
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
        self.app.reenumerate = self.reconnect

    @property
    def at_repl(self) -> bool:
        """The chip is at MicroPython's REPL (maintenance, or no firmware)."""
        return self.app.at_repl

    def press(self, action: str) -> None:
        """A local action at the table (PANEL_ACTIONS), applied at the next period."""
        self.app.press(action)

    def start(self) -> VirtualBoard:
        if not self.lockstep_only:
            super().start()
        return self

    def lockstep(self, client: Any, ms: int = PERIOD_MS, timeout_s: float = 30.0) -> list[Any]:
        """Run the board ``ms`` more of its time in lock-step with ``client``
        (a LinkClient in this process): everything the client wrote reaches
        the board before it steps, everything the board wrote is read before
        this returns; return those frames.  Virtual time: a loaded PC makes it
        slower, never late.  Needs ``lockstep_only=True`` (no pacing thread)."""
        frames: list[Any] = []
        if self._lockstep_ms is None:
            self._lockstep_ms = self.app.virtual_ms
        self._lockstep_ms += ms  # a board stepped in longer chunks (the VM) steps every few calls
        target = self._lockstep_ms
        while self.app.virtual_ms < target:
            if self.app.at_repl:
                raise RuntimeError("the board is at its REPL: no firmware to step")
            sent = self.step_lockstep(client.bytes_out, timeout_s)
            deadline = time.monotonic() + timeout_s
            while client.bytes_in < sent:
                if time.monotonic() > deadline:
                    raise TimeoutError("lock-step: the board's bytes never arrived")
                frames += client.poll(0.05)
        return frames

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.app.close()


def link_app_for(repl_board: Any) -> LinkApp:
    """An ``app`` factory for the REPL board (:mod:`inversa_host.vboards.repl`):
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
