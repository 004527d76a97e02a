"""Hardware in the loop: a board booted in bench mode, fed by a simulated world.

The world (table physics, the person, the heart, the IMU and PPG sensor
models of :mod:`inversa_world`) runs here on the PC, in real time (or
``speed`` times faster, against a virtual board running as fast).  Every
10 ms it sends the board the raw IMU sample (``INJECT_IMU``) and the PPG
samples (``INJECT_PPG``) that the board's injected drivers expect: the very
bytes the chip's registers would hold, produced by the real firmware drivers
reading the world's register-level fakes on a fake bus.  The board's answer,
its motor command and brake (``motor_cmd_cdps``, ``io_bits`` in telemetry at
50 Hz), drives the simulated table through the firmware's own H-bridge
driver, which closes the loop.  Telemetry and events are recorded into the
session store exactly as ``inversa log`` does, and the session is judged
against the scenario's expectations.

What a scenario asks for goes where it belongs:

* the person, the heart, motor faults, a lost pulse: the world here;
* ``host_start`` / ``host_return``: commands over the link (acknowledged,
  retried without blocking the 10 ms loop);
* the local actions at the table (buttons, hold-to-run, e-stop, power): a
  :class:`Panel`.  They never travel over the link (the protocol has no way
  to press a button, by design: motion starts only from a local action).
  On a real board an operator does them when prompted
  (:class:`OperatorPanel`); on the virtual board they are pressed directly
  (:class:`VirtualPanel`).
* IMU bus errors and disconnects are shown to the board as silence (no new
  sample: the board's stuck-data check fires, not its bus-error count): the
  protocol has no way to inject a read error.  ``host_silent`` and
  ``hr_fifo_overflow`` cannot be done over the link and are refused.

Usage::

    with Store("inversa.db") as store, LinkClient.open(url) as link:
        result = HilBench(link, scenario, store, url=url, panel=OperatorPanel(print)).run()
    result.passed, result.summary, result.tilt_rms_deg
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from inversa import reason_names, reasons
from inversa.control import states as S
from inversa.link import messages as M
from inversa.link.message_names import COMMAND_NAMES, TELEMETRY_FIELDS
from inversa_host.link.client import CommandRetry, LinkClient, LinkError
from inversa_host.link.codec import ACK, TELEMETRY, Frame, Hello
from inversa_host.recording.logger import store_frames
from inversa_host.sessions.store import Store
from inversa_host.sim.expect import Check, check_expectations
from inversa_host.sim.runner import build_spec, trace_from_store
from inversa_host.sim.scenario import Scenario
from inversa_host.sim.trace import SessionTrace, TraceSummary, summarize
from inversa_world.world import WORLD_ACTIONS

PERIOD_MS = 10
BENCH_TELEMETRY_HZ = M.MAX_TELEMETRY_HZ  # the motor command every 20 ms
CMD_TIMEOUT_S = 0.3
CMD_RETRIES = 3
WARMUP_RESET_PERIODS = 300  # 3 s of samples and still not idle: ask for a reset
WARMUP_MAX_PERIODS = 3000  # 30 s: give up
_T = {name: i for i, name in enumerate(TELEMETRY_FIELDS)}
_IMU = struct.Struct("<B6h")

COMMAND_ACTIONS = {"host_start": M.CMD_START, "host_return": M.CMD_RETURN}
UNSUPPORTED_ACTIONS = {
    "hr_disconnect": "the board's pulse sensor is injected over the link: it cannot leave a bus",
    "i2c_stuck": "the board's sensors are injected over the link: there is no I2C bus to hold",
    "host_silent": "the bench's sensor stream is host traffic and keeps the host lease alive",
    "hr_fifo_overflow": "the injected PPG driver's FIFO cannot be overrun over the link "
    "without corrupting the heart signal",
    "switch_stuck": "the bench's panel actions take no arguments: a stuck limit switch "
    "is simulated only (inversa sim); on a real table, test it by hand (hardware/)",
    "switch_release": "the bench's panel actions take no arguments (see switch_stuck)",
}
APPROXIMATED_ACTIONS = {
    "imu_bus_errors": "shown to the board as silence (no new IMU sample): the protocol "
    "cannot inject a bus error",
    "imu_disconnect": "shown to the board as silence (no new IMU sample)",
}


class HilError(RuntimeError):
    """The bench cannot run: no board, not in bench mode, a refused profile..."""


class NotBenchModeError(HilError):
    pass


class Panel(Protocol):
    """The local, physical actions at the table (see vboard.PANEL_ACTIONS)."""

    def do(self, action: str) -> None: ...


class OperatorPanel:
    """A real board: the person at the bench does it when told."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say

    def do(self, action: str) -> None:
        from inversa_host.vboards.vboard import PANEL_ACTIONS

        self.say(f">>> AT THE BOARD NOW: {PANEL_ACTIONS.get(action, action)}")


class VirtualPanel:
    """The virtual board's panel, pressed directly (vboard.VirtualBoard.press)."""

    def __init__(self, press: Callable[[str], None]) -> None:
        self.press = press

    def do(self, action: str) -> None:
        self.press(action)


def check_bench_scenario(sc: Scenario) -> list[str]:
    """Notes on how the bench plays the scenario; HilError if it cannot."""
    from inversa_host.vboards.vboard import PANEL_ACTIONS

    notes: list[str] = []
    hr = sc.table_opts.get("hr_sensor", "max30102")
    if hr not in ("max30102", "none"):
        raise HilError(
            f"{sc.path}: the bench simulates a max30102 or no heart-rate sensor, not {hr!r}"
        )
    for ev in sc.events:
        if ev.action in UNSUPPORTED_ACTIONS:
            raise HilError(
                f"{sc.path}: event {ev.action} at {ev.t_s:g} s cannot run on the bench: "
                f"{UNSUPPORTED_ACTIONS[ev.action]}"
            )
        if ev.action in APPROXIMATED_ACTIONS:
            notes.append(f"{ev.action} at {ev.t_s:g} s: {APPROXIMATED_ACTIONS[ev.action]}")
        elif (
            ev.action not in WORLD_ACTIONS
            and ev.action not in COMMAND_ACTIONS
            and ev.action not in PANEL_ACTIONS
        ):
            raise HilError(f"{sc.path}: the bench does not know the action {ev.action!r}")
    return notes


class BenchWorld:
    """The simulated world (:class:`inversa_world.world.World`) stepped 10 ms
    at a time, with its sensor chips read on the PC by the firmware's own
    drivers, so ``imu_raw`` and the PPG samples are exactly what those chips
    would hand a board.  The IMU is modelled as calibrated and mounted in the
    bed frame (noise, vibration and lever arm kept; offsets and misalignment
    removed): a bench-mode board uses an identity mount calibration.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        from inversa.board.clock import VirtualClock
        from inversa.drivers.hbridge import HBridge
        from inversa_world.pins import SimPin, SimPWM
        from inversa_world.world import World

        self.spec = spec
        self.motorized = spec["table"] == "motorized"
        self.brake_fitted = bool(spec["brake"])
        self.clock = VirtualClock(0)
        self.t_ms = 0
        calibrated = {"misalign_deg": 0.0, "drift_dps": 0.0, "offsets": False}
        self.world = World(spec, self.clock, imu_model=calibrated)
        self.table: Any = self.world.table
        self.heart = self.world.heart
        if spec["imu"] == "mpu6050":
            from inversa.drivers.mpu6050 import MPU6050

            self.imu_drv: Any = MPU6050(self.world.bus)
        else:
            from inversa.drivers.lsm6dsox import LSM6DSOX

            self.imu_drv = LSM6DSOX(self.world.bus)
        self.ppg_drv: Any = None
        if self.world.hr_sensor is not None:
            from inversa.drivers.max30102 import MAX30102

            self.ppg_drv = MAX30102(self.world.bus)
        # The board's motor output, reproduced by the firmware's own driver.
        self._pwm_a = SimPWM("deeper")
        self._pwm_b = SimPWM("up")
        self.motor = HBridge(self._pwm_a, self._pwm_b, SimPin("en"))

    def apply(self, action: str, args: dict[str, float]) -> None:
        if not self.world.apply(action, args):
            raise ValueError(f"not a world action: {action!r}")

    def set_outputs(self, motor_cmd_cdps: int, io_bits: int) -> None:
        """The board's outputs as its telemetry reports them."""
        t = self.table
        # The e-stop contactor cuts motor power, and with it the brake's supply.
        t.power_ok = not io_bits & M.IO_ESTOP
        enable = bool(io_bits & M.IO_MOTOR_ENABLE)
        self.motor.drive(motor_cmd_cdps, enable)
        if self.motorized:
            t.motor_enabled = enable
            t.motor_duty = (self._pwm_a.duty - self._pwm_b.duty) / 65535.0
        released = not io_bits & M.IO_BRAKE_ON and t.power_ok
        t.brake_on = self.brake_fitted and not released

    def step(self) -> tuple[tuple[int, ...] | None, list[int]]:
        """One period: (IMU raw sample to send or None, PPG samples to send).
        A failing or disconnected IMU sends nothing (the board sees silence);
        a stuck one sends the same sample again (its registers froze)."""
        self.clock.advance_ms(PERIOD_MS)
        self.t_ms += PERIOD_MS
        self.world.step(PERIOD_MS / 1000.0, self.t_ms)
        raw: tuple[int, ...] | None = None
        try:
            self.imu_drv.read()
            raw = tuple(self.imu_drv.raw)
        except OSError:
            raw = None
        ppg: list[int] = []
        if self.ppg_drv is not None:
            try:
                n = self.ppg_drv.read_fifo()
            except OSError:
                n = 0
            ppg = list(self.ppg_drv.ir[:n])
        return raw, ppg


@dataclass
class HilResult:
    scenario: Scenario
    session_id: int
    hello: Hello
    trace: SessionTrace
    summary: TraceSummary | None
    checks: list[Check]
    counters: dict[str, int] = field(default_factory=dict)
    tilt_rms_deg: float | None = None  # board angle vs the world's, while tilt ok
    tilt_max_deg: float | None = None
    notes: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.summary is not None and all(c.ok for c in self.checks)


class HilBench:
    def __init__(
        self,
        client: LinkClient,
        scenario: Scenario,
        store: Store,
        *,
        url: str,
        panel: Panel,
        speed: float = 1.0,
        duration_s: float | None = None,
        progress: Callable[[float, tuple[int, ...] | None], None] | None = None,
        say: Callable[[str], None] | None = None,
        lockstep: Callable[[], list[Frame]] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.client = client
        self.sc = scenario
        self.store = store
        self.url = url
        self.panel = panel
        self.speed = speed
        self.duration_s = scenario.duration_s if duration_s is None else duration_s
        self.progress = progress
        self.say = say or (lambda _s: None)
        # A virtual board in this process: one board period per world period,
        # in virtual time (a loaded PC is slower, never late).
        self.lockstep = lockstep
        self.notes = check_bench_scenario(scenario)
        self.spec = build_spec(scenario)
        self.world = BenchWorld(self.spec)
        self.session_id: int | None = None
        self._pending = CommandRetry(self.client.send, time.monotonic, CMD_TIMEOUT_S, CMD_RETRIES)
        self._answers: dict[int, int | None] = {}  # seq -> reason (None: no answer)
        self._t0 = 0.0
        self._k = 0
        self._rebooted = False
        self._t0_ms = 0
        self._motor_cmd = 0
        self._io_bits = M.IO_BRAKE_ON
        self.last_values: tuple[int, ...] | None = None
        self._truth: dict[int, tuple[float, float]] = {}
        self._tilt_errors: list[float] = []
        self.counters = {
            "imu_frames": 0,
            "ppg_samples": 0,
            "inject_refused": 0,
            "late_periods": 0,
            "commands_unanswered": 0,
            "board_reboots": 0,
        }

    # -- setup ---------------------------------------------------------------
    def _handshake(self) -> Hello:
        try:
            if self.lockstep is None:
                hello = self.client.info()
            else:
                hello = self._lockstep_info()
        except LinkError as e:
            raise HilError(f"no answer from a board at {self.url}: {e}") from e
        if not hello.bench:
            raise NotBenchModeError(
                f"the board at {self.url} ({hello.board}, firmware {hello.fw_version}) did not "
                'boot in bench mode: set "bench": true in its board.json '
                "(inversa deploy --bench) and reset it; a board driving a real table "
                "must never be fed simulated sensors"
            )
        return hello

    def _lockstep_info(self) -> Hello:
        """The handshake with a board that steps only when told (virtual time)."""
        assert self.lockstep is not None
        self.client.hello = None
        for k in range(WARMUP_MAX_PERIODS):
            if k % 50 == 0:  # ask again every 0.5 s of the board's time
                self.client.send(M.CMD_INFO)
            self.lockstep()
            if self.client.hello is not None:
                return self.client.hello
        raise LinkError("no handshake from the board within 30 s of its time")

    # -- non-blocking commands inside the loop -------------------------------------
    def _command(self, cmd: int, payload: bytes = b"") -> int:
        return self._pending.send(cmd, payload)

    def _retry_commands(self) -> None:
        for p in self._pending.tick():
            self.counters["commands_unanswered"] += 1
            self.store.add_command(
                self.session_id, time.time(), p.cmd, p.seq, None, p.attempts, p.payload
            )
            self._answers[p.seq] = None
            self.say(f"no answer to {COMMAND_NAMES.get(p.cmd, p.cmd)} after {p.attempts} tries")

    def _on_ack(self, payload: bytes) -> None:
        seq, cmd, reason = ACK.unpack_from(payload, 0)
        if cmd in (M.INJECT_IMU, M.INJECT_PPG):
            self.counters["inject_refused"] += 1
            if self.counters["inject_refused"] == 1:
                self.say(f"the board refused injected samples: {reason_names.text(reason)}")
            return
        p = self._pending.answer(seq, cmd)
        if p is None:
            return
        self.store.add_command(
            self.session_id, time.time(), cmd, seq, reason, p.attempts, p.payload
        )
        self._answers[seq] = reason
        name = COMMAND_NAMES.get(cmd, str(cmd))
        self.say(f"{name}: {'accepted' if reason == reasons.OK else reason_names.text(reason)}")

    # -- frames ------------------------------------------------------------------
    def _handle(self, frames: list[Frame]) -> None:
        assert self.session_id is not None
        for f in frames:
            if f.msg_type in (M.MSG_TELEMETRY, M.MSG_HELLO, M.MSG_HEARTBEAT) and not (
                f.flags & M.FLAG_BENCH
            ):
                raise NotBenchModeError(
                    "the board left bench mode (it rebooted with bench off?): "
                    "stopped feeding it simulated sensors"
                )
            if f.msg_type == M.MSG_TELEMETRY and len(f.payload) >= TELEMETRY.size:
                values = TELEMETRY.unpack_from(f.payload, 0)
                self._motor_cmd = values[_T["motor_cmd_cdps"]]
                self._io_bits = values[_T["io_bits"]]
                true_deg = self.world.table.angle_deg
                self._truth[values[_T["t_ms"]]] = (true_deg, self.world.heart.bpm)
                if self._io_bits & M.IO_TILT_OK:
                    self._tilt_errors.append(values[_T["angle_cdeg"]] / 100.0 - true_deg)
            elif f.msg_type == M.MSG_ACK and len(f.payload) >= ACK.size:
                self._on_ack(f.payload)
            elif f.msg_type == M.MSG_HELLO and f.seq == 0:
                # a reboot: the telemetry rate is back to its default
                self.say("the board rebooted")
                self._rebooted = True
                self.client.send(M.CMD_SET_TELEMETRY_RATE, bytes([BENCH_TELEMETRY_HZ]))
        stored = store_frames(self.store, self.session_id, time.time(), frames)
        if stored.last_values is not None:
            self.last_values = stored.last_values
        self.counters["board_reboots"] += stored.boots

    # -- the loop ----------------------------------------------------------------
    def _inject(self, raw: tuple[int, ...] | None, ppg: list[int]) -> None:
        c = self.client
        if raw is not None:
            c.send(M.INJECT_IMU, _IMU.pack(1, *raw))
            self.counters["imu_frames"] += 1
        for i in range(0, len(ppg), M.INJECT_MAX_PPG):
            chunk = ppg[i : i + M.INJECT_MAX_PPG]
            c.send(M.INJECT_PPG, struct.pack(f"<B{len(chunk)}i", len(chunk), *chunk))
            self.counters["ppg_samples"] += len(chunk)

    def _apply(self, action: str, args: dict[str, Any]) -> None:
        if action in COMMAND_ACTIONS:
            self._command(COMMAND_ACTIONS[action])
        elif action in WORLD_ACTIONS:
            self.world.apply(action, args)
        else:
            self.say(f"t={(self.world.t_ms - self._t0_ms) / 1000:.1f} s: {action}")
            self.panel.do(action)

    def run(self) -> HilResult:
        t_start = time.perf_counter()
        hello = self._handshake()
        sid = self.store.begin_session(port=f"bench:{self.url}")
        self.session_id = sid
        dev = self.store.upsert_device(
            hello.uid, hello.board, hello.fw_version, hello.protocol, hello.limits
        )
        self.store.set_session_device(
            sid, dev, hello.board, hello.fw_version, hello.profile_crc, True
        )
        self._t0 = time.monotonic()
        self._k = 0
        try:
            self._warm_up()
            self._scenario()
        finally:
            self._finish(sid)
        return self._result(hello, sid, time.perf_counter() - t_start)

    # One period of the world, its samples to the board, the board's frames
    # back until the period's deadline (wall clock / speed).
    def _period(self) -> None:
        w = self.world
        w.set_outputs(self._motor_cmd, self._io_bits)
        raw, ppg = w.step()
        self._inject(raw, ppg)
        self._retry_commands()
        period_s = PERIOD_MS / 1000.0 / self.speed
        self._k += 1
        deadline = self._t0 + self._k * period_s
        if self.lockstep is not None:
            frames = self.lockstep()
            if frames:
                self._handle(frames)
            left = deadline - time.monotonic()
            if left > 0:  # ahead of --speed: wait; behind: virtual time, nothing is late
                time.sleep(left)
            self.store.maybe_flush()
            return
        while True:
            left = deadline - time.monotonic()
            frames = self.client.poll(max(0.0, min(left, 0.005)))
            if frames:
                self._handle(frames)
            if left <= 0:
                break
        late = time.monotonic() - deadline
        if late > period_s:
            self.counters["late_periods"] += 1
            n = self.counters["late_periods"]
            if n == 1 or n % 100 == 0:
                self.say(
                    f"WARNING: the PC is falling behind real time ({n} late periods, "
                    f"{late * 1000:.0f} ms now): the board sees its sensor samples in "
                    "bursts; a tilt fault from here on is the PC's, not the board's "
                    "(close other programs, or lower --speed)"
                )
            if late > 0.5:  # far behind (a stalled PC): do not try to catch up
                self._t0 += late
        self.store.maybe_flush()

    def _ready(self) -> bool:
        v = self.last_values
        return (
            v is not None
            and v[_T["state"]] in (S.IDLE, S.DONE)
            and bool(v[_T["io_bits"]] & M.IO_TILT_OK)
        )

    def _warm_up(self) -> None:
        """Feed the world at rest; give the board the scenario's profile (its
        loading angle must match the simulated table's) and wait until it sits
        idle with a trusted angle.  A board that is busy (booted without
        sensor data, or mid-session) is asked for one reset, with the samples
        flowing; the profile it then boots with is the one it stored."""
        self.client.send(M.CMD_SET_TELEMETRY_RATE, bytes([BENCH_TELEMETRY_HZ]))
        profile = bytes(self.spec["profile"])
        profile_seq: int | None = self._command(M.CMD_SET_PROFILE, profile)
        profile_ok = False
        reset_asked = False
        n = 0
        while True:
            self._period()
            n += 1
            if self._rebooted:
                self._rebooted = False
                self.client.send(M.CMD_SET_TELEMETRY_RATE, bytes([BENCH_TELEMETRY_HZ]))
                if not profile_ok:
                    profile_seq = self._command(M.CMD_SET_PROFILE, profile)
            if profile_seq is not None and profile_seq not in self._pending.pending:
                reason = self._answers.get(profile_seq)
                profile_seq = None
                if reason == reasons.OK:
                    profile_ok = True
                elif reason == reasons.WRONG_STATE and not reset_asked:
                    reset_asked = True
                    self.say(f"the board is busy ({self._board_state()}): asking for a reset")
                    self.panel.do("power_reset")
                elif reason is None:
                    raise HilError("the board did not answer the profile command")
                else:
                    raise HilError(
                        f"the board refused the scenario's profile: {reason_names.text(reason)}"
                    )
            if profile_ok and self._ready():
                return
            if n == WARMUP_RESET_PERIODS and not reset_asked:
                reset_asked = True
                self.say(f"the board is not idle with a trusted angle ({self._board_state()})")
                self.panel.do("power_reset")
            if n >= WARMUP_MAX_PERIODS:
                raise HilError(
                    "the board never sat idle with the profile and a trusted angle "
                    f"({self._board_state()}): does the scenario's [table] imu match "
                    "board.json, and was the board reset after the bench started?"
                )

    def _board_state(self) -> str:
        from inversa_host.link.names import bit_names, state_name

        v = self.last_values
        if v is None:
            return "no telemetry"
        alarms = ", ".join(bit_names(v[_T["alarm_bits"]], "alarm")) or "none"
        tilt = "ok" if v[_T["io_bits"]] & M.IO_TILT_OK else f"faults 0x{v[_T['tilt_faults']]:x}"
        return f"state {state_name(v[_T['state']])}, tilt {tilt}, alarms {alarms}"

    def _scenario(self) -> None:
        events = [(round(e.t_s * 1000), e.action, dict(e.args)) for e in self.sc.events]
        ev_i = 0
        n_periods = round(self.duration_s * 1000) // PERIOD_MS
        w = self.world
        t0_ms = self._t0_ms = w.t_ms  # the scenario's clock starts after the warm-up
        next_progress = 0.0
        for k in range(n_periods):
            while ev_i < len(events) and events[ev_i][0] <= w.t_ms - t0_ms:
                _, action, args = events[ev_i]
                ev_i += 1
                self._apply(action, args)
            self._period()
            frac = (k + 1) / n_periods
            if self.progress is not None and frac >= next_progress:
                next_progress = frac + 0.01
                self.progress(frac, self.last_values)

    def _finish(self, sid: int) -> None:
        d = self.client.decoder
        self.store.update_session(
            sid,
            last_data=time.time(),
            frames=d.frames,
            lost_frames=d.lost_frames,
            gap_events=d.gap_events,
            crc_errors=d.crc_errors,
            framing_errors=d.framing_errors + d.too_long,
            version_errors=d.version_errors,
            board_reboots=self.counters["board_reboots"],
        )
        self.store.end_session(sid)
        self.store.flush()

    def _result(self, hello: Hello, sid: int, wall_s: float) -> HilResult:
        trace = trace_from_store(self.store, sid)
        trace.loading_deg = float(self.spec["table_params"].get("loading_deg", -65.0))
        # The world's truth at each telemetry sample (the plot's dashed lines).
        base = trace.board_t0_ms
        for t_s in trace.t_s:
            truth = self._truth.get(round(t_s * 1000) + base)
            if truth is None:  # keep the lists aligned with the samples, or empty
                trace.true_angle_deg.clear()
                trace.true_hr_bpm.clear()
                break
            trace.true_angle_deg.append(truth[0])
            trace.true_hr_bpm.append(truth[1])
        errs = self._tilt_errors
        rms = math.sqrt(sum(e * e for e in errs) / len(errs)) if errs else None
        worst = max((abs(e) for e in errs), default=None)
        summary = summarize(trace) if len(trace) else None
        checks = check_expectations(trace, self.sc.expect) if summary is not None else []
        counters = dict(self.counters)
        d = self.client.decoder
        counters.update(frames=d.frames, lost_frames=d.lost_frames, crc_errors=d.crc_errors)
        return HilResult(
            self.sc, sid, hello, trace, summary, checks, counters, rms, worst, self.notes, wall_s
        )
