# Heart-rate sensor drivers: MAX30102 against its register-level fake
# (FIFO draining, sample timing from the sensor's rate, overflow), the
# analog pulse sensor, and the bench-mode (injected) drivers.
from inversa.board.clock import VirtualClock
from inversa.drivers.injected import InjectedIMU, InjectedPPG
from inversa.drivers.max30102 import MAX30102
from inversa.drivers.pulse_adc import PulseADC
from inversa_world.devices import FakeI2CBus, FakeMAX30102, FakePulseADC
from inversa_world.ppg import PPGSynth
from mpyunit import assert_no_alloc, raises


def _max(seed=1, hr=70, **kw):
    clock = VirtualClock()
    bus = FakeI2CBus()
    fake = bus.attach(0x57, FakeMAX30102(clock, seed=seed, source=PPGSynth(seed, hr), **kw))
    return clock, bus, fake


def test_max30102_part_id_check():
    _clock, bus, _fake = _max(part_id=0x11)  # a MAX30100
    e = raises(OSError, MAX30102, bus)
    assert "PART_ID" in str(e)


def test_max30102_configuration_and_validation():
    _clock, bus, fake = _max()
    drv = MAX30102(bus, sample_rate=400, average=4, pulse_width_us=411, led_ma=7)
    r = fake.regs
    assert r[0x09] & 7 == 3  # SpO2 mode: red + IR
    assert (r[0x0A] >> 2) & 7 == 3 and r[0x0A] & 3 == 3
    assert r[0x08] >> 5 == 2 and not r[0x08] & 0x10  # average 4, no rollover
    assert r[0x0C] == 35 and r[0x0D] == 35
    assert drv.period_us == 10000 and drv.rate_hz == 100
    raises(ValueError, MAX30102, bus, sample_rate=800, pulse_width_us=411)
    raises(ValueError, MAX30102, bus, sample_rate=123)
    raises(ValueError, MAX30102, bus, average=3)


def test_max30102_drains_what_the_sensor_sampled():
    clock, bus, fake = _max()
    drv = MAX30102(bus)
    clock.advance_ms(95)
    n = drv.read_fifo()
    assert 9 <= n <= 10
    assert drv.lost == 0
    # IR counts: ~98000 at 7 mA with a 2 % pulse; red lower
    for i in range(n):
        assert 90000 < drv.ir[i] < 100000, drv.ir[i]
        assert 70000 < drv.red[i] < 80000, drv.red[i]
    assert drv.read_fifo() == 0  # nothing new without time passing
    total = n
    for _ in range(100):
        clock.advance_ms(10)
        total += drv.read_fifo()
    assert total == fake.produced  # every sample delivered exactly once
    assert drv.samples == total


def test_max30102_sample_count_follows_the_sensor_clock():
    # the sensor runs 2 % fast: 102 samples per second, whatever the polling
    clock, bus, _fake = _max(osc_error=0.02)
    drv = MAX30102(bus)
    for _ in range(40):
        clock.advance_ms(25)
        drv.read_fifo()
    assert 101 <= drv.samples <= 103


def test_max30102_overflow_is_detected_and_counted():
    clock, bus, _fake = _max()
    drv = MAX30102(bus)
    clock.advance_ms(500)  # 50 samples into a 32-deep FIFO
    n = drv.read_fifo()
    assert n == 32
    assert 17 <= drv.lost <= 19
    assert drv.overflows == 1 and drv.lost_total == drv.lost
    assert drv.samples == n + drv.lost
    clock.advance_ms(10)
    drv.read_fifo()
    assert drv.lost == 0 and drv.overflows == 1


def test_max30102_no_contact_reads_ambient_level():
    clock, bus, fake = _max()
    drv = MAX30102(bus)
    fake.contact = False
    clock.advance_ms(50)
    n = drv.read_fifo()
    assert n >= 4
    assert drv.ir[n - 1] < drv.contact_min


def test_max30102_read_fifo_allocates_nothing():
    _clock, bus, _fake = _max()
    drv = MAX30102(bus)

    class Quiet:
        # a FIFO that always holds two samples, answered without allocating
        def readfrom_mem_into(self, memaddr, buf):
            if memaddr == 0x04:  # FIFO_WR_PTR, OVF_COUNTER, FIFO_RD_PTR
                for i in range(len(buf)):
                    buf[i] = 0
                buf[0] = 2
            else:
                for i in range(len(buf)):
                    buf[i] = i

        def writeto_mem(self, memaddr, buf):
            pass

    bus.attach(0x57, Quiet())
    assert_no_alloc(drv.read_fifo)
    assert drv.read_fifo() == 2


def test_max30102_exactly_full_fifo_gives_32_samples():
    # 32 samples waiting, none lost: write pointer == read pointer and
    # OVF_COUNTER 0, as for an empty FIFO; A_FULL says which
    clock, bus, fake = _max()
    drv = MAX30102(bus)
    clock.advance_ms(320)
    fake._catch_up()  # the chip samples on its own clock (the fake does it lazily)
    assert fake.produced == 32 and fake.lost == 0
    assert fake.regs[0x04] == fake.regs[0x06] and fake.regs[0x05] == 0
    assert drv.read_fifo() == 32
    assert drv.lost == 0 and drv.overflows == 0
    assert drv.read_fifo() == 0  # and now it is empty, not full
    clock.advance_ms(10)
    assert drv.read_fifo() == 1
    assert drv.samples == fake.produced == 33


def test_max30102_drains_every_waiting_sample_in_order_whatever_the_count():
    # FIFO_DATA is read in chunks of a few samples (its address does not
    # increment; each read goes on from FIFO_RD_PTR): every count 1..32
    # gives the samples the chip holds, oldest first, red and IR
    clock, bus, fake = _max()
    drv = MAX30102(bus)
    for want_n in list(range(1, 33)) + [4, 5, 8, 9, 3]:
        clock.advance_ms(10 * want_n)
        fake._catch_up()
        rd = fake.regs[0x06]
        n_chip = fake._count
        assert n_chip == want_n, (n_chip, want_n)
        f = bytes(fake.fifo)
        want_red = []
        want_ir = []
        for i in range(n_chip):
            b = ((rd + i) & 31) * 6
            want_red.append(int.from_bytes(f[b : b + 3], "big") & 0x3FFFF)
            want_ir.append(int.from_bytes(f[b + 3 : b + 6], "big") & 0x3FFFF)
        assert drv.read_fifo() == n_chip
        assert list(drv.red[:n_chip]) == want_red, want_n
        assert list(drv.ir[:n_chip]) == want_ir, want_n
        assert fake._count == 0
    assert drv.samples == fake.produced and drv.lost_total == 0


def test_max30102_a_full_is_never_stale_when_the_pointers_are_equal():
    # read_fifo reads the three pointers only; A_FULL (cleared only by
    # reading INT_STATUS_1) decides between empty and full.  A drain that
    # found the FIFO full, or that it filled while being drained, must leave
    # no A_FULL behind that would make a later empty FIFO read as full.
    clock, bus, fake = _max()
    drv = MAX30102(bus)
    clock.advance_ms(500)  # full, ~18 lost: the overflow counter says so
    assert drv.read_fifo() == 32 and drv.lost > 0
    assert drv.read_fifo() == 0  # empty now, not full again
    assert drv.lost == 0

    class FillsWhileDrained:
        # the chip keeps sampling while the host drains: 13 more samples
        # arrive during the first FIFO_DATA read (the FIFO reaches 32)
        def __init__(self):
            self.advance = 130

        def readfrom_mem_into(self, memaddr, buf):
            fake.readfrom_mem_into(memaddr, buf)
            if memaddr == 0x07 and self.advance:
                clock.advance_ms(self.advance)
                self.advance = 0
                fake._catch_up()

        def writeto_mem(self, memaddr, buf):
            fake.writeto_mem(memaddr, buf)

    bus.attach(0x57, FillsWhileDrained())
    clock.advance_ms(200)  # 20 waiting when the pointers are read
    assert drv.read_fifo() == 20
    assert fake.regs[0x00] & 0x80 == 0  # the A_FULL it raised meanwhile is cleared
    got = drv.read_fifo()
    assert 12 <= got <= 14 and drv.lost == 0
    assert drv.read_fifo() == 0  # empty, not full
    assert drv.samples == fake.produced + fake.lost


def test_max30102_reset_is_detected_and_reinitialised():
    clock, bus, fake = _max()
    drv = MAX30102(bus)
    clock.advance_ms(100)
    assert drv.read_fifo() >= 9
    assert not drv.check() and drv.resets == 0
    fake.brownout()  # the chip reset itself: mode 0, no samples
    clock.advance_ms(100)
    assert drv.read_fifo() == 0
    assert drv.check() and drv.resets == 1
    assert fake.regs[0x09] & 7 == 3 and fake.regs[0x0D] == 35
    clock.advance_ms(100)
    assert drv.read_fifo() >= 9
    assert not drv.check() and drv.resets == 1
    assert drv.chip == "MAX30102"


def test_pulse_adc_reads_one_averaged_sample():
    clock = VirtualClock()
    adc = FakePulseADC(clock, seed=2, source=PPGSynth(2, 70))
    drv = PulseADC(adc, oversample=4)
    assert drv.read_fifo() == 1
    assert adc.reads == 4
    assert 20000 < drv.ir[0] < 50000
    adc.connected = False
    drv.read_fifo()
    assert drv.ir[0] < drv.contact_min
    raises(ValueError, PulseADC, adc, oversample=0)


def test_injected_imu_reads_what_was_pushed():
    imu = InjectedIMU()
    assert not imu.read()  # nothing pushed yet
    imu.push(10, -20, 1000, 5, 3000, -7)
    assert imu.read()
    assert list(imu.raw) == [10, -20, 1000, 5, 3000, -7]
    assert not imu.read()  # no new push: the same sample (looks stuck)
    imu.push(10, -20, 1000, 5, 3000, -7)
    assert not imu.read()  # identical data is "unchanged" too
    imu.push(99999, 0, 0, 0, 0, 0)
    imu.read()
    assert imu.raw[0] == 32767  # clipped to the int16 range like a real chip
    imu.fail_next(19)
    e = raises(OSError, imu.read)
    assert e.args[0] == 19


def test_injected_ppg_fifo_and_overflow():
    ppg = InjectedPPG(period_us=10000, depth=40)
    for i in range(5):
        ppg.push(1000 + i, 500)
    assert ppg.read_fifo() == 5
    assert [ppg.ir[i] for i in range(5)] == [1000, 1001, 1002, 1003, 1004]
    for i in range(45):  # 5 more than the buffer holds
        ppg.push(i)
    assert ppg.read_fifo() == 32
    assert ppg.read_fifo() == 8
    assert ppg.lost == 0
    assert ppg.lost_total == 5 and ppg.overflows == 1
    assert ppg.samples == 5 + 45
    ppg.fail_next()
    raises(OSError, ppg.read_fifo)


def test_injected_drivers_allocate_nothing():
    imu = InjectedIMU()
    ppg = InjectedPPG()
    k = [0]

    def cycle():
        k[0] += 1
        imu.push(k[0] & 7, 0, 1000, 0, 0, 0)
        imu.read()
        ppg.push(k[0] & 255)
        ppg.read_fifo()

    assert_no_alloc(cycle)
