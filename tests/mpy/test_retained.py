# The motion record in retained RAM (inversa/retained.py): exact across a
# reset, and nothing a power-on or a torn write leaves reads as a record.

from inversa.retained import RP2_SCRATCH0, Retained, retained_for, rp2_scratch


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
