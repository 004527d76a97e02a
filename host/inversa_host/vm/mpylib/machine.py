# Stand-in for MicroPython's `machine` module inside the WebAssembly
# interpreter (and in CPython tests), which has none.  It mirrors the API the
# firmware uses, and lets tests and the simulator attach fakes:
#   I2C buses route transfers to register-level fake devices by address;
#   Pin, ADC values are set by the test; PWM duty and UART output are recorded;
#   WDT counts feeds; reset() raises so a test can see it.
# It is test scaffolding, never copied to a board.


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self.pull = pull
        # An input with a pull-up reads 1 when nothing drives it.
        self._value = 1 if pull == Pin.PULL_UP else 0
        if value is not None:
            self._value = 1 if value else 0
        self.handler = None

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        if pull != -1:
            self.pull = pull
        if value is not None:
            self._value = 1 if value else 0

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self._value = 1

    def off(self):
        self._value = 0

    def irq(self, handler=None, trigger=0):
        self.handler = handler


class I2C:
    # bus id -> {address: device}; a device answers readfrom_mem_into/writeto_mem.
    devices = {}

    def __init__(self, id=0, scl=None, sda=None, freq=400000):
        self.id = id
        self.freq = freq
        if id not in I2C.devices:
            I2C.devices[id] = {}

    @classmethod
    def attach(cls, bus_id, addr, device):
        if bus_id not in cls.devices:
            cls.devices[bus_id] = {}
        cls.devices[bus_id][addr] = device

    def _dev(self, addr):
        dev = I2C.devices[self.id].get(addr)
        if dev is None:
            raise OSError(19)  # ENODEV, as a board reports a missing device
        return dev

    def scan(self):
        return sorted(I2C.devices[self.id].keys())

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        self._dev(addr).readfrom_mem_into(memaddr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self._dev(addr).readfrom_mem_into(memaddr, buf)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self._dev(addr).writeto_mem(memaddr, buf)


SoftI2C = I2C


class ADC:
    def __init__(self, pin):
        self.pin = pin
        self.raw_u16 = 0

    def read_u16(self):
        return self.raw_u16


class PWM:
    def __init__(self, pin, freq=1000, duty_u16=0):
        self.pin = pin
        self._freq = freq
        self._duty = duty_u16

    def freq(self, f=None):
        if f is None:
            return self._freq
        self._freq = f
        return None

    def duty_u16(self, d=None):
        if d is None:
            return self._duty
        self._duty = d
        return None

    def deinit(self):
        self._duty = 0


class UART:
    def __init__(self, id, baudrate=115200, tx=None, rx=None, txbuf=256, rxbuf=256):
        self.id = id
        self.baudrate = baudrate
        self.sent = bytearray()
        self.incoming = bytearray()
        self.txbuf = txbuf

    def write(self, buf, n=None):
        # MicroPython streams also take write(buf, n): the first n bytes.
        if n is not None:
            buf = memoryview(buf)[:n]
        self.sent.extend(buf)
        return len(buf)

    def any(self):
        return len(self.incoming)

    def readinto(self, buf, nbytes=None):
        n = min(len(buf), len(self.incoming))
        if nbytes is not None:
            n = min(n, nbytes)
        if n == 0:
            return None
        buf[:n] = self.incoming[:n]
        self.incoming = self.incoming[n:]
        return n

    def txdone(self):
        return True


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self.feeds = 0

    def feed(self):
        self.feeds += 1


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, mode=1, period=-1, callback=None):
        self.callback = callback

    def init(self, mode=1, period=-1, freq=-1, callback=None):
        self.callback = callback

    def deinit(self):
        self.callback = None


class ResetRequested(Exception):
    pass


PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
_reset_cause = PWRON_RESET


def reset_cause():
    return _reset_cause


def reset():
    raise ResetRequested("machine.reset()")


def soft_reset():
    raise ResetRequested("machine.soft_reset()")


def unique_id():
    return b"\x49\x4e\x56\x45\x52\x53\x41\x00"


def freq(hz=None):
    return 125000000 if hz is None else None


def idle():
    pass


def disable_irq():
    return 0


def enable_irq(state=0):
    pass
