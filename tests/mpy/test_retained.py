# The motion record in retained RAM (inversa/retained.py): exact across a
# reset, and nothing a power-on or a torn write leaves reads as a record.

from inversa.retained import RP2_SCRATCH0, Retained, retained_for, rp2_scratch
from inversa.retained_esp32 import RtcMemWords
from mpyunit import assert_no_alloc


def test_a_record_comes_back_exactly():
    r = Retained([0, 0, 0, 0])
    for rec in ((0, 0, 0), (2016, 2007, 125), (9000, -6478, 300), (123, -16384, 1023)):
        r.save(rec)
        assert r.load() == rec


def test_save_values_writes_what_save_writes_and_allocates_nothing():
    # the loop saves the record at every change while the table moves
    # (measured on the emulated Pico: a descent allocated ~110 B per 100
    # periods in record()'s tuples before)
    from mpyunit import assert_no_alloc

    for rec in ((0, 0, 0), (2016, 2007, 125), (9000, -6478, 300), (40000, -20000, 2000)):
        a = [0, 0, 0, 0]
        b = [0, 0, 0, 0]
        Retained(a).save(rec)
        Retained(b).save_values(rec[0], rec[1], rec[2])
        assert a == b, rec
    r = Retained([0, 0, 0, 0])
    assert_no_alloc(lambda: r.save_values(2016, 2007, 125))


def test_every_word_is_a_small_int():
    # below 2**30: writing it on the board allocates nothing
    w = [0, 0, 0, 0]
    Retained(w).save((32767, 16383, 1023))
    for v in w:
        assert 0 <= v < (1 << 30)


def test_power_on_zeros_and_garbage_are_no_record():
    assert Retained([0, 0, 0, 0]).load() is None
    assert Retained([0x3FFFFFFF] * 4).load() is None
    assert Retained([1, 2, 3, 4]).load() is None


def test_a_torn_write_is_no_record():
    # a reset between any two word writes: the old record or none, never a mix
    old = (2016, 2007, 125)
    new = (4000, 3900, 130)
    w = [0, 0, 0, 0]
    Retained(w).save(old)
    target = [0, 0, 0, 0]
    Retained(target).save(new)
    for i in range(4):
        torn = list(w)
        torn[i] = target[i]
        got = Retained(torn).load()
        assert got is None or got == old


def test_mem32_view_and_the_simulated_stand_in():
    class Mem:
        def __init__(self):
            self.d = {}

        def __getitem__(self, a):
            return self.d.get(a, 0)

        def __setitem__(self, a, v):
            self.d[a] = v

    m = Mem()
    r = rp2_scratch(m)
    r.save((100, 50, 110))
    assert sorted(m.d) == [RP2_SCRATCH0 + 4 * i for i in range(4)]  # SCRATCH0-3 only
    assert r.load() == (100, 50, 110)

    class SimMachine:
        retained_words = [0, 0, 0, 0]

    got = retained_for(SimMachine())
    assert got is not None and got.words is SimMachine.retained_words


class FakeRtc:
    """machine.RTC() on the ESP32 as ports/esp32/machine_rtc.c behaves:
    memory() returns a copy of the bytes last written (b"" after power-on),
    memory(buf) copies buf in."""

    def __init__(self, data=b""):
        self.data = bytes(data)
        self.states = []  # every state the memory passed through

    def memory(self, buf=None):
        if buf is None:
            return bytes(self.data)
        self.data = bytes(buf)
        self.states.append(self.data)


def test_esp32_rtc_memory_keeps_a_record_across_a_reset():
    rtc = FakeRtc()
    assert Retained(RtcMemWords(rtc)).load() is None  # power-on: nothing
    Retained(RtcMemWords(rtc)).save((2016, -2007, 125))
    assert len(rtc.data) == 16
    # a reset: a new interpreter reads the RTC memory afresh
    assert Retained(RtcMemWords(FakeRtc(rtc.data))).load() == (2016, -2007, 125)


def test_esp32_rtc_memory_garbage_or_another_length_is_no_record():
    for data in (b"", b"\xff" * 16, bytes(range(16)), b"\x01" * 20, b"\x00" * 16):
        assert Retained(RtcMemWords(FakeRtc(data))).load() is None


def test_esp32_rtc_memory_torn_at_any_store_is_the_old_record_or_none():
    old = (2016, 2007, 125)
    new = (4000, -3900, 130)
    rtc = FakeRtc()
    r = Retained(RtcMemWords(rtc))
    r.save(old)
    rtc.states = []
    r.save(new)
    assert len(rtc.states) == 5
    for i, state in enumerate(rtc.states):
        got = Retained(RtcMemWords(FakeRtc(state))).load()
        want = new if i == len(rtc.states) - 1 else None
        assert got == want, (i, got)  # never the old one either: w2 is cleared first


def test_esp32_rtc_memory_save_allocates_nothing():
    class Rtc:  # memory(buf) copies in C: nothing allocated on the heap
        def __init__(self):
            self.n = 0

        def memory(self, buf=None):
            self.n += 1
            return b""

    r = Retained(RtcMemWords(Rtc()))
    recs = ((100, 50, 110), (102, 52, 111))
    k = [0]

    def save():
        k[0] ^= 1
        r.save(recs[k[0]])

    assert_no_alloc(save)
