# Everything outside the board: the table with the person on it, their heart
# (and the PPG it makes), how they tilt a manual table, and the sensor chips
# (register-level fakes) on an I2C bus, with the faults a scenario scripts.
# The simulator (session.py) puts a simulated board on that bus; the bench
# (inversa_host.vboards.hil) reads the chips with the firmware's drivers on the PC and
# sends the samples to a real board.
#
# Usage:
#     w = World(spec, clock)                 # spec: see session.DEFAULT_SPEC
#     w.apply("hr_ramp", {"delta_bpm": 20, "over_s": 30}, t_ms)
#     w.step(0.01, t_ms)                     # after the clock moved 10 ms
#     w.table.angle_deg, w.heart.bpm

from inversa_world.devices.bus import FakeI2CBus
from inversa_world.person import HeartModel, ManualTilter
from inversa_world.ppg import PPGSynth
from inversa_world.table import PersonBody, TableModel, TableParams

HEART_EVERY_MS = 100  # the heart model changes slowly: 10 Hz is plenty
IMU_ADDRS = {"mpu6050": 0x68, "lsm6dsox": 0x6A}
HR_ADDR = 0x57

_BODY_KEYS = ("mass_kg", "height_m", "com_along_m", "com_above_m")
_HEART_KEYS = {
    "resting_hr_bpm": "resting_bpm",
    "hr_inversion_delta_bpm": "inversion_delta_bpm",
    "hr_inversion_tau_s": "inversion_tau_s",
}
_TILTER_KEYS = ("descent_dps", "return_dps")

# Scenario actions the world itself carries out.
WORLD_ACTIONS = (
    "tilt_to",
    "relax",
    "hr_ramp",
    "vasovagal",
    "lose_pulse",
    "restore_pulse",
    "pulse_flicker",
    "pulse_restore",
    "imu_bus_errors",
    "imu_stuck",
    "imu_disconnect",
    "imu_restore",
    "hr_fifo_overflow",
    "hr_disconnect",
    "hr_restore",
    "i2c_stuck",
    "motor_stall",
    "motor_runon",
    "motor_restore",
)


def _pick(source, keys):
    out = {}
    for k in keys:
        if k in source:
            out[k] = source[k]
    return out


class World:
    def __init__(self, spec, clock, imu_model=None):
        """`imu_model`: extra keyword arguments for the IMU fake (the bench
        models a calibrated sensor: no offsets, no misalignment)."""
        self.clock = clock
        seed = spec["seed"]
        person = spec["person"]
        self.motorized = spec["table"] == "motorized"
        tp = dict(spec["table_params"])
        tp["motorized"] = self.motorized
        self.table = TableModel(TableParams(**tp), PersonBody(**_pick(person, _BODY_KEYS)))
        heart_kw = {"seed": seed + 11}
        for k in _HEART_KEYS:
            if k in person:
                heart_kw[_HEART_KEYS[k]] = person[k]
        self.heart = HeartModel(**heart_kw)
        self.tilter = ManualTilter(**_pick(person, _TILTER_KEYS))
        self.ppg = PPGSynth(seed=seed + 3, hr_bpm=self.heart.bpm)
        self._heart_next = 0
        self._flicker = None  # [period_ms, off_ms, until_ms or -1, t0_ms or -1]

        # --- the sensor chips on their I2C bus ------------------------------
        self.bus = FakeI2CBus(seed=seed)
        kw = {"seed": seed}
        if imu_model:
            kw.update(imu_model)
        self.imu_kind = spec["imu"]
        self.imu_addr = IMU_ADDRS[self.imu_kind]
        if self.imu_kind == "mpu6050":
            from inversa_world.devices.mpu6050 import FakeMPU6050

            self.imu = self.bus.attach(self.imu_addr, FakeMPU6050(clock, **kw))
        else:
            from inversa_world.devices.lsm6dsox import FakeLSM6DSOX

            self.imu = self.bus.attach(self.imu_addr, FakeLSM6DSOX(clock, **kw))
        self.hr_sensor = None
        if spec["hr"] == "max30102":
            from inversa_world.devices.max30102 import FakeMAX30102

            self.hr_sensor = self.bus.attach(
                HR_ADDR, FakeMAX30102(clock, seed=seed, source=self.ppg)
            )
        self.imu.set_truth(self.table.angle_deg, 0.0, 0.0)

    def apply(self, action, args):
        """Carry out a world action; False if `action` is not one."""
        table = self.table
        if action == "tilt_to":
            self.tilter.set_goal(args["angle_deg"], args.get("pace_dps"))
        elif action == "relax":
            self.tilter.set_goal(None)
        elif action == "hr_ramp":
            self.heart.ramp_to(args["delta_bpm"], args["over_s"])
        elif action == "vasovagal":
            self.heart.ramp_to(-35.0, args.get("over_s", 20.0))
        elif action == "lose_pulse" or action == "restore_pulse" or action == "pulse_restore":
            self._flicker = None
            if self.hr_sensor is not None:
                self.hr_sensor.contact = action != "lose_pulse"
        elif action == "pulse_flicker":
            until = args.get("until_s")
            self._flicker = [
                int(args["period_s"] * 1000),
                int(args["off_s"] * 1000),
                -1 if until is None else int(until * 1000),
                -1,
            ]
        elif action == "hr_disconnect":
            self.bus.disconnect(HR_ADDR)
        elif action == "hr_restore":
            self.bus.reconnect(HR_ADDR)
        elif action == "i2c_stuck":
            self.bus.hold_sda(int(args.get("pulses", 5)))
        elif action == "imu_bus_errors":
            self.bus.fail_next(1000000, addr=self.imu_addr)
        elif action == "imu_stuck":
            self.imu.stuck = True
        elif action == "imu_disconnect":
            self.bus.disconnect(self.imu_addr)
        elif action == "imu_restore":
            self.bus.fail_next(0)
            self.bus.reconnect(self.imu_addr)
            self.imu.stuck = False
        elif action == "hr_fifo_overflow":
            if self.hr_sensor is not None:
                self.hr_sensor.stuck = False
                self.hr_sensor._catch_up_time_only()
        elif action == "motor_stall":
            table.motor_stalled = True
        elif action == "motor_runon":
            table.motor_runon_duty = args.get("duty", 0.5)
        elif action == "motor_restore":
            table.motor_stalled = False
            table.motor_runon_duty = None
        else:
            return False
        return True

    def step(self, dt_s, t_ms):
        """Advance the physics by dt_s (the clock has already moved)."""
        table = self.table
        if not self.motorized:
            table.person_torque_nm = self.tilter.torque_nm(
                dt_s, table.angle_deg, table.rate_dps, table.gravity_torque_nm()
            )
        table.step(dt_s)
        fl = self._flicker
        if fl is not None:
            if fl[3] < 0:
                fl[3] = t_ms
            if 0 <= fl[2] <= t_ms:
                self._flicker = None
                contact = True
            else:
                contact = (t_ms - fl[3]) % fl[0] >= fl[1]
            if self.hr_sensor is not None:
                self.hr_sensor.contact = contact
        if t_ms >= self._heart_next:
            self._heart_next = t_ms + HEART_EVERY_MS
            self.heart.step(HEART_EVERY_MS / 1000.0, table.angle_deg)
            self.ppg.set_hr(self.heart.bpm)
        self.imu.set_truth(table.angle_deg, table.rate_dps, table.vibration_g())
