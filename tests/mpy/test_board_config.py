# Board config (/board.json) loading and the board builder: every bad config is
# refused with a message naming what to fix; outputs start safe; a configured
# sensor missing from the I2C bus stops the boot.  Runs in CPython and inside
# MicroPython (with the VM's `machine` stand-in).
from inversa.board import boards
from inversa.board.build import build_board, driver_class, verify_board
from inversa.board.config import (
    KEY_NAMES,
    check_fitted,
    load_config,
    missing_hardware,
    parse_config,
)
from mpyunit import raises

try:
    import machine
except ImportError:  # CPython: use the same stand-in the VM uses
    import sys

    from inversa_host.vm import mpylib_dir

    sys.path.insert(0, str(mpylib_dir()))
    import machine

BASE = '{"board": "pico", "imu": "mpu6050", "hr": "max30102", "motor": "hbridge"'


def cfg_text(extra=""):
    return BASE + extra + "}"


def err(text):
    return str(raises(ValueError, parse_config, text, "/board.json"))


def test_minimal_config_gets_documented_defaults():
    cfg = parse_config(cfg_text())
    assert cfg.board == "pico" and cfg.imu == "mpu6050" and cfg.hr == "max30102"
    assert cfg.motor == "hbridge" and cfg.table == "motorized"
    assert cfg.brake is False and cfg.buzzer is True and cfg.bench is False
    assert cfg.link == "usb" and cfg.i2c_freq == 400000
    assert cfg.imu_addr == 0x68 and cfg.hr_addr == 0x57  # datasheet addresses
    assert cfg.board_def["name"] == "pico" and cfg.board_def["i2c"] == (0, 4, 5)


def test_lsm6dsox_and_analog_pulse_sensor():
    cfg = parse_config(
        '{"board": "esp32", "imu": "lsm6dsox", "hr": "pulse_adc", "motor": "relay",'
        ' "brake": true, "imu_addr": 107}'
    )
    assert cfg.imu_addr == 0x6B and cfg.hr_addr is None and cfg.brake is True
    assert cfg.board_def["name"] == "esp32" and cfg.board_def["i2c"] == (0, 21, 22)


def test_manual_table_needs_buzzer():
    cfg = parse_config('{"board": "pico2", "imu": "mpu6050", "hr": "none", "motor": "none"}')
    assert cfg.table == "manual" and cfg.hr_addr is None
    msg = err(
        '{"board": "pico2", "imu": "mpu6050", "hr": "none", "motor": "none", "buzzer": false}'
    )
    assert "buzzer" in msg and "manual" in msg


def _as_dict(cfg):
    # as the host writes it back (inversa_host.boardtools.deploy.config_dict)
    return {key: getattr(cfg, key) for key in KEY_NAMES}


def test_round_trip_through_the_settings():
    cfg = parse_config(cfg_text(', "brake": true, "i2c_freq": 100000'))
    d = _as_dict(cfg)
    assert d["brake"] is True and d["i2c_freq"] == 100000 and d["board"] == "pico"
    import json

    again = parse_config(json.dumps(d))
    assert _as_dict(again) == d


def test_unknown_key_is_named_with_the_known_ones():
    msg = err(cfg_text(', "imu_type": "mpu6050"'))
    assert "/board.json" in msg and "imu_type" in msg and "known keys" in msg and "imu" in msg


def test_missing_key_is_named_with_its_choices():
    msg = err('{"board": "pico", "imu": "mpu6050", "hr": "none"}')
    assert "missing" in msg and "motor" in msg and "hbridge" in msg and "relay" in msg


def test_unknown_board_and_hardware_names_list_the_choices():
    msg = err('{"board": "uno", "imu": "mpu6050", "hr": "none", "motor": "none"}')
    assert "uno" in msg and "pico2" in msg and "esp32" in msg
    msg = err('{"board": "pico", "imu": "bno055", "hr": "none", "motor": "none"}')
    assert "bno055" in msg and "lsm6dsox" in msg
    msg = err('{"board": "pico", "imu": "mpu6050", "hr": "none", "motor": "stepper"}')
    assert "stepper" in msg and "hbridge" in msg


def test_wrong_types_are_refused():
    assert "true or false" in err(cfg_text(', "brake": 1'))
    assert "true or false" in err(cfg_text(', "bench": "yes"'))
    assert "I2C address" in err(cfg_text(', "imu_addr": 200'))
    assert "I2C address" in err(cfg_text(', "imu_addr": "0x68"'))
    assert "I2C address" in err(cfg_text(', "imu_addr": true'))
    assert "Hz" in err(cfg_text(', "i2c_freq": 5000000'))
    assert "uart" in err(cfg_text(', "link": "bluetooth"'))
    assert "analog" in err(
        '{"board": "pico", "imu": "mpu6050", "hr": "pulse_adc", "motor": "none", "hr_addr": 87}'
    )


def test_malformed_json_and_wrong_top_level():
    assert "not valid JSON" in err('{"board": "pico",')
    assert "JSON object" in err('["pico"]')
    assert "not valid JSON" in err("")


def test_load_config_reads_file_and_reports_missing_file():
    path = "/tmp/inversa_test_board.json"
    with open(path, "w") as f:
        f.write(cfg_text(', "brake": true'))
    cfg = load_config(path)
    assert cfg.brake is True
    msg = str(raises(ValueError, load_config, "/tmp/no_such_inversa_board.json"))
    assert "no board config" in msg and "no_such_inversa_board.json" in msg and "deploy" in msg


def test_check_fitted_passes_when_everything_answers():
    cfg = parse_config(cfg_text())
    assert missing_hardware(cfg, [0x57, 0x68]) == []
    check_fitted(cfg, [0x57, 0x68])


def test_missing_imu_is_a_clear_error_naming_bus_and_scan():
    cfg = parse_config(cfg_text())
    msg = str(raises(ValueError, check_fitted, cfg, [0x57]))
    assert "IMU mpu6050 not found at 0x68" in msg
    assert "SDA GPIO4" in msg and "0x57" in msg
    assert "heart-rate" not in msg  # the HR sensor answered


def test_wrong_imu_fitted_gets_a_hint():
    cfg = parse_config(cfg_text())
    msg = str(raises(ValueError, check_fitted, cfg, [0x57, 0x6A]))
    assert "lsm6dsox" in msg and "'imu'" in msg


def test_both_missing_are_both_reported():
    cfg = parse_config(cfg_text())
    problems = missing_hardware(cfg, [])
    assert len(problems) == 2
    assert "nothing" in problems[0] and "max30102" in problems[1]


def test_bench_mode_and_analog_hr_expect_no_bus_devices():
    cfg = parse_config(cfg_text(', "bench": true'))
    assert missing_hardware(cfg, []) == []
    cfg = parse_config('{"board": "pico", "imu": "mpu6050", "hr": "pulse_adc", "motor": "none"}')
    assert len(missing_hardware(cfg, [])) == 1  # only the IMU is on the bus


def test_unknown_board_name_in_boards():
    msg = str(raises(ValueError, boards.get_board, "arduino"))
    assert "arduino" in msg and "pico" in msg


def _clear_bus():
    for bus in machine.I2C.devices:
        machine.I2C.devices[bus] = {}


def test_build_pico_hbridge_starts_safe():
    _clear_bus()
    b = build_board(parse_config(cfg_text(', "brake": true')), machine)
    assert b.motor_en.id == 18 and b.motor_en.value() == 0
    assert b.brake.id == 19 and b.brake.value() == 0  # unpowered = braking
    assert b.motor_a.duty_u16() == 0 and b.motor_b.duty_u16() == 0
    assert b.motor_a.freq() == 20000
    assert b.buzzer.duty_u16() == 0
    assert b.estop_a.id == 2 and b.estop_b.id == 3
    assert b.estop_a.pull == machine.Pin.PULL_UP
    assert b.home_sw.id == 6 and b.end_sw.id == 7
    assert len(b.inputs) == 10
    assert b.i2c.id == 0 and b.i2c.freq == 400000
    assert b.motor_is is not None and b.pulse_adc is None and b.uart is None
    assert b.imu_driver == ("inversa.drivers.mpu6050", "MPU6050")
    assert b.motor_driver == ("inversa.drivers.hbridge", "HBridge")
    assert b.brake_driver is not None and b.buzzer_driver is not None


def test_build_relay_and_manual_variants():
    _clear_bus()
    b = build_board(
        parse_config('{"board": "pico", "imu": "mpu6050", "hr": "pulse_adc", "motor": "relay"}'),
        machine,
    )
    assert isinstance(b.motor_a, machine.Pin) and b.motor_a.value() == 0
    assert b.pulse_adc is not None and b.motor_is is None and b.brake_driver is None
    b = build_board(
        parse_config(
            '{"board": "pico", "imu": "mpu6050", "hr": "none", "motor": "none", "link": "uart"}'
        ),
        machine,
    )
    assert b.motor_a is None and b.motor_driver is None and b.hr_driver is None
    assert b.uart is not None and b.uart.id == 0


def test_build_esp32_input_only_pins_have_no_internal_pull():
    _clear_bus()
    b = build_board(
        parse_config('{"board": "esp32", "imu": "mpu6050", "hr": "none", "motor": "none"}'),
        machine,
    )
    assert b.btn_stop.id == 34 and b.btn_stop.pull != machine.Pin.PULL_UP
    assert b.estop_a.id == 32 and b.estop_a.pull == machine.Pin.PULL_UP
    assert b.i2c.id == 0


class _Dev:
    def readfrom_mem_into(self, memaddr, buf):
        pass

    def writeto_mem(self, memaddr, buf):
        pass


def test_verify_board_scans_the_bus():
    _clear_bus()
    b = build_board(parse_config(cfg_text()), machine)
    msg = str(raises(ValueError, verify_board, b))
    assert "mpu6050" in msg and "max30102" in msg
    machine.I2C.attach(0, 0x68, _Dev())
    machine.I2C.attach(0, 0x57, _Dev())
    verify_board(b)
    _clear_bus()


def test_driver_class_imports_by_name_or_says_what_is_missing():
    from inversa.events import EventLog

    assert driver_class(("inversa.events", "EventLog")) is EventLog
    msg = str(raises(ValueError, driver_class, ("inversa.drivers.nosuch", "X")))
    assert "inversa.drivers.nosuch" in msg and "deploy" in msg
    assert "Nope" in str(raises(ValueError, driver_class, ("inversa.events", "Nope")))


def test_motion_buttons_are_normally_open_safety_inputs_normally_closed():
    # A broken wire reads 1: it must never mean "move" and always mean "stop".
    lv = boards.ACTIVE_LEVEL
    for name in ("btn_up", "btn_down", "btn_start"):
        assert lv[name] == 0, name
    for name in ("estop_a", "estop_b", "home_sw", "end_sw", "btn_stop", "power_ok"):
        assert lv[name] == 1, name
    for name, kind in boards.SIGNALS:
        assert (name in lv) == (kind == boards.IN), name
