# Pins the simulated world and the firmware share: the firmware's drivers
# write outputs (motor PWM, direction, enable, brake, buzzer) and read inputs
# (buttons, e-stop loop, limit switches) through the same methods as
# machine.Pin / machine.PWM; the world reads and sets them.  This closes the
# loop at the pin level, so the real drivers run in the simulator.
#
# Usage:
#     en = SimPin("motor_en"); drv = HBridge(pwm, dir_pin, en)
#     world reads en.value(); sets button.set_level(0)


class SimPin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, name, level=0):
        self.name = name
        self.level = level
        self.writes = 0

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = 1 if v else 0
        self.writes += 1
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def init(self, *args, **kwargs):
        pass

    def irq(self, handler=None, trigger=0):
        pass

    def set_level(self, level):
        """World side: drive an input pin."""
        self.level = 1 if level else 0


class SimPWM:
    def __init__(self, name, freq=20000):
        self.name = name
        self._freq = freq
        self.duty = 0  # 0..65535

    def freq(self, f=None):
        if f is None:
            return self._freq
        self._freq = f
        return None

    def duty_u16(self, d=None):
        if d is None:
            return self.duty
        self.duty = d
        return None

    def deinit(self):
        self.duty = 0


class SimADC:
    def __init__(self, name):
        self.name = name
        self.raw_u16 = 0

    def read_u16(self):
        return self.raw_u16
