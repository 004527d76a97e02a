# Streaming heart rate: accuracy on a synthetic pulse, following a change,
# "no pulse" within a few seconds, irregular input, lost samples, and no
# heap allocation per sample (inside MicroPython).
import math

from inversa.sense.flags import HR_LOW_QUALITY, HR_NO_PULSE, HR_NOT_READY
from inversa.sense.heartrate import HeartRateEstimator
from inversa_world.ppg import PPGSynth
from inversa_world.rng import Rng
from mpyunit import assert_no_alloc, raises


def _feed(est, ppg, t0_s, t1_s, period_us=10000, scale=2000, noise=None):
    t = int(t0_s * 1000000)
    while t < t1_s * 1000000:
        x = int(ppg(t) * scale)
        if noise is not None:
            x += int(noise.gauss() * scale * 0.01)
        est.add(x)
        t += period_us
    return t


def test_steady_rate_within_one_bpm():
    for bpm in (48, 72, 130):
        est = HeartRateEstimator()
        ppg = PPGSynth(seed=bpm, hr_bpm=bpm)
        _feed(est, ppg, 0, 30, noise=Rng(bpm))
        assert est.ok, est.faults
        assert abs(est.dbpm - bpm * 10) <= 10, (bpm, est.dbpm)
        assert est.quality_pct >= 80


def test_ready_after_a_few_beats():
    est = HeartRateEstimator()
    ppg = PPGSynth(seed=1, hr_bpm=75)
    assert est.faults & HR_NOT_READY and not est.ok
    _feed(est, ppg, 0, 7)
    assert est.ok and abs(est.bpm - 75) <= 2


def test_lower_sample_rate_works():
    est = HeartRateEstimator(period_us=40000)  # 25 samples/s
    ppg = PPGSynth(seed=2, hr_bpm=90)
    _feed(est, ppg, 0, 30, period_us=40000)
    assert est.ok and abs(est.dbpm - 900) <= 15, est.dbpm


def test_follows_a_step_within_seconds():
    est = HeartRateEstimator()
    ppg = PPGSynth(seed=4, hr_bpm=70, hrv_ms=10)
    _feed(est, ppg, 0, 40)
    ppg.set_hr(100)  # +30 bpm at once
    _feed(est, ppg, 40, 55)
    assert est.ok and abs(est.bpm - 100) <= 2, est.dbpm


def test_no_pulse_is_reported_within_a_few_seconds():
    est = HeartRateEstimator()
    ppg = PPGSynth(seed=5, hr_bpm=65)
    _feed(est, ppg, 0, 20)
    assert est.ok
    ppg.pulse = False  # perfusion gone: breathing wander only
    t = 20.0
    while not est.faults & HR_NO_PULSE and t < 30:
        _feed(est, ppg, t, t + 0.1)
        t += 0.1
    assert est.faults & HR_NO_PULSE
    assert t - 20 <= 4.5, t
    assert not est.ok and est.bpm == 0
    ppg.pulse = True  # and it comes back
    _feed(est, ppg, t, t + 12)
    assert est.ok and abs(est.bpm - 65) <= 2


def test_flat_or_noisy_signal_is_never_ok():
    est = HeartRateEstimator()
    noise = Rng(9)
    for _ in range(3000):
        est.add(100000 + int(noise.gauss() * 30))
    assert not est.ok
    assert est.faults & (HR_NO_PULSE | HR_LOW_QUALITY | HR_NOT_READY)


def test_a_gap_keeps_time_and_recovers():
    est = HeartRateEstimator()
    ppg = PPGSynth(seed=6, hr_bpm=80)
    t = _feed(est, ppg, 0, 20)
    est.gap(37)  # FIFO overflow: 370 ms of samples lost
    _feed(est, ppg, t / 1e6 + 0.37, 30)
    assert est.ok and abs(est.bpm - 80) <= 2


def test_measured_period_corrects_the_rate():
    # the sensor runs 3 % slow; told its real period the estimate is right
    est = HeartRateEstimator()
    ppg = PPGSynth(seed=7, hr_bpm=70)
    est.set_period_us(10300)
    _feed(est, ppg, 0, 30, period_us=10300)
    assert abs(est.dbpm - 700) <= 10, est.dbpm


def test_bad_parameters_are_refused():
    raises(ValueError, HeartRateEstimator, period_us=100)


def test_add_allocates_nothing():
    est = HeartRateEstimator()
    ppg = PPGSynth(seed=8, hr_bpm=70)
    vals = [int(ppg(k * 10000) * 2000) for k in range(200)]
    for k in range(1200):  # past the learning phase, beats committed
        est.add(vals[k % 200])
    k = [0]

    def step():
        est.add(vals[k[0]])
        k[0] = (k[0] + 1) % 200

    assert_no_alloc(step, n=400)  # two full beat cycles at least
    assert est.beats_seen > 5


def _pair_train(n):
    # bigeminy with 1 % noise: a normal pulse, a premature one of 0.35..0.85
    # its size at 0.6 of the pair's first half, then the pause; the detector
    # finds the premature ones now and then (short intervals rejected,
    # merged, split as missed beats: the paths of an ambiguous beat train)
    noise = Rng(11)
    vals = []
    pair = 130  # samples
    size = 0.5
    for k in range(n):
        p = k % pair
        if p == 0:
            size = 0.35 + 0.5 * noise.uniform()
        v = 0.0
        for at, a in ((0, 1.0), (48, size), (pair, 1.0)):
            d = (p - at) / 100.0
            if -0.3 < d < 1.6:
                v += a / (1.0 + math.exp(-d / 0.03)) * math.exp(-(d if d > 0 else 0.0) / 0.35)
        vals.append(int((v + 0.01 * noise.gauss()) * 40000))
    return vals


def _cycled_without_alloc(est, vals):
    # the train twice to settle, then once more with no allocation allowed
    n = len(vals)
    for k in range(2 * n):
        est.add(vals[k % n])
    k = [0]

    def step():
        est.add(vals[k[0]])
        k[0] = (k[0] + 1) % n

    assert_no_alloc(step, n=n)


def test_add_allocates_nothing_on_an_ambiguous_beat_train():
    est = HeartRateEstimator()
    _cycled_without_alloc(est, _pair_train(1300))  # 10 pairs
    assert est.rejected > 0 and not est.ok, (est.rejected, est.faults)


def _weak_pair_train(n):
    # bigeminy whose premature pulse (0.2 of a beat, at 0.3 of a 1.6 s pair)
    # the detector never takes for a beat: a regular train at half the rate
    # (issue 11; read 37.5 for 75 bpm ok before the early-wave check)
    vals = []
    pair = 160  # samples
    for k in range(n):
        p = k % pair
        v = 0.0
        for at, a in ((0, 1.0), (48, 0.2), (pair, 1.0)):
            d = (p - at) / 100.0
            if -0.3 < d < 1.6:
                v += a / (1.0 + math.exp(-d / 0.03)) * math.exp(-(d if d > 0 else 0.0) / 0.35)
        vals.append(int(v * 40000))
    return vals


def test_weak_premature_beats_withhold_the_rate_and_allocate_nothing():
    est = HeartRateEstimator()
    _cycled_without_alloc(est, _weak_pair_train(1600))  # 10 pairs
    assert not est.ok and est.dbpm in range(360, 390), (est.ok, est.dbpm, est.faults)
