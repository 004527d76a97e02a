# The drivers' viper (machine-code) twins.  read: MPU6050._read_mpy's, the
# burst read and the decode of its six big-endian words: on the emulated
# Pico a read costs ~18 instead of ~94 us besides the bus transfer (514 ->
# 438 us with the 14-byte burst at 400 kHz).  A 6500-class chip's burst
# starts 3 registers early, at INT_ENABLE (its reset mark, mpu6050.py):
# 17 bytes; the mark check and the offset cost ~5 us a read (61 -> 66 us on
# the emulated Pico, tests/board/test_rp2_native.py's stand-in bus, either
# chip), +125 B of machine code on the board's heap.
#
# Only imported through mpu6050.py, which keeps the plain method where the
# interpreter has no native emitter (CPython, the WebAssembly VM): importing
# this module there fails (ImportError / SyntaxError / ValueError).  Tests
# read the same bursts through both twins and require identical samples,
# buffers and results (tests/mpy/test_drv_imu_native.py on the 32-bit unix
# interpreter, tests/board/test_rp2_native.py on the emulated Pico).
#
# Usage (through mpu6050.py, as MPU6050._read_v):
#     changed = imu.read()

import micropython


@micropython.viper
def read(self):
    b = self._prev  # the buffers swap: the last burst is kept for the comparison
    self._prev = self._buf
    self._buf = b
    o = int(self._o)  # 3 on the 6500 class: the burst starts at INT_ENABLE (the mark)
    self.i2c.readfrom_mem_into(self.address, 0x3B - o, b)  # .. ACCEL_XOUT_H .. GYRO_ZOUT_L
    s = ptr8(b)  # noqa: F821 - a viper built-in
    s[o + 6] = 0  # the temperature is not compared (it changes while data froze)
    s[o + 7] = 0
    c = b != self._prev
    if o:
        if s[0] != 0x10:  # mpu6050._MARK gone: the chip reset
            c = b != b  # False (as an object: viper's own False is a bool)
        s = ptr8(int(s) + 3)  # noqa: F821 - the data after the 3 bytes
    r = ptr32(self.raw)  # noqa: F821 - array("i") of 6
    r[0] = ((s[0] << 8 | s[1]) ^ 0x8000) - 0x8000
    r[1] = ((s[2] << 8 | s[3]) ^ 0x8000) - 0x8000
    r[2] = ((s[4] << 8 | s[5]) ^ 0x8000) - 0x8000
    r[3] = ((s[8] << 8 | s[9]) ^ 0x8000) - 0x8000  # 6, 7: the temperature
    r[4] = ((s[10] << 8 | s[11]) ^ 0x8000) - 0x8000
    r[5] = ((s[12] << 8 | s[13]) ^ 0x8000) - 0x8000
    return c
