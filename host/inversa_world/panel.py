# The table's local controls as the person (or an operator) works them: the
# START/STOP buttons, the hold-to-run UP/DOWN buttons and the e-stop, plus
# what the wiring shows the board (limit switches, contactor feedback,
# supply).  Used by every simulated board (sim, virtual board, bench rig), so
# a scenario's panel actions mean the same thing everywhere.
#
# Usage:
#     panel = TablePanel()
#     panel.apply("hold_down", t_ms)              # True: a panel action
#     panel.apply("switch_stuck", t_ms, {"switch": "home", "closed": True})
#     panel.drive(machine, pins, t_ms, home, end) # set the board's input pins

from inversa.board.boards import ACTIVE_LEVEL

PRESS_MS = 300  # how long a momentary button is held down

PANEL_ACTIONS = (
    "press_start",
    "press_stop",
    "hold_down",
    "release_down",
    "hold_up",
    "release_up",
    "press_estop",
    "release_estop",
    "break_estop_wire",
    "mains_lost",
    "mains_restored",
    "contactor_welded",
    "button_stuck",
    "button_unstick",
    "switch_chatter",
    "switch_stuck",
    "switch_release",
)
BUTTON_SIGNALS = {"start": "btn_start", "stop": "btn_stop", "up": "btn_up", "down": "btn_down"}


class TablePanel:
    def __init__(self):
        self.estop = False
        self.estop_wire_broken = False
        self.holding_down = False
        self.holding_up = False
        self._start_until = -1
        self._stop_until = -1
        self.on_battery = False  # the supply lost mains (its DC-OK signal)
        self.contactor_welded = False  # K1's contacts stay closed whatever its coil does
        # A limit switch stuck: None (works), True (reads "at its limit"), False (never does).
        self.home_stuck = None
        self.end_stuck = None
        self._key = None
        self.stuck = {}  # signal -> True: that button reads pressed whatever the person does
        self.chatter = {}  # "home"/"end" -> (t0_ms, period_ms, closed_ms, until_ms or -1)

    def apply(self, action, t_ms, args=None):
        """Carry out a panel action; False if `action` is not one."""
        if action == "press_start":
            self._start_until = t_ms + PRESS_MS
        elif action == "press_stop":
            self._stop_until = t_ms + PRESS_MS
        elif action == "hold_down":
            self.holding_down = True
        elif action == "release_down":
            self.holding_down = False
        elif action == "hold_up":
            self.holding_up = True
        elif action == "release_up":
            self.holding_up = False
        elif action == "press_estop":
            self.estop = True
        elif action == "release_estop":
            self.estop = False
        elif action == "break_estop_wire":
            self.estop_wire_broken = True
        elif action == "mains_lost":
            self.on_battery = True
        elif action == "mains_restored":
            self.on_battery = False
        elif action == "contactor_welded":
            self.contactor_welded = True
        elif action == "button_stuck":
            self.stuck[BUTTON_SIGNALS[args["button"]]] = True
        elif action == "button_unstick":
            self.stuck.pop(BUTTON_SIGNALS[args["button"]], None)
        elif action == "switch_chatter":
            period = int(args["period_s"] * 1000)
            until = args.get("until_s")
            self.chatter[args["switch"]] = (
                t_ms,
                period,
                int(period * args["duty"]),
                -1 if until is None else int(until * 1000),
            )
        elif action == "switch_stuck":
            if args["switch"] == "home":
                self.home_stuck = bool(args["closed"])
            else:
                self.end_stuck = bool(args["closed"])
        elif action == "switch_release":
            which = args.get("switch") if args else None
            if which != "end":
                self.home_stuck = None
            if which != "home":
                self.end_stuck = None
        else:
            return False
        return True

    def stop_held(self, t_ms):
        return t_ms < self._stop_until or "btn_stop" in self.stuck

    @property
    def motor_power(self):
        # The e-stop's contactor cuts motor power (and the brake's supply),
        # unless its contacts are welded.
        return not self.estop or self.contactor_welded

    def forget_pins(self):
        """New pin objects (the board rebooted): drive every input again."""
        self._key = None

    def _chattering(self, name, t_ms, closed):
        c = self.chatter.get(name)
        if c is None:
            return closed
        if 0 <= c[3] <= t_ms:
            del self.chatter[name]
            return closed
        return (t_ms - c[0]) % c[1] < c[2]

    def _levels(self, t_ms, home, end):
        estop_open = self.estop or self.estop_wire_broken
        st = self.stuck
        if self.home_stuck is not None:
            home = self.home_stuck
        if self.end_stuck is not None:
            end = self.end_stuck
        if self.chatter:
            home = self._chattering("home", t_ms, home)
            end = self._chattering("end", t_ms, end)
        return (
            ("estop_a", estop_open),
            ("estop_b", estop_open),
            ("btn_down", self.holding_down or "btn_down" in st),
            ("btn_up", self.holding_up or "btn_up" in st),
            ("btn_start", t_ms < self._start_until or "btn_start" in st),
            ("btn_stop", t_ms < self._stop_until or "btn_stop" in st),
            ("home_sw", home),
            ("end_sw", end),
            ("contactor_fb", self.motor_power),  # closed while motor power is on
            ("power_ok", self.on_battery),
        )

    def drive(self, machine, pins, t_ms, home, end):
        """Set the board's input pins; the level meaning "active" is the wiring's."""
        levels = self._levels(t_ms, home, end)
        key = tuple([a for _, a in levels])
        if key == self._key:
            return  # nothing changed: the pins still hold these levels
        self._key = key
        for name, active in levels:
            level = ACTIVE_LEVEL[name]
            machine.pins[pins[name]].set_level(level if active else 1 - level)

    def drive_one(self, machine, pins, gpio, t_ms, table):
        """Set one input pin as the wiring shows it now (a pin just created
        by a booting board reads the held button, the pressed e-stop)."""
        for name, active in self._levels(t_ms, table.home_switch, table.end_switch):
            if pins[name] == gpio:
                level = ACTIVE_LEVEL[name]
                machine.pins[gpio].set_level(level if active else 1 - level)
                return
