# The simulated world's building blocks: the seeded generator (bit-identical
# in CPython and MicroPython), the PPG synthesiser, the fake bus's fault
# injection, and the fakes' resets.
from inversa.board.clock import VirtualClock
from inversa.drivers.mpu6050 import MPU6050
from inversa_world.devices import FakeI2CBus, FakeMPU6050
from inversa_world.ppg import PPGSynth
from inversa_world.rng import Rng
from mpyunit import raises


def test_rng_is_the_same_in_every_interpreter():
    r = Rng(42)
    assert [r.next_u32() for _ in range(3)] == [1634980509, 2133827245, 330654416]
    assert r.gauss() == -1.1236945898054433
    assert r.uniform() == 0.14952081884257495


def test_rng_gauss_has_unit_spread():
    r = Rng(7)
    xs = [r.gauss() for _ in range(4000)]
    m = sum(xs) / len(xs)
    var = sum((x - m) * (x - m) for x in xs) / len(xs)
    assert abs(m) < 0.06 and 0.9 < var < 1.1
    assert Rng(1).next_u32() != Rng(2).next_u32()


def test_ppg_synth_beats_at_the_set_rate():
    ppg = PPGSynth(seed=3, hr_bpm=60, hrv_ms=0)
    t = 0
    lo, hi = 9.0, -9.0
    while t < 30000000:  # 30 s at 100 samples/s
        v = ppg(t)
        lo = min(lo, v)
        hi = max(hi, v)
        t += 10000
    assert 30 <= ppg.beats <= 31
    assert hi - lo > 0.8
    ppg.set_hr(120)
    b0 = ppg.beats
    while t < 60000000:
        ppg(t)
        t += 10000
    assert 59 <= ppg.beats - b0 <= 61
    raises(ValueError, ppg.set_hr, 0)


def test_bus_fault_injection():
    clock = VirtualClock()
    bus = FakeI2CBus()
    bus.attach(0x68, FakeMPU6050(clock, seed=1))
    imu = MPU6050(bus)
    assert bus.scan() == [0x68]
    bus.fail_next(2, errno=5)
    raises(OSError, imu.read)
    raises(OSError, imu.read)
    imu.read()
    bus.disconnect(0x68)
    e = raises(OSError, imu.read)
    assert e.args[0] == 19 and bus.scan() == []
    bus.reconnect(0x68)
    imu.read()
    bus.set_error_rate(500000)  # half of the transfers fail
    fails = 0
    for _ in range(200):
        try:
            imu.read()
        except OSError:
            fails += 1
    assert 60 < fails < 140
    assert bus.errors_injected == 3 + fails


def test_fake_brownout_leaves_the_chip_asleep_and_frozen():
    clock = VirtualClock()
    bus = FakeI2CBus()
    fake = bus.attach(0x68, FakeMPU6050(clock, seed=1))
    imu = MPU6050(bus)
    clock.advance_ms(10)
    assert imu.read()
    fake.brownout()
    assert fake.asleep
    clock.advance_ms(10)
    imu.read()
    clock.advance_ms(10)
    assert not imu.read()
    assert list(imu.raw) == [0, 0, 0, 0, 0, 0]


def test_fake_imu_noise_matches_the_datasheet():
    clock = VirtualClock()
    bus = FakeI2CBus()
    fake = bus.attach(0x68, FakeMPU6050(clock, seed=5))
    imu = MPU6050(bus, dlpf_hz=44)
    # 400 ug/sqrt(Hz) over a 44 Hz first-order bandwidth: ~3.3 mg RMS
    assert 0.003 < fake.accel_noise_g < 0.0036
    xs = []
    for _ in range(400):
        clock.advance_ms(10)
        imu.read()
        xs.append(imu.raw[2])
    m = sum(xs) / len(xs)
    sd = (sum((x - m) * (x - m) for x in xs) / len(xs)) ** 0.5
    one_g = 16384
    assert 0.0025 * one_g < sd < 0.0042 * one_g, sd
