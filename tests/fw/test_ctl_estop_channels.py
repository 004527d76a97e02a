"""A two-channel e-stop with one channel welded (safety review attack2, 30 Nov).

The e-stop's contact block has two channels; one welds closed (it never
opens again).  Pressing the e-stop opens only the other one: the panel
(drivers/buttons.py EStop) sees the channels disagree for 200 ms and
latches its discrepancy fault, which kept the e-stop reading "pressed"
until both channels had been seen open together, which a welded channel
never does.  The controller stayed in ESTOP for good, motor cut, with the
person hanging inverted (the local clear needs the e-stop released).
Required (DESIGN.md §3, trapped inverted: every abnormal condition ends
with the person brought up; unintended motion): the press is latched and
the local clear brings the person up gradually; what the fault costs is
deeper motion, refused until the e-stop has been seen to open on both
channels again (a repaired contact block).

Here, in virtual time: the panel wired as app_build.build_panel wires it
(tests/fw/test_ctl_supply_chatter.py's Wiring) in front of the controller
and its kinematic plant, judged on the plant's TRUE angle by the
simulator's rules (inversa_host/sim/judge.py) through test_ctl_reset_
properties.Run.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from test_ctl_reset_properties import SOME, Run, profiles
from test_ctl_supply_chatter import Wiring

from inversa.control import states as S
from inversa.control.profile import Profile


class Table:
    """A Run whose e-stop and buttons go through the real panel: the test
    says what the person does (`hold`) and which e-stop channel is
    welded; the panel's reading is what the controller gets."""

    def __init__(self, profile: Profile, welded: str) -> None:
        self.r = Run(profile)
        self.w = Wiring()
        self.welded = welded  # "a" or "b": that channel never opens ("": none)
        self.pressed = False  # the person presses the e-stop
        self.hold = {"up": False, "down": False, "start": False, "stop": False}
        self.r.override = self._panel

    def _panel(self, rig) -> None:
        w, h = self.w, self.hold
        w.estop_a.v = 1 if self.pressed and self.welded != "a" else 0
        w.estop_b.v = 1 if self.pressed and self.welded != "b" else 0
        w.btn[0].v = 1 if h["up"] else 0
        w.btn[1].v = 1 if h["down"] else 0
        w.btn[2].v = 1 if h["start"] else 0
        w.btn[3].v = 0 if h["stop"] else 1  # NC: pressed opens it
        w.panel.update(rig.t_ms, rig.inp)  # (no limit switches wired: the plant's stay)

    def press_estop(self, ms: int) -> None:
        self.pressed = True
        self.r.ev("press_estop")
        self.r.run(ms)
        self.pressed = False
        self.r.ev("release_estop")

    def tap(self, button: str, ms: int = 300) -> None:
        self.r.ev("press_" + button)
        self.hold[button] = True
        self.r.run(ms)
        self.hold[button] = False

    def armed(self) -> None:
        """START at the table, then the baseline."""
        r = self.r
        self.tap("start")
        while r.rig.out.state == S.BASELINE and r.rig.t_ms < 2_000_000:
            r.run(100)

    def down(self, ms: int) -> None:
        self.r.ev("hold_down")
        self.hold["down"] = True
        self.r.run(ms)
        self.hold["down"] = False
        self.r.ev("release_down")

    def session(self, held_ms: int) -> None:
        self.r.run(1500)
        self.r.estop_latched = False  # (the panel's own boot reading, not a press)
        self.armed()
        self.down(held_ms)


@SOME
@given(
    profile=profiles,
    welded=st.sampled_from(["a", "b"]),
    held_ms=st.integers(1000, 20000),
    press_after_ms=st.integers(0, 60000),
    press_ms=st.integers(300, 5000),
)
@example(
    Profile(max_angle_cdeg=2500, hold_ms=20000, descent_cdps=500, hr_mode=0), "b", 18000, 5000, 1000
)
def test_an_estop_with_a_welded_channel_latches_and_the_local_clear_still_brings_the_person_up(
    profile: Profile, welded: str, held_ms: int, press_after_ms: int, press_ms: int
) -> None:
    t = Table(profile, welded)
    r = t.r
    t.session(held_ms)
    r.run(press_after_ms // 10 * 10)
    t.press_estop(press_ms)
    r.run(2000)
    assert r.rig.out.state == S.ESTOP  # latched: releasing is not enough
    t.tap("stop")  # the local clear
    r.settle()
    # Brought up gradually to the loading position, not left latched.
    assert r.broken(("depth", "end", "return", "speed"), latched_ok=()) == [], S.STATE_NAMES[
        r.rig.out.state
    ]
    assert r.moved_while_latched_ms == 0
    # The e-stop lost one channel: no deeper motion until it is repaired.
    t.armed()
    before = r.rig.plant.angle_cdeg
    t.down(5000)
    assert r.rig.plant.angle_cdeg <= before + 50, S.STATE_NAMES[r.rig.out.state]


def test_an_estop_repaired_after_a_welded_channel_allows_motion_again() -> None:
    # The fault's cost ends once both channels are seen open together (a
    # new contact block, pressed once): the table is usable again.
    prof = Profile(max_angle_cdeg=2500, hold_ms=20000, descent_cdps=500, hr_mode=0)
    t = Table(prof, "b")
    r = t.r
    t.session(5000)
    t.press_estop(1000)
    r.run(1000)
    t.tap("stop")
    r.settle()
    assert r.rig.out.state in (S.IDLE, S.DONE)
    t.welded = ""  # repaired: both channels open on a press
    t.press_estop(500)
    r.run(1000)
    t.tap("stop")
    r.run(6000)
    t.armed()
    before = r.rig.plant.angle_cdeg
    t.down(5000)
    assert r.rig.plant.angle_cdeg > before + 1000, S.STATE_NAMES[r.rig.out.state]
