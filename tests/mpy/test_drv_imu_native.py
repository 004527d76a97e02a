# The viper twin of the MPU-6050's read (inversa/drivers/native.py)
# gives exactly what the plain method (MPU6050._read_mpy) gives: the six
# samples, both burst buffers and the "changed" result, over seeded random
# bursts and every sign edge of a word.  Where the interpreter has no native
# emitter (CPython, the WebAssembly VM) there is no twin: skipped.  It runs in
# the 32-bit unix interpreter (x86 native code) and on the emulated Pico
# (armv6m: tests/board/test_rp2_native.py runs the same comparison there).
# That the board's read allocates nothing: tests/mpy/test_drv_imu.py.

from inversa.drivers.mpu6050 import MPU6050
from inversa_world.devices import FakeI2CBus
from mpyunit import skip


def _emitter():
    # a native emitter compiles a viper function; CPython has no micropython
    try:
        exec("import micropython\n@micropython.viper\ndef f(x: int) -> int:\n    return x\n")
    except Exception:
        skip("no native emitter in this interpreter (plain twin only)")


class Bursts:
    """An I2C stand-in whose bursts are given bytes (no allocation)."""

    def __init__(self, n=14):
        self.data = bytearray(n)
        self.reg = -1

    def readfrom_mem_into(self, address, reg, buf):
        self.reg = reg
        d = self.data
        for i in range(len(buf)):
            buf[i] = d[i]


class Registers:
    """Just enough of an MPU-6050 for the driver's set-up (no simulated
    physics: the 32-bit interpreter's Pico-sized heap holds two drivers)."""

    def __init__(self, who=0x68):
        self.regs = bytearray(256)
        self.regs[0x75] = who  # WHO_AM_I

    def readfrom_mem_into(self, memaddr, buf):
        for i in range(len(buf)):
            buf[i] = self.regs[(memaddr + i) & 0xFF]

    def writeto_mem(self, memaddr, buf):
        for i in range(len(buf)):
            self.regs[memaddr + i] = buf[i]
        self.regs[0x6B] &= 0x7F  # DEVICE_RESET clears itself


def _imu(who=0x68):
    bus = FakeI2CBus()
    bus.attach(0x68, Registers(who))
    imu = MPU6050(bus)
    imu.i2c = Bursts(len(imu._buf))
    return imu


def _bursts(n=14):
    # n = 17 (a 6500-class chip): 3 bytes from INT_ENABLE first, its mark
    # 0x10 in most, a reset's 0 or another value in some
    edges = (0x00, 0x01, 0x7F, 0x80, 0x81, 0xFE, 0xFF)
    for hi in edges:
        for lo in edges:
            yield bytes([hi, lo] * (n // 2) + [lo] * (n % 2))
    yield bytes(n)
    yield bytes(n)  # the same burst twice: not changed
    x = 4321
    for _ in range(2000):
        b = bytearray(n)
        for i in range(n):
            x = (x * 1103515245 + 12345) % 2147483648
            b[i] = (x >> 16) & 0xFF
        if n > 14 and x & 3:
            b[0] = 0x10
        yield bytes(b)
        if x & 7 == 0:
            yield bytes(b)


def test_the_mpu6050_read_twin_matches_the_plain_method():
    _emitter()
    from inversa.drivers import native

    assert MPU6050._read_v is native.read
    for who, reg in ((0x68, 0x3B), (0x70, 0x38)):  # MPU-6050; 6500 class (mark)
        plain = _imu(who)
        twin = _imu(who)
        n = 0
        seen = set()
        for burst in _bursts(len(plain._buf)):
            plain.i2c.data[:] = burst
            twin.i2c.data[:] = burst
            want = MPU6050._read_mpy(plain)
            got = twin.read()  # the board's method (the twin)
            assert got is want, (burst, got, want)
            seen.add(want)
            assert list(twin.raw) == list(plain.raw), (burst, list(twin.raw), list(plain.raw))
            assert twin._buf == plain._buf and twin._prev == plain._prev
            assert twin.i2c.reg == plain.i2c.reg == reg
            n += 1
        assert n > 2000 and seen == {True, False}
        assert min(plain.raw) >= -32768 and max(plain.raw) <= 32767
