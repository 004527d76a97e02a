# The bench-mode rig: the firmware booted with "bench": true on a simulated
# machine and nothing else; its sensors are the injected drivers, fed over
# the link by `inversa bench`.  Limit switches read "not at the limit"
# (jumpered, as on a bench board).  MicroPython-compatible: the virtual board
# runs this very module in CPython or inside the MicroPython interpreter.
#
# Usage:
#     rig = BenchRig(board_json_values, storage_dir)
#     rig.port.feed_rx(host_bytes); rig.run_for(50); out = rig.take_tx()
#     rig.events.append((rig.t_ms, "hold_down", {}))   # a panel action

from inversa.app import ResetRequested
from inversa.board.clock import VirtualClock
from inversa.board.config import validate
from inversa.link.port import MemoryPort
from inversa_world.devices.bus import FakeI2CBus
from inversa_world.machine_sim import SimMachine
from inversa_world.panel import TablePanel

PERIOD_MS = 10


class BenchRig:
    def __init__(self, values, storage_dir, uid=b"VBENCH01"):
        self.uid = uid  # machine.unique_id() of a real board; each virtual one its own
        self.cfg = validate(values, "virtual bench board")
        self.storage_dir = storage_dir
        self.clock = VirtualClock(0)
        self.machine = SimMachine(FakeI2CBus(seed=1))
        self.pins = self.cfg.board_def["pins"]
        self.t_ms = 0
        self.panel = TablePanel()
        self.events = []
        self.tx = bytearray()
        self.boots = 0
        self.finished = False
        self._boot(self.machine.PWRON_RESET)

    def _boot(self, cause):
        from inversa.app_boot import maintenance_requested
        from inversa.app_build import build_app
        from inversa.board.build import build_board

        self.port = MemoryPort(tx_capacity=8192, rx_capacity=2048)
        self.board = build_board(self.cfg, self.machine)
        self.panel.forget_pins()
        self._drive()  # the wiring holds its levels before the firmware looks
        if maintenance_requested(self.storage_dir):
            self.app = None  # the REPL: no control loop, outputs as built (safe)
            self.in_maintenance = True
            self.boots += 1
            return
        self.in_maintenance = False
        self.app = build_app(
            self.cfg,
            self.board,
            self.clock,
            self.storage_dir,
            self.port,
            reset_cause=cause,
            uid=self.uid,
        )
        # STOP held at power-on asks through the idle gate (as boot() does)
        self.app.stop_at_boot = self.panel.stop_held(self.t_ms)
        self.boots += 1

    def _apply(self, action):
        if action == "power_reset":
            self._boot(self.machine.PWRON_RESET)
        elif not self.panel.apply(action, self.t_ms):
            raise ValueError("not a panel action: %r" % action)

    def _drive(self):
        self.panel.drive(self.machine, self.pins, self.t_ms, False, False)

    def step(self):
        ev = self.events
        while ev and ev[0][0] <= self.t_ms:
            self._apply(ev.pop(0)[1])
        self.clock.advance_ms(PERIOD_MS)
        self.t_ms += PERIOD_MS
        self._drive()
        if self.app is not None:
            try:
                self.app.step()
            except ResetRequested:
                self.app.safe()
                self._boot(self.machine.SOFT_RESET)
        if self.port.tx_pending():
            self.tx.extend(self.port.take_tx())

    def run_for(self, ms):
        end = self.t_ms + ms
        while self.t_ms < end:
            self.step()

    def take_tx(self):
        data = bytes(self.tx)
        self.tx = bytearray()
        return data
