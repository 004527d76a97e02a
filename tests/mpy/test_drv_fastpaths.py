# The panel's steady-state fast paths (issue 10: Button._steady, EStop._quiet)
# and the H-bridge's and the brake's skipped repeated writes
# against plain twins: the update rules as they were before them, copied
# here as the reference.  Both are fed the same pin readings (long steady
# runs, chatter, single-period glitches, channels that disagree, irregular
# periods) and must return the same value and hold the same state after
# every update.  CPython and MicroPython.
from inversa.compat import ticks_diff
from inversa.drivers.brake import Brake
from inversa.drivers.buttons import Button, EStop
from inversa.drivers.hbridge import HBridge


class _RefButton:
    # drivers/buttons.py Button.update before the fast path (main, 30 Nov)
    def __init__(self, pin, pressed_level=1, debounce_ms=20):
        self._value = pin.value
        self._level = pressed_level
        self._db = debounce_ms
        self._raw = None
        self._t = 0
        self.pressed = True

    def update(self, t_ms):
        raw = self._value() == self._level
        r0 = self._raw
        if raw == r0:
            if raw == self.pressed:
                return raw
        elif r0 is None:
            self._raw = raw
            self._t = t_ms
            self.pressed = raw
            return raw
        else:
            self._raw = raw
            self._t = t_ms
        if raw != self.pressed and ticks_diff(t_ms, self._t) >= self._db:
            self.pressed = raw
        return self.pressed


class _RefEStop:
    # drivers/buttons.py EStop.update before the fast path (main, 30 Nov)
    def __init__(self, pin_a, pin_b=None, pressed_level=1, release_ms=50, discrepancy_ms=200):
        self._va = pin_a.value
        self._vb = None if pin_b is None else pin_b.value
        self._level = pressed_level
        self._release = release_ms
        self._disc = discrepancy_ms
        self.pressed = True
        self.fault = False
        self._t_closed = 0
        self._closed = False
        self._t_disagree = 0
        self._disagree = False
        self._seen_both_open = False

    def update(self, t_ms):
        lvl = self._level
        a_open = self._va() == lvl
        vb = self._vb
        b_open = a_open if vb is None else vb() == lvl
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
            self.pressed = True
            self._closed = False
            return True
        if not self._closed:
            self._closed = True
            self._t_closed = t_ms
        if self.fault and self._seen_both_open:  # (attack2, 30 Nov: no longer held pressed)
            self.fault = False
        if self.pressed and ticks_diff(t_ms, self._t_closed) >= self._release:
            self.pressed = False
        return self.pressed


class _Pin:
    def __init__(self):
        self.v = 0

    def value(self):
        return self.v


class _Rng:
    # a small LCG: the same sequence in CPython and MicroPython
    def __init__(self, seed):
        self.s = seed

    def below(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


def _levels(rng, n):
    # runs of one level, 1-60 periods long, some single-period glitches
    out = []
    v = rng.below(2)
    while len(out) < n:
        k = 1 + rng.below(60) if rng.below(4) else 1
        out.extend([v] * k)
        v ^= 1
    return out[:n]


def _times(rng, n):
    t = rng.below(1000)
    out = []
    for _ in range(n):
        out.append(t)
        t += 10 if rng.below(8) else 1 + rng.below(40)  # mostly 10 ms periods
    return out


def test_button_fast_path_matches_the_plain_rule():
    steady = 0
    for seed in range(1, 13):
        rng = _Rng(seed)
        level = rng.below(2)
        db = (0, 10, 20, 35)[rng.below(4)]
        pin = _Pin()
        new = Button(pin, pressed_level=level, debounce_ms=db)
        ref = _RefButton(pin, pressed_level=level, debounce_ms=db)
        n = 400
        levels = _levels(rng, n)
        times = _times(rng, n)
        for i in range(n):
            v = levels[i]
            t = times[i]
            pin.v = v
            if (v == level) is new._steady:
                steady += 1
            a = new.update(t)
            b = ref.update(t)
            assert a == b, (seed, t, a, b)
            assert new.pressed == ref.pressed and new._raw == ref._raw and new._t == ref._t
    assert steady > 2000  # the fast path ran, not only the full rule


def test_estop_fast_path_matches_the_plain_rule():
    quiet_periods = 0
    for seed in range(1, 13):
        rng = _Rng(1000 + seed)
        level = rng.below(2)
        two = seed % 5 != 0  # some single-channel e-stops
        pa = _Pin()
        pb = _Pin() if two else None
        new = EStop(pa, pb, pressed_level=level)
        ref = _RefEStop(pa, pb, pressed_level=level)
        n = 500
        la = _levels(rng, n)
        # channel b mostly follows a, sometimes on its own (disagreement)
        lb = _levels(rng, n)
        for i, t in enumerate(_times(rng, n)):
            pa.v = la[i]
            if pb is not None:
                pb.v = lb[i] if (i // 97) % 3 == 0 else la[i]
            was_quiet = new._quiet
            a = new.update(t)
            b = ref.update(t)
            assert a == b, (seed, i, t, a, b)
            assert new.pressed == ref.pressed and new.fault == ref.fault
            assert new._disagree == ref._disagree and new._closed == ref._closed
            assert new._seen_both_open == ref._seen_both_open
            if was_quiet and not a:
                quiet_periods += 1
    assert quiet_periods > 600  # the fast path ran, not only the full rule


class _RefSupervised:
    # A supervised Button (Panel's DC-OK and contactor inputs, safety review
    # 30 Nov) stated plainly, every reading through the whole rule: each
    # edge to the pressed side is kept; three, each less than 5 s after the
    # one before, read pressed until 5 s after the last.
    def __init__(self, pin, pressed_level, debounce_ms):
        self._b = _RefButton(pin, pressed_level=pressed_level, debounce_ms=debounce_ms)
        self._v = pin.value
        self._level = pressed_level
        self._prev = None
        self._edges = []

    def update(self, t_ms):
        raw = self._v() == self._level
        if raw and self._prev is False:
            if self._edges and ticks_diff(t_ms, self._edges[-1]) >= 5000:
                self._edges = []
            self._edges.append(t_ms)
        self._prev = raw
        p = self._b.update(t_ms)
        if len(self._edges) >= 3 and ticks_diff(t_ms, self._edges[-1]) < 5000:
            return True
        return p


def test_supervised_button_matches_the_plain_rule():
    held = 0
    steady = 0
    for seed in range(1, 9):
        rng = _Rng(seed)
        level = rng.below(2)
        db = (20, 200)[rng.below(2)]
        pin = _Pin()
        new = Button(pin, pressed_level=level, debounce_ms=db)
        new._n = 0  # as Panel supervises it
        ref = _RefSupervised(pin, level, db)
        n = 2400
        levels = _levels(rng, n)
        for i in range(n):
            if i % 1200 >= 600:
                levels[i] = 1 - level  # 6 s released: the hold runs out
        times = _times(rng, n)
        for i in range(n):
            pin.v = levels[i]
            if (levels[i] == level) is new._steady:
                steady += 1
            a = new.update(times[i])
            b = ref.update(times[i])
            assert a == b, (seed, times[i], a, b)
            if a and not new.pressed:
                held += 1
    assert held > 100 and steady > 3000  # both the hold and the fast path ran


# Panel's one read of every input (mem32/_addr/_mask: the RP2040's SIO
# GPIO_IN word, set by app_build.build_panel there)
# against the same Panel reading each pin alone: the same ControlInputs
# after every period.
_PANEL_FIELDS = (
    "estop_pressed",
    "hold_up",
    "hold_down",
    "start_pressed",
    "stop_pressed",
    "home_switch",
    "end_switch",
    "on_battery",
    "motor_power",
)
# GPIO numbers of the ten inputs (the word's other bits toggle too: masked)
_GPIOS = (2, 3, 6, 7, 8, 9, 10, 11, 13, 14)
_ADDR = 0xD0000004


class _Inp:
    def __init__(self):
        for f in _PANEL_FIELDS:
            setattr(self, f, None)


class _Mem:
    # machine.mem32 over the fake pins: the word at GPIO_IN
    def __init__(self, pins):
        self.pins = pins
        self.noise = 0

    def __getitem__(self, addr):
        assert addr == _ADDR
        w = self.noise
        for i in range(len(_GPIOS)):
            w |= self.pins[i].v << _GPIOS[i]
        return w


def _panel(pins, levels, word):
    from inversa.drivers.buttons import Panel

    b = [
        Button(pins[i], pressed_level=levels[i], debounce_ms=(20, 10, 200)[i % 3])
        for i in range(2, 10)
    ]
    estop = EStop(pins[0], pins[1], pressed_level=levels[0])
    p = Panel(estop, *b)
    if word is not None:
        p.mem32, p._addr, p._mask = word
    return p


def test_panel_one_word_read_matches_each_pin_read():
    skipped = 0
    for seed in range(1, 6):
        rng = _Rng(500 + seed)
        pins = [_Pin() for _ in _GPIOS]
        levels = [rng.below(2) for _ in _GPIOS]
        mem = _Mem(pins)
        mask = 0
        for g in _GPIOS:
            mask |= 1 << g
        word = _panel(pins, levels, (mem, _ADDR, mask))
        each = _panel(pins, levels, None)
        a = _Inp()
        b = _Inp()
        for k in range(len(pins)):
            pins[k].v = 1 - levels[k]  # released / closed
        t = rng.below(1000)
        back = []  # (period, pin): the pin goes back to rest then
        for i in range(1500):
            # mostly still; now and then an input is pressed for 1-100
            # periods (one period: a glitch): the e-stop (both channels
            # open), one e-stop channel alone for 1-10 (they disagree), a
            # button or switch; sometimes two at once
            for _ in range(2 if rng.below(4) == 0 else 1):
                k = rng.below(250)
                if k >= len(pins):
                    break
                end = i + 1 + rng.below(100)
                if k == 0:
                    pins[0].v ^= 1
                    pins[1].v ^= 1
                    back += [(end, 0), (end, 1)]
                elif k == 1:
                    pins[1].v ^= 1
                    back.append((i + 1 + rng.below(10), 1))
                else:
                    pins[k].v ^= 1
                    back.append((end, k))
            for e in [e for e in back if e[0] == i]:
                back.remove(e)
                pins[e[1]].v ^= 1
            mem.noise = rng.below(4) << 30 >> 2 | rng.below(2) << 25  # other pins (masked)
            t += 10 if rng.below(8) else 1 + rng.below(40)
            before = word._raw, word._quiet
            word.update(t, a)
            each.update(t, b)
            if before[1] and before[0] == word._raw:
                skipped += 1
            for f in _PANEL_FIELDS:
                assert getattr(a, f) == getattr(b, f), (seed, i, f, getattr(a, f), getattr(b, f))
    assert skipped > 1000  # the one-read path returned early, not only the full update


class _Out:
    # a pin or a PWM output that counts every write (in log[0])
    def __init__(self, log, v):
        self._log = log
        self.v = v

    def value(self, v):
        self.v = v
        self._log[0] += 1

    def duty_u16(self, v):
        self.v = v
        self._log[0] += 1


class _RefHBridge:
    # drivers/hbridge.py HBridge.drive before it skipped repeated writes
    # (main, 30 Nov): every call writes the enable pin and both PWMs.
    def __init__(self, a, b, en, fs, mn):
        self._a, self._b, self._en, self._fs, self._min = a, b, en, fs, mn
        self.duty_u16 = 0
        self.direction = 0
        self.stop()

    def stop(self):
        self._a.duty_u16(0)
        self._b.duty_u16(0)
        if self._en is not None:
            self._en.value(0)
        self.duty_u16 = 0
        self.direction = 0

    def drive(self, cmd_cdps, enable):
        if not enable:
            self.stop()
            return
        if self._en is not None:
            self._en.value(1)
        mag = cmd_cdps if cmd_cdps >= 0 else -cmd_cdps
        if mag == 0:
            self._a.duty_u16(0)
            self._b.duty_u16(0)
            self.duty_u16 = 0
            self.direction = 0
            return
        if mag > self._fs:
            mag = self._fs
        duty = self._min + mag * (65535 - self._min) // self._fs
        if cmd_cdps > 0:
            self._b.duty_u16(0)
            self._a.duty_u16(duty)
            self.direction = 1
        else:
            self._a.duty_u16(0)
            self._b.duty_u16(duty)
            self.direction = -1
        self.duty_u16 = duty


def _hbridge_pair(fs, mn, with_en):
    made = []
    for cls in (HBridge, _RefHBridge):
        log = [0]
        a, b = _Out(log, 7), _Out(log, 7)
        en = _Out(log, 7) if with_en else None
        made.append((cls(a, b, en, fs, mn), (a, b, en), log))
    return made


def test_hbridge_writes_only_what_changes_and_the_pins_match_the_plain_driver():
    # Commands as the controller gives them: runs of one command, ramps,
    # reversals, 0 with and without enable, clamping, stop() between.
    seed = 12345
    for fs, mn, with_en in ((600, 0, True), (600, 9000, True), (1000, 65000, False), (7, 3, True)):
        (new, pins_n, log_n), (ref, pins_r, log_r) = _hbridge_pair(fs, mn, with_en)
        for i in range(3000):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            k = seed >> 16
            if k % 97 == 0:
                new.stop()
                ref.stop()
            else:
                if k % 5 == 0:
                    cmd = (k >> 3) % 1601 - 800  # anywhere, past full scale too
                elif k % 5 == 1:
                    cmd = 0
                else:
                    cmd = (i // 40) % 7 * 60 - 180  # runs of one command
                en = k % 11 != 0
                new.drive(cmd, en)
                ref.drive(cmd, en)
            for j in range(3):
                pn = pins_n[j]
                pr = pins_r[j]
                assert (pn is None) == (pr is None)
                if pn is not None:
                    assert pn.v == pr.v, (i, fs, mn)
            assert (new.duty_u16, new.direction) == (ref.duty_u16, ref.direction)
            # one side at most ever driven, the other zeroed first
            assert pins_n[0].v == 0 or pins_n[1].v == 0
        # what it is for: a third or more of the plain driver's writes were repeats
        assert log_n[0] * 3 < log_r[0] * 2, (log_n[0], log_r[0])


def test_brake_writes_its_pin_only_when_the_level_changes():
    # The plain set() (main, 30 Nov) wrote the pin every period; the level
    # it leaves must be the same after every call, engage() and release()
    # included, for either release level.
    seed = 99
    for rel in (0, 1):
        log = [0]
        pin = _Out(log, 7)
        br = Brake(pin, rel)
        ref_writes = 1  # the constructor's engage()
        for i in range(2000):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            k = (seed >> 16) % 100
            if k == 0:
                br.engage()
                on = True
            elif k == 1:
                br.release()
                on = False
            else:
                # runs of one level (a session's motion, a hold), a flip now and then
                on = (i // 25) % 3 != 0 if k > 6 else k & 1 == 0
                br.set(on)
            ref_writes += 1
            assert pin.v == (1 - rel if on else rel)
            assert br.engaged == on
        assert log[0] * 4 < ref_writes, (log[0], ref_writes)
