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
from inversa.link.port import MemoryPort
from inversa.link.wire import encode_frame
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


def _no_sleep(us):
    pass


def _join(a, b):
    if a.endswith("/"):
        return a + b
    return a + "/" + b


def calibrate(imu_kind, bus, imu, clock):
    """What a careful user does once after mounting the IMU (docs/SENSING.md):
    the bed still at level (known exactly) and at four other positions
    spanning more than 60 deg; the firmware's own calibration routine
    measures each for two seconds.  Returns the calibration (``.save(path)``)."""
    from inversa.sense.calibrator import Calibrator

    if imu_kind == "mpu6050":
        from inversa.drivers.mpu6050 import MPU6050

        drv = MPU6050(bus)
    else:
        from inversa.drivers.lsm6dsox import LSM6DSOX

        drv = LSM6DSOX(bus)
    cal = Calibrator()
    for angle in CALIBRATION_POSITIONS_DEG:
        cal.begin(angle * 100)
        imu.set_truth(float(angle), 0.0, 0.0)
        for _ in range(200):
            clock.advance_ms(PERIOD_MS)
            if drv.read():
                cal.add(drv.raw)
        cal.end(drv)
    return cal.finish(drv)


class ScenarioReplay:
    """What every simulated board does with a scenario (SimSession here, the
    emulated Pico's Rp2Session): its events replayed in virtual time, the
    panel's and the world's actions carried out, and a small virtual host
    that keeps the lease (heartbeats) and sends the scripted commands.  A
    subclass has t_ms, panel and world, and gives _to_board(frame bytes) and
    _apply_board(action, args) (an action neither the panel's, the world's
    nor the host's)."""

    def _init_replay(self, full):
        self.host_connected = bool(full["host_connected"])
        self.virtual_host = bool(full["virtual_host"])
        self.host_silent = False
        self._host_seq = 0
        self._host_next_hb = 0
        self.events = list(full["events"])
        self._ev_i = 0

    def _replay(self):
        """Carry out the events due by now, in order."""
        while self._ev_i < len(self.events) and self.events[self._ev_i][0] <= self.t_ms:
            _, action, args = self.events[self._ev_i]
            self._ev_i += 1
            self._apply(action, args)

    def _apply(self, action, args):
        if self.panel.apply(action, self.t_ms, args):
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
        else:
            self._apply_board(action, args)

    # -- the virtual host ------------------------------------------------------
    def _host_send(self, msg_type, payload):
        if not self.virtual_host:
            return
        self._host_seq = (self._host_seq + 1) & 0xFFFF
        self._to_board(encode_frame(msg_type, self._host_seq, payload))

    def _host_step(self):
        if not self.host_connected or self.host_silent:
            return
        if self.t_ms >= self._host_next_hb:
            self._host_next_hb = self.t_ms + HOST_HEARTBEAT_MS
            self._host_send(M.MSG_HOST_HEARTBEAT, b"")


class SimSession(ScenarioReplay):
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
        self.board_json = {
            "board": _spec_value(spec, "board"),
            "imu": imu_kind,
            "hr": hr_kind,
            "motor": "hbridge" if self.motorized else "none",
            "brake": bool(_spec_value(spec, "brake")),
            "buzzer": True,
            "link": "usb",
            "bench": False,
        }
        self.cfg = validate_board_config(self.board_json, "simulated board")
        self.pins = self.cfg.board_def["pins"]

        # --- the person's hands on the table's controls ---------------------
        self.panel = TablePanel()

        # --- the scenario's events and the virtual host ----------------------
        self._init_replay(full)
        self.tx = bytearray()  # firmware -> host, not yet taken
        self.truth = []
        self._truth_next = 0
        self.boots = 0
        self.boot_log = []  # what the firmware reported while booting
        self.finished = False
        self.powered = True

        self._install_files()
        self._boot(reset_cause=self.machine.PWRON_RESET)

    # -- setup -------------------------------------------------------------
    def _install_files(self):
        import json

        from inversa.board.config import CONFIG_PATH

        # The board config as `inversa deploy` writes it: the boot reads it.
        self.config_path = _join(self.storage_dir, CONFIG_PATH.lstrip("/"))
        with open(self.config_path, "w") as f:
            f.write(json.dumps(self.board_json))
        profile = _spec_value(self.spec, "profile")
        if profile is not None:
            from inversa.storage import PROFILE_FILE

            with open(_join(self.storage_dir, PROFILE_FILE), "wb") as f:
                f.write(profile)
        self._calibrate()

    def _calibrate(self):
        from inversa.storage import CALIBRATION_FILE

        imu_kind = _spec_value(self.spec, "imu")
        cal = calibrate(imu_kind, self.bus, self.imu, self.clock)
        cal.save(_join(self.storage_dir, CALIBRATION_FILE))
        # the session's own time starts after the installation
        self.imu.set_truth(self.table.angle_deg, 0.0, 0.0)

    def _boot(self, reset_cause):
        # What inversa.app.run() does on the board, on the simulated machine
        # (the same boot(): config file, board, maintenance, sensors, link),
        # minus the watchdog and the scheduler (the session steps the app).
        from inversa.app_boot import boot

        self.port = MemoryPort(tx_capacity=8192, rx_capacity=2048)
        self.port.connected = True
        m = self.machine
        m.reset_cause_value = reset_cause
        m.uid = self.spec.get("uid", b"SIMBOARD")  # each virtual board its own id
        m.pins.clear()
        self.panel.forget_pins()
        m.on_pin_created = self._pin_created  # inputs are driven as soon as they exist
        self.boots += 1
        self.powered = True
        self.app = boot(
            m,
            self.clock,
            self._open_port,
            self.config_path,
            self.storage_dir,
            sleep_us=_no_sleep,
            log=self.boot_log.append,
        )
        m.on_pin_created = None
        self.panel.forget_pins()  # drive every input again
        if self.app is None:
            self.in_maintenance = True  # the REPL: no loop, outputs as built (safe)
            return
        self.in_maintenance = False
        if self.spec.get("telemetry_hz") is not None and self.app.link is not None:
            self.app.link.set_telemetry_hz(self.spec["telemetry_hz"])

    def _open_port(self, cfg, board):
        return self.port

    def _pin_created(self, gpio):
        # The world's wiring is there before the firmware looks at a pin: a
        # button held or the e-stop pressed during a boot reads so at once.
        self.panel.drive_one(self.machine, self.pins, gpio, self.t_ms, self.table)

    # -- what the scenario and the virtual host do to this board -----------
    def _apply_board(self, action, args):
        if action == "power_reset":  # a power cut: the retained RAM is lost
            self.machine.retained_words[:] = [0, 0, 0, 0]
            self._boot(reset_cause=self.machine.PWRON_RESET)
        elif action == "watchdog_reset":  # the retained RAM stays
            self._boot(reset_cause=self.machine.WDT_RESET)
        else:
            raise ValueError("unknown action %r" % action)

    def _to_board(self, frame):
        self.port.feed_rx(frame)

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
        self._replay()
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
