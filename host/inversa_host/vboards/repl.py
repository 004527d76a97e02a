"""The virtual board's REPL: a MicroPython interpreter behind ``socket://``.

The MicroPython WebAssembly interpreter (see :mod:`inversa_host.vm`) serves
MicroPython's REPL, raw REPL included, on a localhost TCP port, so the real
tools work against it exactly as against a board on a serial port::

    mpremote connect socket://127.0.0.1:PORT fs ls
    mpremote connect socket://127.0.0.1:PORT cp main.py :main.py
    mpremote connect socket://127.0.0.1:PORT exec "import inversa"
    inversa deploy --port socket://127.0.0.1:PORT --board pico

What a board does and the interpreter does not, and how it is modelled here:

* **Raw-paste mode**: the interpreter's event-driven REPL would block in it,
  so the server answers mpremote's raw-paste request with "not supported"
  (``R\\x00``), as older boards do; mpremote then uses the plain raw REPL.
* **Soft reset** (Ctrl-D, ``SystemExit``): modules and globals are cleared,
  the virtual hardware is re-attached and ``/boot.py`` runs.  ``main.py`` is
  not run: its endless control loop would block the interpreter.
* **Hard reset** (``machine.reset()``): the connection drops, as USB does.
  If an ``app`` factory was given, the board then "runs its application":
  the connection speaks the link protocol of the firmware rig the factory
  returns (a CPython firmware stepped every 10 ms, e.g. the link engineer's
  ``FakeBoard`` or the simulator's virtual board).  Otherwise the board comes
  back at the friendly REPL.  ``stop_app()`` returns to the REPL.
* **Hardware**: the VM's ``machine`` stand-in plus :class:`VirtualHardware`:
  input levels per GPIO (a NC contact that is closed reads 0) and register
  maps for I2C devices (IDs for the doctor), re-applied after every reset.
* ``mpremote mount`` needs the board to call back into the host filesystem
  while code runs: not supported here.

Usage::

    hw = VirtualHardware.healthy("pico")
    with ReplBoard(hardware=hw) as vb:
        subprocess.run(["mpremote", "connect", vb.url, "fs", "ls"])
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from inversa.board.boards import ACTIVE_LEVEL, get_board
from inversa_host.boardtools.mpybuild import board_arch
from inversa_host.vboards.serialsocket import Pacer, SerialServer
from inversa_host.vm import MicroPythonVM, mpylib_dir

RAW_PASTE_REQUEST = b"\x05A\x01"
RAW_PASTE_REFUSED = b"R\x00"
_HW_PATH = "/tmp/vboard_hw.json"

# Run inside MicroPython after every (soft) reset: forget the modules loaded
# from the filesystem and the globals, give OS errors a board's errno values
# (the WebAssembly port has Emscripten's: ENOENT is 44 there, 2 on a board,
# and mpremote relies on 2), re-attach the virtual hardware, run /boot.py.
_RESET_HOOK = """
def __vb_reset():
    import sys
    for k in list(sys.modules):
        if hasattr(sys.modules[k], "__file__"):
            del sys.modules[k]
    g = globals()
    for k in list(g):
        if k != "__name__":
            del g[k]
__vb_reset()
def __vb_errno():
    import builtins, os
    emscripten_to_board = {44: 2, 20: 17, 54: 20, 31: 21, 55: 39, 2: 13, 28: 22, 8: 9, 51: 28}
    def wrap(fn):
        def call(*args):
            try:
                return fn(*args)
            except OSError as e:
                if e.args and isinstance(e.args[0], int):
                    raise OSError(emscripten_to_board.get(e.args[0], e.args[0]))
                raise
        return call
    for name in ("stat", "listdir", "ilistdir", "mkdir", "rmdir", "remove", "unlink",
                 "rename", "chdir", "statvfs"):
        if hasattr(os, name):
            setattr(os, name, wrap(getattr(os, name)))
    builtins.open = wrap(builtins.open)
__vb_errno()
def __vb_hardware():
    import json, machine, vboard
    try:
        with open("__HW_PATH__") as f:
            hw = json.load(f)
    except OSError:
        hw = {"inputs": {}, "i2c": []}
    levels = {}
    for k in hw["inputs"]:
        levels[int(k)] = hw["inputs"][k]
    Base = machine.Pin
    class Pin(Base):
        def __init__(self, id, mode=-1, pull=-1, value=None):
            Base.__init__(self, id, mode, pull, value)
            if mode == Base.IN and id in levels:
                self._value = levels[id]
    machine.Pin = Pin
    class Regs:
        def __init__(self, regs):
            self.regs = regs
        def readfrom_mem_into(self, memaddr, buf):
            for i in range(len(buf)):
                buf[i] = self.regs.get(memaddr + i, 0)
        def writeto_mem(self, memaddr, buf):
            for i in range(len(buf)):
                self.regs[memaddr + i] = buf[i]
    for bus, addr, regs in hw["i2c"]:
        m = {}
        for k in regs:
            m[int(k)] = regs[k]
        machine.I2C.attach(bus, addr, Regs(m))
    def reset():
        vboard.hard_reset()
        raise SystemExit
    machine.reset = reset
    mp = hw.get("micropython")
    if mp:
        # An older (or newer) MicroPython on the chip: what sys.implementation says.
        import sys
        real = sys
        class Impl:
            pass
        impl = Impl()
        impl.name = "micropython"
        impl.version = tuple(mp["version"]) + ("",)
        impl._machine = mp.get("machine", real.implementation._machine)
        if mp.get("mpy") is not None:
            impl._mpy = mp["mpy"]
        class Sys:
            def __getattr__(self, k):
                return getattr(real, k)
        fake = Sys()
        fake.implementation = impl
        fake.version = "3.4.0; MicroPython v%d.%d.%d" % tuple(mp["version"])
        real.modules["sys"] = fake
    free = hw.get("flash_free")
    if free is not None:
        import os
        def statvfs(path, free=free):
            return (4096, 4096, 512, free // 4096, free // 4096, 0, 0, 0, 0, 255)
        os.statvfs = statvfs
__vb_hardware()
del __vb_errno, __vb_hardware
try:
    with open("/boot.py") as __f:
        exec(__f.read())
    del __f
except OSError:
    pass
import gc
gc.collect()
del gc
""".replace("__HW_PATH__", _HW_PATH)

# Identity registers the doctor reads: (who-am-I register, expected value).
ID_REGISTERS = {
    "mpu6050": (0x75, 0x68),
    "lsm6dsox": (0x0F, 0x6C),
    "max30102": (0xFF, 0x15),
}


@dataclass
class VirtualHardware:
    """What is wired to the virtual board: input levels and I2C devices."""

    inputs: dict[int, int] = field(default_factory=dict)  # GPIO -> level (0 = NC closed)
    i2c: list[tuple[int, int, dict[int, int]]] = field(default_factory=list)
    # The chip's MicroPython as ``sys.implementation`` reports it: None = the
    # interpreter's own (1.29); else (major, minor, micro) and the ``_mpy``
    # value (None: an interpreter older than 1.19 has no ``_mpy``).
    micropython: tuple[int, int, int] | None = None
    mpy: int | None = None
    flash_free: int | None = None  # bytes free on the flash (None: the VM's own)

    @classmethod
    def healthy(
        cls, board: str = "pico", imu: str = "mpu6050", hr: str | None = "max30102"
    ) -> VirtualHardware:
        """Every NC loop closed (e-stop released, off both limits, supply on
        mains, contactor on) and the named sensors answering on I2C."""
        from inversa.board.boards import HR_DRIVERS, IMU_DRIVERS

        d = get_board(board)
        names = (
            "estop_a",
            "estop_b",
            "home_sw",
            "end_sw",
            "btn_up",
            "btn_down",
            "btn_start",
            "btn_stop",
            "contactor_fb",
            "power_ok",
        )
        # Every input at its inactive level (NC loops closed, NO buttons
        # released, mains present), the contactor on, and the table resting
        # at its loading position, on the home switch.
        inputs = {d["pins"][n]: 1 - ACTIVE_LEVEL[n] for n in names}
        inputs[d["pins"]["home_sw"]] = ACTIVE_LEVEL["home_sw"]
        inputs[d["pins"]["contactor_fb"]] = ACTIVE_LEVEL["contactor_fb"]  # motor power on
        devices: list[tuple[int, int, dict[int, int]]] = []
        bus = d["i2c"][0]
        reg, value = ID_REGISTERS[imu]
        devices.append((bus, IMU_DRIVERS[imu][2], {reg: value}))
        if hr is not None and hr in ID_REGISTERS:
            spec = HR_DRIVERS[hr]
            assert spec is not None
            reg, value = ID_REGISTERS[hr]
            devices.append((bus, spec[2], {reg: value}))
        # What sys.implementation says on that board's MicroPython 1.29: the
        # .mpy version with the chip's native architecture (deploy checks it).
        return cls(inputs, devices, (1, 29, 0), 6 | 3 << 8 | NATIVE_ARCH[board_arch(board)] << 10)

    def set_input(self, board: str, signal: str, level: int) -> VirtualHardware:
        self.inputs[get_board(board)["pins"][signal]] = level
        return self

    def to_json(self) -> str:
        values: dict[str, object] = {
            "inputs": {str(k): v for k, v in self.inputs.items()},
            "i2c": [[b, a, {str(r): v for r, v in regs.items()}] for b, a, regs in self.i2c],
        }
        if self.micropython is not None:
            values["micropython"] = {"version": list(self.micropython), "mpy": self.mpy}
        if self.flash_free is not None:
            values["flash_free"] = self.flash_free
        return json.dumps(values)


# MicroPython's native-code architecture numbers (py/persistentcode.h, MP_NATIVE_ARCH_*)
NATIVE_ARCH = {"armv6m": 4, "armv7emsp": 7, "xtensawin": 10}


def older_micropython(version: str) -> tuple[tuple[int, int, int], int | None]:
    """(version, sys.implementation._mpy) of a MicroPython release "1.N[.M]", as
    an RP2040 reports them: .mpy version 5 before 1.19, 6 from 1.19; no
    ``_mpy`` before 1.19; sub-version 1 from 1.20, 2 from 1.22, 3 from 1.23."""
    parts = version.strip().lstrip("v").split(".")
    try:
        nums = [int(x) for x in parts]
    except ValueError:
        raise ValueError(f"not a MicroPython version: {version!r} (say e.g. 1.19)") from None
    if len(nums) < 2 or len(nums) > 3 or nums[0] != 1:
        raise ValueError(f"not a MicroPython version: {version!r} (say e.g. 1.19)")
    v = (nums[0], nums[1], nums[2] if len(nums) == 3 else 0)
    if v < (1, 19):
        return v, None
    sub = 0 if v < (1, 20) else 1 if v < (1, 22) else 2 if v < (1, 23) else 3
    return v, 6 | sub << 8 | 4 << 10  # armv6m


class ReplChip:
    """The MicroPython interpreter as a board's chip at its REPL: keystrokes
    in, output out, ``hard`` when the code asked for ``machine.reset()``.
    Shared by the REPL board here and the firmware board's maintenance mode
    (:mod:`inversa_host.vboards.vboard`)."""

    def __init__(self, hardware: VirtualHardware | None = None) -> None:
        self.vm = MicroPythonVM(raw_output=True)
        self.lock = threading.RLock()  # held around every use of the VM
        self.hard_resets = 0
        self.soft_resets = 0
        self._held = b""  # a possible raw-paste request split across reads
        try:
            # The machine stand-in is the chip; the filesystem starts empty.
            self.vm.put_tree(mpylib_dir(), "/lib")
            self.set_hardware(hardware or VirtualHardware())
            self.vm.repl_init(_RESET_HOOK)
        except BaseException:
            self.vm.close()
            raise

    def set_hardware(self, hardware: VirtualHardware) -> None:
        """Change what is wired; takes effect at the next reset (as on a board)."""
        with self.lock:
            self.hardware = hardware
            self.vm.write_file(_HW_PATH, hardware.to_json())

    def exec(self, code: str) -> str:
        with self.lock:
            return self.vm.exec(code)

    def read_file(self, path: str) -> bytes:
        out = self.exec(
            f"import binascii\nwith open({path!r}, 'rb') as f:\n print(binascii.hexlify(f.read()).decode())"
        )
        return bytes.fromhex(out.strip())

    def exists(self, path: str) -> bool:
        out = self.exec(
            f"import os\ntry:\n os.stat({path!r})\n print(1)\nexcept OSError:\n print(0)"
        )
        return out.strip() == "1"

    def write_file(self, path: str, data: bytes) -> None:
        with self.lock:
            self.vm.write_file(path, data)

    def remove(self, path: str) -> None:
        self.exec(f"import os\ntry:\n os.remove({path!r})\nexcept OSError:\n pass")

    def boot(self) -> None:
        """Power-on: the interpreter's state is gone, the filesystem stays."""
        with self.lock:
            self._held = b""
            self.vm.repl_init(_RESET_HOOK)

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """Type ``data``: (what the board printed, a hard reset was asked for).
        After a hard reset the rest of ``data`` is lost (USB went away)."""
        out = b""
        with self.lock:
            data = self._held + data
            self._held = b""
            while data:
                i = data.find(b"\x05")
                if i < 0:
                    chunk, data = data, b""
                elif data[i : i + 3] == RAW_PASTE_REQUEST:
                    o, hard = self._type(data[:i])
                    out += o
                    if hard:
                        return out, True
                    out += RAW_PASTE_REFUSED
                    data = data[i + 3 :]
                    continue
                elif len(data) - i < 3 and RAW_PASTE_REQUEST.startswith(data[i:]):
                    chunk, self._held, data = data[:i], data[i:], b""
                else:
                    chunk, data = data[: i + 1], data[i + 1 :]
                o, hard = self._type(chunk)
                out += o
                if hard:
                    return out, True
        return out, False

    def _type(self, chunk: bytes) -> tuple[bytes, bool]:
        if not chunk:
            return b"", False
        out, soft, hard = self.vm.repl_input(chunk)
        self.soft_resets += soft
        if hard:
            self.hard_resets += 1
            self._held = b""
        return out, hard

    def close(self) -> None:
        self.vm.close()


class AppRig(Protocol):
    """What an ``app`` factory returns: a firmware stepped every period whose
    link port (a MemoryPort) is bridged to the socket."""

    @property
    def port(self) -> object: ...

    def step(self) -> None: ...


class ReplBoard(SerialServer):
    """One MicroPython interpreter serving its REPL on a localhost TCP port."""

    thread_name = "vboard"

    def __init__(
        self,
        hardware: VirtualHardware | None = None,
        app: Callable[[ReplBoard], AppRig] | None = None,
        host: str = "127.0.0.1",
        tcp_port: int = 0,
        period_s: float = 0.01,
    ) -> None:
        self.chip = ReplChip(hardware)
        self.lock = self.chip.lock
        self.app = app
        self.period_s = period_s
        # Why the application did not start after the last hard reset (the
        # board then sits at its REPL, as one whose main.py fails).
        self.boot_error = ""
        self._rig: AppRig | None = None
        super().__init__(host, tcp_port)

    @property
    def vm(self) -> MicroPythonVM:
        return self.chip.vm

    @property
    def hard_resets(self) -> int:
        return self.chip.hard_resets

    @property
    def soft_resets(self) -> int:
        return self.chip.soft_resets

    @property
    def running_app(self) -> bool:
        return self._rig is not None

    def set_hardware(self, hardware: VirtualHardware) -> None:
        """Change what is wired; takes effect at the next reset (as on a board)."""
        self.chip.set_hardware(hardware)

    @property
    def hardware(self) -> VirtualHardware:
        return self.chip.hardware

    def exec(self, code: str) -> str:
        """Run code in the board's interpreter directly (tests: inspect the board)."""
        return self.chip.exec(code)

    def read_file(self, path: str) -> bytes:
        """A file from the board's filesystem (tests)."""
        return self.chip.read_file(path)

    def stop_app(self) -> None:
        """Back to the REPL (as a board booted with main.py skipped)."""
        with self.lock:
            self.sock.drop()
            self._rig = None

    def close(self) -> None:
        super().close()
        self.chip.close()

    # -- server ----------------------------------------------------------
    def _on_connected(self, up: bool) -> None:
        if self._rig is not None and hasattr(self._rig.port, "connected"):
            self._rig.port.connected = up  # type: ignore[attr-defined]

    def _repl_feed(self, data: bytes) -> None:
        out, hard = self.chip.feed(data)
        self.sock.out += out
        if hard:
            self.sock.flush()
            self.sock.drop()  # USB goes away while the chip reboots
            if self.app is not None:
                self._start_app()

    def _start_app(self) -> None:
        """Run the application, as main.py does; a board whose application
        cannot start (no firmware, no config) stays at its REPL."""
        assert self.app is not None
        self.boot_error = ""
        try:
            self._rig = self.app(self)
        except Exception as e:  # the firmware's boot error, printed on a real board
            self.boot_error = f"{type(e).__name__}: {e}".strip()
            self._rig = None
            self.chip.boot()

    def _service(self) -> None:
        sock = self.sock
        sock.accept()  # a second host is refused at once, as a serial port does
        data = sock.recv()
        if data is None:
            return  # the host closed the port
        rig = self._rig
        if rig is None:
            if data:
                self._repl_feed(data)
        else:
            port = rig.port
            if data:
                port.feed_rx(data)  # type: ignore[attr-defined]
            rig.step()
            sock.out += port.take_tx()  # type: ignore[attr-defined]
        sock.flush()

    def _serve(self) -> None:
        pacer = Pacer(self.period_s)
        while self._running:
            with self.lock:
                self._service()
            if self._rig is not None:
                delay = pacer.next_delay()
                if delay > 0:
                    time.sleep(delay)
            else:
                pacer.resync()
                self.sock.wait(0.02)
