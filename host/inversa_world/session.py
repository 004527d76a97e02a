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

from inversa.board.clock import VirtualClock
from inversa.board.config import validate as validate_board_config
from inversa.link import messages as M
from inversa.link.frame import encode_frame
from inversa.link.port import MemoryPort
from inversa_world.devices.bus import FakeI2CBus
from inversa_world.machine_sim import SimMachine
from inversa_world.person import HeartModel, ManualTilter
from inversa_world.ppg import PPGSynth
from inversa_world.table import PersonBody, TableModel, TableParams

PERIOD_MS = 10
TRUTH_EVERY_MS = 100
HEART_EVERY_MS = 100
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

_BODY_KEYS = ("mass_kg", "height_m", "com_along_m", "com_above_m")
_HEART_KEYS = {
    "resting_hr_bpm": "resting_bpm",
    "hr_inversion_delta_bpm": "inversion_delta_bpm",
    "hr_inversion_tau_s": "inversion_tau_s",
}
_TILTER_KEYS = ("descent_dps", "return_dps")


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
        seed = _spec_value(spec, "seed")
        person = _spec_value(spec, "person")
        self.clock = VirtualClock(0)
        self.t_ms = 0

        # --- the world ---------------------------------------------------
        body_kw = {}
        for k in _BODY_KEYS:
            if k in person:
                body_kw[k] = person[k]
        tp = dict(_spec_value(spec, "table_params"))
        tp["motorized"] = self.motorized
        self.table = TableModel(TableParams(**tp), PersonBody(**body_kw))
        heart_kw = {"seed": seed + 11}
        for k in _HEART_KEYS:
            if k in person:
                heart_kw[_HEART_KEYS[k]] = person[k]
        self.heart = HeartModel(**heart_kw)
        tilt_kw = {}
        for k in _TILTER_KEYS:
            if k in person:
                tilt_kw[k] = person[k]
        self.tilter = ManualTilter(**tilt_kw)
        self.ppg = PPGSynth(seed=seed + 3, hr_bpm=self.heart.bpm)

        # --- the board's sensors on its I2C bus ---------------------------
        self.bus = FakeI2CBus(seed=seed)
        imu_kind = _spec_value(spec, "imu")
        hr_kind = _spec_value(spec, "hr")
        if imu_kind == "mpu6050":
            from inversa_world.devices.mpu6050 import FakeMPU6050

            self.imu = self.bus.attach(0x68, FakeMPU6050(self.clock, seed=seed))
        else:
            from inversa_world.devices.lsm6dsox import FakeLSM6DSOX

            self.imu = self.bus.attach(0x6A, FakeLSM6DSOX(self.clock, seed=seed))
        self.hr_sensor = None
        if hr_kind == "max30102":
            from inversa_world.devices.max30102 import FakeMAX30102

            self.hr_sensor = self.bus.attach(
                0x57, FakeMAX30102(self.clock, seed=seed, source=self.ppg)
            )
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
        from inversa.board.boards import ACTIVE_LEVEL

        self._active = ACTIVE_LEVEL

        # --- the person's hands and the table's switches ------------------
        self.estop = False
        self.estop_wire_broken = False
        self.holding_down = False
        self.holding_up = False
        self._press_start_until = -1
        self._press_stop_until = -1

        # --- the virtual host ----------------------------------------------
        self.host_connected = bool(_spec_value(spec, "host_connected"))
        self.virtual_host = bool(_spec_value(spec, "virtual_host"))
        self.host_silent = False
        self._host_seq = 0
        self._host_next_hb = 0
        self.tx = bytearray()  # firmware -> host, not yet taken
        self.truth = []
        self._truth_next = 0
        self._heart_next = 0
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
        from inversa.app import build_app
        from inversa.board.build import build_board

        self.port = MemoryPort(tx_capacity=8192, rx_capacity=2048)
        self.port.connected = True
        self.board = build_board(self.cfg, self.machine)
        self._inputs_key = None  # new pin objects: drive every input again
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
        self.boots += 1
        self.powered = True

    # -- events ------------------------------------------------------------
    def _apply(self, action, args):
        t = self.t_ms
        if action == "press_start":
            self._press_start_until = t + 300
        elif action == "press_stop":
            self._press_stop_until = t + 300
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
        elif action == "tilt_to":
            self.tilter.set_goal(args["angle_deg"], args.get("pace_dps"))
        elif action == "relax":
            self.tilter.set_goal(None)
        elif action == "hr_ramp":
            self.heart.ramp_to(args["delta_bpm"], args["over_s"])
        elif action == "vasovagal":
            self.heart.ramp_to(-35.0, args.get("over_s", 20.0))
        elif action == "lose_pulse":
            if self.hr_sensor is not None:
                self.hr_sensor.contact = False
        elif action == "restore_pulse":
            if self.hr_sensor is not None:
                self.hr_sensor.contact = True
        elif action == "imu_bus_errors":
            self.bus.fail_next(1000000, addr=self._imu_addr())
        elif action == "imu_stuck":
            self.imu.stuck = True
        elif action == "imu_disconnect":
            self.bus.disconnect(self._imu_addr())
        elif action == "imu_restore":
            self.bus.fail_next(0)
            self.bus.reconnect(self._imu_addr())
            self.imu.stuck = False
        elif action == "hr_fifo_overflow":
            if self.hr_sensor is not None:
                self.hr_sensor.stuck = False
                self.hr_sensor._catch_up_time_only()
        elif action == "motor_stall":
            self.table.motor_stalled = True
        elif action == "motor_runon":
            self.table.motor_runon_duty = args.get("duty", 0.5)
        elif action == "motor_restore":
            self.table.motor_stalled = False
            self.table.motor_runon_duty = None
        elif action == "host_start":
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

    def _imu_addr(self):
        return 0x68 if _spec_value(self.spec, "imu") == "mpu6050" else 0x6A

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
    def _set_input(self, name, active):
        # The level that means "active" comes from the wiring (boards.ACTIVE_LEVEL).
        level = self._active[name]
        self.machine.pins[self.pins[name]].set_level(level if active else 1 - level)

    def _drive_inputs(self):
        t = self.t_ms
        table = self.table
        estop_open = self.estop or self.estop_wire_broken
        key = (
            estop_open,
            self.holding_down,
            self.holding_up,
            t < self._press_start_until,
            t < self._press_stop_until,
            table.home_switch,
            table.end_switch,
        )
        if key == self._inputs_key:
            return  # nothing changed: the pins still hold these levels
        self._inputs_key = key
        self._set_input("estop_a", estop_open)
        self._set_input("estop_b", estop_open)
        self._set_input("btn_down", self.holding_down)
        self._set_input("btn_up", self.holding_up)
        self._set_input("btn_start", t < self._press_start_until)
        self._set_input("btn_stop", t < self._press_stop_until)
        self._set_input("home_sw", table.home_switch)
        self._set_input("end_sw", table.end_switch)
        self._set_input("contactor_fb", not self.estop)  # closed while motor power is on
        self._set_input("power_ok", False)  # on mains

    def _read_outputs(self):
        m = self.machine
        p = self.pins
        table = self.table
        # The e-stop contactor cuts motor power in hardware, and with it the
        # brake's supply: the fail-safe brake engages.
        table.power_ok = not self.estop
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
        if not self.motorized:
            table.person_torque_nm = self.tilter.torque_nm(
                dt_s, table.angle_deg, table.rate_dps, table.gravity_torque_nm()
            )
        table.step(dt_s)
        if self.t_ms >= self._heart_next:
            # The heart model changes slowly: 10 Hz is plenty (the PPG itself
            # is synthesised at the sensor's own rate from this bpm).
            self._heart_next = self.t_ms + HEART_EVERY_MS
            self.heart.step(HEART_EVERY_MS / 1000.0, table.angle_deg)
            self.ppg.set_hr(self.heart.bpm)
        self.imu.set_truth(table.angle_deg, table.rate_dps, table.vibration_g())
        self._drive_inputs()
        self._host_step()
        self.app.step()
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
