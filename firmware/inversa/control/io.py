# The controller's inputs and outputs: preallocated, mutated in place each
# 10 ms period (ints and bools only, so filling them allocates nothing).
#
# Usage:
#     inp, out = ControlInputs(), ControlOutputs()
#     inp.angle_cdeg = 1234; inp.tilt_ok = True
#     ctrl.step(inp, out); motor.drive(out.motor_cmd_cdps, out.motor_enable)


class ControlInputs:
    def __init__(self):
        self.angle_cdeg = 0  # inversion angle, +9000 = fully inverted
        self.rate_cdps = 0  # + = getting deeper
        self.tilt_ok = False  # the estimator trusts the angle
        self.tilt_faults = 0  # the estimator's condition bits (for telemetry)
        self.hr_bpm = 0  # 0 = unknown
        self.hr_quality_pct = 0
        self.hr_ok = False
        self.estop_pressed = True  # supervised: a broken wire reads as pressed
        self.hold_down = False  # hold-to-run, deeper
        self.hold_up = False  # hold-to-run, towards upright
        self.start_pressed = False  # level; the controller acts on the rising edge
        self.stop_pressed = False
        self.home_switch = False  # at the loading/home limit
        self.end_switch = False  # at the deepest mechanical limit
        self.host_lease_ok = False  # the link has heard the host recently
        self.on_battery = False  # mains lost: the backup battery powers the table
        self.motor_power = False  # the motor contactor's auxiliary contact: closed


class ControlOutputs:
    def __init__(self):
        self.state = 0
        self.target_angle_cdeg = 0  # the setpoint being tracked (manual: coached angle)
        self.goal_cdeg = 0  # where the current phase ends
        self.motor_cmd_cdps = 0  # signed, + = deeper; 0 on manual tables
        self.motor_enable = False
        self.brake_on = True  # fail-safe default: braking
        self.buzzer_pattern = 0  # inversa.drivers.buzzer PAT_*
        self.led_pattern = 0
        self.alarm_bits = 0
        self.alarm_priority = 0  # 0 none, 1 low, 2 medium, 3 high
        self.alarm_loud = False  # a high-priority alarm escalated further
        self.fault_bits = 0
        self.action = 0  # ACT_* in force
        self.deepest_cdeg = 0  # this session
        self.inverted_ms = 0  # this session, time deeper than the horizontal band
        self.hold_ms = 0  # time spent in HOLD this session
        self.baseline_bpm = 0  # resting heart rate measured before descent (0 = none)
        self.daily_ms = 0  # inverted time counted today (kept across resets, persist.py)
