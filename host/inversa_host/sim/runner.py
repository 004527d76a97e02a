"""Run a scenario: the simulated session (in CPython or inside MicroPython),
its telemetry through the real link decoder into the session store, then
the trace, the summary and the checks against the scenario's expectations.

Usage::

    with Store("inversa.db") as store:
        result = run_scenario(load_scenario(path), store, progress=print_bar)
    result.checks, result.summary, result.session_id
"""

from __future__ import annotations

import ast
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from inversa import events as ev
from inversa.link import messages as M
from inversa.link.message_names import TELEMETRY_FIELDS
from inversa_host.link.codec import StreamDecoder, parse_hello
from inversa_host.link.names import alarm_name, fault_detail, fault_names, state_name
from inversa_host.recording.logger import store_frames
from inversa_host.sessions.store import Store, StoreError
from inversa_host.sim.expect import Check, check_expectations
from inversa_host.sim.judge import Rules
from inversa_host.sim.scenario import Scenario
from inversa_host.sim.trace import SessionTrace, TraceEvent, TraceSummary, summarize

CHUNK_MS = 1000


class Engine(Protocol):
    """Where the simulated session runs (CPython or the MicroPython VM)."""

    def run_for(self, ms: int) -> tuple[bytes, list[tuple[int, int, int]], bool]: ...

    def close(self) -> None: ...


def build_spec(sc: Scenario) -> dict[str, Any]:
    """The SimSession spec (plain values only: it may cross into MicroPython)."""
    from inversa_host.profiles.files import profile_from_dict

    person = dict(sc.person)
    # The table's loading stop and the profile's loading angle are one fact.
    table_params: dict[str, Any] = {"loading_deg": float(sc.table_opts.get("loading_deg", -60.0))}
    if "motor_no_load_dps" in sc.table_opts:
        table_params["motor_no_load_dps"] = float(sc.table_opts["motor_no_load_dps"])
    profile = dict(sc.profile)
    profile.setdefault("loading_cdeg", round(table_params["loading_deg"] * 100))
    profile.setdefault("table_type", 0 if sc.motorized else 1)
    prof = profile_from_dict(profile, f"{sc.path} [profile]")
    return {
        "table": sc.table,
        "board": "pico",
        "imu": sc.table_opts.get("imu", "mpu6050"),
        "hr": sc.table_opts.get("hr_sensor", "max30102"),
        "brake": bool(sc.table_opts.get("brake_fitted", True)),
        "duration_ms": round(sc.duration_s * 1000),
        "seed": sc.seed,
        "host_connected": sc.host_connected,
        "telemetry_hz": 20,
        "person": person,
        "table_params": table_params,
        "profile": bytes(prof.to_bytes()),
        "events": [(round(e.t_s * 1000), e.action, dict(e.args)) for e in sc.events],
    }


class CPythonEngine:
    def __init__(self, spec: dict[str, Any]) -> None:
        from inversa_world.session import SimSession

        self._dir = tempfile.TemporaryDirectory(prefix="inversa-sim-")
        self.session = SimSession(spec, self._dir.name)

    def run_for(self, ms: int) -> tuple[bytes, list[tuple[int, int, int]], bool]:
        s = self.session
        s.run_for(ms)
        return s.take_tx(), s.take_truth(), s.finished

    def close(self) -> None:
        self._dir.cleanup()


class VMEngine:
    """The same session inside the MicroPython WebAssembly interpreter."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from inversa_host.vm import MicroPythonVM, repo_root

        self.vm = MicroPythonVM(heap_bytes=8 * 1024 * 1024)
        self.vm.install_firmware()
        self.vm.put_tree(repo_root() / "host" / "inversa_world", "/lib/inversa_world")
        self.vm.exec("import os\ntry:\n    os.mkdir('/flash')\nexcept OSError:\n    pass")
        self.vm.exec(
            f"from inversa_world.session import SimSession\n__s = SimSession({spec!r}, '/flash')\n"
        )

    def run_for(self, ms: int) -> tuple[bytes, list[tuple[int, int, int]], bool]:
        out = self.vm.exec(
            f"__s.run_for({int(ms)})\n"
            "print(__s.take_tx().hex())\n"
            "print(repr(__s.take_truth()))\n"
            "print(__s.finished)\n"
        )
        lines = out.splitlines()
        tx = bytes.fromhex(lines[-3])
        truth = ast.literal_eval(lines[-2])
        return tx, truth, lines[-1].strip() == "True"

    def close(self) -> None:
        self.vm.close()


@dataclass
class SimResult:
    scenario: Scenario
    session_id: int
    trace: SessionTrace
    summary: TraceSummary
    checks: list[Check]
    wall_s: float
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)


def run_scenario(
    sc: Scenario,
    store: Store,
    *,
    vm: bool = False,
    realtime: bool = False,
    progress: Callable[[float, dict[str, int] | None], None] | None = None,
    board: str | None = None,
    rp2_files: tuple[str | None, str | None] = (None, None),
) -> SimResult:
    """``board="rp2040"``: the firmware on the emulated Pico (inversa_host.rp2emu);
    ``rp2_files``: its (firmware .uf2, boot ROM), else found as rp2emu.tools says."""
    spec = build_spec(sc)
    t0 = time.perf_counter()
    engine: Engine
    if board == "rp2040":
        from inversa_host.rp2emu.session import Rp2Engine

        engine = Rp2Engine(spec, *rp2_files)
        where = "?rp2040"
    else:
        engine = VMEngine(spec) if vm else CPythonEngine(spec)
        where = "?vm" if vm else ""
    decoder = StreamDecoder()
    sid = store.begin_session(port=f"sim://{sc.name}{where}")
    wall_start = time.time()
    truth: list[tuple[int, int, int]] = []
    last_values: tuple[int, ...] | None = None
    virtual_ms = 0
    boots = 0
    chunk = 100 if realtime else CHUNK_MS
    try:
        done = False
        while not done:
            tx, tr, done = engine.run_for(chunk)
            virtual_ms += chunk
            truth.extend(tr)
            frames = decoder.feed(tx)
            for f in frames:
                if f.msg_type == M.MSG_HELLO:
                    hello = parse_hello(f.payload, f.flags)
                    dev = store.upsert_device(
                        hello.uid, hello.board, hello.fw_version, hello.protocol, hello.limits
                    )
                    store.set_session_device(
                        sid, dev, hello.board, hello.fw_version, hello.profile_crc, hello.bench
                    )
            # Host time is the session's own (virtual) time from the start.
            stored = store_frames(store, sid, wall_start + virtual_ms / 1000.0, frames)
            boots += stored.boots
            if stored.last_values is not None:
                last_values = stored.last_values
            store.maybe_flush()
            if progress is not None:
                progress(min(1.0, virtual_ms / (sc.duration_s * 1000)), _values(last_values))
            if realtime:
                lag = t0 + virtual_ms / 1000.0 - time.perf_counter()
                if lag > 0:
                    time.sleep(lag)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM as `inversa sim` maps it
        counters = _counters(decoder, boots)
        counters["rows_dropped"] = store.dropped_by_session.get(sid, 0)
        _interrupted(store, sid, sc, wall_start, virtual_ms, counters)
    finally:
        engine.close()
    counters = _counters(decoder, boots)
    store.update_session(sid, last_data=wall_start + virtual_ms / 1000.0, **counters)
    if not store.end_session(sid, ended=wall_start + virtual_ms / 1000.0):
        raise StoreError(
            f"the simulated session {sid} could not be stored completely: {store.write_error} "
            f"({store.held_rows} rows not written)"
        )
    wall = time.perf_counter() - t0
    trace = trace_from_store(store, sid)
    _attach_truth(trace, truth)
    trace.loading_deg = spec["table_params"].get("loading_deg", -65.0)
    checks = check_expectations(
        trace, sc.expect, rules_of(sc, spec), [(e.t_s, e.action, dict(e.args)) for e in sc.events]
    )
    # The person's experience is the true motion: summarise the simulated
    # table's angle (the measured one is in the plot beside it).
    summary = summarize(trace, trace.true_angle_deg or None)
    return SimResult(sc, sid, trace, summary, checks, wall, counters)


class SimInterrupted(Exception):
    """The run was stopped before the scenario's end.  ``session_id`` is the
    session closed as interrupted with what it recorded, or None when nothing
    was recorded (its empty session is removed)."""

    def __init__(self, session_id: int | None, virtual_s: float, rows: int, message: str):
        super().__init__(message)
        self.session_id = session_id
        self.virtual_s = virtual_s
        self.rows = rows


def _counters(decoder: StreamDecoder, boots: int) -> dict[str, int]:
    return {
        "frames": decoder.frames,
        "lost_frames": decoder.lost_frames,
        "gap_events": decoder.gap_events,
        "crc_errors": decoder.crc_errors,
        "framing_errors": decoder.framing_errors,
        "version_errors": decoder.version_errors,
        "board_reboots": max(0, boots - 1),
    }


def _interrupted(
    store: Store,
    sid: int,
    sc: Scenario,
    wall_start: float,
    virtual_ms: int,
    counters: dict[str, int],
) -> NoReturn:
    """Close an interrupted run's session: kept (and marked interrupted) with
    every row it recorded, or removed when it recorded nothing."""
    at = f"after {virtual_ms / 1000.0:.0f} s of the scenario's {sc.duration_s:.0f} s"
    rows = store.recorded_rows(sid)
    if rows == 0:
        store.flush()  # the device row, if the board said hello
        store.delete_session(sid)
        raise SimInterrupted(
            None, virtual_ms / 1000.0, 0, f"interrupted {at}: nothing was recorded"
        )
    end = wall_start + virtual_ms / 1000.0
    store.update_session(sid, last_data=end, **counters)
    written = store.interrupt_session(sid, ended=end)
    msg = f"interrupted {at}: session {sid} is kept as interrupted ({rows} rows recorded)"
    if not written:  # the rows stay held; what the bound dropped is counted
        msg += f"; {store.held_rows} rows could not be written yet: {store.write_error}"
    raise SimInterrupted(sid, virtual_ms / 1000.0, rows, msg)


def rules_of(sc: Scenario, spec: dict[str, Any]) -> Rules:
    """The whole-system safety rules for this scenario (judge.py)."""
    from inversa.control.profile import Profile

    prof = Profile.from_bytes(spec["profile"])
    return Rules(
        limit_deg=prof.max_angle_cdeg / 100.0,
        loading_deg=float(spec["table_params"]["loading_deg"]),
        motorized=sc.motorized,
    )


def _values(values: tuple[int, ...] | None) -> dict[str, int] | None:
    if values is None:
        return None
    return dict(zip(TELEMETRY_FIELDS, values, strict=True))


def trace_from_store(store: Store, session_id: int) -> SessionTrace:
    """The session as recorded: samples and board events on one session clock.

    Within a boot, time is the board's own clock (ticks_ms, unwrapped).  A
    session can span several boots (the board rebooted) and holes (the link
    or the logger was down): each boot is a segment whose clock restarts, so
    a segment is placed after the previous one by the host time that passed
    between them.  Session time is then monotonic; ``trace.breaks`` lists the
    sample indexes where a new segment (a reboot) or a hole (frames lost)
    begins, where plots break their lines."""
    tr = SessionTrace()
    segments: list[_Segment] = []
    seg: _Segment | None = None
    prev_bits = 0
    gap_s = HOLE_S
    for row in store.samples(session_id, whole_only=True):  # damaged rows: counted
        raw = int(row["t_ms"])
        host_t = float(row["host_t"])
        t_s = 0.0
        if seg is not None:
            d = (raw - seg.last_raw) % _TICKS_PERIOD
            if d < _TICKS_PERIOD // 2:
                seg.unwrapped += d  # the same boot (ticks_ms may have wrapped)
                seg.last_raw = raw
                seg.last_host = host_t
                seg.end_ms = seg.unwrapped
                t_s = seg.offset_s + (seg.unwrapped - seg.t0_ms) / 1000.0
                if d / 1000.0 > gap_s:
                    tr.breaks.append(len(tr.t_s))
            else:
                seg = None  # the clock went back: the board rebooted
        if seg is None:
            if segments:
                last = segments[-1]
                end_s = last.offset_s + (last.end_ms - last.t0_ms) / 1000.0
                offset = end_s + max(0.0, host_t - last.last_host)
                tr.breaks.append(len(tr.t_s))
            else:
                offset = 0.0
            seg = _Segment(raw, raw, raw, raw, offset, host_t, host_t)
            segments.append(seg)
            t_s = offset
        tr.t_s.append(t_s)
        tr.angle_deg.append(row["angle_cdeg"] / 100.0)
        tr.target_deg.append(row["target_angle_cdeg"] / 100.0)
        tr.rate_dps.append(row["rate_cdps"] / 100.0)
        tr.hr_bpm.append(float(row["hr_bpm"]))
        tr.state.append(state_name(int(row["state"])))
        tr.alarm_priority.append(int(row["alarm_priority"]))
        tr.motor_cmd_dps.append(row["motor_cmd_cdps"] / 100.0)
        bits = int(row["alarm_bits"])
        new = bits & ~prev_bits
        prev_bits = bits
        bit = 0
        while new:
            if new & 1:
                tr.events.append(TraceEvent(tr.t_s[-1], "alarm_seen", alarm_name(bit), "telemetry"))
            new >>= 1
            bit += 1
    tr.board_t0_ms = segments[0].t0_ms if segments else 0
    for e in store.events(session_id, whole_only=True):
        if e["t_ms"] is None:
            continue
        t_s = _event_time(segments, int(e["t_ms"]), float(e["host_t"]), int(e["kind"]))
        kind, code, value = int(e["kind"]), int(e["code"]), int(e["value"])
        if kind == ev.EV_ALARM_RAISED:
            tr.events.append(TraceEvent(t_s, "alarm_raised", alarm_name(code)))
        elif kind == ev.EV_ALARM_CLEARED:
            tr.events.append(TraceEvent(t_s, "alarm_cleared", alarm_name(code)))
        elif kind == ev.EV_STATE:
            tr.events.append(TraceEvent(t_s, "state", state_name(code), state_name(value)))
        elif kind == ev.EV_FAULT:
            # The code is a fault mask (F_* bits), the value the alarm that raised it.
            for name in fault_names(code):
                tr.events.append(TraceEvent(t_s, "fault", name, fault_detail(code, value)))
        elif kind == ev.EV_BOOT:
            tr.events.append(TraceEvent(t_s, "boot", "boot", str(code)))
    tr.events.sort(key=lambda e: e.t_s)
    return tr


_TICKS_PERIOD = 1 << 30  # the board's ticks_ms wraps here
HOLE_S = 1.0  # no sample for this long (board time): a hole, the plot breaks there


@dataclass
class _Segment:
    """One boot of the board within a session."""

    t0_ms: int  # unwrapped board ms of its first sample
    end_ms: int  # unwrapped board ms of its last sample
    unwrapped: int
    last_raw: int
    offset_s: float  # session time of its first sample
    first_host: float
    last_host: float


def _event_time(segments: list[_Segment], t_ms: int, host_t: float, kind: int) -> float:
    """Session time of a board event: on the clock of the boot it came from.
    The boot is the latest segment that had begun (host time, 2 s of slack)
    whose board clock covers the event's; a BOOT event opens the next one."""
    if not segments:
        return 0.0
    best = None
    for seg in segments:
        if seg.first_host > host_t + 2.0:
            break
        lo = seg.t0_ms % _TICKS_PERIOD - (60_000 if kind == ev.EV_BOOT else 2_000)
        hi = seg.last_raw + 2_000
        if lo <= t_ms <= hi or (kind == ev.EV_BOOT and t_ms <= hi):
            best = seg
    seg = best if best is not None else segments[0]
    d = (t_ms - seg.t0_ms) % _TICKS_PERIOD
    if d >= _TICKS_PERIOD // 2:
        d -= _TICKS_PERIOD  # a little before the segment's first sample
    return max(0.0, seg.offset_s + d / 1000.0)


def _attach_truth(trace: SessionTrace, truth: list[tuple[int, int, int]]) -> None:
    """Ground truth (simulator only), resampled onto the telemetry's times:
    the angle interpolated between the truth's samples (every 100 ms), so a
    frame sent a period late is judged at its own time (a step function
    charged it up to 100 ms of motion: a 5.84 deg/s descent read 6.8 deg/s
    over 0.5 s once telemetry frames were put off a period after a FIFO
    drain), the heart rate as last sampled."""
    if not truth or not trace.t_s:
        return
    # Truth samples carry the board's own ticks_ms, like the telemetry.
    j = 0
    for t in trace.t_s:
        tt = t + trace.board_t0_ms / 1000.0
        while j + 1 < len(truth) and truth[j + 1][0] / 1000.0 <= tt:
            j += 1
        a = truth[j][1] / 100.0
        if j + 1 < len(truth):
            t0, t1 = truth[j][0] / 1000.0, truth[j + 1][0] / 1000.0
            if t1 - t0 > 0 and t0 <= tt:
                a += (truth[j + 1][1] / 100.0 - a) * min(1.0, (tt - t0) / (t1 - t0))
        trace.true_angle_deg.append(a)
        trace.true_hr_bpm.append(truth[j][2] / 10.0)
