"""A supply input that chatters raises its alarm like a steady loss (safety review, 30 Nov).

The DC-OK input (mains present / on battery) went through a 200 ms debounce
and then the rule engine's leaky 500 ms account: drops shorter than the
debounce never reached the controller, and longer ones present less than a
third of the time never filled the account, so a flickering mains never
raised `A_MAINS_LOST`.  The same two filters sat on the motor contactor's
auxiliary contact (20 ms debounce, 300 ms account) while the e-stop is
pressed.  Here, in virtual time: the panel with the inputs wired as
`app_build.build_panel` wires them, fed chatter of any period (up to the
5 s chain), duty and phase, and the controller in every state, judged
against a steady loss from the same moment.
"""

from __future__ import annotations

import copy
import os

from ctl_plant import PERIOD_MS, Rig
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from inversa.control import alarms as A
from inversa.control import states as S
from inversa.control.io import ControlInputs
from inversa.control.profile import Profile
from inversa.drivers.buttons import Button, EStop, Panel
from inversa.events import EV_ALARM_RAISED

_N = int(os.environ.get("INVERSA_CTL_EXAMPLES", "6" if os.environ.get("CI") else "25"))
SOME = settings(
    max_examples=_N,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CHAIN_MS = 5000  # drops less than this apart are one unstable supply
DROPS = 3  # ... from the third of them
MAINS_BIT = 1 << A.A_MAINS_LOST
CONTACTOR_BIT = 1 << A.A_CONTACTOR


class Pin:
    def __init__(self, v: int) -> None:
        self.v = v

    def value(self) -> int:
        return self.v


class Wiring:
    """The panel as app_build.build_panel wires it (boards.ACTIVE_LEVEL):
    DC-OK reads 1 when the mains is gone, the contactor's contact 0 when
    the motor has power; the e-stop and buttons released, closed contacts."""

    def __init__(self) -> None:
        self.estop_a, self.estop_b = Pin(0), Pin(0)
        self.power = Pin(0)  # mains present
        self.contactor = Pin(1)  # open: no motor power
        btn = [Pin(0) for _ in range(4)]
        self.panel = Panel(
            EStop(self.estop_a, self.estop_b, pressed_level=1),
            Button(btn[0], pressed_level=1),
            Button(btn[1], pressed_level=1),
            Button(btn[2], pressed_level=1),
            Button(btn[3], pressed_level=0),
            None,
            None,
            Button(self.power, pressed_level=1, debounce_ms=200),
            Button(self.contactor, pressed_level=0, debounce_ms=20),
        )
        self.btn = btn
        btn[3].v = 1  # the stop button is NC: released reads 1


def chatter(t_ms: int, t0_ms: int, period_ms: int, bad_ms: int) -> bool:
    """A periodic fault from t0: `bad_ms` of every `period_ms` on the bad side."""
    return t_ms >= t0_ms and (t_ms - t0_ms) % period_ms < bad_ms


def bound_ms(period_ms: int) -> int:
    # The third drop is seen at most one period after the second and one
    # sample after it starts.
    return (DROPS - 1) * period_ms + PERIOD_MS


chatters = st.integers(20, CHAIN_MS - 2 * PERIOD_MS).flatmap(
    lambda p: st.tuples(
        st.just(p),
        st.integers(PERIOD_MS, p - PERIOD_MS),  # on the bad side: at least one sample, not all
        st.integers(0, p - 1),  # phase against the 10 ms samples
    )
)


# -- the panel alone ------------------------------------------------------------


@SOME
@given(chatters)
@example((1000, 150, 0))  # under the debounce: invisible to the old panel
@example((900, 250, 0))  # past the debounce, lost 28 % of the time: under the account's 1/3
@example((40, 10, 3))
def test_a_chattering_dc_ok_reads_on_battery_without_a_break_within_the_bound(c):
    period, bad, phase = c
    w = Wiring()
    inp = ControlInputs()
    t0 = 1000 + phase
    t = 0
    first = None
    while t < t0 + bound_ms(period) + 3 * CHAIN_MS:
        w.power.v = 1 if chatter(t, t0, period, bad) else 0
        if w.power.v and first is None:
            first = t
        w.panel.update(t, inp)
        if t < t0:
            assert not inp.on_battery
        if first is not None and t >= first + bound_ms(period):
            assert inp.on_battery, f"present at {t} while the supply still chatters"
        t += PERIOD_MS
    assert first is not None


def test_the_chattering_supply_reads_on_battery_until_it_has_been_steady_for_the_chain():
    w = Wiring()
    inp = ControlInputs()
    t = 0
    last = 0
    while t < 3000:
        w.power.v = 1 if 0 < t % 500 < 50 else 0
        if t % 500 == 10:
            last = t  # a drop begins
        w.panel.update(t, inp)
        t += PERIOD_MS
    assert inp.on_battery
    w.power.v = 0
    while t < last + CHAIN_MS - PERIOD_MS:
        w.panel.update(t, inp)
        assert inp.on_battery
        t += PERIOD_MS
    t = last + CHAIN_MS + PERIOD_MS
    w.panel.update(t, inp)
    assert not inp.on_battery  # a mains steady for the whole chain is present again
    # Isolated glitches under the debounce, two close together or any number
    # further apart than the chain, are still the debounce's to ignore.
    t0 = t
    for t in range(t0, t0 + 40000, PERIOD_MS):
        w.power.v = 1 if t - t0 in (1000, 2000, 8000, 14000, 20000, 26000) else 0
        w.panel.update(t, inp)
        assert not inp.on_battery


@SOME
@given(chatters)
@example((1000, 10, 0))
@example((300, 60, 7))
def test_a_chattering_contactor_contact_with_the_estop_pressed_reads_motor_power(c):
    period, bad, phase = c
    w = Wiring()
    inp = ControlInputs()
    # With the e-stop released the contactor follows the motor enable, as
    # often as the person works the hold-to-run button: never held.
    ref_pin = Pin(1)
    ref = Button(ref_pin, pressed_level=0, debounce_ms=20)  # the plain debounce
    for t in range(0, 10000, PERIOD_MS):
        w.contactor.v = ref_pin.v = 0 if chatter(t, 0, period, bad) else 1
        w.panel.update(t, inp)
        assert inp.motor_power == ref.update(t)
    w.contactor.v = 1  # opens, then the e-stop is pressed: it must stay open
    w.estop_a.v = w.estop_b.v = 1
    t0 = 11000 + phase
    t = 10000
    while t < t0 + bound_ms(period) + CHAIN_MS:
        w.contactor.v = 0 if chatter(t, t0, period, bad) else 1
        w.panel.update(t, inp)
        assert inp.estop_pressed
        if 10100 <= t < t0:
            assert not inp.motor_power  # open is open: nothing held from before
        if t >= t0 + bound_ms(period):
            assert inp.motor_power, f"open at {t} while the contact chatters"
        t += PERIOD_MS


# -- the controller, in every state ---------------------------------------------

PROFILE = Profile(max_angle_cdeg=3000, hold_ms=300000)
STATES = (S.IDLE, S.BASELINE, S.READY, S.DESCENT, S.HOLD, S.RETURN, S.REST, S.RISE)
_SNAP: dict[int, Rig] = {}


def snapshot(state: int) -> Rig:
    """A rig that just entered `state` in an ordinary session (built once)."""
    if not _SNAP:
        rig = Rig(PROFILE)
        rig.boot()
        _SNAP[S.IDLE] = copy.deepcopy(rig)
        assert rig.ctrl.request_start() == 0
        seen = {S.IDLE}
        hold_t = 0
        t_end = rig.t_ms + 400000
        while rig.t_ms < t_end and len(seen) < len(STATES):
            st0 = rig.out.state
            if st0 == S.READY:
                rig.inp.hold_down = True
            if st0 == S.HOLD and rig.t_ms - hold_t > 3000:
                assert rig.ctrl.request_return() == 0
            rig.period()
            if rig.out.state != st0 and rig.out.state in STATES and rig.out.state not in seen:
                seen.add(rig.out.state)
                _SNAP[rig.out.state] = copy.deepcopy(rig)
            if rig.out.state == S.HOLD and st0 != S.HOLD:
                hold_t = rig.t_ms
        assert seen == set(STATES), seen
    return copy.deepcopy(_SNAP[state])


def run_with_supply(rig: Rig, level, ms: int):
    """Run `ms` with DC-OK at level(t) through the panel.  Returns (when
    A_MAINS_LOST was raised or None, the action then, the state a second
    later, the state at the end)."""
    w = Wiring()
    t_start = rig.t_ms
    w.panel.update(t_start - PERIOD_MS, ControlInputs())  # the panel ran before
    rig.events_of(EV_ALARM_RAISED)  # what the snapshot logged before
    raised = None
    act = 0
    later = None

    def hook(r: Rig) -> None:
        w.power.v = 1 if level(r.t_ms - t_start) else 0
        hold = r.inp.hold_down
        w.panel.update(r.t_ms, r.inp)
        r.inp.hold_down = hold  # the rig plays the person's buttons
        r.inp.estop_pressed = False
        r.inp.motor_power = False

    rig.hook = hook
    while rig.t_ms - t_start < ms:
        rig.period()
        t = rig.t_ms - t_start
        if raised is None and any(
            a == A.A_MAINS_LOST for _, a, _ in rig.events_of(EV_ALARM_RAISED)
        ):
            raised = t
            act = rig.out.action
        if raised is not None and later is None and t >= raised + 1000:
            later = rig.out.state
    return raised, act, later, rig.out.state


@settings(
    max_examples=3 * _N,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.sampled_from(STATES), chatters)
@example(S.HOLD, (1000, 150, 0))
@example(S.DESCENT, (900, 250, 5))
@example(S.READY, (2000, 100, 30))
@example(S.BASELINE, (600, 190, 0))
@example(S.RETURN, (600, 190, 0))
def test_a_chattering_mains_in_any_state_does_what_a_steady_loss_does(state, c):
    period, bad, phase = c
    ms = phase + bound_ms(period) + 2000
    steady = run_with_supply(snapshot(state), lambda t: t >= phase, ms)
    flick = run_with_supply(
        snapshot(state), lambda t: t >= phase and (t - phase) % period < bad, ms
    )
    if state in (S.BASELINE, S.READY, S.DESCENT, S.HOLD):
        assert steady[0] is not None  # (a session in these states ends on a loss)
    assert (steady[0] is None) == (flick[0] is None), (steady, flick)
    if steady[0] is not None:
        # Within the bound; the same action, the same state a second on.
        assert flick[0] <= phase + bound_ms(period) + 510, (steady, flick)
    assert flick[1:] == steady[1:], (steady, flick)


def test_a_welded_contactor_that_chatters_is_flagged_like_a_welded_one():
    rig = snapshot(S.HOLD)
    w = Wiring()
    t0 = rig.t_ms

    def hook(r: Rig) -> None:
        w.estop_a.v = w.estop_b.v = 1
        # closed 15 ms of every 100: under the 20 ms debounce
        w.contactor.v = 0 if (r.t_ms - t0) % 100 < 15 else 1
        w.panel.update(r.t_ms, r.inp)

    rig.hook = hook
    rig.run_until(lambda r: r.out.alarm_bits & CONTACTOR_BIT, bound_ms(100) + 1000)
    assert rig.out.action == A.ACT_CUTOFF
