"""Hypothesis properties of the controller over arbitrary sensor streams,
button presses, host commands and faults (motorized table, kinematic plant).

Checked every period: no exception escapes the step; the commanded angle
never passes the profile's limit; the motor command stays within the speed
limits and changes by at most the acceleration limit per period (a stop to 0
is the one immediate change allowed); no deeper command without a trusted
angle, at the end switch, or with the motor disabled.  Checked per return:
from depth (> 5 deg) to horizontal takes at least 30 s unless the return was
interrupted by a cut-off.  Checked at the end (chaos over, buttons released):
the person is at the loading position, or the table is in a latched safe
state (motor off, brake on) with an alarm.
"""

from __future__ import annotations

from ctl_plant import PERIOD_MS, Rig
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from inversa.control import limits as L
from inversa.control import states as S
from inversa.control.profile import Profile

profiles = st.builds(
    Profile,
    max_angle_cdeg=st.integers(L.MIN_DEPTH_CDEG, L.MAX_ANGLE_CDEG),
    hold_ms=st.integers(L.MIN_HOLD_MS, 40000),
    descent_cdps=st.integers(L.MIN_RATE_CDPS, L.MAX_RATE_CDPS),
    rise_cdps=st.integers(L.MIN_RATE_CDPS, L.MAX_RATE_CDPS),
    return_ms=st.integers(L.MIN_RETURN_MS, 60000),
    rest_ms=st.integers(L.MIN_REST_MS, 20000),
    hr_mode=st.integers(0, 1),
)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("run"), st.integers(1, 600)),
        st.tuples(st.just("hold_down"), st.booleans()),
        st.tuples(st.just("hold_up"), st.booleans()),
        st.tuples(st.just("start"), st.none()),
        st.tuples(st.just("stop"), st.none()),
        st.tuples(st.just("host_start"), st.none()),
        st.tuples(st.just("host_return"), st.none()),
        st.tuples(st.just("host_clear"), st.none()),
        st.tuples(st.just("host_profile"), profiles),
        st.tuples(st.just("estop"), st.booleans()),
        st.tuples(st.just("tilt_ok"), st.booleans()),
        st.tuples(st.just("hr"), st.integers(0, 220)),
        st.tuples(st.just("hr_ok"), st.booleans()),
        st.tuples(st.just("lease"), st.booleans()),
        st.tuples(st.just("end_switch"), st.booleans()),
        st.tuples(
            st.just("fault"), st.sampled_from(["", "stall", "runon", "drift", "reverse", "runaway"])
        ),
        st.tuples(st.just("descend"), st.integers(500, 60000)),
    ),
    max_size=30,
)

_SLEW = L.MAX_ACCEL_CDPS2 * PERIOD_MS // 1000


class Checker:
    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.prev_cmd = 0
        self.ret_t0: int | None = None
        self.ret_a0 = 0
        self.ret_clean = True
        self.prev_state = rig.out.state
        self.returns_checked = 0

    def __call__(self) -> None:
        rig = self.rig
        o = rig.out
        i = rig.inp
        assert rig.ctrl.step_errors == 0
        limit = rig.ctrl.profile.max_angle_cdeg
        assert o.target_angle_cdeg <= limit
        cmd = o.motor_cmd_cdps
        assert -L.MAX_RATE_CDPS <= cmd <= rig.ctrl.profile.descent_cdps or (
            cmd <= 0 and self.prev_cmd > rig.ctrl.profile.descent_cdps
        )
        assert abs(cmd - self.prev_cmd) <= _SLEW or cmd == 0, (self.prev_cmd, cmd)
        if cmd > 0:
            assert i.tilt_ok and not i.end_switch and o.motor_enable
        if not o.motor_enable:
            assert cmd == 0
        self.prev_cmd = cmd
        # Return timing (the plant's real angle).
        st_now = o.state
        if st_now == S.RETURN and self.prev_state != S.RETURN:
            self.ret_t0 = rig.t_ms
            self.ret_a0 = rig.plant.angle_cdeg
            self.ret_clean = rig.plant.fault == ""
        if self.ret_t0 is not None:
            if st_now not in (S.RETURN, S.REST) or rig.plant.fault:
                if (
                    st_now == S.RISE
                    and not rig.plant.fault
                    and self.ret_clean
                    and self.ret_a0 > L.HORIZONTAL_BAND_CDEG
                ):
                    # Rested just above 0 (inside the tracking deadband): the
                    # table crosses horizontal only now, so this is a lower
                    # bound of the return time.
                    assert rig.t_ms - self.ret_t0 >= L.MIN_RETURN_MS
                    self.returns_checked += 1
                self.ret_t0 = None  # interrupted (cut-off, open loop, e-stop) or a faulty plant
            elif rig.plant.angle_cdeg <= 0:
                if self.ret_clean and self.ret_a0 > L.HORIZONTAL_BAND_CDEG:
                    assert rig.t_ms - self.ret_t0 >= L.MIN_RETURN_MS, (
                        self.ret_a0,
                        rig.t_ms - self.ret_t0,
                    )
                    self.returns_checked += 1
                self.ret_t0 = None
        self.prev_state = st_now


def _settled(rig: Rig) -> bool:
    o = rig.out
    if o.state in (S.IDLE, S.DONE):
        return (
            rig.inp.home_switch
            or abs(rig.plant.angle_cdeg - rig.profile.loading_cdeg) <= L.LOADING_TOL_CDEG
        )
    if o.state in (S.FAULT, S.ESTOP):
        return not o.motor_enable and o.brake_on and o.alarm_priority > 0 and o.alarm_bits != 0
    return False


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(profile=profiles, script=ops)
def test_controller_invariants_under_arbitrary_inputs(profile: Profile, script: list) -> None:
    rig = Rig(profile)
    check = Checker(rig)
    end_sw = [False]

    def sensors(r: Rig) -> None:
        if end_sw[0]:
            r.inp.end_switch = True
        if not r.inp.tilt_ok:
            r.inp.angle_cdeg = 0  # an untrusted reading: any value

    rig.sensor_override = sensors

    def run(n: int) -> None:
        for _ in range(n):
            rig.period()
            check()

    run(150)
    for kind, arg in script:
        if kind == "run":
            run(arg)
        elif kind in ("hold_down", "hold_up"):
            setattr(rig.inp, kind, arg)
            run(1)
        elif kind in ("start", "stop"):
            setattr(rig.inp, kind + "_pressed", True)
            run(3)
            setattr(rig.inp, kind + "_pressed", False)
            run(1)
        elif kind == "host_start":
            rig.ctrl.request_start()
        elif kind == "host_return":
            rig.ctrl.request_return()
        elif kind == "host_clear":
            rig.ctrl.clear_faults()
        elif kind == "host_profile":
            rig.ctrl.set_profile(arg)
        elif kind == "estop":
            rig.inp.estop_pressed = arg
        elif kind == "tilt_ok":
            rig.inp.tilt_ok = arg
        elif kind == "hr":
            rig.inp.hr_bpm = arg
        elif kind == "hr_ok":
            rig.inp.hr_ok = arg
        elif kind == "lease":
            rig.inp.host_lease_ok = arg
        elif kind == "end_switch":
            end_sw[0] = arg
        elif kind == "fault":
            rig.plant.fault = arg
        elif kind == "descend" and rig.ctrl.request_start() == 0:
            # A well-behaved session: start, wait for READY, hold-to-run down.
            for _ in range(7000):
                run(1)
                if rig.out.state != S.BASELINE:
                    break
            rig.inp.hold_down = True
            run(arg // PERIOD_MS)
    # Chaos over: buttons released; faults stay as they are.
    rig.inp.hold_down = False
    rig.inp.hold_up = False
    for _ in range(80):
        run(500)
        if _settled(rig):
            break
    assert _settled(rig), (S.STATE_NAMES[rig.out.state], rig.plant.angle_cdeg, rig.out.alarm_bits)


@settings(max_examples=15, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(
    depth=st.integers(L.HORIZONTAL_BAND_CDEG + 100, L.MAX_ANGLE_CDEG),
    return_ms=st.integers(L.MIN_RETURN_MS, L.MAX_RETURN_MS),
    speed=st.integers(L.MIN_RATE_CDPS, L.MAX_RATE_CDPS),
)
def test_every_return_from_depth_takes_at_least_the_minimum(
    depth: int, return_ms: int, speed: int
) -> None:
    rig = Rig(
        Profile(
            max_angle_cdeg=depth, descent_cdps=speed, return_ms=return_ms, hold_ms=10000, hr_mode=0
        )
    )
    check = Checker(rig)
    rig.hook = lambda r: None
    rig.start_motorized_session()
    for _ in range(900000 // PERIOD_MS):
        rig.period()
        check()
        if rig.out.state == S.DONE:
            break
    assert rig.out.state == S.DONE
    assert check.returns_checked == 1
