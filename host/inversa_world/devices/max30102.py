# Register-level fake of the Maxim MAX30102, for the real driver
# (inversa.drivers.max30102) to run against in tests and the simulator.
#
# The chip samples on its own clock: as virtual time passes, samples are
# pushed into the 32-deep FIFO at the configured rate (SPO2_SR / SMP_AVE,
# with an optional oscillator error), each from the PPG `source` (a callable
# t_us -> blood-volume value, e.g. inversa_world.ppg.PPGSynth) turned into
# 18-bit counts: the reflected light falls when blood volume rises, so
# counts = DC * (1 - perfusion * value) + noise, DC set by the LED current.
# When the FIFO is full (rollover off), new samples are lost and counted in
# OVF_COUNTER (saturating at 31) until a sample is popped.  Registers
# answered: FIFO_WR_PTR/OVF_COUNTER/FIFO_RD_PTR (0x04-0x06, writable),
# FIFO_DATA (0x07, reading pops samples), FIFO_CONFIG, MODE_CONFIG (RESET
# self-clears, SHDN stops sampling), SPO2_CONFIG, LED1/LED2_PA, PART_ID,
# INT_STATUS_1 (0x00, clears on read: A_FULL set when the FIFO holds
# 32 - FIFO_A_FULL samples and INT_ENABLE_1's A_FULL_EN is set; PWR_RDY after
# power-on).  `brownout()`: the chip resets itself (registers at power-on
# values, mode 0: no samples).
#
# Usage:
#     ppg = PPGSynth(seed=2, hr_bpm=70)
#     fake = bus.attach(0x57, FakeMAX30102(clock, seed=2, source=ppg))
#     drv = MAX30102(bus)
#     fake.contact = False       # finger off: ambient level, no pulse
#     fake.set_perfusion(0.005)  # weak pulse (0.5 % of the IR light)
#     fake.stuck = True          # sampling stops (FIFO frozen)
#     fake.osc_error = 0.01      # the sensor's clock runs 1 % fast

import struct

from inversa.compat import ticks_diff
from inversa_world.rng import Rng

_PACK = ">HBHB"  # red (18 bits as 16 + 8), IR

_RATES = (50, 100, 200, 400, 800, 1000, 1600, 3200)
_AVES = (1, 2, 4, 8, 16, 32, 32, 32)
_NOISE_N = 2039


class FakeMAX30102:
    def __init__(
        self,
        clock,
        seed=1,
        source=None,
        part_id=0x15,
        perfusion_ir=0.02,
        perfusion_red=0.012,
        dc_per_ma=14000.0,
        noise_counts=12.0,
        osc_error=0.0,
    ):
        self.clock = clock
        self.source = source
        self.part_id = part_id
        self.perfusion_ir = perfusion_ir
        self.perfusion_red = perfusion_red
        self.dc_per_ma = dc_per_ma
        self.noise_counts = noise_counts
        self.osc_error = osc_error
        self.contact = True
        self.stuck = False
        rng = Rng(seed + 104729)
        self._noise = rng.gauss_table(_NOISE_N)
        self._j = rng.randint(0, _NOISE_N - 1)
        self.regs = bytearray(256)
        self.fifo = bytearray(32 * 6)
        self._count = 0
        self.produced = 0
        self.lost = 0
        self._last_us = clock.ticks_us()
        self._t_us = 0.0
        self._next_us = 0.0
        self._power_on()

    def _power_on(self):
        r = self.regs
        for i in range(256):
            r[i] = 0
        r[0xFE] = 0x03  # REV_ID
        r[0xFF] = self.part_id
        r[0x00] = 0x01  # PWR_RDY
        self._count = 0
        self._reconfigure()

    def _reconfigure(self):
        r = self.regs
        sr = _RATES[(r[0x0A] >> 2) & 7]
        ave = _AVES[r[0x08] >> 5]
        self.rate_hz = sr / ave
        self.period_us = 1e6 * ave / sr
        self._ave = ave
        mode = r[0x09] & 7
        self._bytes = 6 if mode in (3, 7) else 3
        self._on = mode in (2, 3, 7) and not r[0x09] & 0x80
        pw = r[0x0A] & 3
        self._mask = (0x3FFF8, 0x3FFFC, 0x3FFFE, 0x3FFFF)[pw]  # left-justified
        rge = (r[0x0A] >> 5) & 3
        self._gain = 4096.0 / (2048 << rge)  # counts scale with the ADC range
        ns = self.noise_counts / (ave**0.5)
        self._noise_s = [x * ns for x in self._noise]
        self._a_ir = r[0x0D] * 0.2 * self.dc_per_ma * self._gain  # DC level, counts
        self._a_red = r[0x0C] * 0.2 * self.dc_per_ma * 0.8 * self._gain
        self._b_ir = self._a_ir * self.perfusion_ir  # counts per unit of PPG
        self._b_red = self._a_red * self.perfusion_red

    # -- the chip's clock -----------------------------------------------
    def _catch_up(self):
        now = self.clock.ticks_us()
        d = now - self._last_us
        if d == 0:
            return
        if d < 0 or d > 0x1FFFFFFF:
            d = ticks_diff(now, self._last_us)
        self._last_us = now
        self._t_us += d
        if not self._on or self.stuck:
            self._next_us = self._t_us
            return
        if self._next_us <= self._t_us:
            period = self.period_us / (1.0 + self.osc_error)
            while self._next_us <= self._t_us:
                self._push(self._next_us)
                self._next_us += period

    def _push(self, t_us):
        if self._count >= 32:
            self.lost += 1
            r = self.regs
            if r[0x05] < 31:
                r[0x05] += 1
            return
        j = self._j + 1
        if j == _NOISE_N:
            j = 0
        self._j = j
        n = self._noise_s[j]
        if self.contact and self.source is not None:
            v = self.source(t_us)
            ir = int(self._a_ir - self._b_ir * v + n)
            red = int(self._a_red - self._b_red * v + 0.9 * n)
        else:  # nothing on the sensor: ambient light only
            ir = int(1500.0 * self._gain + n)
            red = int(1200.0 * self._gain + n)
        if not (0 <= ir <= 0x3FFFF and 0 <= red <= 0x3FFFF):  # ADC limits
            ir = 0 if ir < 0 else (0x3FFFF if ir > 0x3FFFF else ir)
            red = 0 if red < 0 else (0x3FFFF if red > 0x3FFFF else red)
        m = self._mask
        ir &= m
        red &= m
        r = self.regs
        w = r[0x04]
        struct.pack_into(_PACK, self.fifo, w * 6, red >> 8, red & 0xFF, ir >> 8, ir & 0xFF)
        r[0x04] = (w + 1) & 31
        self._count += 1
        if r[0x02] & 0x80 and self._count >= 32 - (r[0x08] & 0x0F):
            r[0x00] |= 0x80  # A_FULL
        self.produced += 1

    def brownout(self):
        """The chip reset itself (supply dip): power-on register values, no sampling."""
        self._catch_up()
        self._power_on()

    def set_perfusion(self, ir=None, red=None):
        """Change the pulsatile fraction of the IR and red light (e.g. 0.02)."""
        if ir is not None:
            self.perfusion_ir = ir
        if red is not None:
            self.perfusion_red = red
        self._reconfigure()

    # -- bus side ---------------------------------------------------------
    def readfrom_mem_into(self, memaddr, buf):
        r = self.regs
        n = len(buf)
        if memaddr == 0x07:
            self._catch_up()
            bps = self._bytes
            f = self.fifo
            k = 0
            while k < n:
                if self._count == 0:
                    buf[k] = 0  # reading an empty FIFO returns nothing useful
                    k += 1
                    continue
                rd = r[0x06]
                base = rd * 6
                if n - k >= bps:  # a whole sample: popped
                    buf[k : k + bps] = f[base : base + bps]
                    k += bps
                    r[0x06] = (rd + 1) & 31
                    self._count -= 1
                    r[0x05] = 0
                else:
                    for b in range(n - k):
                        buf[k + b] = f[base + b]
                    k = n
            return
        if memaddr <= 0x06 and memaddr + n > 0x04:
            self._catch_up()
        buf[:] = r[memaddr : memaddr + n]
        if memaddr <= 0x01 < memaddr + n or memaddr == 0x00:
            r[0x00] = 0  # interrupt status clears on read
            r[0x01] = 0

    def writeto_mem(self, memaddr, buf):
        r = self.regs
        touched_ptr = False
        for i in range(len(buf)):
            a = memaddr + i
            if a in (0x07, 0xFE, 0xFF, 0x00, 0x01):
                continue
            r[a] = buf[i]
            if a == 0x09 and buf[i] & 0x40:
                self._power_on()  # RESET: defaults, bit self-clears
            if 0x04 <= a <= 0x06:
                touched_ptr = True
        if touched_ptr:
            self._catch_up_time_only()
            self._count = (r[0x04] - r[0x06]) & 31
        if memaddr <= 0x0D and memaddr + len(buf) > 0x08:
            self._catch_up_time_only()
            self._reconfigure()

    def _catch_up_time_only(self):
        now = self.clock.ticks_us()
        self._t_us += ticks_diff(now, self._last_us)
        self._last_us = now
        self._next_us = self._t_us + self.period_us
