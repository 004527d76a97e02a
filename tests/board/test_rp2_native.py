"""The viper twins (inversa/crc_native.py, inversa/link/native.py, inversa/sense/imath_native.py
(atan2 and the heart-rate estimator's kernels),
inversa/drivers/native.py) compiled by mpy-cross for armv6m,
run on the emulated Pico, give what the plain versions give.  Timings printed.
Skipped, with the reason, where the emulated Pico is unavailable."""

from __future__ import annotations

SCRIPT = """
import time
from inversa import crc
from inversa.link import cobs
print("native", crc.NATIVE, cobs.NATIVE)
x = 12345
def fill(buf, zeros):
    global x
    for i in range(len(buf)):
        x = (x * 1103515245 + 12345) % 2147483648
        r = x >> 16
        buf[i] = 0 if zeros and r % 4 == 0 else r & 0xFF
b = bytearray(300)
w1 = bytearray(320)
w2 = bytearray(320)
bad = 0
for trial in range(6):
    fill(b, trial % 3 != 2)
    for s, n in ((0, 9), (1, 64), (3, 254), (0, 255), (5, 290)):
        if crc.crc16(b, s, s + n) != crc.crc16_table(b, s, s + n):
            bad += 1
        m1 = cobs.encode_into(b, s, s + n, w1, 1)
        m2 = cobs.encode_into_plain(b, s, s + n, w2, 1)
        if m1 != m2 or w1[:m1] != w2[:m2]:
            bad += 1
from inversa.sense import imath, imath_plain
print("imath native", imath.NATIVE)
imath_plain.TAB = imath._ATAN
for i in range(4000):
    x = (x * 1103515245 + 12345) % 2147483648
    ya = ((x >> 8) & 0x3FFFF) - 0x20000
    x = (x * 1103515245 + 12345) % 2147483648
    xa = ((x >> 3) % (1 << 27)) - (1 << 26) if x & 1 else ((x >> 8) & 0xFFFF) - 0x8000
    for yy, xx in ((ya, xa), (xa, ya), (ya >> 9, xa >> 9), (0, xa), (ya, 0)):
        if imath.atan2_udeg(yy, xx) != imath_plain.atan2_udeg_plain(yy, xx):
            bad += 1
from array import array
from inversa.drivers import native
from inversa.drivers.mpu6050 import MPU6050
print("mpu native", MPU6050._read_v is native.read)
class Bursts:
    def __init__(self, o):
        self.data = bytearray(14 + o)
        self.reg = 0x3B - o
    def readfrom_mem_into(self, address, reg, buf):
        buf[:] = self.data if reg == self.reg else b"?"
class Imu:
    def __init__(self, o):
        self.i2c = Bursts(o)
        self.address = 0x68
        self._o = o  # 3: a 6500-class chip's burst from INT_ENABLE (its mark)
        self._buf = bytearray(14 + o)
        self._prev = bytearray(14 + o)
        self.raw = array("i", (0, 0, 0, 0, 0, 0))
for o in (0, 3):
    p = Imu(o)
    q = Imu(o)
    for i in range(3000):
        fill(p.i2c.data, False)
        if o and i % 5:
            p.i2c.data[0] = 0x10  # the mark (else a reset's 0, or noise)
        if i % 7 == 0:
            p.i2c.data[:] = p._buf  # the same burst again: not changed
        if i < 64:  # the sign edges of each word
            e = (0, 1, 0x7F, 0x80, 0x81, 0xFE, 0xFF, 0x80)
            for k in range(14):
                p.i2c.data[o + k] = e[(i >> 3) if k % 2 == 0 else i % 8]
        q.i2c.data[:] = p.i2c.data
        want = MPU6050._read_mpy(p)
        got = native.read(q)
        if got is not want or p.raw != q.raw or p._buf != q._buf or p._prev != q._prev:
            bad += 1
from array import array
from inversa.sense import imath_native as hn
print("hr kernels native", imath.lags is hn.lags and imath.harm is hn.harm)
sn = bytes(range(64))
for trial in range(8):
    dr = array("i", [0] * 184)
    ys = array("h", [0] * 104)
    for i in range(184):
        x = (x * 1103515245 + 12345) % 2147483648
        dr[i] = (x >> 5) - (1 << 25) if trial % 2 else ((x >> 16) & 0x3FFF) - 0x2000
        if i < 104:
            ys[i] = ((x >> 12) % 4095) - 2047
    sc = (1, 7, 300, 70001)[trial % 4]
    ra = array("h", [-200] * 41)
    rb = array("h", [-200] * 41)
    e0 = 0
    el = 0
    for k in range(64):
        e0 += ys[k] * ys[k]
        el += ys[k + 6] * ys[k + 6]
    ea = hn.lags(ys, ra, 6, 41, e0, el, 9 + trial, 64)
    eb = imath_plain.lags(ys, rb, 6, 41, e0, el, 9 + trial, 64)
    bad += ra != rb or ea != eb
    ha = array("i", [0] * 12)
    hb = array("i", [0] * 12)
    hn.harm(ha, dr, sn, 150, sc, 200 + trial * 50, 0, 96)
    imath_plain.harm(hb, dr, sn, 150, sc, 200 + trial * 50, 0, 96)
    bad += ha != hb
from inversa.sense import imath_native, frontend
print("map native", frontend.map_v is imath_native.map_v)
declined = 0
# tests/mpy/test_sense_map_native.py's checks, fewer (m[23]: the ranges hold)
mp = array("i", [0, 2, 4, 1, 1, 0, 0, 16384, 14, 0, 4000, 131, 0, 1, 1, 0, 3, 4000, 0, 5, 4000, 0, 32767, 1, 0, 0, 0, 0, 0, 0])
m2 = array("i", mp)
rw = array("i", [0] * 6)
for k in range(1500):
    x = (x * 1103515245 + 12345) % 2147483648
    if k % 50 == 0:  # another mount: axes, signs, offsets, scale
        lo, up = ((0, 2), (2, 0), (1, 2), (0, 1), (2, 1), (1, 0))[k // 50 % 6]
        mp[0] = lo
        mp[1] = up
        mp[2] = 6 - lo - up
        mp[13] = 3 - lo - up
        mp[16] = 3 + lo
        mp[19] = 3 + up
        mp[3] = (1, -1)[x & 1]
        mp[5] = (x >> 3) % 6000 - 3000
        mp[7] = 15000 + (x >> 5) % 3000 if k % 300 else 65535
        mp[10] = (4000, -35, 32767)[k // 50 % 3]
        mp[12] = (x >> 7) % 20000 - 10000
        mp[21] = (x >> 9) % 9000 - 4500
    for i in range(6):
        rw[i] = ((x >> i) % 65536) - 32768
    for i in range(30):
        m2[i] = mp[i]
    got = imath_native.map_v(rw, mp)
    if got < 0:
        declined += 1
        if mp != m2:
            bad += 1
        continue
    if got != frontend._map_raw(rw, m2) or mp != m2:
        bad += 1
print("map declined", declined)
print("mismatches", bad)
def t(name, f, n=10):
    t0 = time.ticks_us()
    for _ in range(n):
        f()
    print("%s %d us" % (name, time.ticks_diff(time.ticks_us(), t0) // n))
t("crc16 viper 64B", lambda: crc.crc16(b, 0, 64))
t("crc16 plain 64B", lambda: crc.crc16_table(b, 0, 64))
t("cobs viper 66B", lambda: cobs.encode_into(b, 0, 66, w1, 0))
t("cobs plain 66B", lambda: cobs.encode_into_plain(b, 0, 66, w1, 0))
t("atan2 viper", lambda: imath.atan2_udeg(-1234, 16000))
t("atan2 plain", lambda: imath_plain.atan2_udeg_plain(-1234, 16000))
t("hr lags viper (6 lags)", lambda: hn.lags(ys, ra, 6, 12, e0, el, 20, 64))
t("hr lags plain (6 lags)", lambda: imath_plain.lags(ys, rb, 6, 12, e0, el, 20, 64), 1)
t("hr harm viper (96 points)", lambda: hn.harm(ha, dr, sn, 150, 77, 300, 0, 96))
q6 = q  # a 6500-class chip's burst (the mark first)
p = Imu(0)
q = Imu(0)
t("mpu read viper", lambda: native.read(q), 100)
t("mpu read plain", lambda: MPU6050._read_mpy(p), 100)
t("mpu read viper (6500 class)", lambda: native.read(q6), 100)
for i, v in enumerate((-300, 40, 16300, 12, -50, 70)):  # a sample at rest
    rw[i] = v
t("imu map viper", lambda: imath_native.map_v(rw, mp), 100)
t("imu map plain", lambda: frontend._map_raw(rw, mp), 100)
"""


def test_viper_twins_are_identical_on_armv6m(emulated_pico):
    from inversa.board.config import validate
    from inversa_host.rp2emu.board import EmuClock, EmulatedPico, RawRepl
    from inversa_host.rp2emu.fsimage import deploy_files, littlefs_image
    from inversa_world.devices.bus import FakeI2CBus

    cfg = validate({"board": "pico", "imu": "mpu6050", "hr": "max30102", "motor": "hbridge"}, "t")
    files = deploy_files("pico", cfg)
    del files["/main.py"]  # the REPL, not the control loop
    with EmulatedPico(littlefs_image(files), FakeI2CBus(), EmuClock(), [], []) as pico:
        out = RawRepl(pico).exec(SCRIPT)
    print("\nemulated Pico (armv6m .mpy):\n" + out)
    assert "native True True" in out
    assert "imath native True" in out
    assert "mpu native True" in out
    assert "hr kernels native True" in out
    assert "map native True" in out
    assert "mismatches 0" in out
