# Builds the board's hardware objects (machine.Pin/I2C/PWM/ADC/UART) from a
# BoardConfig: the only firmware module that touches `machine`.  Outputs are
# created in their safe state first (motor off, brake engaged, buzzer quiet)
# before anything else, so a boot that fails later leaves the table safe.
#
# Usage:
#     from inversa.board.config import load_config
#     from inversa.board.build import build_board, verify_board, driver_class
#     cfg = load_config()                  # ValueError: bad /board.json
#     board = build_board(cfg)             # or build_board(cfg, machine_module)
#     verify_board(board)                  # ValueError: configured device absent
#     board.recover_i2c()                  # clock a stuck bus free, recreate it
#     IMU = driver_class(board.imu_driver) # e.g. inversa.drivers.mpu6050.MPU6050
#     imu = IMU(board.i2c, board.imu_addr)
#
# Board attributes: cfg, machine, i2c (None if the bus could not be created;
# bus_error says why), uart (None unless link = "uart", or if it failed), imu_addr,
# hr_addr, imu_driver / hr_driver / motor_driver / brake_driver /
# buzzer_driver ((module, class) or None), inputs (dict of the IN signals),
# active_level (signal -> the level meaning pressed / at limit / active),
# and one attribute per signal: estop_a ... power_ok (Pin, pulled up),
# motor_a, motor_b (PWM for hbridge, Pin for relay, None for manual),
# motor_en, brake, led (Pin), buzzer (PWM or None), pulse_adc, motor_is
# (ADC or None).

from inversa.board.boards import (
    ACTIVE_LEVEL,
    BRAKE_DRIVER,
    BUZZER_DRIVER,
    HR_DRIVERS,
    IMU_DRIVERS,
    IN,
    MOTOR_DRIVERS,
    SIGNALS,
)
from inversa.board.config import check_fitted

MOTOR_PWM_HZ = 20000  # above hearing, within the BTS7960's 25 kHz
BUZZER_HZ = 2700  # typical piezo resonance: loudest per volt
I2C_RECOVERY_PULSES = 9  # one byte and its acknowledge bit


def _spec(spec):
    return None if spec is None else (spec[0], spec[1])


class Board:
    """The hardware objects of one board (see the header for the attributes).
    Built by build_board(); the constructor does the work so that every
    attribute is set in one place."""

    def __init__(self, cfg, machine):
        d = cfg.board_def
        pins = d["pins"]
        no_pull = d["no_pull"]
        Pin = machine.Pin
        self.cfg = cfg

        # 1. Outputs, safe first: motor off, brake engaged (unpowered), quiet.
        self.motor_en = Pin(pins["motor_en"], Pin.OUT, value=0)
        self.brake = Pin(pins["brake"], Pin.OUT, value=0)
        self.motor_a = None
        self.motor_b = None
        if cfg.motor == "hbridge":
            pwm_a = machine.PWM(Pin(pins["motor_a"], Pin.OUT, value=0), freq=MOTOR_PWM_HZ)
            pwm_b = machine.PWM(Pin(pins["motor_b"], Pin.OUT, value=0), freq=MOTOR_PWM_HZ)
            pwm_a.duty_u16(0)
            pwm_b.duty_u16(0)
            self.motor_a = pwm_a
            self.motor_b = pwm_b
        elif cfg.motor == "relay":
            self.motor_a = Pin(pins["motor_a"], Pin.OUT, value=0)
            self.motor_b = Pin(pins["motor_b"], Pin.OUT, value=0)
        self.buzzer = None
        if cfg.buzzer:
            pwm = machine.PWM(Pin(pins["buzzer"], Pin.OUT, value=0), freq=BUZZER_HZ)
            pwm.duty_u16(0)
            self.buzzer = pwm
        self.led = Pin(pins["led"], Pin.OUT, value=0)

        # 2. Inputs: contacts to GND, pulled up (externally; internally too
        #    where the chip can), so an open circuit reads 1; which level is
        #    "active" per input is boards.ACTIVE_LEVEL (board.active_level).
        self.active_level = ACTIVE_LEVEL
        self.inputs = {}
        for name, kind in SIGNALS:
            if kind != IN:
                continue
            gpio = pins[name]
            if gpio in no_pull:
                p = Pin(gpio, Pin.IN)
            else:
                p = Pin(gpio, Pin.IN, Pin.PULL_UP)
            self.inputs[name] = p
        self.estop_a = self.inputs["estop_a"]
        self.estop_b = self.inputs["estop_b"]
        self.home_sw = self.inputs["home_sw"]
        self.end_sw = self.inputs["end_sw"]
        self.btn_up = self.inputs["btn_up"]
        self.btn_down = self.inputs["btn_down"]
        self.btn_start = self.inputs["btn_start"]
        self.btn_stop = self.inputs["btn_stop"]
        self.contactor_fb = self.inputs["contactor_fb"]
        self.power_ok = self.inputs["power_ok"]

        # 3. Analog inputs.
        self.pulse_adc = None
        if cfg.hr == "pulse_adc":
            self.pulse_adc = machine.ADC(Pin(pins["pulse_adc"]))
        self.motor_is = None
        if cfg.motor == "hbridge":
            self.motor_is = machine.ADC(Pin(pins["motor_is"]))

        # 4. Buses.  A bus that cannot be created is None (bus_error says
        #    why): the sensors on it are then absent, the loop still runs.
        self.machine = machine
        self.bus_error = None
        self.i2c = None
        self.open_i2c()
        self.uart = None
        if cfg.link == "uart":
            uid, tx, rx = d["uart"]
            try:
                self.uart = machine.UART(uid, baudrate=115200, tx=Pin(tx), rx=Pin(rx))
            except Exception as e:  # no link then; the table runs on its own
                self.bus_error = e
        self.imu_addr = cfg.imu_addr
        self.hr_addr = cfg.hr_addr

        # 5. Which drivers (names only; imported by driver_class when used).
        self.imu_driver = _spec(IMU_DRIVERS[cfg.imu])
        self.hr_driver = _spec(HR_DRIVERS[cfg.hr])
        self.motor_driver = _spec(MOTOR_DRIVERS[cfg.motor])
        self.brake_driver = _spec(BRAKE_DRIVER) if cfg.brake else None
        self.buzzer_driver = _spec(BUZZER_DRIVER) if cfg.buzzer else None

    def open_i2c(self):
        """(Re)create the I2C bus; None (and bus_error set) if that fails."""
        m = self.machine
        bus, sda, scl = self.cfg.board_def["i2c"]
        try:
            self.i2c = m.I2C(bus, sda=m.Pin(sda), scl=m.Pin(scl), freq=self.cfg.i2c_freq)
        except Exception as e:
            self.i2c = None
            self.bus_error = e
        return self.i2c

    def recover_i2c(self, sleep_us=None):
        """Clock a stuck I2C bus free, then create it again.  A slave that was
        reset or interrupted mid-byte can hold SDA low for good; with SDA
        released, up to 9 SCL pulses let it finish its byte (it lets go of
        SDA), and a STOP (SDA rising while SCL is high) ends the transfer.
        Returns the number of pulses given."""
        m = self.machine
        Pin = m.Pin
        _, sda_n, scl_n = self.cfg.board_def["i2c"]
        if sleep_us is None:
            import time

            sleep_us = time.sleep_us
        od = getattr(Pin, "OPEN_DRAIN", Pin.OUT)
        sda = Pin(sda_n, Pin.IN, Pin.PULL_UP)  # released
        scl = Pin(scl_n, od, value=1)
        pulses = 0
        while pulses < I2C_RECOVERY_PULSES and not sda.value():
            scl.value(0)
            sleep_us(5)
            scl.value(1)
            sleep_us(5)
            pulses += 1
        # STOP: SDA low, SCL high, then SDA high.
        scl.value(0)
        sleep_us(5)
        sda = Pin(sda_n, od, value=0)
        sleep_us(5)
        scl.value(1)
        sleep_us(5)
        sda.value(1)
        sleep_us(5)
        self.open_i2c()
        return pulses


def build_board(cfg, machine=None):
    """Create every hardware object the config calls for; return a Board."""
    if machine is None:
        import machine  # only ever on the board
    return Board(cfg, machine)


def scan_i2c(board):
    """Addresses answering on the board's I2C bus ([] if the bus errors)."""
    if board.i2c is None:
        return []
    try:
        return board.i2c.scan()
    except OSError:
        return []


def verify_board(board):
    """Raise ValueError naming every configured I2C device that is absent."""
    check_fitted(board.cfg, scan_i2c(board))


def driver_class(spec):
    """Import a driver class from a (module, class) pair; ValueError if absent."""
    module, cls = spec
    try:
        mod = __import__(module, None, None, (cls,))
    except ImportError:
        raise ValueError(
            "driver module %s is not on the board; run `inversa deploy`" % module
        ) from None
    obj = getattr(mod, cls, None)
    if obj is None:
        raise ValueError("driver %s has no class %s" % (module, cls))
    return obj
