# The controller inside MicroPython too: a session end to end, refusals, the
# e-stop latch, and no heap allocation by the step in every state.
from inversa import reasons
from inversa.control import alarms as A
from inversa.control import states as S
from inversa.control.controller import Controller
from inversa.control.io import ControlInputs, ControlOutputs
from inversa.control.profile import HR_OFF, Profile
from inversa.events import EventLog
from mpyunit import assert_no_alloc


class _Clock:
    # A clock whose ticks stay small ints (no allocation in MicroPython).
    def __init__(self):
        self.t = 0

    def ticks_ms(self):
        return self.t


class _Rig:
    """Controller + an ideal table (follows the command exactly)."""

    def __init__(self, profile=None, angle=-6000, **kw):
        self.clock = _Clock()
        self.events = EventLog(64)
        self.p = profile if profile is not None else Profile(hr_mode=HR_OFF)
        self.ctrl = Controller(self.clock, self.events, self.p, **kw)
        self.inp = ControlInputs()
        self.out = ControlOutputs()
        self.angle_k = angle * 1000
        self.frozen = False
        i = self.inp
        i.estop_pressed = False
        i.tilt_ok = True
        i.host_lease_ok = True
        i.hr_ok = True
        i.hr_bpm = 70

    def period(self):
        i = self.inp
        o = self.out
        if not self.frozen:
            i.angle_cdeg = self.angle_k // 1000
            i.home_switch = i.angle_cdeg <= self.p.loading_cdeg + 50
        self.ctrl.step(i, o)
        v = o.motor_cmd_cdps if o.motor_enable else 0
        if not self.frozen:
            i.rate_cdps = v
            self.angle_k += v * 10
            if self.angle_k < self.p.loading_cdeg * 1000:
                self.angle_k = self.p.loading_cdeg * 1000
        self.clock.t = (self.clock.t + 10) & 0x3FFFFFFF

    def run(self, ms):
        for _ in range(ms // 10):
            self.period()

    def until(self, state, max_ms):
        n = max_ms // 10
        while n > 0 and self.out.state != state:
            self.period()
            n -= 1
        assert self.out.state == state, "wanted %s, in %s" % (
            S.STATE_NAMES[state],
            S.STATE_NAMES[self.out.state],
        )


def test_names_cover_every_id():
    assert len(S.STATE_NAMES) == S.N_STATES
    assert len(A.ALARM_NAMES) == A.N_ALARMS
    assert len(A.FAULT_NAMES) == 9


def test_motorized_session_end_to_end():
    r = _Rig(Profile(hr_mode=HR_OFF, max_angle_cdeg=2000, hold_ms=10000))
    r.until(S.IDLE, 2000)
    assert r.ctrl.request_start() == reasons.OK
    r.until(S.READY, 1000)
    r.run(2000)
    assert r.out.motor_cmd_cdps == 0 and r.out.state == S.READY  # the host alone moves nothing
    r.inp.hold_down = True
    r.until(S.HOLD, 60000)
    r.inp.hold_down = False
    assert 1900 <= r.inp.angle_cdeg <= 2000
    r.until(S.RETURN, 20000)
    r.until(S.REST, 60000)
    r.until(S.RISE, 30000)
    r.until(S.DONE, 60000)
    assert r.out.deepest_cdeg >= 1900 and r.out.alarm_bits == 0


def test_refusals_change_nothing():
    r = _Rig()
    r.until(S.IDLE, 2000)
    assert r.ctrl.set_profile(Profile(max_angle_cdeg=99999)) == reasons.OUT_OF_RANGE
    assert r.ctrl.profile.max_angle_cdeg == Profile().max_angle_cdeg
    assert r.ctrl.clear_faults() == reasons.OK  # nothing latched: harmless
    assert r.ctrl.request_start() == reasons.OK
    r.run(100)
    assert r.ctrl.request_start() == reasons.WRONG_STATE
    assert r.ctrl.set_profile(Profile(max_angle_cdeg=3000)) == reasons.WRONG_STATE


def test_estop_latches_until_released_and_cleared_locally():
    r = _Rig()
    r.until(S.IDLE, 2000)
    r.inp.estop_pressed = True
    r.run(10)
    assert r.out.state == S.ESTOP and not r.out.motor_enable and r.out.brake_on
    r.inp.estop_pressed = False
    r.run(100)
    assert r.out.state == S.ESTOP
    assert r.ctrl.clear_faults() == reasons.FAULT_LATCHED
    r.inp.stop_pressed = True
    r.run(10)
    r.inp.stop_pressed = False
    assert r.out.state == S.IDLE and r.out.alarm_bits == 0


def _no_alloc_in(r, state):
    assert r.out.state == state, S.STATE_NAMES[r.out.state]
    assert_no_alloc(r.period, 50)
    assert r.out.state == state, "left %s while measuring" % S.STATE_NAMES[state]


def test_step_allocates_nothing_in_any_state():
    prof = Profile(hr_mode=HR_OFF, max_angle_cdeg=3000, hold_ms=600000, rest_ms=60000)
    r = _Rig(prof)
    _no_alloc_in(r, S.SELFTEST)
    r.until(S.IDLE, 2000)
    _no_alloc_in(r, S.IDLE)
    r.ctrl.request_start()
    r.until(S.READY, 1000)
    _no_alloc_in(r, S.READY)
    r.inp.hold_down = True
    r.run(3000)
    _no_alloc_in(r, S.DESCENT)
    r.until(S.HOLD, 60000)
    r.inp.hold_down = False
    _no_alloc_in(r, S.HOLD)
    r.ctrl.request_return()
    r.run(2000)
    _no_alloc_in(r, S.RETURN)
    r.until(S.REST, 60000)
    _no_alloc_in(r, S.REST)
    r.until(S.RISE, 70000)
    _no_alloc_in(r, S.RISE)
    r.until(S.DONE, 60000)
    _no_alloc_in(r, S.DONE)
    r.inp.estop_pressed = True
    r.run(20)
    _no_alloc_in(r, S.ESTOP)


def test_step_allocates_nothing_in_baseline_fault_and_open_loop():
    r = _Rig(Profile(max_angle_cdeg=3000, hold_ms=600000))  # heart-rate rules on
    r.until(S.IDLE, 2000)
    r.ctrl.request_start()
    r.run(100)
    _no_alloc_in(r, S.BASELINE)
    r.until(S.READY, 20000)
    r.inp.hold_down = True
    r.until(S.HOLD, 60000)
    r.inp.tilt_ok = False  # the sensor dies while inverted
    r.frozen = True
    r.run(100)
    _no_alloc_in(r, S.OPEN_LOOP)
    r2 = _Rig()
    r2.until(S.IDLE, 2000)
    r2.frozen = True
    r2.inp.end_switch = True  # both limit switches at once and no angle: wiring fault
    r2.inp.home_switch = True
    r2.inp.tilt_ok = False
    r2.run(50)
    _no_alloc_in(r2, S.FAULT)


def test_manual_table_steps_allocate_nothing():
    r = _Rig(Profile(hr_mode=HR_OFF, table_type=S.MANUAL, max_angle_cdeg=3000), angle=0)
    r.frozen = True
    r.inp.angle_cdeg = 0
    r.until(S.IDLE, 2000)
    r.inp.angle_cdeg = 1500
    r.inp.rate_cdps = 0
    r.run(100)
    assert r.out.state in (S.DESCENT, S.HOLD)
    r.run(2000)
    _no_alloc_in(r, S.HOLD)
    r.inp.angle_cdeg = 3500  # too deep: high alarm, lock
    r.run(50)
    assert r.out.alarm_priority == A.P_HIGH and r.out.brake_on
    _no_alloc_in(r, S.HOLD)


def test_record_follows_the_session_and_survives_the_selftest():
    prof = Profile(hr_mode=HR_OFF, max_angle_cdeg=3000, hold_ms=600000)
    r = _Rig(prof)
    seq = r.ctrl.record_seq
    r.until(S.IDLE, 2000)
    r.run(20)
    assert r.ctrl.record_seq != seq  # known now: at loading, no session
    assert r.ctrl.record()[:2] == (0, 0)
    r.ctrl.request_start()
    r.until(S.READY, 1000)
    r.inp.hold_down = True
    r.until(S.HOLD, 60000)
    r.run(3000)
    deep, last, gain = r.ctrl.record()
    assert 2800 <= deep <= 3000 and 2800 <= last <= 3000
    assert 100 <= gain <= 110  # the ideal table follows its command exactly
    # A reset now: the new controller is given the record and keeps it
    # through its self-test, however long the angle stays untrusted.
    r2 = _Rig(prof, angle=2900, resume=(deep, last, gain))
    r2.frozen = True
    r2.inp.tilt_ok = False
    r2.inp.angle_cdeg = 0
    r2.run(3000)
    assert r2.ctrl.record() == (deep, last, gain)
    r2.until(S.OPEN_LOOP, 5000)
    assert r2.out.motor_cmd_cdps <= 0
    assert r2.ctrl.record() == (deep, last, gain)
