"""A small kinematic table plant and a test rig for the controller scenarios.

Not the physics simulator (that is inversa_world's job): just enough to close
the loop in virtual time.  The table follows the motor command through a
first-order lag; a held brake or a disabled motor stops it; mechanical stops
at the home and end positions; switches close there.  Faults can be injected
(stall, run-on, runaway, drift) and the sensors overridden per scenario.

Usage:
    rig = Rig(profile)                 # motorized, at the loading angle
    rig.boot()                         # through the self-test to IDLE
    rig.ctrl.request_start(); rig.run_ms(20000)
    rig.inp.hold_down = True; rig.run_until(lambda r: r.out.state == HOLD, 60000)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from inversa.board.clock import VirtualClock
from inversa.control import states as S
from inversa.control.controller import Controller
from inversa.control.io import ControlInputs, ControlOutputs
from inversa.control.profile import Profile
from inversa.events import EventLog

PERIOD_MS = 10


class TraceRow(NamedTuple):
    """One period of Rig.trace (after record()): what the controller output."""

    t_ms: int
    state: int
    angle_cdeg: int  # the plant's true angle
    target_cdeg: int
    cmd_cdps: int
    motor_enable: bool
    brake_on: bool
    alarm_bits: int
    action: int


class Plant:
    def __init__(
        self,
        angle_cdeg: int = -6000,
        home_cdeg: int = -6000,
        end_cdeg: int = 9200,
        lag_ms: int = 80,
    ) -> None:
        self.angle_k = angle_cdeg * 1000  # mcdeg
        self.vel_cdps = 0
        self.home_cdeg = home_cdeg
        self.end_cdeg = end_cdeg
        self.lag_ms = lag_ms
        self.fault = ""  # "", "stall", "runon", "runaway", "drift", "reverse"
        self.fault_cdps = 300
        self.manual_vel_cdps = 0  # a person moving a manual table
        self.manual = False
        self.speed_pct = 100  # the motor's real speed for a command (calibration error)

    @property
    def angle_cdeg(self) -> int:
        return self.angle_k // 1000

    def step(self, out: ControlOutputs, dt_ms: int) -> None:
        if self.manual:
            want = self.manual_vel_cdps
            if out.brake_on and want > 0:
                want = 0  # the lock stops deeper motion only
        else:
            want = out.motor_cmd_cdps if out.motor_enable else 0
            want = want * self.speed_pct // 100
            if out.brake_on and want == 0:
                want = 0
        f = self.fault
        if f == "stall":
            want = 0
        elif f == "runon":
            want = self.fault_cdps if self.vel_cdps >= 0 else -self.fault_cdps
        elif f in ("runaway", "drift"):
            want = self.fault_cdps
        elif f == "reverse":
            want = -want
        d = (want - self.vel_cdps) * dt_ms
        if self.lag_ms == 0 or 0 < d < self.lag_ms:
            # (also the last few cdps of a negative speed: floor division
            # would otherwise leave a braked table creeping up forever)
            self.vel_cdps = want
        else:
            self.vel_cdps += d // self.lag_ms
        self.angle_k += self.vel_cdps * dt_ms
        if self.angle_k <= self.home_cdeg * 1000:
            self.angle_k = self.home_cdeg * 1000
            self.vel_cdps = max(self.vel_cdps, 0)
        if self.angle_k >= self.end_cdeg * 1000:
            self.angle_k = self.end_cdeg * 1000
            self.vel_cdps = min(self.vel_cdps, 0)

    def fill(self, inp: ControlInputs) -> None:
        inp.angle_cdeg = self.angle_cdeg
        inp.rate_cdps = self.vel_cdps
        inp.home_switch = self.angle_cdeg <= self.home_cdeg + 50
        inp.end_switch = self.angle_cdeg >= self.end_cdeg - 50


class Rig:
    """Controller + plant + virtual clock, stepped in 10 ms periods."""

    def __init__(
        self,
        profile: Profile | None = None,
        table_type: int | None = None,
        angle_cdeg: int | None = None,
        start_ms: int = 0,
        **ctrl_kw: object,
    ) -> None:
        self.profile = profile if profile is not None else Profile()
        manual = (table_type if table_type is not None else self.profile.table_type) == S.MANUAL
        if angle_cdeg is None:
            angle_cdeg = 0 if manual else self.profile.loading_cdeg
        self.clock = VirtualClock(start_ms)
        self.events = EventLog(512)
        self.ctrl = Controller(
            self.clock, self.events, self.profile, table_type=table_type, **ctrl_kw
        )
        self.inp = ControlInputs()
        self.out = ControlOutputs()
        self.plant = Plant(angle_cdeg, home_cdeg=self.profile.loading_cdeg)
        self.plant.manual = manual
        self.inp.estop_pressed = False
        self.inp.tilt_ok = True
        self.inp.host_lease_ok = True
        self.inp.hr_ok = True
        self.inp.hr_bpm = 70
        self.inp.hr_quality_pct = 90
        self.sensor_override: Callable[[Rig], None] | None = None
        self.t_ms = 0
        self.trace: list[TraceRow] | None = None
        self.hook: Callable[[Rig], None] | None = None

    def record(self) -> None:
        self.trace = []

    def period(self) -> None:
        self.plant.fill(self.inp)
        if self.sensor_override is not None:
            self.sensor_override(self)
        if self.hook is not None:
            self.hook(self)
        self.ctrl.step(self.inp, self.out)
        if self.trace is not None:
            o = self.out
            self.trace.append(
                TraceRow(
                    self.t_ms,
                    o.state,
                    self.plant.angle_cdeg,
                    o.target_angle_cdeg,
                    o.motor_cmd_cdps,
                    o.motor_enable,
                    o.brake_on,
                    o.alarm_bits,
                    o.action,
                )
            )
        self.plant.step(self.out, PERIOD_MS)
        self.clock.advance_ms(PERIOD_MS)
        self.t_ms += PERIOD_MS

    def run_ms(self, ms: int) -> None:
        for _ in range(ms // PERIOD_MS):
            self.period()

    def run_until(self, pred: Callable[[Rig], bool], max_ms: int) -> int:
        """Step until pred(rig) holds; return the elapsed ms; AssertionError on timeout."""
        t0 = self.t_ms
        while self.t_ms - t0 < max_ms:
            self.period()
            if pred(self):
                return self.t_ms - t0
        raise AssertionError(
            f"condition not reached in {max_ms} ms "
            f"(state {S.STATE_NAMES[self.out.state]}, angle {self.plant.angle_cdeg})"
        )

    def boot(self) -> None:
        self.run_until(lambda r: r.out.state != S.SELFTEST, 3000)

    def state_name(self) -> str:
        return S.STATE_NAMES[self.out.state]

    def events_of(self, kind: int) -> list[tuple[int, int, int]]:
        rec = [0, 0, 0, 0]
        got = []
        while self.events.pop_into(rec):
            if rec[1] == kind:
                got.append((rec[0], rec[2], rec[3]))
        return got

    def start_motorized_session(self, hold_down: bool = True) -> None:
        """Boot, arm from the host, wait out the baseline, then hold-to-run down."""
        if self.out.state == S.SELFTEST:
            self.boot()
        assert self.ctrl.request_start() == 0
        self.run_until(lambda r: r.out.state == S.READY, 70000)
        self.inp.hold_down = hold_down
