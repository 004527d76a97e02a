# A fake I2C bus with the methods of machine.I2C that the drivers use,
# routing each transfer to a register-level fake device by address, with
# fault injection: failing transfers (OSError EIO), a seeded random error
# rate, and disconnected devices (OSError ENODEV, as a board reports a
# missing device).  It counts transfers (and errors it injected).
#
# Usage:
#     bus = FakeI2CBus()
#     bus.attach(0x68, FakeMPU6050(clock, seed=1))
#     imu = MPU6050(bus)                  # the real driver
#     bus.fail_next(3)                    # the next 3 transfers raise OSError(5)
#     bus.disconnect(0x68)                # OSError(19) until reconnect(0x68)
#     bus.set_error_rate(1000)            # 1000 per million transfers fail
#     bus.hold_sda(5)                     # a slave holds SDA low: every transfer
#                                         # fails (ETIMEDOUT), scan() finds nothing,
#                                         # until 5 SCL pulses (clock_pulse()) free it
#
# A device needs readfrom_mem_into(memaddr, buf) and writeto_mem(memaddr, buf).

from inversa_world.rng import Rng

EIO = 5
ENODEV = 19
ETIMEDOUT = 110


class FakeI2CBus:
    def __init__(self, seed=0, freq=400000):
        self.devices = {}
        self.freq = freq
        self.transfers = 0
        self.errors_injected = 0
        self._rng = Rng(seed + 7919)
        self._fail = 0
        self._fail_errno = EIO
        self._fail_addr = None
        self._down = {}
        self._rate = 0  # failures per million transfers
        self._faulty = False  # any fault armed (keeps the fast path short)
        self.sda_held = False
        self._sda_pulses = 0
        self.recoveries = 0  # times a held SDA was clocked free

    # -- wiring and faults ------------------------------------------------
    def attach(self, addr, device):
        self.devices[addr] = device
        return device

    def detach(self, addr):
        self.devices.pop(addr, None)

    def fail_next(self, count=1, errno=EIO, addr=None):
        """The next `count` transfers (to `addr`, or any) raise OSError(errno)."""
        self._fail = count
        self._fail_errno = errno
        self._fail_addr = addr
        self._update()

    def disconnect(self, addr):
        self._down[addr] = True
        self._update()

    def reconnect(self, addr):
        self._down.pop(addr, None)
        self._update()

    def set_error_rate(self, per_million):
        self._rate = per_million
        self._update()

    def hold_sda(self, pulses=9):
        """A slave holds SDA low until `pulses` SCL pulses (1..9) free it."""
        self.sda_held = True
        self._sda_pulses = pulses
        self._update()

    def clock_pulse(self):
        """One SCL pulse given by a GPIO (the bus recovery)."""
        if self.sda_held:
            self._sda_pulses -= 1
            if self._sda_pulses <= 0:
                self.sda_held = False
                self.recoveries += 1
                self._update()

    def _update(self):
        self._faulty = bool(self._fail or self._down or self._rate or self.sda_held)

    def _check(self, addr):
        if self.sda_held:
            self.errors_injected += 1
            raise OSError(ETIMEDOUT)
        if addr in self._down:
            self.errors_injected += 1
            raise OSError(ENODEV)
        if self._fail and (self._fail_addr is None or self._fail_addr == addr):
            self._fail -= 1
            self._update()
            self.errors_injected += 1
            raise OSError(self._fail_errno)
        if self._rate and self._rng.next_u32() % 1000000 < self._rate:
            self.errors_injected += 1
            raise OSError(EIO)

    # -- machine.I2C interface --------------------------------------------
    def scan(self):
        if self.sda_held:
            return []
        return sorted(a for a in self.devices if a not in self._down)

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        self.transfers += 1
        if self._faulty:
            self._check(addr)
        dev = self.devices.get(addr)
        if dev is None:
            raise OSError(ENODEV)
        dev.readfrom_mem_into(memaddr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self.transfers += 1
        if self._faulty:
            self._check(addr)
        dev = self.devices.get(addr)
        if dev is None:
            raise OSError(ENODEV)
        dev.writeto_mem(memaddr, buf)
