"""A simulated session with the firmware on an emulated Pico.

The same world as ``inversa_world.session.SimSession`` (table, person, heart,
register-level sensor chips, the panel, a small virtual host that keeps the
lease and sends the scenario's commands), but the firmware is the stock
MicroPython RPI_PICO image running the deployed ``.mpy`` files in rp2040js.
Each 10 ms of emulated time: the scenario's events, the world's physics, the
panel's input pins, the virtual host's frames into the USB CDC; then the board
runs that slice (its I2C answered by the world's chips); then its output pins
drive the table.

It also measures the board from outside: every watchdog feed, every period
(from the period's first I2C transfer, the IMU read that opens the step, to the
watchdog feed that closes it), and what the link carries.

Usage::

    s = Rp2Session(spec)                 # spec: see inversa_world.session.DEFAULT_SPEC
    while not s.finished:
        tx, truth, finished = s.run_for(1000)
    s.stats.summary()
    s.close()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inversa.board.config import validate as validate_board_config
from inversa.link import messages as M
from inversa_host.link.codec import StreamDecoder, telemetry_dict
from inversa_host.rp2emu.board import EmuClock, EmulatedPico
from inversa_host.rp2emu.fsimage import deploy_files, littlefs_image
from inversa_world.panel import TablePanel
from inversa_world.session import (
    DEFAULT_SPEC,
    PERIOD_MS,
    TRUTH_EVERY_MS,
    ScenarioReplay,
    calibrate,
)
from inversa_world.world import World

PERIOD_US = PERIOD_MS * 1000


@dataclass
class BoardStats:
    """What the harness saw of the board (all times in emulated microseconds)."""

    periods_us: list[tuple[int, int, int]] = field(default_factory=list)  # (t, work, state)
    feed_gaps_us: list[int] = field(default_factory=list)
    # (the feed that ended it, the gap, the state) for each gap between
    # watchdog feeds longer than a period and a half
    long_gaps_us: list[tuple[int, int, int]] = field(default_factory=list)
    flash_us: list[int] = field(default_factory=list)  # each flash erase/program began
    feeds: int = 0
    wdt_fired: int = 0
    resets: int = 0  # chip resets (watchdog, machine.reset()): the board booted again
    first_feed_us: int | None = None
    first_telemetry_us: int | None = None
    first_hello_us: int | None = None
    telemetry: list[dict[str, int]] = field(default_factory=list)
    rx_bytes: int = 0
    tx_bytes: int = 0

    def max_feed_gap_us(self) -> int:
        return max(self.feed_gaps_us, default=0)


def calibration_bytes(spec: dict[str, Any]) -> bytes:
    """What the firmware's calibration routine stores for this world's IMU
    (SimSession does the same before its boot; a separate world, same seed)."""
    import os
    import tempfile

    from inversa.board.clock import VirtualClock

    clock = VirtualClock(0)
    world = World(spec, clock)
    cal = calibrate(spec["imu"], world.bus, world.imu, clock)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "calibration.bin")
        cal.save(path)
        with open(path, "rb") as f:
            return f.read()


class _InputPin:
    def __init__(self, levels: dict[int, int], gpio: int) -> None:
        self._levels = levels
        self._gpio = gpio

    def set_level(self, level: int) -> None:
        self._levels[self._gpio] = 1 if level else 0


class _PinSink:
    """What TablePanel.drive needs of `machine`: pins[gpio].set_level(level)."""

    def __init__(self, levels: dict[int, int]) -> None:
        self.pins = _Pins(levels)


class _Pins:
    def __init__(self, levels: dict[int, int]) -> None:
        self._levels = levels

    def __getitem__(self, gpio: int) -> _InputPin:
        return _InputPin(self._levels, gpio)


class Rp2Session(ScenarioReplay):
    def __init__(
        self,
        spec: dict[str, Any],
        uf2: str | None = None,
        bootrom: str | None = None,
        keep_telemetry: bool = True,
    ) -> None:
        from inversa.storage import CALIBRATION_FILE, PROFILE_FILE

        full = dict(DEFAULT_SPEC)
        full.update(spec)
        self.spec = full
        self.motorized = full["table"] == "motorized"
        self.duration_ms = full["duration_ms"]
        self.clock = EmuClock()
        self.t_ms = 0
        self.world = World(full, self.clock)
        self.table = self.world.table
        self.heart = self.world.heart
        self.cfg = validate_board_config(
            {
                "board": full["board"],
                "imu": full["imu"],
                "hr": full["hr"],
                "motor": "hbridge" if self.motorized else "none",
                "brake": bool(full["brake"]),
                "buzzer": True,
                "link": "usb",
                "bench": False,
            },
            "emulated board",
        )
        self.pins = self.cfg.board_def["pins"]
        self.panel = TablePanel()
        self._init_replay(full)
        self._tx_pending = bytearray()  # host -> board, for the next slice
        self.tx = bytearray()  # board -> host, not yet taken
        self.truth: list[tuple[int, int, int]] = []
        self._truth_next = 0
        self.finished = False
        self.keep_telemetry = keep_telemetry
        self.stats = BoardStats()
        self._decoder = StreamDecoder()
        self._state = -1
        self._last_feed: int | None = None
        self._open_xfer: int | None = None
        self._levels: dict[int, int] = {}
        self._pin_sink = _PinSink(self._levels)
        self.text = bytearray()  # anything the board printed outside frames (first 4 KB)

        extra = {"/" + CALIBRATION_FILE: calibration_bytes(full)}
        if full.get("profile") is not None:
            extra["/" + PROFILE_FILE] = bytes(full["profile"])
        self.files = deploy_files(full["board"], self.cfg, extra)
        p = self.pins
        outs = [p["motor_en"], p["brake"], p["led"]]
        pwms = [p["buzzer"]]
        if self.motorized:
            pwms += [p["motor_a"], p["motor_b"]]
        self.pico = EmulatedPico(
            littlefs_image(self.files),
            self.world.bus,
            self.clock,
            out_pins=outs,
            pwm_pins=pwms,
            uf2=uf2,
            bootrom=bootrom,
            flash_times_ms=full.get("flash_times_ms"),
        )
        self.telemetry_hz = full.get("telemetry_hz")
        self._rate_sent = self.telemetry_hz in (None, M.DEFAULT_TELEMETRY_HZ)

    # -- the virtual host ------------------------------------------------------
    def _to_board(self, frame: bytes) -> None:
        self._tx_pending += frame

    def send_raw(self, data: bytes) -> None:
        """Bytes for the board's USB CDC (a real host's)."""
        self._tx_pending += data

    def _host_step(self) -> None:
        # Once the board said hello, the scenario's telemetry rate; then heartbeats.
        hosting = self.host_connected and not self.host_silent
        if hosting and not self._rate_sent and self.stats.first_hello_us is not None:
            self._rate_sent = True
            self._host_send(M.CMD_SET_TELEMETRY_RATE, bytes([self.telemetry_hz or 0]))
        super()._host_step()

    def _apply_board(self, action: str, args: dict[str, Any]) -> None:
        # the host keeps the port open but stops reading (it NAKs the board's
        # USB IN packets), and reads again: the emulated board's own actions
        if action == "host_stops_reading":
            self.pico.host_reads = False
        elif action == "host_reads":
            self.pico.host_reads = True
        else:
            raise ValueError(f"action {action!r} is not supported on the emulated board")

    # -- stepping ---------------------------------------------------------------
    def step(self) -> None:
        self._replay()
        self.t_ms += PERIOD_MS
        self.clock.t_us = self.t_ms * 1000 - PERIOD_US  # the world moves to the slice start
        self.world.step(PERIOD_MS / 1000.0, self.t_ms)
        table = self.table
        self.panel.drive(self._pin_sink, self.pins, self.t_ms, table.home_switch, table.end_switch)
        self._host_step()
        tx = bytes(self._tx_pending)
        self._tx_pending.clear()
        self.stats.tx_bytes += len(tx)
        r = self.pico.run_until(self.t_ms * 1000, dict(self._levels), tx)
        self._observe(r)
        self._read_outputs(r.outputs)
        if self.t_ms >= self._truth_next:
            self._truth_next = self.t_ms + TRUTH_EVERY_MS
            self.truth.append(
                (self.t_ms % (1 << 30), int(table.angle_deg * 100), int(self.heart.bpm * 10))
            )
        if self.t_ms >= self.duration_ms:
            self.finished = True

    def _read_outputs(self, out: dict[int, int]) -> None:
        p = self.pins
        table = self.table
        table.power_ok = self.panel.motor_power
        enabled = out.get(p["motor_en"], 0) == 1
        if self.motorized:
            a = out.get(p["motor_a"], 0)
            b = out.get(p["motor_b"], 0)
            table.motor_enabled = enabled
            table.motor_duty = (a - b) / 65535.0
        released = out.get(p["brake"], 0) == 1 and table.power_ok
        table.brake_on = self.cfg.brake and not released

    def _observe(self, r: Any) -> None:
        st = self.stats
        st.wdt_fired = r.wdt_fired
        st.resets = r.resets
        st.flash_us.extend(r.flash_us)
        # Periods: the first I2C transfer after a feed opens one, the next feed closes it.
        xi = 0
        xs = r.xfers_us
        for f in r.feeds_us:
            while xi < len(xs) and xs[xi] < f:
                if self._open_xfer is None:
                    self._open_xfer = xs[xi]
                xi += 1
            if self._open_xfer is not None and self._last_feed is not None:
                st.periods_us.append((f, f - self._open_xfer, self._state))
            self._open_xfer = None
            if self._last_feed is not None:
                st.feed_gaps_us.append(f - self._last_feed)
                if f - self._last_feed > PERIOD_US * 3 // 2:
                    st.long_gaps_us.append((f, f - self._last_feed, self._state))
            else:
                st.first_feed_us = f
            self._last_feed = f
            st.feeds += 1
        while xi < len(xs):
            if self._open_xfer is None:
                self._open_xfer = xs[xi]
            xi += 1
        if r.rx:
            st.rx_bytes += len(r.rx)
            self.tx += r.rx
            for fr in self._decoder.feed(r.rx):
                if fr.msg_type == M.MSG_TELEMETRY:
                    d = telemetry_dict(fr.payload)
                    self._state = d["state"]
                    if st.first_telemetry_us is None:
                        st.first_telemetry_us = r.t_us
                    if self.keep_telemetry:
                        st.telemetry.append(d)
                elif fr.msg_type == M.MSG_HELLO and st.first_hello_us is None:
                    st.first_hello_us = r.t_us
            if self._decoder.framing_errors and len(self.text) < 4096:
                self.text += r.rx

    def run_for(self, ms: int) -> tuple[bytes, list[tuple[int, int, int]], bool]:
        end = self.t_ms + ms
        while self.t_ms < end and not self.finished:
            self.step()
        tx = bytes(self.tx)
        self.tx = bytearray()
        truth = self.truth
        self.truth = []
        return tx, truth, self.finished

    def close(self) -> None:
        self.pico.close()


class Rp2Engine:
    """``inversa sim --board rp2040``: the simulation runner's engine
    (run_for(ms) -> (board bytes, truth, finished)) with the firmware on the
    emulated Pico."""

    def __init__(
        self, spec: dict[str, Any], uf2: str | None = None, bootrom: str | None = None
    ) -> None:
        self.session = Rp2Session(spec, uf2=uf2, bootrom=bootrom, keep_telemetry=False)

    def run_for(self, ms: int) -> tuple[bytes, list[tuple[int, int, int]], bool]:
        return self.session.run_for(ms)

    def close(self) -> None:
        self.session.close()
