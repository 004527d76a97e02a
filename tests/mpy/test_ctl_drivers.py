# Actuator and input drivers against fake pins.  CPython and MicroPython.
from inversa.control.alarms import PAT_HIGH, PAT_LOUD, PAT_NONE
from inversa.control.io import ControlInputs
from inversa.drivers.brake import Brake
from inversa.drivers.buttons import Button, EStop, Panel
from inversa.drivers.buzzer import Buzzer
from inversa.drivers.hbridge import HBridge
from inversa.drivers.relay_motor import RelayMotor
from mpyunit import assert_no_alloc, raises


class _Pin:
    def __init__(self, v=0):
        self.v = v

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v
        return None


class _Pwm:
    def __init__(self):
        self.d = 12345

    def duty_u16(self, d=None):
        if d is None:
            return self.d
        self.d = d
        return None


def test_hbridge_drives_one_side_only_and_disables():
    a, b, en = _Pwm(), _Pwm(), _Pin(1)
    hb = HBridge(a, b, en, full_scale_cdps=600)
    assert a.d == 0 and b.d == 0 and en.v == 0  # safe from construction
    hb.drive(300, True)
    assert en.v == 1 and b.d == 0 and a.d == 65535 // 2
    hb.drive(-600, True)
    assert a.d == 0 and b.d == 65535 and hb.direction == -1
    hb.drive(-5000, True)  # clamped to full scale
    assert b.d == 65535
    hb.drive(300, False)
    assert a.d == 0 and b.d == 0 and en.v == 0
    raises(ValueError, HBridge, a, b, en, 0)
    assert_no_alloc(lambda: hb.drive(123, True))


def test_relays_are_interlocked_with_dead_time():
    dn, up, en = _Pin(), _Pin(), _Pin()
    rm = RelayMotor(dn, up, en, deadband_cdps=20, dead_time_ms=100)
    rm.drive(200, True, 50)
    assert dn.v == 0  # the dead time runs from construction
    rm.drive(200, True, 100)
    assert dn.v == 1 and up.v == 0 and en.v == 1
    rm.drive(-200, True, 110)  # reversal: both off first
    assert dn.v == 0 and up.v == 0
    rm.drive(-200, True, 150)
    assert up.v == 0
    rm.drive(-200, True, 210)
    assert up.v == 1 and dn.v == 0
    rm.drive(10, True, 300)  # inside the deadband: off
    assert up.v == 0 and dn.v == 0
    rm.drive(-200, False, 500)
    assert up.v == 0 and en.v == 0
    t = [1000]

    def flip():
        t[0] += 10
        rm.drive(200 if t[0] % 400 < 200 else -200, True, t[0])
        assert not (dn.v and up.v)

    assert_no_alloc(flip)


def test_brake_is_engaged_unless_powered():
    p = _Pin(1)
    br = Brake(p)
    assert br.engaged and p.v == 0  # unpowered = braking
    br.set(False)
    assert p.v == 1 and not br.engaged
    br.set(True)
    assert p.v == 0
    raises(ValueError, Brake, p, 2)


def test_buzzer_plays_bursts_and_never_goes_silent_on_unknown_pattern():
    pwm = _Pwm()
    bz = Buzzer(pwm)
    assert pwm.d == 0
    bz.set_pattern(PAT_HIGH, 0)
    ons = 0
    last = False
    for t in range(0, 3300, 10):
        bz.update(t)
        if bz.on and not last:
            ons += 1
        last = bz.on
    assert ons == 5  # 3 + 2 pulses in one high-priority burst
    bz.set_pattern(99, 4000)
    assert bz.pattern == PAT_LOUD
    bz.set_pattern(PAT_NONE, 5000)
    bz.update(5010)
    assert not bz.on and pwm.d == 0
    bz.set_pattern(PAT_LOUD, 6000)
    t = [6000]

    def tick():
        t[0] += 10
        bz.update(t[0])

    assert_no_alloc(tick)


def test_button_debounce():
    p = _Pin(0)
    b = Button(p, debounce_ms=20)
    assert not b.update(0)  # boot: the first reading is the state
    assert not b.update(20)
    p.v = 1
    assert not b.update(30)
    p.v = 0  # bounce
    assert not b.update(35)
    p.v = 1
    b.update(40)
    assert not b.update(50)
    assert b.update(60)


def test_button_first_reading_is_the_state_without_a_false_edge():
    # A released start button must not look pressed at boot (that would be a
    # start request), and a switch already at its limit must read so at once.
    released = Button(_Pin(1), pressed_level=0, debounce_ms=20)
    assert not released.update(0)
    at_limit = Button(_Pin(1), pressed_level=1, debounce_ms=20)
    assert at_limit.update(0)


def test_estop_broken_wire_reads_pressed_and_a_disagreement_latches_the_fault():
    a, b = _Pin(0), _Pin(0)
    e = EStop(a, b, release_ms=50, discrepancy_ms=200)
    assert e.update(0)  # pressed until proven closed
    assert not e.update(60)
    a.v = 1  # channel A opens (pressed, or its wire broke)
    assert e.update(70)  # at once, no debounce
    a.v = 0
    assert e.update(80)
    assert not e.update(140)
    b.v = 1  # one channel stays open: discrepancy
    for t in range(150, 500, 10):
        assert e.update(t)
    assert e.fault
    b.v = 0
    assert e.update(500)
    for t in range(560, 800, 10):
        # Released (a welded channel never opens: holding the e-stop pressed
        # left the person inverted for good, safety review 30 Nov), but the
        # fault stays: both channels must open together once.
        assert not e.update(t) and e.fault
    a.v = 1
    b.v = 1
    e.update(800)
    a.v = 0
    b.v = 0
    e.update(810)
    assert not e.update(900) and not e.fault


def test_panel_hold_to_run_both_buttons_means_neither():
    pins = [_Pin(0) for _ in range(8)]
    panel = Panel(
        EStop(pins[0], pins[1]),
        Button(pins[2], debounce_ms=0),
        Button(pins[3], debounce_ms=0),
        Button(pins[4], debounce_ms=0),
        Button(pins[5], debounce_ms=0),
        Button(pins[6], debounce_ms=0),
        Button(pins[7], debounce_ms=0),
    )
    inp = ControlInputs()
    panel.update(0, inp)
    panel.update(100, inp)
    assert not inp.estop_pressed and not inp.hold_down
    pins[3].v = 1
    panel.update(110, inp)
    assert inp.hold_down and not inp.hold_up
    pins[2].v = 1
    panel.update(120, inp)
    assert not inp.hold_down and not inp.hold_up
    t = [200]

    def tick():
        t[0] += 10
        panel.update(t[0], inp)

    assert_no_alloc(tick)


def test_panel_refuses_deeper_motion_while_an_estop_channel_is_welded():
    # Safety review attack2, 30 Nov: the welded channel no longer holds the
    # e-stop pressed (the person hung inverted for good); instead DOWN
    # reads released until both channels have opened together again.
    pins = [_Pin(0) for _ in range(8)]
    panel = Panel(EStop(pins[0], pins[1]), *[Button(p, debounce_ms=0) for p in pins[2:]])
    inp = ControlInputs()
    panel.update(0, inp)
    panel.update(100, inp)
    pins[0].v = 1  # pressed: channel A opens, B (welded) stays closed
    for t in range(110, 500, 10):
        panel.update(t, inp)
        assert inp.estop_pressed
    pins[0].v = 0
    pins[3].v = 1  # DOWN held
    pins[2].v = 1  # UP held: the way up still works
    for t in range(500, 700, 10):
        panel.update(t, inp)
    assert not inp.estop_pressed and not inp.hold_down and not inp.hold_up  # (both: neither)
    pins[2].v = 0
    panel.update(710, inp)
    assert not inp.hold_down
    pins[3].v = 0
    pins[2].v = 1
    panel.update(720, inp)
    assert inp.hold_up
    pins[2].v = 0
    pins[0].v = pins[1].v = 1  # repaired: both open on a press, then released
    panel.update(730, inp)
    pins[0].v = pins[1].v = 0
    for t in range(740, 900, 10):
        panel.update(t, inp)
    pins[3].v = 1
    panel.update(910, inp)
    assert inp.hold_down and not inp.estop_pressed


def test_panel_reads_a_chattering_supply_as_lost_and_allocates_nothing():
    # Drops under the 200 ms debounce, three within the 5 s chain: on
    # battery without a break (safety review, 30 Nov; the property is
    # tests/fw/test_ctl_supply_chatter.py); the contactor likewise once
    # the e-stop is pressed.
    pins = [_Pin(0) for _ in range(10)]
    power, contactor = pins[8], pins[9]
    contactor.v = 1  # open
    panel = Panel(
        EStop(pins[0], pins[1]),
        Button(pins[2], debounce_ms=0),
        Button(pins[3], debounce_ms=0),
        Button(pins[4], debounce_ms=0),
        Button(pins[5], debounce_ms=0),
        None,
        None,
        Button(power, pressed_level=1, debounce_ms=200),
        Button(contactor, pressed_level=0, debounce_ms=20),
    )
    inp = ControlInputs()
    t = [0]

    def tick():
        t[0] += 10
        power.v = 1 if t[0] % 700 < 100 else 0
        pins[0].v = pins[1].v = 1 if t[0] >= 20000 else 0
        contactor.v = 0 if t[0] >= 20000 and t[0] % 300 < 10 else 1
        panel.update(t[0], inp)

    while t[0] < 700 * 3:
        tick()
    for _ in range(200):
        tick()
        assert inp.on_battery
    assert_no_alloc(tick)
    while t[0] < 20000 + 300 * 3:
        tick()
    for _ in range(100):
        tick()
        assert inp.estop_pressed and inp.motor_power
    assert_no_alloc(tick)
