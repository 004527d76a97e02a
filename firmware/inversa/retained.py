# The motion record (control/session_record.py: deepest angle, last angle,
# learned motor gain) in RAM that survives a reset but not a power cut, so
# the app can keep it exact while the table moves without writing the flash
# inside a control period (a littlefs write stalls the whole RP2040 for
# 5-110 ms, a sector erase up to 400 ms; issue 10).
#
# Four words, each below 2**30 (a MicroPython small int: writing them
# allocates nothing), so that a torn write (a reset between two words) or
# the zeros/garbage left by a power-on never reads as a record:
#     w0 = deep_cdeg (15 bits) | (last_cdeg + 16384) << 15
#     w1 = gain_pct (10 bits) | MAGIC << 10
#     w2 = w0 ^ CHECK0,  w3 = w1 ^ CHECK1
#
# Where the words live:
#     RP2040: the watchdog's SCRATCH0-3 registers (0x4005800C...; SCRATCH4-7
#             belong to the SDK's reboot).  They survive a watchdog reset and
#             machine.reset(); a power-on or brown-out clears them.
#     the simulated boards: a list of 4 ints the simulated machine keeps
#             across a simulated watchdog/soft reset and clears on a power
#             cut (inversa_world.machine_sim.SimMachine.retained_words).
#     ESP32:  16 bytes of RTC slow memory through machine.RTC().memory()
#             (inversa/retained_esp32.py, loaded on an ESP32 only).
#             MicroPython keeps that memory RTC_NOINIT (ports/esp32/
#             machine_rtc.c), so it survives a watchdog reset, a panic and
#             machine.reset(); at power-on its length reads 0 (no record).
#             Every word store writes all 16 bytes back, so the RTC memory
#             passes through the same states as the RP2040's registers.
#     other boards: none; the app then writes the motion record to the
#             flash when it changes (the old behaviour).
#
# Usage:
#     ram = retained_for(machine)          # None: the board has none
#     ram.save((deep, last, gain))         # allocation-free (the tuple aside)
#     ram.save_values(deep, last, gain)    # the same, no tuple
#     rec = ram.load()                     # (deep, last, gain) or None

from inversa.compat import const

_MAGIC = const(0xB7A55)  # 20 bits
_CHECK0 = const(0x2A5A5A5A)
_CHECK1 = const(0x15A5A5A5)
_M15 = const(0x7FFF)
RP2_SCRATCH0 = const(0x4005800C)  # WATCHDOG_BASE + 0x0C


class Retained:
    """Four retained words: `words[addr[i]]` for i in 0..3 (the simulated
    machine's list with addr (0, 1, 2, 3); on the RP2040 machine.mem32 with
    the addresses of SCRATCH0-3, kept as int objects so that indexing with
    them allocates nothing: they are above a small int's range)."""

    def __init__(self, words, addr=(0, 1, 2, 3)):
        self.words = words
        self._addr = addr

    def save(self, rec):
        deep, last, gain = rec
        self.save_values(deep, last, gain)

    def save_values(self, deep, last, gain):
        """save((deep, last, gain)) without the tuple: the loop saves the
        record at every change while the table moves (allocation-free)."""
        if deep < 0:
            deep = 0
        elif deep > _M15:
            deep = _M15
        last += 16384
        if last < 0:
            last = 0
        elif last > _M15:
            last = _M15
        if gain < 0 or gain > 0x3FF:
            gain = 0  # "not learned"
        w0 = deep | (last << 15)
        w1 = gain | (_MAGIC << 10)
        w = self.words
        a = self._addr
        w[a[2]] = 0  # invalid until the last word is in place
        w[a[0]] = w0
        w[a[1]] = w1
        w[a[3]] = w1 ^ _CHECK1
        w[a[2]] = w0 ^ _CHECK0

    def load(self):
        """(deepest_cdeg, last_cdeg, gain_pct), or None if the words do not
        hold a whole record (power-on, torn write, another program's data)."""
        w = self.words
        a = self._addr
        w0 = w[a[0]]
        w1 = w[a[1]]
        if w[a[2]] != w0 ^ _CHECK0 or w[a[3]] != w1 ^ _CHECK1 or (w1 >> 10) != _MAGIC:
            return None
        return (w0 & _M15, ((w0 >> 15) & _M15) - 16384, w1 & 0x3FF)


def rp2_scratch(mem32):
    """A Retained on the RP2040 watchdog's SCRATCH0-3 (machine.mem32)."""
    return Retained(mem32, tuple(RP2_SCRATCH0 + 4 * i for i in range(4)))


def retained_for(machine):
    """The board's retained words as a Retained, or None if it has none."""
    words = getattr(machine, "retained_words", None)
    if words is not None:  # the simulated machine's stand-in
        return Retained(words)
    try:
        import sys

        if sys.platform == "rp2":
            return rp2_scratch(machine.mem32)
        if sys.platform == "esp32":
            from inversa.retained_esp32 import RtcMemWords

            return Retained(RtcMemWords(machine.RTC()))
    except Exception:
        pass
    return None
