# The board config: a small JSON file on the board (/board.json, written by
# `inversa deploy`) naming the board and the hardware fitted to it.  Anything
# malformed, unknown or missing is a ValueError at boot whose message says
# what to fix; the firmware never guesses hardware.
#
# Usage:
#     from inversa.board.config import load_config, check_fitted
#     cfg = load_config("/board.json")      # or parse_config(text)
#     cfg.board, cfg.imu, cfg.hr, cfg.motor, cfg.table   # "pico", "mpu6050", ...
#     check_fitted(cfg, i2c.scan())         # ValueError if the IMU/HR is absent
#
# Example /board.json:
#     {"board": "pico", "imu": "mpu6050", "hr": "max30102",
#      "motor": "hbridge", "brake": true, "buzzer": true}

import json

from inversa.board.boards import BOARDS, HR_DRIVERS, IMU_DRIVERS, MOTOR_DRIVERS, get_board

CONFIG_PATH = "/board.json"

# (key, required, allowed values or a type name, default), checked in this
# order so the first error reported is the same on every interpreter.
_KEYS = (
    ("board", True, BOARDS, None),
    ("imu", True, IMU_DRIVERS, None),
    ("hr", True, HR_DRIVERS, None),
    ("motor", True, MOTOR_DRIVERS, None),
    ("brake", False, "bool", False),
    ("buzzer", False, "bool", True),
    ("link", False, ("usb", "uart"), "usb"),
    ("bench", False, "bool", False),
    ("imu_addr", False, "addr", None),
    ("hr_addr", False, "addr", None),
    ("i2c_freq", False, "freq", 400000),
)
KEY_NAMES = tuple([k[0] for k in _KEYS])
_I2C_FREQ_MIN = 10000
_I2C_FREQ_MAX = 1000000


class BoardConfig:
    """A validated board config.  Attributes: board, imu, hr, motor, brake,
    buzzer, link, bench, imu_addr, hr_addr (None when no I2C device),
    i2c_freq, table ("motorized" or "manual") and board_def (boards.BOARDS
    entry)."""

    def __init__(self, values):
        self.board = values["board"]
        self.imu = values["imu"]
        self.hr = values["hr"]
        self.motor = values["motor"]
        self.brake = values["brake"]
        self.buzzer = values["buzzer"]
        self.link = values["link"]
        self.bench = values["bench"]
        self.i2c_freq = values["i2c_freq"]
        self.imu_addr = values["imu_addr"]
        if self.imu_addr is None:
            self.imu_addr = IMU_DRIVERS[self.imu][2]
        self.hr_addr = values["hr_addr"]
        hr_spec = HR_DRIVERS[self.hr]
        if self.hr_addr is None and hr_spec is not None:
            self.hr_addr = hr_spec[2]
        self.table = "manual" if self.motor == "none" else "motorized"
        self.board_def = get_board(self.board)


def _describe(allowed):
    if isinstance(allowed, dict):
        return ", ".join(sorted(allowed.keys()))
    return ", ".join(allowed)


def _check_value(key, value, allowed, where):
    if allowed == "bool":
        if value is not True and value is not False:
            raise ValueError("%s: %r must be true or false, not %r" % (where, key, value))
    elif allowed == "addr":
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0x08 <= value <= 0x77
        ):
            raise ValueError(
                "%s: %r must be a 7-bit I2C address 8..119 (0x08..0x77), not %r"
                % (where, key, value)
            )
    elif allowed == "freq":
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not _I2C_FREQ_MIN <= value <= _I2C_FREQ_MAX
        ):
            raise ValueError(
                "%s: %r must be an integer %d..%d Hz, not %r"
                % (where, key, _I2C_FREQ_MIN, _I2C_FREQ_MAX, value)
            )
    elif not isinstance(value, str) or value not in allowed:
        raise ValueError(
            "%s: %r is %r; it must be one of: %s" % (where, key, value, _describe(allowed))
        )


def validate(values, where="board config"):
    """Check a dict of settings; return a BoardConfig or raise ValueError."""
    if not isinstance(values, dict):
        raise ValueError("%s: must be a JSON object {...}, not %r" % (where, type(values)))
    for key in sorted(values.keys()):
        if key not in KEY_NAMES:
            raise ValueError(
                "%s: unknown key %r; known keys: %s" % (where, key, ", ".join(KEY_NAMES))
            )
    full = {}
    for key, required, allowed, default in _KEYS:
        if key not in values:
            if required:
                raise ValueError("%s: missing %r (one of: %s)" % (where, key, _describe(allowed)))
            full[key] = default
            continue
        _check_value(key, values[key], allowed, where)
        full[key] = values[key]
    # Rules that span keys.
    if full["motor"] == "none" and not full["buzzer"]:
        raise ValueError(
            "%s: a manual table (motor 'none') must have the buzzer fitted: "
            "it is the only way it can warn the person" % where
        )
    if full["hr"] == "pulse_adc" and full["hr_addr"] is not None:
        raise ValueError("%s: 'hr_addr' is for I2C sensors; pulse_adc is analog" % where)
    return BoardConfig(full)


def parse_config(text, where="board config"):
    """Parse the JSON text of a board config; return a BoardConfig."""
    try:
        values = json.loads(text)
    except ValueError as e:
        raise ValueError("%s: not valid JSON (%s); see hardware/README.md" % (where, e)) from None
    return validate(values, where)


def load_config(path=CONFIG_PATH):
    """Read and validate the board config file; ValueError says what to fix."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise ValueError(
            "no board config at %s: run `inversa deploy --board pico|pico2|esp32` "
            "or write one (see hardware/README.md)" % path
        ) from None
    return parse_config(text, path)


def _hex_list(addrs):
    if not addrs:
        return "nothing"
    return ", ".join(["0x%02x" % a for a in addrs])


def missing_hardware(cfg, found_addrs):
    """Problems (list of str) when the I2C devices the config names did not
    answer a bus scan.  Empty list = all present.  Bench mode feeds sensors
    over the link, so nothing is expected on the bus."""
    if cfg.bench:
        return []
    problems = []
    bus, sda, scl = cfg.board_def["i2c"]
    where = "I2C%d (SDA GPIO%d, SCL GPIO%d)" % (bus, sda, scl)
    wanted = [("IMU", cfg.imu, cfg.imu_addr, IMU_DRIVERS)]
    if cfg.hr_addr is not None:
        wanted.append(("heart-rate sensor", cfg.hr, cfg.hr_addr, HR_DRIVERS))
    for label, kind, addr, table in wanted:
        if addr in found_addrs:
            continue
        msg = "%s %s not found at 0x%02x on %s; the scan found %s." % (
            label,
            kind,
            addr,
            where,
            _hex_list(found_addrs),
        )
        for other in sorted(table.keys()):
            spec = table[other]
            if other != kind and spec is not None and spec[2] in found_addrs:
                msg += " 0x%02x answers: is a %s fitted? Set %r in the config." % (
                    spec[2],
                    other,
                    "imu" if label == "IMU" else "hr",
                )
        msg += " Check its 3V3/GND, SDA/SCL wiring and pull-ups."
        problems.append(msg)
    return problems


def check_fitted(cfg, found_addrs):
    """Raise ValueError naming every configured device missing from the scan."""
    problems = missing_hardware(cfg, found_addrs)
    if problems:
        raise ValueError("board config names missing hardware: " + " ".join(problems))
