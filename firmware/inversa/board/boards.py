# Board definitions: which GPIO does what on each supported board.
# The pin tables in hardware/ and the wiring diagrams are generated from this
# file (hardware/gen_diagrams.py); tests/host/test_pin_tables.py checks that
# they agree and that every pin is legal for its job on that chip.
#
# Usage:
#     from inversa.board.boards import get_board, SIGNALS
#     b = get_board("pico")        # ValueError names the known boards
#     b["pins"]["estop_a"]         # -> 2 (GPIO number)
#     b["i2c"]                     # -> (bus id, sda, scl)
#
# Field inputs are contacts to GND with an external 4.7k pull-up.  Safety
# inputs (e-stop, limits, STOP) are normally closed: an open contact, a broken
# wire or an unplugged connector reads 1 = "stop", never "fine".  Buttons that
# ask for motion (UP, DOWN, START) are normally open, so a broken wire can
# never ask for motion: they read 0 when pressed.  ACTIVE_LEVEL says which
# level means pressed / at limit / active for every input; pass it to the
# drivers (e.g. buttons.Button(pin, pressed_level=ACTIVE_LEVEL["btn_down"])).

from inversa.compat import const

# Signal kinds.
IN = const(0)  # digital input, 1 = contact open (pressed / at limit / fault)
OUT = const(1)  # digital output, 0 at reset = safe (hardware pull-down)
PWM = const(2)  # PWM output, duty 0 at reset = safe
ADC = const(3)  # analog input

# Every signal the firmware knows, with its kind.  A board maps each to a GPIO.
SIGNALS = (
    ("estop_a", IN),  # e-stop channel A (NC contact block 2)
    ("estop_b", IN),  # e-stop channel B (NC contact block 3)
    ("home_sw", IN),  # home / loading-position limit switch, NC
    ("end_sw", IN),  # deepest-angle limit switch, NC
    ("btn_up", IN),  # hold-to-run towards upright, NO
    ("btn_down", IN),  # hold-to-run deeper, NO
    ("btn_start", IN),  # NO
    ("btn_stop", IN),  # NC
    ("contactor_fb", IN),  # motor contactor auxiliary contact: 0 = motor power on
    ("power_ok", IN),  # supply DC-OK: 0 = mains present, 1 = running on battery
    ("motor_a", PWM),  # BTS7960 RPWM (deeper) / relay module IN1 (deeper)
    ("motor_b", PWM),  # BTS7960 LPWM (upright) / relay module IN2 (upright)
    ("motor_en", OUT),  # BTS7960 R_EN+L_EN / relay module supply enable
    ("brake", OUT),  # 1 = energise (release) the fail-safe brake
    ("buzzer", PWM),
    ("led", OUT),  # on-board LED
    ("pulse_adc", ADC),  # analog pulse sensor (when hr = pulse_adc)
    ("motor_is", ADC),  # BTS7960 IS current-sense (divided to 3.3 V)
)

# The input level that means pressed / at limit / active.
ACTIVE_LEVEL = {
    "estop_a": 1,
    "estop_b": 1,
    "home_sw": 1,
    "end_sw": 1,
    "btn_up": 0,
    "btn_down": 0,
    "btn_start": 0,
    "btn_stop": 1,
    "contactor_fb": 0,  # auxiliary NO contact closes when the contactor is on
    "power_ok": 1,  # DC-OK opto off = mains gone, running on battery
}

_PICO_PINS = {
    "estop_a": 2,
    "estop_b": 3,
    "home_sw": 6,
    "end_sw": 7,
    "btn_up": 8,
    "btn_down": 9,
    "btn_start": 10,
    "btn_stop": 11,
    "contactor_fb": 12,
    "power_ok": 13,
    "motor_a": 16,
    "motor_b": 17,
    "motor_en": 18,
    "brake": 19,
    "buzzer": 20,
    "led": 25,
    "pulse_adc": 26,
    "motor_is": 27,
}

# What the board itself needs (pins, buses).  The host's facts about each
# board (its title, chip and mpy-cross architecture) are in
# inversa_host/boardtools/mpybuild.py BOARD_CHIPS: the board never reads them,
# and every short string here is an interned name in its heap.
BOARDS = {
    "pico": {
        "name": "pico",
        "i2c": (0, 4, 5),  # (bus id, SDA, SCL)
        "uart": (0, 0, 1),  # (uart id, TX, RX): optional link over UART
        "pins": _PICO_PINS,
        "no_pull": (),  # pins without internal pull resistors
    },
    "pico2": {
        "name": "pico2",
        "i2c": (0, 4, 5),
        "uart": (0, 0, 1),
        # Same header as the Pico, so the same carrier board fits both.
        "pins": _PICO_PINS,
        "no_pull": (),
    },
    "esp32": {
        "name": "esp32",
        "i2c": (0, 21, 22),
        "uart": (2, 17, 16),
        "pins": {
            "estop_a": 32,
            "estop_b": 33,
            "home_sw": 25,
            "end_sw": 26,
            "btn_up": 27,
            "btn_down": 14,
            "btn_start": 13,
            "btn_stop": 34,
            "contactor_fb": 35,
            "power_ok": 5,
            "motor_a": 18,
            "motor_b": 19,
            "motor_en": 23,
            "brake": 4,
            "buzzer": 15,
            "led": 2,
            "pulse_adc": 36,  # ADC1 only: ADC2 cannot be used with Wi-Fi on
            "motor_is": 39,
        },
        # GPIO34-39 are input-only with no internal pull-ups: the external
        # 4.7k pull-ups on the I/O board are required there.
        "no_pull": (34, 35, 36, 39),
    },
}

# Fitted-hardware choices for board.json and the driver each one needs:
# kind -> (module, class, default I2C address or None).  Strings, so nothing
# is imported until the board is built.
IMU_DRIVERS = {
    "mpu6050": ("inversa.drivers.mpu6050", "MPU6050", 0x68),
    "lsm6dsox": ("inversa.drivers.lsm6dsox", "LSM6DSOX", 0x6A),
}
HR_DRIVERS = {
    "max30102": ("inversa.drivers.max30102", "MAX30102", 0x57),
    "pulse_adc": ("inversa.drivers.pulse_adc", "PulseADC", None),
    "none": None,
}
MOTOR_DRIVERS = {
    "hbridge": ("inversa.drivers.hbridge", "HBridge", None),
    "relay": ("inversa.drivers.relay_motor", "RelayMotor", None),
    "none": None,  # manual table: the person moves it, the firmware watches
}
BRAKE_DRIVER = ("inversa.drivers.brake", "Brake", None)
BUZZER_DRIVER = ("inversa.drivers.buzzer", "Buzzer", None)


def board_names():
    return sorted(BOARDS.keys())


def get_board(name):
    b = BOARDS.get(name)
    if b is None:
        raise ValueError("unknown board %r; known boards: %s" % (name, ", ".join(board_names())))
    return b
