# Local inputs: debounced buttons, hold-to-run, limit switches and a
# supervised two-channel e-stop.  Every field input is a normally closed
# contact to GND with a pull-up (board/boards.py), so a pressed button, a
# switch at its limit, an open contact and a BROKEN WIRE all read 1: the
# failure of a wire looks like the safe-side state, never like "fine".
#
# The e-stop asserts on the first sample either channel opens (no debounce on
# the safe side) and releases only when both channels have been closed for
# release_ms.  Channels that disagree for longer than discrepancy_ms (a welded
# contact block or a broken wire) latch `fault` until both channels have been
# seen open together and closed again; meanwhile the panel refuses deeper
# motion.  The fault no longer holds the e-stop pressed: a welded channel
# never opens, so the person hung inverted in ESTOP for good (safety review,
# 30 Nov); a broken wire still reads pressed on its own.
#
# Usage:
#     panel = Panel(EStop(pin_a, pin_b), Button(up), Button(down), Button(start),
#                   Button(stop), Button(home, debounce_ms=10), Button(end, debounce_ms=10))
#     panel.update(t_ms, inp)        # fills ControlInputs every period
#
# Supervised inputs (the supply's DC-OK and, while the e-stop is pressed, the
# motor contactor's contact): the debounce hides a drop shorter than it, and
# the alarm's leaky account one present less than 1/3 of the time, so a
# chattering supply never raised its alarm (safety review, 30 Nov).  A
# supervised Button counts its edges to the pressed (alarm) side, seen even
# when the debounce hides them; _DROPS of them each less than _CHAIN_MS after
# the last is an unstable input, read pressed without a break until it has
# had no such edge for _CHAIN_MS: the alarm then rises as for a steady loss.
#
# One read of every input (issue 10: the panel was ~0.3-0.6 ms of a period
# on an RP2040): given mem32, _addr and _mask (app_build.build_panel sets
# them on an RP2040: machine.mem32, SIO GPIO_IN, the panel's pins), a word
# holding every panel input's level among its bits, a period whose word is the last one's while every input
# is settled (each Button's reading steady, the e-stop released and quiet)
# changes nothing: update() returns at once, ControlInputs keeping the
# values the last full update wrote (only the panel writes them).  Without
# it (other boards, the simulator) every input is read and updated.

from inversa.compat import const, ticks_diff

_CHAIN_MS = const(5000)  # edges closer than this belong to one chatter
_DROPS = const(3)  # the third chained edge makes the input unstable


class Button:
    # Supervision (Panel turns it on: sets both on the button): chained
    # edges to the pressed side, -1 = not supervised; the time of the last
    # one.  (Names the board already interns, alarms.py's: no new qstr.)
    # Class defaults, so an unsupervised button's table holds 7 attributes
    # (8 slots) instead of 9 (10).
    _n = -1
    _t_off = 0

    def __init__(self, pin, pressed_level=1, debounce_ms=20):
        if debounce_ms < 0:
            from inversa.error_text import text

            raise ValueError(text(25))
        self._value = pin.value  # bound once: one lookup less per period (issue 10)
        self._level = pressed_level
        self._db = debounce_ms
        self._raw = None  # no reading yet (the first one is the state)
        self._t = 0
        self.pressed = True  # until proven otherwise, assume pressed / at limit
        # The reading that is steady (the last raw reading and the debounced
        # state agree on it), None while an edge is being timed: one
        # comparison per period in the steady state (issue 10).
        self._steady = None

    def update(self, t_ms):
        raw = self._value() == self._level
        if raw is self._steady:
            return raw  # steady (nearly every period): nothing to time
        r0 = self._raw
        if raw == r0:
            if raw == self.pressed and self._n < _DROPS:
                self._steady = raw
                return raw
        elif r0 is None:
            # Boot: the first reading is the state (there is no earlier edge
            # to debounce), so a released start button cannot look like a
            # press and a switch at its limit reads so at once.
            self._raw = raw
            self._t = t_ms
            self.pressed = raw
            self._steady = raw
            return raw
        else:
            self._raw = raw
            self._t = t_ms
            self._steady = None
            n = self._n
            if raw and n >= 0:
                if ticks_diff(t_ms, self._t_off) >= _CHAIN_MS:
                    n = 0
                self._n = n + 1 if n < _DROPS else n
                self._t_off = t_ms
        if raw != self.pressed and ticks_diff(t_ms, self._t) >= self._db:
            self.pressed = raw
        if self._n >= _DROPS:
            if ticks_diff(t_ms, self._t_off) < _CHAIN_MS:
                return True  # unstable: pressed, whatever the debounce says
            self._n = 0
        return self.pressed


class EStop:
    def __init__(self, pin_a, pin_b=None, pressed_level=1, release_ms=50, discrepancy_ms=200):
        self._va = pin_a.value  # bound once (issue 10; they hold the pins)
        self._vb = None if pin_b is None else pin_b.value
        self._level = pressed_level
        self._release = release_ms
        self._disc = discrepancy_ms
        self.pressed = True  # pressed until both channels prove closed
        self.fault = False  # channels disagreed too long (latched)
        self._t_closed = 0
        self._closed = False
        self._t_disagree = 0
        self._disagree = False
        self._seen_both_open = False
        # Released and settled (both channels closed, agreeing, no fault,
        # not pressed): the next period with both closed changes nothing,
        # one comparison instead of the whole rule (issue 10).
        self._quiet = False

    def update(self, t_ms):
        lvl = self._level
        a_open = self._va() == lvl
        vb = self._vb
        b_open = a_open if vb is None else vb() == lvl
        if not (a_open or b_open) and self._quiet:
            return False
        self._quiet = False
        if a_open != b_open:
            if not self._disagree:
                self._disagree = True
                self._t_disagree = t_ms
            elif ticks_diff(t_ms, self._t_disagree) >= self._disc:
                self.fault = True
                self._seen_both_open = False
        else:
            self._disagree = False
        if a_open and b_open and self.fault:
            self._seen_both_open = True
        if a_open or b_open:
            self.pressed = True  # at once: the safe side needs no debounce
            self._closed = False
            return True
        if not self._closed:
            self._closed = True
            self._t_closed = t_ms
        if self.fault and self._seen_both_open:
            self.fault = False  # both opened together and closed: proven again
        if self.pressed and ticks_diff(t_ms, self._t_closed) >= self._release:
            self.pressed = False
        if not self.pressed:
            self._quiet = True  # (both closed: _disagree is False, fault stays)
        return self.pressed


class Panel:
    """All local inputs into ControlInputs.  Both hold-to-run buttons at once
    means neither (an ambiguous request moves nothing)."""

    def __init__(
        self,
        estop,
        up,
        down,
        start,
        stop,
        home=None,
        end=None,
        power=None,
        contactor=None,
    ):
        # The buttons are kept through their bound updates and _steady (17
        # attributes in 17 slots, not 24 in 29); update reads estop's and
        # contactor's fields.
        self.estop = estop
        self.contactor = contactor  # the motor contactor's auxiliary contact, if wired
        # Both supervised (power: the supply's "on battery" signal, if
        # wired): chatter reads as the steady fault (see the top).  Both
        # fields set here, so the loop adds no attribute (it allocates none).
        if power is not None:
            power._n = 0
            power._t_off = 0
        if contactor is not None:
            contactor._n = 0
            contactor._t_off = 0
        # Each input's update, bound once (issue 10: a method lookup per
        # input per period costs a few microseconds on an RP2040).
        self._estop_u = estop.update
        self._up_u = up.update
        self._down_u = down.update
        self._start_u = start.update
        self._stop_u = stop.update
        self._home_u = None if home is None else home.update
        self._end_u = None if end is None else end.update
        self._power_u = None if power is None else power.update
        self._contactor_u = None if contactor is None else contactor.update
        # The word of every input (see the top; None: each pin read alone).
        # (Names the board already interns: no new qstr.)
        # (_addr and _mask come with mem32)
        self.mem32 = None
        self._raw = -1  # the word of the last full update (-1: none yet)
        self._quiet = False  # ... after which every input was settled
        # the Buttons, whose _steady says each is settled
        self._steady = (up, down, start, stop, home, end, power, contactor)

    def update(self, t_ms, inp):
        m = self.mem32
        if m is not None:
            w = m[self._addr] & self._mask  # pyright: ignore[reportAttributeAccessIssue]
            if w == self._raw and self._quiet:
                return  # nothing changed and nothing is being timed
            self._raw = w
        inp.estop_pressed = self._estop_u(t_ms)
        u = self._up_u(t_ms)
        d = self._down_u(t_ms)
        inp.hold_up = u and not d
        # A welded e-stop channel (fault) costs deeper motion, not the way up.
        inp.hold_down = d and not u and not self.estop.fault
        inp.start_pressed = self._start_u(t_ms)
        inp.stop_pressed = self._stop_u(t_ms)
        f = self._home_u
        if f is not None:
            inp.home_switch = f(t_ms)
        f = self._end_u
        if f is not None:
            inp.end_switch = f(t_ms)
        f = self._power_u
        if f is not None:
            inp.on_battery = f(t_ms)
        f = self._contactor_u
        if f is not None:
            if not inp.estop_pressed:
                # Released, the contactor follows the motor enable, as often
                # as the person works the buttons: judged only once pressed.
                self.contactor._n = 0  # pyright: ignore[reportOptionalMemberAccess] (f: its update)
            inp.motor_power = f(t_ms)
        if m is not None:
            # settled: a next period with this word would change nothing
            q = self.estop._quiet
            if q:
                for b in self._steady:
                    if b is not None and b._steady is None:
                        q = False
                        break
            self._quiet = q
