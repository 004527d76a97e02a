"""One emulated Raspberry Pi Pico, run in lock-step with the simulated world.

Node (``runner.mjs``) runs the stock MicroPython firmware in rp2040js; this
class drives it slice by slice of emulated time.  During a slice, every I2C
transfer the firmware makes comes back here and is answered by the world's
register-level device models (the same fakes the CPython simulator uses), so
MicroPython's own ``machine.I2C`` runs against them.  Between slices the
caller drives the input pins and reads the output pins and the USB CDC bytes.

Usage::

    pico = EmulatedPico(fs_image, bus, clock, in_pins=[2, 3], out_pins=[18], pwm_pins=[16])
    r = pico.run_until(10_000, inputs={2: 1}, tx=b"...")   # emulated us
    r.outputs[18], r.rx, r.feeds_us
    pico.close()
"""

from __future__ import annotations

import io
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inversa_host.closing import Closing
from inversa_host.rp2emu.tools import find_rp2_tools, node_and_rp2040js

_HERE = Path(__file__).resolve().parent
_MAX_READ_CHUNK = 32  # a register-file read answers this many bytes at a time


class EmuClock:
    """The world's clock, set to the board's emulated time (microseconds)."""

    PERIOD = 1 << 30

    def __init__(self) -> None:
        self.t_us = 0

    def ticks_us(self) -> int:
        return self.t_us % self.PERIOD

    def ticks_ms(self) -> int:
        return (self.t_us // 1000) % self.PERIOD


@dataclass
class SliceResult:
    t_us: int
    outputs: dict[int, int]
    rx: bytes
    feeds_us: list[int]
    xfers_us: list[int]
    wdt_fired: int
    cdc_up: bool
    resets: int = 0  # chip resets so far (watchdog, machine.reset()): it booted again
    flash_us: list[int] = field(default_factory=list)  # when each flash erase/program began


@dataclass
class I2CStats:
    transfers: int = 0
    nacks: int = 0
    writes: int = 0
    reads: int = 0
    log: list[Any] = field(default_factory=list)


class I2CBridge:
    """Byte-level I2C transfers onto a FakeI2CBus's register-level devices.

    A write's first byte sets the device's register pointer; the rest go to
    ``writeto_mem``.  A read is served from ``readfrom_mem_into`` snapshots
    from the pointer on, except FIFO registers (the MAX30102's FIFO_DATA),
    which pop one sample at a time, as the chip does."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.ptr: dict[int, int] = {}
        self.stats = I2CStats()
        self._read_addr = -1
        self._read_pos = 0

    def present(self) -> list[int]:
        down = getattr(self.bus, "_down", {})
        return sorted(a for a in self.bus.devices if a not in down)

    def _fifo_bytes(self, dev: Any, reg: int) -> int:
        if reg == 0x07 and hasattr(dev, "fifo") and hasattr(dev, "_bytes"):
            return int(dev._bytes)
        return 0

    def connect(self, addr: int, read: bool) -> tuple[bool, bytes]:
        bus = self.bus
        dev = bus.devices.get(addr)
        if dev is None or addr in getattr(bus, "_down", {}):
            self.stats.nacks += 1
            return False, b""
        if not read:
            self.stats.transfers += 1
            bus.transfers += 1
            if bus._faulty:
                try:
                    bus._check(addr)
                except OSError:
                    self.stats.nacks += 1
                    return False, b""
            return True, b""
        self.stats.reads += 1
        self._read_addr = addr
        self._read_pos = self.ptr.get(addr, 0)
        return True, self.more(addr)

    def more(self, addr: int) -> bytes:
        dev = self.bus.devices.get(addr)
        if dev is None:
            return b"\xff"
        reg = self._read_pos
        n = self._fifo_bytes(dev, reg)
        if n:
            buf = bytearray(n)
            dev.readfrom_mem_into(reg, buf)
            return bytes(buf)
        n = min(_MAX_READ_CHUNK, 256 - reg) if reg < 256 else 1
        buf = bytearray(n)
        dev.readfrom_mem_into(reg, buf)
        self._read_pos = reg + len(buf)
        return bytes(buf) or b"\xff"

    def write(self, addr: int, data: bytes) -> None:
        dev = self.bus.devices.get(addr)
        if dev is None or not data:
            return
        self.stats.writes += 1
        self.ptr[addr] = data[0]
        if len(data) > 1:
            dev.writeto_mem(data[0], bytearray(data[1:]))


class EmulatedPico(Closing):
    def __init__(
        self,
        fs_image: bytes,
        bus: Any,
        clock: EmuClock,
        out_pins: list[int],
        pwm_pins: list[int],
        i2c_pins: tuple[int, int] = (4, 5),
        uf2: str | None = None,
        bootrom: str | None = None,
        flash_writes: bool = True,
        flash_times_ms: tuple[float, float] | None = None,
    ) -> None:
        # flash_times_ms: (a 4 KB sector erase, a 256 B page program) in ms;
        # None: the W25Q16JV's typical 45 and 0.4 (its maxima: 400 and 3)
        node = node_and_rp2040js()
        uf2_path, rom_path = find_rp2_tools(uf2, bootrom)
        self._tmp = tempfile.TemporaryDirectory(prefix="inversa-rp2-")
        fs_path = Path(self._tmp.name) / "fs.img"
        fs_path.write_bytes(fs_image)
        self.clock = clock
        self.i2c = I2CBridge(bus)
        self.t_us = 0
        cmd = [
            node,
            str(_HERE / "runner.mjs"),
            "--uf2",
            str(uf2_path),
            "--bootrom",
            str(rom_path),
            "--fs",
            str(fs_path),
            "--i2c-pins",
            f"{i2c_pins[0]},{i2c_pins[1]}",
            "--out-pins",
            ",".join(map(str, out_pins)),
            "--pwm-pins",
            ",".join(map(str, pwm_pins)),
        ]
        if flash_writes:
            cmd.append("--flash-writes")
            if flash_times_ms is not None:
                cmd += [
                    "--erase-ms",
                    str(flash_times_ms[0]),
                    "--program-ms",
                    str(flash_times_ms[1]),
                ]
        # Its own session: a Ctrl-C at the terminal goes to the whole process
        # group; the emulator must not die under the tool (a thread's traceback
        # in `vboard --board rp2040`), the tool closes it (it exits on stdin's EOF).
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in = self._proc.stdin
        self._out = self._proc.stdout
        self._reader = io.BufferedReader(self._out, buffer_size=1 << 16)  # type: ignore[arg-type]
        self._last_in: dict[int, int] = {}
        self.host_reads = True  # False: the host keeps the port open but stops reading
        self._host_reads_sent = True

    def _send(self, obj: dict[str, Any]) -> None:
        self._in.write((json.dumps(obj, separators=(",", ":")) + "\n").encode())

    def _recv(self) -> dict[str, Any]:
        line = self._reader.readline()
        if not line:
            err = b""
            if self._proc.stderr is not None:
                err = self._proc.stderr.read() or b""
            raise RuntimeError(
                "the emulated Pico stopped: " + err.decode("utf-8", "replace").strip()[-2000:]
            )
        return json.loads(line)

    def run_until(
        self, until_us: int, inputs: dict[int, int] | None = None, tx: bytes = b""
    ) -> SliceResult:
        """Run the board to emulated time ``until_us``, answering its I2C."""
        changed = {}
        for p, v in (inputs or {}).items():
            if self._last_in.get(p) != v:
                changed[str(p)] = v
                self._last_in[p] = v
        msg: dict[str, Any] = {"op": "run", "until_us": until_us, "present": self.i2c.present()}
        if changed:
            msg["in"] = changed
        if tx:
            msg["tx"] = tx.hex()
        if self.host_reads != self._host_reads_sent:
            msg["host_reads"] = self.host_reads
            self._host_reads_sent = self.host_reads
        self._send(msg)
        i2c = self.i2c
        clock = self.clock
        while True:
            m = self._recv()
            e = m["e"]
            if e == "done":
                break
            clock.t_us = m["t"]
            if e == "c":
                ack, data = i2c.connect(m["a"], bool(m["r"]))
                self._send({"ack": ack, "d": data.hex()})
            elif e == "m":
                self._send({"d": i2c.more(m["a"]).hex()})
            elif e == "w":
                i2c.write(m["a"], bytes.fromhex(m["d"]))
        self.t_us = m["t"]
        clock.t_us = self.t_us
        return SliceResult(
            t_us=m["t"],
            outputs={int(k): v for k, v in m["out"].items()},
            rx=bytes.fromhex(m["rx"]),
            feeds_us=m["feeds"],
            xfers_us=m["xfers"],
            wdt_fired=m["wdt_fired"],
            cdc_up=m["cdc"],
            resets=m.get("resets", 0),
            flash_us=m.get("flash", []),
        )

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._send({"op": "quit"})
                self._in.close()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        self._tmp.cleanup()


class RawRepl:
    """MicroPython's raw REPL over the emulated board's USB CDC (a board with
    no main.py, or one in maintenance): run code, get what it printed.

    Usage::

        repl = RawRepl(pico)
        out = repl.exec("import gc; print(gc.mem_free())")
    """

    SLICE_US = 5000

    def __init__(self, pico: EmulatedPico, boot_timeout_us: int = 5_000_000) -> None:
        self.pico = pico
        self._buf = bytearray()
        self._wait(b"", boot_timeout_us, until_cdc=True)
        self._send_and_wait(b"\r\x03\x03\x01", b"raw REPL; CTRL-B to exit\r\n>", boot_timeout_us)

    def _run(self, tx: bytes = b"") -> SliceResult:
        r = self.pico.run_until(self.pico.t_us + self.SLICE_US, None, tx)
        self._buf += r.rx
        return r

    def _wait(self, marker: bytes, timeout_us: int, until_cdc: bool = False) -> None:
        end = self.pico.t_us + timeout_us
        while self.pico.t_us < end:
            r = self._run()
            if until_cdc and r.cdc_up:
                return
            if marker and marker in self._buf:
                return
        raise TimeoutError(f"no {marker!r} from the board; it said {bytes(self._buf[-300:])!r}")

    def _send_and_wait(self, data: bytes, marker: bytes, timeout_us: int) -> None:
        self._buf.clear()
        self._run(data)
        self._wait(marker, timeout_us)

    def exec(self, code: str, timeout_us: int = 60_000_000) -> str:
        """Run ``code``; return its stdout; RuntimeError with MicroPython's traceback."""
        self._buf.clear()
        self._run(code.encode() + b"\x04")
        self._wait(b"\x04>", timeout_us)
        text = bytes(self._buf)
        if not text.startswith(b"OK"):
            raise RuntimeError(f"raw REPL refused the code: {text[:200]!r}")
        out, err = text[2:].split(b"\x04")[:2]
        if err.strip():
            raise RuntimeError(err.decode("utf-8", "replace"))
        return out.decode("utf-8", "replace").replace("\r\n", "\n")
