"""MicroPython source of a register-file chip for the unix port's ``machine``
stand-in (``vm/mpylib/machine.py``'s ``I2C.attach``): an MPU-6050 / MAX30102
that answers its WHO_AM_I / PART_ID and whose reset bits self-clear, as the
chips' do.  Pasted at the top of the scripts the 32-bit fixed-heap
interpreter runs (bench_board's and heap_account's heap probes, the
constant-folding equivalence test); one copy, so they measure the same
thing.  Usage: ``script = CHIP_CLASS + "machine.I2C.attach(0, 0x68, Chip(((0x75, 0x68),)))"``.
"""

CHIP_CLASS = r"""
import machine


class Chip:
    def __init__(self, who):
        self.regs = bytearray(256)
        for r, v in who:
            self.regs[r] = v

    def readfrom_mem_into(self, memaddr, buf):
        for i in range(len(buf)):
            buf[i] = self.regs[(memaddr + i) & 0xFF]

    def writeto_mem(self, memaddr, buf):
        for i in range(len(buf)):
            r = (memaddr + i) & 0xFF
            v = buf[i]
            if r == 0x6B:
                v &= 0x7F  # MPU-6050 DEVICE_RESET self-clears
            elif r == 0x09:
                v &= 0xBF  # MAX30102 RESET self-clears
            self.regs[r] = v

"""
