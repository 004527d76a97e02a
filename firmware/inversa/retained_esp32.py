# The ESP32's retained words for inversa/retained.py: 16 bytes of RTC slow
# memory (see retained.py for why they survive a reset and not a power cut).
# A module of its own so other boards never load its code or names.
#
# Usage (retained.retained_for does this on an ESP32):
#     ram = Retained(RtcMemWords(machine.RTC()))


class RtcMemWords:
    """Four 32-bit words in the ESP32's RTC user memory, indexed 0..3 like a
    list: `rtc` is machine.RTC() (its memory() reads the bytes, memory(buf)
    writes them).  A store copies the 16-byte array into the RTC memory: no
    allocation (memory(buf) copies from the buffer; the words stay small
    ints).  Whatever the memory held that is not 16 bytes reads as zeros."""

    def __init__(self, rtc):
        from array import array

        self._rtc = rtc
        self._w = array("I", (0, 0, 0, 0))
        try:
            m = rtc.memory()
        except Exception:
            m = b""
        if len(m) == 16:
            for i in range(4):
                j = 4 * i  # little-endian, as the ESP32 stores an array("I")
                self._w[i] = m[j] | m[j + 1] << 8 | m[j + 2] << 16 | m[j + 3] << 24

    def __getitem__(self, i):
        return self._w[i]

    def __setitem__(self, i, v):
        self._w[i] = v
        self._rtc.memory(self._w)
