# BTS7960-class H-bridge: two PWM inputs (RPWM = deeper, LPWM = upright) and
# the enable pins (R_EN + L_EN tied together).  The controller closes the
# loop on the measured angle, so the speed command maps linearly onto duty.
# Only one side is ever driven: the other is zeroed first.  Disabled means
# both PWMs at 0 and the enable pin low (the bridge's outputs float, the
# fail-safe brake holds the table).
#
# Usage:
#     hb = HBridge(PWM(Pin(16)), PWM(Pin(17)), Pin(18, Pin.OUT), full_scale_cdps=600)
#     hb.drive(out.motor_cmd_cdps, out.motor_enable)     # every period
#     hb.stop()

from inversa.compat import const

_DUTY_MAX = const(65535)


class HBridge:
    def __init__(self, pwm_deeper, pwm_up, en_pin=None, full_scale_cdps=600, min_duty_u16=0):
        if full_scale_cdps < 1 or full_scale_cdps > 1000:
            from inversa.error_text import text

            raise ValueError(text(26))
        if not 0 <= min_duty_u16 < _DUTY_MAX:
            from inversa.error_text import text

            raise ValueError(text(27))
        self._a = pwm_deeper
        self._b = pwm_up
        self._en = en_pin
        self._fs = full_scale_cdps
        self._min = min_duty_u16
        self.duty_u16 = 0
        self.direction = 0  # +1 deeper, -1 up, 0 stopped
        # The pins as last written: duty_u16 on the `direction` side (the
        # other side at 0; direction 0: both at 0) and the enable pin high
        # when _on.  drive() writes only what changes (issue 10: a pin or
        # PWM write is ~12-20 us on an RP2040, and most periods repeat most
        # of the last command); what the pins show is the same.
        self._on = False
        self.stop()

    def stop(self):
        self._a.duty_u16(0)
        self._b.duty_u16(0)
        if self._en is not None:
            self._en.value(0)
        self.duty_u16 = 0
        self.direction = 0
        self._on = False

    def drive(self, cmd_cdps, enable):
        if not enable:
            if self._on:
                self.stop()
            return  # (else stopped already: both PWMs 0, the enable low)
        if not self._on:
            if self._en is not None:
                self._en.value(1)
            self._on = True
        mag = cmd_cdps if cmd_cdps >= 0 else -cmd_cdps
        if mag == 0:
            if self.duty_u16:
                self._a.duty_u16(0)
                self._b.duty_u16(0)
                self.duty_u16 = 0
                self.direction = 0
            return
        if mag > self._fs:
            mag = self._fs
        # Deadband compensation: the first counts of duty do not turn the motor.
        duty = self._min + mag * (_DUTY_MAX - self._min) // self._fs
        if cmd_cdps > 0:
            if self.direction == 1:
                if duty == self.duty_u16:
                    return
            else:
                self._b.duty_u16(0)  # the other side first
            self._a.duty_u16(duty)
            self.direction = 1
        else:
            if self.direction == -1:
                if duty == self.duty_u16:
                    return
            else:
                self._a.duty_u16(0)
            self._b.duty_u16(duty)
            self.direction = -1
        self.duty_u16 = duty
