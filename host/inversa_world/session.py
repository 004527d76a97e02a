# A simulated session: the world (table, person, heart, sensors) and the real
# firmware (built by the firmware's own board builder on a simulated
# `machine`), stepped together in virtual time, period by period.  The
# firmware talks over its MemoryPort exactly as over USB; a small virtual
# host inside the session keeps the lease (heartbeats) and sends scripted
# commands, using the same protocol module as the real host.
#
# MicroPython-compatible, so `inversa sim --vm` runs this very code inside
# the MicroPython interpreter; the host only moves bytes and truth samples.
#
# Usage:
#     s = SimSession(spec, storage_dir="/tmp/run")    # spec: see DEFAULT_SPEC
#     while not s.finished:
#         s.run_for(1000)                              # virtual ms
#         tx = s.take_tx()                             # firmware -> host bytes
#         truth = s.take_truth()     # [(board ticks_ms, angle_cdeg, hr_dbpm)]

from inversa.app import ResetRequested
from inversa.board.clock import VirtualClock
from inversa.board.config import validate as validate_board_config
from inversa.link import messages as M
from inversa.link.frame import encode_frame
from inversa.link.port import MemoryPort
from inversa_world.machine_sim import SimMachine
from inversa_world.panel import TablePanel
from inversa_world.world import World

PERIOD_MS = 10
TRUTH_EVERY_MS = 100
HOST_HEARTBEAT_MS = 500
CALIBRATION_POSITIONS_DEG = (0, -60, -30, 30, 60)  # level first: its angle is exact

DEFAULT_SPEC = {
    "table": "motorized",  # or "manual"
    "board": "pico",
    "imu": "mpu6050",
    "hr": "max30102",
    "brake": True,
    "duration_ms": 240000,
    "seed": 1,
    "host_connected": False,
    # False: no virtual host at all (no heartbeats, host_* events send
    # nothing); a real host on the port (`inversa vboard`) does that.
    "virtual_host": True,
    "telemetry_hz": 20,
    "person": {},  # PersonBody / HeartModel / ManualTilter keyword arguments
    "table_params": {},  # TableParams keyword arguments
    "profile": None,  # Profile.to_bytes(), written to the board before boot
    "events": [],  # [(t_ms, action, {args})], in time order
}


def _spec_value(spec, key):
    if key in spec:
        return spec[key]
    return DEFAULT_SPEC[key]


def _join(a, b):
    if a.endswith("/"):
        return a + b
    return a + "/" + b


class SimSession:
    def __init__(self, spec, storage_dir):
        self.spec = spec
        self.storage_dir = storage_dir
        self.table_kind = _spec_value(spec, "table")
        self.motorized = self.table_kind == "motorized"
        self.duration_ms = _spec_value(spec, "duration_ms")
        self.clock = VirtualClock(0)
        self.t_ms = 0

        # --- the world: table, person, heart, sensor chips on their bus ----
        full = dict(DEFAULT_SPEC)
        full.update(spec)
        self.world = World(full, self.clock)
        self.table = self.world.table
        self.heart = self.world.heart
        self.bus = self.world.bus
        self.imu = self.world.imu
        self.hr_sensor = self.world.hr_sensor
        imu_kind = full["imu"]
        hr_kind = full["hr"]
        self.machine = SimMachine(self.bus)
        self.cfg = validate_board_config(
            {
                "board": _spec_value(spec, "board"),
                "imu": imu_kind,
                "hr": hr_kind,
                "motor": "hbridge" if self.motorized else "none",
                "brake": bool(_spec_value(spec, "brake")),
                "buzzer": True,
                "link": "usb",
                "bench": False,
            },
            "simulated board",
        )
        self.pins = self.cfg.board_def["pins"]

        # --- the person's hands on the table's controls ---------------------
        self.panel = TablePanel()

        # --- the virtual host ----------------------------------------------
        self.host_connected = bool(_spec_value(spec, "host_connected"))
        self.virtual_host = bool(_spec_value(spec, "virtual_host"))
        self.host_silent = False
        self._host_seq = 0
        self._host_next_hb = 0
        self.tx = bytearray()  # firmware -> host, not yet taken
        self.truth = []
        self._truth_next = 0
        self.events = list(_spec_value(spec, "events"))
        self._ev_i = 0
        self.boots = 0
        self.finished = False
        self.powered = True

        self._install_files()
        self._boot(reset_cause=self.machine.PWRON_RESET)

    # -- setup -------------------------------------------------------------
    def _install_files(self):
        profile = _spec_value(self.spec, "profile")
        if profile is not None:
            from inversa.app import PROFILE_FILE

            with open(_join(self.storage_dir, PROFILE_FILE), "wb") as f:
                f.write(profile)
        self._calibrate()

    def _calibrate(self):
        # What a careful user does once after mounting the IMU (docs/SENSING.md):
        # the bed still at level (known exactly) and at four other positions
        # spanning more than 60 deg; the firmware's own calibration routine
        # measures each for two seconds.
        from inversa.app import CALIBRATION_FILE
        from inversa.drivers.mpu6050 import MPU6050
        from inversa.sense.calibration import Calibrator

        if _spec_value(self.spec, "imu") == "mpu6050":
            drv = MPU6050(self.bus)
        else:
            from inversa.drivers.lsm6dsox import LSM6DSOX

            drv = LSM6DSOX(self.bus)
        cal = Calibrator()
        for angle in CALIBRATION_POSITIONS_DEG:
            cal.begin(angle * 100)
            self.imu.set_truth(float(angle), 0.0, 0.0)
            for _ in range(200):
                self.clock.advance_ms(PERIOD_MS)
                if drv.read():
                    cal.add(drv.raw)
            cal.end(drv)
        cal.finish(drv).save(_join(self.storage_dir, CALIBRATION_FILE))
        # the session's own time starts after the installation
        self.imu.set_truth(self.table.angle_deg, 0.0, 0.0)

    def _boot(self, reset_cause):
        from inversa.app import build_app, maintenance_requested
        from inversa.board.build import build_board

        self.port = MemoryPort(tx_capacity=8192, rx_capacity=2048)
        self.port.connected = True
        self.board = build_board(self.cfg, self.machine)
        self.panel.forget_pins()  # new pin objects: drive every input again
        self.boots += 1
        self.powered = True
        if maintenance_requested(self.storage_dir, self.panel.stop_held(self.t_ms)):
            self.app = None  # the REPL: no control loop, outputs as built (safe)
            self.in_maintenance = True
            return
        self.in_maintenance = False
        self.app = build_app(
            self.cfg,
            self.board,
            self.clock,
            self.storage_dir,
            self.port,
            reset_cause=reset_cause,
            uid=b"SIMBOARD",
        )
        if self.spec.get("telemetry_hz") is not None and self.app.link is not None:
            self.app.link.set_telemetry_hz(self.spec["telemetry_hz"])

    # -- events ------------------------------------------------------------
    def _apply(self, action, args):
        t = self.t_ms
        if self.panel.apply(action, t, args):
            return
        if self.world.apply(action, args):
            return
        if action == "host_start":
            self.host_connected = True
            self.host_silent = False
            self._host_send(M.CMD_START, b"")
        elif action == "host_return":
            self._host_send(M.CMD_RETURN, b"")
        elif action == "host_silent":
            self.host_silent = True
        elif action == "power_reset":
            self._boot(reset_cause=self.machine.PWRON_RESET)
        else:
            raise ValueError("unknown action %r" % action)

    # -- the virtual host ------------------------------------------------------
    def _host_send(self, msg_type, payload):
        if not self.virtual_host:
            return
        self._host_seq = (self._host_seq + 1) & 0xFFFF
        self.port.feed_rx(encode_frame(msg_type, self._host_seq, payload))

    def _host_step(self):
        if not self.host_connected or self.host_silent:
            return
        if self.t_ms >= self._host_next_hb:
            self._host_next_hb = self.t_ms + HOST_HEARTBEAT_MS
            self._host_send(M.MSG_HOST_HEARTBEAT, b"")

    # -- wiring between the world and the board's pins ---------------------
    def _read_outputs(self):
        m = self.machine
        p = self.pins
        table = self.table
        # The e-stop contactor cuts motor power in hardware, and with it the
        # brake's supply: the fail-safe brake engages.
        table.power_ok = self.panel.motor_power
        enabled = m.pins[p["motor_en"]].level == 1
        if self.motorized:
            a = m.pwms[p["motor_a"]].duty
            b = m.pwms[p["motor_b"]].duty
            table.motor_enabled = enabled
            table.motor_duty = (a - b) / 65535.0
        brake_released = m.pins[p["brake"]].level == 1 and table.power_ok
        table.brake_on = self.cfg.brake and not brake_released

    # -- stepping ----------------------------------------------------------
    def step(self):
        """One 10 ms period of the world and the firmware."""
        while self._ev_i < len(self.events) and self.events[self._ev_i][0] <= self.t_ms:
            _, action, args = self.events[self._ev_i]
            self._ev_i += 1
            self._apply(action, args)
        dt_s = PERIOD_MS / 1000.0
        self.clock.advance_ms(PERIOD_MS)
        self.t_ms += PERIOD_MS
        table = self.table
        self.world.step(dt_s, self.t_ms)
        self.panel.drive(self.machine, self.pins, self.t_ms, table.home_switch, table.end_switch)
        self._host_step()
        if self.app is not None:
            try:
                self.app.step()
            except ResetRequested:
                self.app.safe()
                self._boot(reset_cause=self.machine.SOFT_RESET)
        self._read_outputs()
        if self.t_ms >= self._truth_next:
            self._truth_next = self.t_ms + TRUTH_EVERY_MS
            self.truth.append(
                (self.clock.ticks_ms(), int(table.angle_deg * 100), int(self.heart.bpm * 10))
            )
        if self.port.tx_pending():
            self.tx.extend(self.port.take_tx())
        if self.t_ms >= self.duration_ms:
            self.finished = True

    def run_for(self, ms):
        end = self.t_ms + ms
        while self.t_ms < end and not self.finished:
            self.step()

    def take_tx(self):
        data = bytes(self.tx)
        self.tx = bytearray()
        return data

    def take_truth(self):
        out = self.truth
        self.truth = []
        return out
