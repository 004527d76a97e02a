# A `machine` module for the simulated board: the firmware's own board
# builder (inversa.board.build) creates its Pins, PWMs, ADCs and I2C bus
# through this, so the simulator wires the firmware exactly as a real board
# does; the world then reads and drives the very same objects by GPIO number.
#
# Usage:
#     m = SimMachine(i2c_bus)                  # the world's fake I2C bus
#     board = build_board(cfg, m)
#     m.pins[cfg.board_def["pins"]["brake"]].value()
#     m.reset_cause_value = m.WDT_RESET; m.reset_cause()
#     m.retained_words                         # SCRATCH0-3: kept unless power is cut
#     m.on_pin_created = f                     # f(gpio) after an input Pin is made
#
# The I2C pins: a bus whose SDA a slave holds low (FakeI2CBus.hold_sda)
# fails every transfer until its SCL pin, driven as a GPIO, gives enough
# clock pulses (the standard recovery, inversa.board.build.Board.recover_i2c).

from inversa_world.pins import SimADC, SimPin, SimPWM


class SimMachine:
    PWRON_RESET = 1
    WDT_RESET = 3
    SOFT_RESET = 5

    def __init__(self, i2c_bus):
        self.i2c_bus = i2c_bus
        self.pins = {}  # gpio -> SimPin
        self.pwms = {}  # gpio -> SimPWM
        self.adcs = {}  # gpio -> SimADC
        self.reset_cause_value = self.PWRON_RESET
        # The RP2040 watchdog's SCRATCH0-3 (inversa.retained): kept across a
        # simulated watchdog or soft reset, cleared by a power cut
        # (inversa_world.session: power_reset / watchdog_reset).
        self.retained_words = [0, 0, 0, 0]
        self.on_pin_created = None
        self.i2c_fail = None  # an exception I2C() raises (a bus that cannot be made)
        self.scl_gpio = -1
        self.sda_gpio = -1
        machine = self

        class Pin(SimPin):
            IN = 0
            OUT = 1
            PULL_UP = 1
            PULL_DOWN = 2
            OPEN_DRAIN = 3

            def __init__(self, gpio, mode=-1, pull=-1, value=None):
                # Pull-ups make an unconnected input read 1, as on the board.
                level = 1 if pull == 1 else 0
                if value is not None:
                    level = 1 if value else 0
                SimPin.__init__(self, "gpio%d" % gpio, level)
                self.gpio = gpio
                machine.pins[gpio] = self
                if gpio == machine.scl_gpio and mode != -1:
                    self.value = self._scl  # the I2C clock as a GPIO (recovery)
                elif gpio == machine.sda_gpio and mode == 0:
                    self.value = self._sda
                elif mode == 0 and machine.on_pin_created is not None:
                    machine.on_pin_created(gpio)

            def _scl(self, v=None):
                if v is not None and v and not self.level:
                    machine.i2c_bus.clock_pulse()
                return SimPin.value(self, v)

            def _sda(self, v=None):
                if v is None:
                    return 0 if machine.i2c_bus.sda_held else self.level
                return SimPin.value(self, v)

        def PWM(pin, freq=1000, duty_u16=0):
            pwm = SimPWM(pin.name, freq)
            pwm.duty_u16(duty_u16)
            machine.pwms[pin.gpio] = pwm
            return pwm

        def ADC(pin):
            adc = SimADC(pin.name)
            machine.adcs[pin.gpio] = adc
            return adc

        def I2C(bus_id, sda=None, scl=None, freq=400000):
            if sda is not None and scl is not None:
                machine.sda_gpio = sda.gpio
                machine.scl_gpio = scl.gpio
            if machine.i2c_fail is not None:
                raise machine.i2c_fail
            return machine.i2c_bus

        self.Pin = Pin
        self.PWM = PWM
        self.ADC = ADC
        self.I2C = I2C
        self.SoftI2C = I2C

    def reset_cause(self):
        return self.reset_cause_value

    uid = b"SIMBOARD"  # set per virtual board (host-side board ids tell boards apart)

    def unique_id(self):
        return self.uid

    def UART(self, *args, **kwargs):
        raise ValueError("the simulated board links over its MemoryPort, not a UART")
