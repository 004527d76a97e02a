# Rigid-body model of an inversion table with a person on it, rotating about
# the pivot, plus its motor, brake, mechanical stops and limit switches.
#
# Angle convention (as everywhere): inversion angle theta in degrees, 0 = bed
# horizontal, +90 = fully inverted head-down, negative = head up; the loading
# position is the table's head-up mechanical stop.
#
# Gravity torque: with the centre of mass (CoM) a metres along the bed towards
# the head and h metres above the pivot (measured perpendicular to the bed),
#   tau = m g (a cos(theta) + h sin(theta))     [positive = tilts deeper]
# so a head-heavy person (a > 0) tilts down from horizontal and a CoM above
# the pivot (h > 0) makes the table less stable the deeper it goes. This is
# the imbalance a manual table's user feels and a motor must hold.
#
# Motor: a gear motor through a self-locking worm reduction; the driver's
# signed duty (-1..1, positive = deeper) sets the no-load speed, and the load
# torque moves the speed along the DC-motor line (stall torque = zero speed).
# Worm gears do not back-drive, so a motorized table holds when the motor is
# off; the brake holds a motorized table both ways, and a manual table's lock
# only against going deeper.
#
# Usage:
#     t = TableModel(TableParams(), PersonBody(mass_kg=80))
#     t.motor_duty = 0.5; t.motor_enabled = True; t.brake_on = False
#     t.step(0.01)
#     t.angle_deg, t.rate_dps, t.home_switch

import math

_G = 9.81
_DEG = math.pi / 180.0
_MOTOR_TAU_S = 0.15  # gear motor speed-up time constant


class TableParams:
    def __init__(
        self,
        motorized=True,
        loading_deg=-65.0,
        deepest_stop_deg=90.0,
        home_switch_window_deg=1.0,
        end_switch_window_deg=1.0,
        bed_inertia_kgm2=6.0,
        viscous_nms_per_dps=0.15,
        coulomb_nm=2.0,
        motor_no_load_dps=8.0,
        motor_stall_nm=400.0,
        self_locking=True,
        brake_holding_nm=600.0,
    ):
        self.motorized = motorized
        self.loading_deg = loading_deg
        self.deepest_stop_deg = deepest_stop_deg
        self.home_switch_window_deg = home_switch_window_deg
        self.end_switch_window_deg = end_switch_window_deg
        self.bed_inertia_kgm2 = bed_inertia_kgm2
        self.viscous_nms_per_dps = viscous_nms_per_dps
        self.coulomb_nm = coulomb_nm
        self.motor_no_load_dps = motor_no_load_dps
        self.motor_stall_nm = motor_stall_nm
        self.self_locking = self_locking
        self.brake_holding_nm = brake_holding_nm


class PersonBody:
    def __init__(self, mass_kg=75.0, height_m=1.75, com_along_m=0.02, com_above_m=0.03):
        if not 20.0 <= mass_kg <= 200.0:
            raise ValueError("person mass_kg must be 20..200")
        if not 1.0 <= height_m <= 2.2:
            raise ValueError("person height_m must be 1.0..2.2")
        self.mass_kg = mass_kg
        self.height_m = height_m
        self.com_along_m = com_along_m
        self.com_above_m = com_above_m

    def inertia_kgm2(self):
        # A body of length L rotating about its middle: m L^2 / 12.
        return self.mass_kg * self.height_m * self.height_m / 12.0


class TableModel:
    def __init__(self, params, person, angle_deg=None):
        self.p = params
        self.person = person
        self.angle_deg = params.loading_deg if angle_deg is None else angle_deg
        self.rate_dps = 0.0
        self.accel_dps2 = 0.0
        # Actuator inputs, written by whoever drives the table each step.
        self.motor_enabled = False
        self.motor_duty = 0.0  # -1..1, positive = deeper
        self.brake_on = True
        self.power_ok = True  # False: e-stop contactor open or mains lost
        # External torque from the person (manual tables: arms, hips).
        self.person_torque_nm = 0.0
        # Faults injected by a scenario.
        self.motor_stalled = False
        self.motor_runon_duty = None  # duty the motor keeps running at
        self._inertia = params.bed_inertia_kgm2 + person.inertia_kgm2()

    def gravity_torque_nm(self):
        th = self.angle_deg * _DEG
        b = self.person
        return b.mass_kg * _G * (b.com_along_m * math.cos(th) + b.com_above_m * math.sin(th))

    def _motor_duty(self):
        if not self.p.motorized or not self.power_ok or self.motor_stalled:
            return 0.0
        if not self.motor_enabled:
            # The enable line also drops the motor contactor (hardware/README.md):
            # cutting it stops even a driver whose output is stuck.
            return 0.0
        duty = self.motor_duty
        if self.motor_runon_duty is not None:
            duty = self.motor_runon_duty  # stuck driver output / welded direction relay
        if duty > 1.0:
            return 1.0
        if duty < -1.0:
            return -1.0
        return duty

    def step(self, dt_s):
        p = self.p
        old = self.rate_dps
        if p.motorized and p.self_locking:
            self._step_geared(dt_s)
        else:
            self._step_free(dt_s)
        self.accel_dps2 = (self.rate_dps - old) / dt_s if dt_s > 0 else 0.0
        self.angle_deg += self.rate_dps * dt_s
        # Mechanical stops.
        if self.angle_deg <= p.loading_deg:
            self.angle_deg = p.loading_deg
            if self.rate_dps < 0.0:
                self.rate_dps = 0.0
        elif self.angle_deg >= p.deepest_stop_deg:
            self.angle_deg = p.deepest_stop_deg
            if self.rate_dps > 0.0:
                self.rate_dps = 0.0

    def _step_geared(self, dt_s):
        # A self-locking (worm) gear: the load cannot back-drive it, so the
        # table moves only as the motor turns.  Speed approaches the DC-motor
        # line's speed for this duty and load, with the drive's mechanical
        # time constant.
        p = self.p
        duty = self._motor_duty()
        if duty == 0.0 or (self.brake_on and self.motor_runon_duty is None):
            self.rate_dps = 0.0
            return
        load = self.gravity_torque_nm() + self.person_torque_nm
        # Load along the motion helps it, against the motion slows it.
        along = load if duty > 0 else -load
        speed = abs(duty) * p.motor_no_load_dps * (1.0 + along / p.motor_stall_nm)
        if speed < 0.0:
            speed = 0.0
        target = speed if duty > 0 else -speed
        k = dt_s / (_MOTOR_TAU_S + dt_s)
        self.rate_dps += (target - self.rate_dps) * k

    def _step_free(self, dt_s):
        # A table that turns freely about the pivot (manual tables): gravity,
        # the person's own torque, friction, and the brake.
        p = self.p
        load_nm = self.gravity_torque_nm() + self.person_torque_nm
        # A manual table's lock is one-way (hardware/README.md): it stops
        # deeper motion but never keeps the person from coming up.
        if self.brake_on and 0.0 < load_nm <= p.brake_holding_nm and self.rate_dps >= 0.0:
            self.rate_dps = 0.0
            return
        net = load_nm - p.viscous_nms_per_dps * self.rate_dps
        # Coulomb friction opposes motion (or holds a table about to move).
        if self.rate_dps > 0.0:
            net -= p.coulomb_nm
        elif self.rate_dps < 0.0:
            net += p.coulomb_nm
        elif abs(net) <= p.coulomb_nm:
            net = 0.0
        else:
            net -= p.coulomb_nm if net > 0 else -p.coulomb_nm
        self.rate_dps += net / self._inertia / _DEG * dt_s

    @property
    def home_switch(self):
        return self.angle_deg <= self.p.loading_deg + self.p.home_switch_window_deg

    @property
    def end_switch(self):
        return self.angle_deg >= self.p.deepest_stop_deg - self.p.end_switch_window_deg

    def vibration_g(self):
        # Gear-motor vibration grows with speed; up to 0.3 g at full speed.
        if not self.p.motorized or self.rate_dps == 0.0:
            return 0.0
        frac = abs(self.rate_dps) / self.p.motor_no_load_dps
        return 0.3 * (frac if frac < 1.0 else 1.0)
