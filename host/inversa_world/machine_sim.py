# A `machine` module for the simulated board: the firmware's own board
# builder (inversa.board.build) creates its Pins, PWMs, ADCs and I2C bus
# through this, so the simulator wires the firmware exactly as a real board
# does; the world then reads and drives the very same objects by GPIO number.
#
# Usage:
#     m = SimMachine(i2c_bus)                  # the world's fake I2C bus
#     board = build_board(cfg, m)
#     m.pins[cfg.board_def["pins"]["brake"]].value()

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
        machine = self

        class Pin(SimPin):
            IN = 0
            OUT = 1
            PULL_UP = 1
            PULL_DOWN = 2

            def __init__(self, gpio, mode=-1, pull=-1, value=None):
                # Pull-ups make an unconnected input read 1, as on the board.
                level = 1 if pull == 1 else 0
                if value is not None:
                    level = 1 if value else 0
                SimPin.__init__(self, "gpio%d" % gpio, level)
                self.gpio = gpio
                machine.pins[gpio] = self

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
            return machine.i2c_bus

        self.Pin = Pin
        self.PWM = PWM
        self.ADC = ADC
        self.I2C = I2C
        self.SoftI2C = I2C

    def UART(self, *args, **kwargs):
        raise ValueError("the simulated board links over its MemoryPort, not a UART")
