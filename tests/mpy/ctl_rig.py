# The one controller test rig: the controller, a small kinematic table and a
# virtual clock, stepped in 10 ms periods.  Used by the MicroPython-side tests
# (tests/mpy, run in CPython, the WebAssembly VM and the 32-bit interpreter)
# and by the CPython scenario and property tests (tests/fw, through
# ctl_plant.py), so it is written in the subset MicroPython runs: no typing,
# no dataclasses, and a period that allocates nothing unless a trace is kept.
#
# Not the physics simulator (that is inversa_world's job): just enough to
# close the loop.  The table follows the motor command through a first-order
# lag (lag_ms=0: exactly); a held brake or a disabled motor stops it;
# mechanical stops at the home and end positions; switches close there.
# Faults can be injected (stall, run-on, runaway, drift, reverse), the
# sensors overridden per scenario, or frozen where they are.
#
#     rig = Rig(profile)                 # motorized, at the loading angle
#     rig.boot()                         # through the self-test to IDLE
#     rig.ctrl.request_start(); rig.run_ms(20000)
#     rig.inp.hold_down = True; rig.run_until(lambda r: r.out.state == HOLD, 60000)
from collections import namedtuple

from inversa.board.clock import VirtualClock
from inversa.control import states as S
from inversa.control.controller import Controller
from inversa.control.io import ControlInputs, ControlOutputs
from inversa.control.profile import Profile
from inversa.events import EventLog

PERIOD_MS = 10

# One period of Rig.trace (after record()): what the controller output, and
# the plant's TRUE angle.
TraceRow = namedtuple(
    "TraceRow",
    (
        "t_ms",
        "state",
        "angle_cdeg",
        "target_cdeg",
        "cmd_cdps",
        "motor_enable",
        "brake_on",
        "alarm_bits",
        "action",
    ),
)


class Plant:
    """The table: angle in milli-centidegrees (angle_k), speed in cdeg/s."""

    def __init__(self, angle_cdeg=-6000, home_cdeg=-6000, end_cdeg=9200, lag_ms=80):
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
    def angle_cdeg(self):
        return self.angle_k // 1000

    def step(self, out, dt_ms):
        if self.manual:
            want = self.manual_vel_cdps
            if out.brake_on and want > 0:
                want = 0  # the lock stops deeper motion only
        else:
            want = out.motor_cmd_cdps if out.motor_enable else 0
            want = want * self.speed_pct // 100
        f = self.fault
        if f == "stall":
            want = 0
        elif f == "runon":
            want = self.fault_cdps if self.vel_cdps >= 0 else -self.fault_cdps
        elif f == "runaway" or f == "drift":
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

    def fill(self, inp):
        inp.angle_cdeg = self.angle_cdeg
        inp.rate_cdps = self.vel_cdps
        inp.home_switch = self.angle_cdeg <= self.home_cdeg + 50
        inp.end_switch = self.angle_cdeg >= self.end_cdeg - 50


class Rig:
    """Controller + plant + virtual clock.

    profile: the session profile (default Profile()); table_type: as the
    controller takes it (default the profile's); angle_cdeg: where the table
    starts (default the loading angle, 0 on a manual table); lag_ms: the
    plant's first-order lag (0 = follows the command exactly); events_n: the
    event log's size; other keywords go to Controller.
    """

    def __init__(
        self,
        profile=None,
        table_type=None,
        angle_cdeg=None,
        start_ms=0,
        lag_ms=80,
        events_n=512,
        **ctrl_kw,
    ):
        self.profile = profile if profile is not None else Profile()
        manual = (table_type if table_type is not None else self.profile.table_type) == S.MANUAL
        if angle_cdeg is None:
            angle_cdeg = 0 if manual else self.profile.loading_cdeg
        self.clock = VirtualClock(start_ms)
        self.events = EventLog(events_n)
        self.ctrl = Controller(
            self.clock, self.events, self.profile, table_type=table_type, **ctrl_kw
        )
        self.inp = ControlInputs()
        self.out = ControlOutputs()
        self.plant = Plant(angle_cdeg, home_cdeg=self.profile.loading_cdeg, lag_ms=lag_ms)
        self.plant.manual = manual
        i = self.inp
        i.estop_pressed = False
        i.tilt_ok = True
        i.host_lease_ok = True
        i.hr_ok = True
        i.hr_bpm = 70
        i.hr_quality_pct = 90
        self.frozen = False  # True: the table and its sensor readings stand still
        self.sensor_override = None  # fn(rig) after the plant fills the inputs
        self.hook = None  # fn(rig) just before the controller steps
        self.t_ms = 0
        self.trace = None

    def record(self):
        self.trace = []

    def period(self):
        if not self.frozen:
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
        if not self.frozen:
            self.plant.step(self.out, PERIOD_MS)
        self.clock.advance_ms(PERIOD_MS)
        self.t_ms += PERIOD_MS

    def run_ms(self, ms):
        for _ in range(ms // PERIOD_MS):
            self.period()

    def run_until(self, pred, max_ms):
        """Step until pred(rig) holds; return the elapsed ms; AssertionError on timeout."""
        t0 = self.t_ms
        while self.t_ms - t0 < max_ms:
            self.period()
            if pred(self):
                return self.t_ms - t0
        raise AssertionError(
            "condition not reached in %d ms (state %s, angle %d)"
            % (max_ms, S.STATE_NAMES[self.out.state], self.plant.angle_cdeg)
        )

    def until_state(self, state, max_ms):
        """Step until the controller is in `state` (allocates nothing while stepping)."""
        n = max_ms // PERIOD_MS
        while n > 0 and self.out.state != state:
            self.period()
            n -= 1
        assert self.out.state == state, "wanted %s, in %s" % (
            S.STATE_NAMES[state],
            S.STATE_NAMES[self.out.state],
        )

    def boot(self):
        self.run_until(lambda r: r.out.state != S.SELFTEST, 3000)

    def state_name(self):
        return S.STATE_NAMES[self.out.state]

    def events_of(self, kind):
        """[(t_ms, a, b)] of the logged events of `kind`, taking them off the log."""
        rec = [0, 0, 0, 0]
        got = []
        while self.events.pop_into(rec):
            if rec[1] == kind:
                got.append((rec[0], rec[2], rec[3]))
        return got

    def start_motorized_session(self, hold_down=True):
        """Boot, arm from the host, wait out the baseline, then hold-to-run down."""
        if self.out.state == S.SELFTEST:
            self.boot()
        assert self.ctrl.request_start() == 0
        self.run_until(lambda r: r.out.state == S.READY, 70000)
        self.inp.hold_down = hold_down
