# Maxim MAX30102 pulse-oximetry / heart-rate sensor over I2C, read through
# its 32-sample FIFO.
#
# The sensor samples on its own clock; each `read_fifo()` drains whatever
# accumulated since the last call.  Sample times therefore come from the
# sensor's rate (`period_us`) and the running `samples` count, never from the
# moment the FIFO was read.  If the FIFO filled up (the loop stalled for more
# than 32 samples), the overflow counter says how many samples were lost:
# they are reported in `lost` and counted in `overflows` / `lost_total`, and
# `samples` advances over them so later sample times stay right.
#
# Usage:
#     from machine import I2C, Pin
#     from inversa.drivers.max30102 import MAX30102
#     ppg = MAX30102(I2C(0, scl=Pin(5), sda=Pin(4), freq=400000))
#     n = ppg.read_fifo()            # raises OSError on a bus error
#     for i in range(n):
#         use(ppg.ir[i], ppg.red[i])  # 18-bit counts, oldest first
#
# Interface shared by the PPG drivers (MAX30102, PulseADC, InjectedPPG):
#   read_fifo() -> number of new samples in ir[0:n] (and red[0:n]);
#   lost: samples dropped after them (the FIFO was full; the newest are lost
#   first); samples: running count of samples delivered or lost;
#   period_us: nominal sample period; fifo_depth: samples the sensor buffers
#   (0: none, read it at every control period);
#   polarity: +1 if the value rises with blood volume, -1 if it falls;
#   contact_min: lowest plausible level with skin on the sensor (0: no check).

from array import array

from inversa.compat import const
from inversa.drivers.i2cdev import I2CDevice

ADDR = const(0x57)
PART_ID_VALUE = const(0x15)

_INT_STATUS_1 = const(0x00)  # then STATUS_2, ENABLE_1/2, FIFO_WR_PTR, OVF, RD_PTR
_INT_ENABLE_1 = const(0x02)
_FIFO_WR_PTR = const(0x04)  # then OVF_COUNTER (0x05), FIFO_RD_PTR (0x06)
_FIFO_DATA = const(0x07)
_FIFO_CONFIG = const(0x08)
_MODE_CONFIG = const(0x09)
_SPO2_CONFIG = const(0x0A)
_LED1_PA = const(0x0C)  # red
_LED2_PA = const(0x0D)  # infrared
_PART_ID = const(0xFF)

_RESET = const(0x40)
_A_FULL = const(0x80)  # INT_STATUS_1 / INT_ENABLE_1: FIFO almost full
_NEAR_FULL = const(16)  # a drain of this many samples clears A_FULL after it
_MODE_SPO2 = const(0x03)  # red + IR
_DEPTH = const(32)
_BYTES = const(6)  # 3 bytes red then 3 bytes IR per sample in SpO2 mode
_CHUNK = const(4)  # samples per FIFO_DATA read (its address does not increment)
_MASK18 = const(0x3FFFF)


class MAX30102(I2CDevice):
    """Maxim MAX30102 pulse oximeter front end on I2C (datasheet 19-7740).
    read_fifo() drains up to 32 samples into ir/red (18-bit counts,
    full_scale = 2**18 - 1; rate_hz samples/s after averaging); `lost`,
    `overflows` and `lost_total` count samples the FIFO dropped.  OSError if
    the part id is wrong or the chip does not answer; ValueError for a
    setting the chip does not have."""

    def __init__(
        self,
        i2c,
        address=ADDR,
        sample_rate=400,
        average=4,
        pulse_width_us=411,
        adc_range_na=4096,
        led_ma=7,
        contact_min=8192,
        sleep_ms=None,
    ):
        # The chip's settings, index = register code: lists built here, so
        # they go with __init__ after the boot (constant tuples would stay in
        # the module's constant table as long as read_fifo: issue 10 item 4)
        rates = [50, 100, 200, 400, 800, 1000, 1600, 3200]  # SPO2_SR code
        averages = [1, 2, 4, 8, 16, 32]  # SMP_AVE code
        widths_us = [69, 118, 215, 411]  # 15..18-bit ADC; LED_PW code
        ranges_na = [2048, 4096, 8192, 16384]  # SPO2_ADC_RGE code
        if sample_rate not in rates:
            from inversa.error_text import text

            raise ValueError(text(0))
        if average not in averages:
            from inversa.error_text import text

            raise ValueError(text(1))
        if pulse_width_us not in widths_us:
            from inversa.error_text import text

            raise ValueError(text(2))
        pw = widths_us.index(pulse_width_us)
        # SpO2 mode's highest rate per pulse width (datasheet)
        if sample_rate > [1600, 1000, 800, 400][pw]:
            from inversa.error_text import text

            raise ValueError(text(3, sample_rate, pulse_width_us))
        if adc_range_na not in ranges_na:
            from inversa.error_text import text

            raise ValueError(text(4))
        if not 0 <= led_ma <= 50:
            from inversa.error_text import text

            raise ValueError(text(5))
        I2CDevice.__init__(self, i2c, address)
        # FIFO_WR_PTR, OVF_COUNTER, FIFO_RD_PTR in read_fifo; FIFO_CONFIG ..
        # SPO2_CONFIG in _config_lost; zeros in clear_fifo (never at once)
        self._chk = bytearray(3)
        self.chip = "MAX30102"
        # A drain reads FIFO_DATA in chunks of up to _CHUNK samples (2-3 at a
        # 20 ms drain; a full FIFO after a stall takes 8 reads): one view per
        # chunk size, made once (slicing later would allocate), instead of
        # 33 views (~0.5 KB of the board's heap).
        self._data = bytearray(_CHUNK * _BYTES)
        mv = memoryview(self._data)
        self._views = (None,) + tuple(mv[: n * _BYTES] for n in range(1, _CHUNK + 1))
        self.ir = array("i", [0] * _DEPTH)
        self.red = array("i", [0] * _DEPTH)
        self.lost = 0
        self.samples = 0  # samples delivered or lost since start (wraps at 2**30)
        self.overflows = 0
        self.lost_total = 0
        self.polarity = -1  # reflected light falls when blood volume rises
        self.fifo_depth = _DEPTH
        self.contact_min = contact_min
        self.full_scale = _MASK18
        self.period_us = 1000000 * average // sample_rate
        self.rate_hz = sample_rate // average

        part = self._read_u8(_PART_ID)
        if part != PART_ID_VALUE:
            from inversa.error_text import text

            raise OSError(text(6, address, part))
        self._write_u8(_MODE_CONFIG, _RESET)
        for _ in range(20):
            if sleep_ms is not None:
                sleep_ms(1)
            if not self._read_u8(_MODE_CONFIG) & _RESET:
                break
        else:
            from inversa.error_text import text

            raise OSError(text(7))
        spo2 = (ranges_na.index(adc_range_na) << 5) | (rates.index(sample_rate) << 2)
        # FIFO_CONFIG (no rollover, A_FULL at 0 free slots), MODE, SPO2_CONFIG
        self._want = bytes((averages.index(average) << 5, _MODE_SPO2, spo2 | pw))
        self._led = led_ma * 5  # 0.2 mA per step
        self._configure()
        if self._read_u8(_SPO2_CONFIG) != spo2 | pw:
            from inversa.error_text import text

            raise OSError(text(8))

    def _configure(self):
        w = self._want
        self._write_u8(_FIFO_CONFIG, w[0])
        self._write_u8(_SPO2_CONFIG, w[2])
        self._write_u8(_LED1_PA, self._led)
        self._write_u8(_LED2_PA, self._led)
        self._write_u8(_INT_ENABLE_1, _A_FULL)
        self.clear_fifo()
        self._write_u8(_MODE_CONFIG, w[1])

    def _config_lost(self):
        # FIFO, mode and SpO2 configuration back at power-on values
        c = self._chk
        self.i2c.readfrom_mem_into(self.address, _FIFO_CONFIG, c)
        w = self._want
        return not (c[0] == w[0] and c[1] & 0xC7 == w[1] and c[2] == w[2])

    def clear_fifo(self):
        z = self._chk
        z[0] = z[1] = z[2] = 0
        self.i2c.writeto_mem(self.address, _FIFO_WR_PTR, z)
        self._read_u8(_INT_STATUS_1)  # and a stale A_FULL with it (clears on read)

    def read_fifo(self):
        """Drain the FIFO into ir/red[0:n]; return n.  `lost` = samples dropped after them."""
        p = self._chk
        i2c = self.i2c
        addr = self.address
        # The three pointers only (6 bytes on the bus, not 10 from
        # INT_STATUS_1): equal write and read pointers with no sample lost
        # are an empty FIFO or a full one, and only then does A_FULL (set at
        # 32 waiting, cleared only by reading INT_STATUS_1) decide.  So that
        # it is never stale there, INT_STATUS_1 is also read after any drain
        # that came near full (the FIFO may have filled meanwhile).
        i2c.readfrom_mem_into(addr, _FIFO_WR_PTR, p)
        n = (p[0] - p[2]) & 31
        lost = p[1]
        if n == 0 and (lost or self._read_u8(_INT_STATUS_1) & _A_FULL):
            n = _DEPTH  # full: the write pointer caught up with the read pointer
        if lost:
            self.overflows += 1
            self.lost_total += lost
        self.lost = lost
        if n:
            # FIFO_DATA does not auto-increment its address: each read goes
            # on from FIFO_RD_PTR, whole samples at a time
            b = self._data
            ir = self.ir
            red = self.red
            views = self._views
            i = 0
            left = n
            while left:
                k = left if left < _CHUNK else _CHUNK
                i2c.readfrom_mem_into(addr, _FIFO_DATA, views[k])
                left -= k
                j = 0
                while k:
                    red[i] = (b[j] << 16 | b[j + 1] << 8 | b[j + 2]) & _MASK18
                    ir[i] = (b[j + 3] << 16 | b[j + 4] << 8 | b[j + 5]) & _MASK18
                    i += 1
                    j += _BYTES
                    k -= 1
            if n >= _NEAR_FULL:
                self._read_u8(_INT_STATUS_1)  # A_FULL, if it was set, is stale now
        self.samples = (self.samples + n + lost) & 0x3FFFFFFF
        return n
