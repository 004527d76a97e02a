# Tilt estimation: integer atan2, the complementary filter with gyro-bias
# estimation, vibration rejection, validity flags, and no heap allocation
# (no floats) in the step, checked inside MicroPython.
from inversa.sense.flags import (
    TILT_DISAGREE,
    TILT_FAST_MOTION,
    TILT_IMPLAUSIBLE,
    TILT_NOT_READY,
    TILT_RECOVERING,
    TILT_VIBRATION,
)
from inversa.sense.imath import atan2_udeg, isqrt
from inversa.sense.tilt import TiltEstimator
from mpyunit import assert_no_alloc, raises

G = 16384


def _sin_cos(deg_x100):
    # integer-ish gravity vector for an angle, using math only in the test
    import math

    th = math.radians(deg_x100 / 100)
    return -math.sin(th), math.cos(th)


def test_atan2_quadrants_and_accuracy():
    import math

    assert atan2_udeg(0, 0) == 0
    assert atan2_udeg(1, 1) == 45000000
    assert atan2_udeg(0, -5) == 180000000
    assert atan2_udeg(7, 0) == 90000000 and atan2_udeg(-7, 0) == -90000000
    worst = 0.0
    for k in range(-179, 180, 7):
        th = math.radians(k + 0.37)
        y = int(20000 * math.sin(th))
        x = int(20000 * math.cos(th))
        got = atan2_udeg(y, x) / 1e6
        want = math.degrees(math.atan2(y, x))
        worst = max(worst, abs(got - want))
    assert worst < 0.0012, worst  # tests/fw/test_imath.py: the whole range


def test_atan2_and_isqrt_allocate_nothing():
    assert_no_alloc(lambda: atan2_udeg(-12345, 16000))
    assert isqrt(1000000) == 1000 and isqrt(999999) == 999 and isqrt(0) == 0


def _run(est, angle_cdeg, n, rate_mdps=0, bias_mdps=0):
    sl, cu = _sin_cos(angle_cdeg)
    al = int(sl * G)
    au = int(cu * G)
    for _ in range(n):
        est.update(al, au, rate_mdps + bias_mdps, 10000)


def test_converges_to_the_gravity_angle():
    est = TiltEstimator()
    assert est.faults & TILT_NOT_READY
    _run(est, 3000, 150)
    assert abs(est.angle_cdeg - 3000) <= 2
    assert not est.faults & TILT_NOT_READY


def test_follows_a_move_without_lag():
    import math

    est = TiltEstimator()
    _run(est, 0, 300)
    # 3 deg/s for 10 s, gyro and gravity consistent
    ang = 0.0
    worst = 0
    for _ in range(1000):
        ang += 0.03
        th = math.radians(ang)
        est.update(int(-math.sin(th) * G), int(math.cos(th) * G), 3000, 10000)
        worst = max(worst, abs(est.angle_cdeg - ang * 100))
    assert worst < 10, worst  # < 0.1 deg throughout
    assert abs(est.rate_cdps - 300) <= 3


def test_learns_a_constant_gyro_bias():
    est = TiltEstimator()
    _run(est, 1000, 200)
    _run(est, 1000, 3000, bias_mdps=500)  # gyro reads 0.5 deg/s too high
    assert abs(est.bias_mdps() - 500) < 30, est.bias_mdps()
    assert abs(est.angle_cdeg - 1000) <= 3  # no standing error from the bias
    assert abs(est.rate_cdps) <= 3


def test_preset_bias_is_used_at_once():
    est = TiltEstimator()
    est.set_bias_mdps(2000)
    assert abs(est.bias_mdps() - 2000) < 20


def test_vibration_is_rejected_without_bias():
    import math

    est = TiltEstimator()
    sl, cu = _sin_cos(4500)
    errs = []
    for k in range(3000):
        v = 0.3 * math.sin(2 * math.pi * 24.3 * k / 100)  # 0.3 g near 25 Hz
        est.update(int((sl + 0.3 * v) * G), int((cu + 0.94 * v) * G), 0, 10000)
        if k > 500:
            errs.append(est.angle_cdeg - 4500)
    mean = sum(errs) / len(errs)
    rms = (sum(e * e for e in errs) / len(errs)) ** 0.5
    assert abs(mean) < 5 and rms < 10, (mean, rms)  # < 0.1 deg
    assert est.faults & TILT_VIBRATION


def test_gravity_far_from_1g_is_implausible():
    est = TiltEstimator()
    _run(est, 0, 200)
    assert not est.faults & TILT_IMPLAUSIBLE
    for _ in range(100):
        est.update(0, G // 2, 0, 10000)  # 0.5 g: a loose sensor or a fall
    assert est.faults & TILT_IMPLAUSIBLE
    _run(est, 0, 100)
    assert not est.faults & TILT_IMPLAUSIBLE


def test_fast_rate_is_flagged_not_clamped():
    est = TiltEstimator()
    _run(est, 0, 150)
    est.update(0, G, 90000, 10000)  # 90 deg/s: faster than the correction follows
    assert est.faults & TILT_FAST_MOTION
    # integrated in full (a 60 deg/s clamp would give 60); the correction at
    # the tracking gain (1/128 of gravity less the estimate 6 samples back,
    # about 4.5 deg here) moves it by less than 0.05 deg
    assert 86 <= est.angle_cdeg <= 95, est.angle_cdeg


def test_gyro_and_gravity_disagreeing_is_flagged():
    est = TiltEstimator()
    _run(est, 0, 150)
    # the gyro says 20 deg/s while gravity stays put (a gyro fault)
    for _ in range(300):
        est.update(0, G, 20000, 10000)
    assert est.faults & TILT_DISAGREE


def test_restart_reinitialises_from_gravity():
    est = TiltEstimator()
    _run(est, 2000, 200)
    est.restart()
    _run(est, -4000, 1)
    assert abs(est.angle_cdeg + 4000) <= 2
    assert est.faults & TILT_NOT_READY


def test_zero_offset_is_subtracted():
    est = TiltEstimator(zero_udeg=1500000)  # the sensor reads 1.5 deg at level
    _run(est, 150, 200)
    assert abs(est.angle_cdeg) <= 1


def test_bad_parameters_are_refused():
    raises(ValueError, TiltEstimator, kp_shift=0)
    raises(ValueError, TiltEstimator, rate_hz=5)
    raises(ValueError, TiltEstimator, one_g=100)


def test_update_allocates_nothing():
    est = TiltEstimator()
    k = [0]

    def step():
        k[0] = (k[0] + 1) & 31
        est.update(-8000 + k[0], 14000 - k[0], 2500 - 100 * k[0], 10000)

    for _ in range(150):  # through the settling phase into steady state
        step()
    assert_no_alloc(step, n=200)


def _roll_yaw(est, roll_deg, rate_up_dps, n, psi0_deg=0.0):
    # Gravity rolled roll_deg about the long axis, the sensor turning about
    # its up axis: v = (sin r sin psi, sin r cos psi, cos r) in (long,
    # across, up); theta = atan2(-v_long, v_up) moves although nothing turns
    # about the pivot.  Returns the worst |error| (deg) and whether validity
    # was ever cleared.
    import math

    r = math.radians(roll_deg)
    psi = math.radians(psi0_deg)
    w = math.radians(rate_up_dps) / 100
    worst = 0.0
    cleared = False
    for _ in range(n):
        psi += w
        vl = math.sin(r) * math.sin(psi)
        va = math.sin(r) * math.cos(psi)
        vu = math.cos(r)
        est.update(int(vl * G), int(vu * G), 0, 10000, int(va * G), 0, rate_up_dps * 1000)
        want = math.degrees(math.atan2(-vl, vu))
        worst = max(worst, abs(est.angle_cdeg / 100 - want))
        cleared = cleared or bool(est.faults & 0x06FF)
    return worst, cleared, math.degrees(psi)


def test_rotation_about_another_axis_moves_theta_with_it():
    # A one-axis filter sees no pivot rate, lags the gravity angle by degrees
    # and then calls it a disagreement (the real-data benchmark's main loss).
    est = TiltEstimator()
    _roll_yaw(est, 30, 0, 150)  # settle, rolled 30 deg, theta = 0
    worst, cleared, psi = _roll_yaw(est, 30, 45, 200)  # 90 deg turn: theta 0 -> -30
    assert abs(est.angle_cdeg + 3000) < 60, est.angle_cdeg
    assert worst < 1.0, worst
    assert not cleared
    worst, cleared, _ = _roll_yaw(est, 30, 0, 100, psi)
    assert worst < 0.6 and not cleared, (worst, cleared)


def test_update_with_all_axes_allocates_nothing():
    est = TiltEstimator()
    k = [0]

    def step():
        k[0] = (k[0] + 1) & 31
        est.update(-8000 + k[0], 14000 - k[0], 2500 - 100 * k[0], 10000, 3000, 40000, -30000)

    for _ in range(150):
        step()
    assert_no_alloc(step, n=200)


def _turn(est, script, scale=1.0, lin_g=0.0):
    # script: (rate deg/s, linear accel along the bed in g, samples); the gyro
    # reads `scale` times the true rate.  Returns a list of (error deg,
    # faults) per sample.
    import math

    ang = 20.0
    out = []
    for rate, lin, n in script:
        for _ in range(n):
            ang += rate / 100.0
            th = math.radians(ang)
            al = (-math.sin(th) + lin * math.cos(th)) * G
            au = (math.cos(th) + lin * math.sin(th)) * G
            est.update(int(al), int(au), int(rate * 1000 * scale), 10000)
            e = (est.angle_cdeg / 100 - ang + 180.0) % 360.0 - 180.0
            out.append((e, est.faults))
    return out


def test_after_a_fast_turn_a_moving_table_is_not_pulled_to_gravity():
    # After a fast turn gravity judges -- but while the table still moves it
    # carries the motion's own acceleration: the old filter pulled the angle
    # onto it within 0.2 s (8 deg off here); now it corrects at the tracking
    # gain until the table is still.  Validity stays cleared meanwhile.
    est = TiltEstimator()
    out = _turn(est, [(0, 0, 300), (120, 0, 50), (20, -0.15, 50)])
    after = out[350:]
    worst = max(abs(e) for e, _f in after)
    assert worst < 4.0, worst
    assert all(f & 0x06FF for _e, f in after)


def test_a_long_fast_turn_is_corrected_towards_gravity():
    # A gyro reading 10 % low over a 3 s turn at 70 deg/s: gyro alone (the
    # old fast mode) ends 21 deg short; gravity (right here: a pure turn) now
    # still corrects at the tracking gain while validity is cleared.
    est = TiltEstimator()
    out = _turn(est, [(0, 0, 300), (70, 0, 300)], scale=0.9)
    e, f = out[-1]
    assert f & TILT_FAST_MOTION or est.rate_cdps < 6000
    assert abs(e) < 12.0, e


def _spin(est, axis, rate_dps, n, v0, log=None):
    # The sensor turning at rate_dps about a fixed axis of its own (long,
    # across, up): gravity in its frame turns the other way (Rodrigues).
    # Returns the worst |theta error| in deg; appends the faults to `log`.
    import math

    nx, ny, nz = axis
    k = math.sqrt(nx * nx + ny * ny + nz * nz)
    nx, ny, nz = nx / k, ny / k, nz / k
    x, y, z = v0
    dot = nx * x + ny * y + nz * z
    cx, cy, cz = ny * z - nz * y, nz * x - nx * z, nx * y - ny * x
    w = rate_dps * 1000
    worst = 0.0
    for s in range(1, n + 1):
        a = -math.radians(rate_dps) * s / 100
        c, si = math.cos(a), math.sin(a)
        vx = x * c + cx * si + nx * dot * (1 - c)
        vy = y * c + cy * si + ny * dot * (1 - c)
        vz = z * c + cz * si + nz * dot * (1 - c)
        est.update(
            int(vx * G), int(vz * G), int(w * ny), 10000, int(vy * G), int(w * nx), int(w * nz)
        )
        want = math.degrees(math.atan2(-vx, vz))
        worst = max(worst, abs((est.angle_cdeg / 100 - want + 180) % 360 - 180))
        if log is not None:
            log.append(est.faults)
    return worst


def _turned(axis, deg, v):
    # v after the sensor turned deg about axis (what _spin ends at)
    import math

    nx, ny, nz = axis
    k = math.sqrt(nx * nx + ny * ny + nz * nz)
    nx, ny, nz = nx / k, ny / k, nz / k
    x, y, z = v
    a = -math.radians(deg)
    c, si = math.cos(a), math.sin(a)
    dot = nx * x + ny * y + nz * z
    cx, cy, cz = ny * z - nz * y, nz * x - nx * z, nx * y - ny * x
    return (
        x * c + cx * si + nx * dot * (1 - c),
        y * c + cy * si + ny * dot * (1 - c),
        z * c + cz * si + nz * dot * (1 - c),
    )


def test_fast_rotation_about_any_axis_clears_validity():
    # The estimate follows all three gyro axes, so a turn faster than the
    # gravity correction can follow is one about any of them (a table
    # tipping sideways, a sensor turned by hand): the lever arm's
    # acceleration corrupts gravity all the same.  Only the pivot rate was
    # checked: 120 deg/s about the long or up axis left validity set.
    import math

    v0 = (-0.3, 0.4, math.sqrt(0.75))
    for axis in ((1, 0, 0), (0, 0, 1), (1, 0, 1)):
        est = TiltEstimator()
        _spin(est, axis, 0, 150, v0)
        assert not est.faults & 0x06FF, (axis, est.faults)
        log = []
        _spin(est, axis, -120, 40, v0, log)  # 48 deg
        assert all(f & TILT_FAST_MOTION and f & 0x06FF for f in log), (axis, log)
        log = []
        worst = _spin(est, axis, 0, 300, _turned(axis, -48, v0), log)
        assert log[0] & TILT_RECOVERING, (axis, log[0])
        assert not log[-1] & 0x06FF, (axis, log[-1])  # trusted again, still
        assert worst < 1.0, (axis, worst)


def test_fast_turn_about_a_slanted_axis_is_followed():
    # 300 deg/s about an axis between the pivot and up, gravity rolled 25 deg:
    # 3 deg of rotation per sample about two axes at once.  Applied one axis
    # after the other, to first order, theta drifted 2.6 deg over the half
    # turn; all three at once to second order keeps it within 1 deg.
    import math

    r = math.radians(25)
    v0 = (0.0, math.sin(r), math.cos(r))
    est = TiltEstimator()
    _spin(est, (0, 1, 1), 0, 150, v0)
    worst = _spin(est, (0, 1, 1), 300, 60, v0)
    assert worst < 1.0, worst


def test_validity_returns_after_a_fast_turn_with_gravity_out_of_the_bed_plane():
    # After a fast turn gravity must confirm the angle with |a| within 5 %
    # of 1 g.  |a| was taken in the bed's plane only: with gravity 25-35 deg
    # out of it (a sensor not square to the pivot, a hand-held one) that is
    # 0.82-0.91 g, and validity never came back.
    import math

    for roll in (25, 35):
        r = math.radians(roll)
        v0 = (-0.3 * math.cos(r), math.sin(r), 0.95 * math.cos(r))
        est = TiltEstimator()
        _spin(est, (0, 1, 0), 0, 150, v0)
        log = []
        _spin(est, (0, 1, 0), 120, 40, v0, log)
        assert all(f & TILT_FAST_MOTION for f in log), (roll, log)
        log = []
        worst = _spin(est, (0, 1, 0), 0, 300, _turned((0, 1, 0), 48, v0), log)
        assert log[0] & TILT_RECOVERING, (roll, log[0])
        assert not log[-1] & 0x06FF, (roll, log[-1])
        assert worst < 1.0, (roll, worst)


def test_a_jolt_does_not_split_theta_from_the_gravity_vector():
    # theta (gated, bias-corrected) and the 3-D gravity vector that moves it
    # with the off-pivot rates are one estimate.  Corrected separately, a
    # jolt along the bed (theta rides on the gyro, the vector follows the
    # accelerometer) left them apart, and a roll afterwards moved theta by
    # the vector's wrong geometry: up to 3 deg off while ok, 4.7 deg still
    # off 5 s later.  Gravity rolled 30-55 deg out of the bed's plane.
    import math

    for roll in (30, 45, 55):
        for lin in (0.3, 0.5):
            r = math.radians(roll)
            v = (0.0, math.sin(r), math.cos(r))
            est = TiltEstimator()
            worst_ok = 0.0
            e = 0.0
            for w_long, a_lin, n in (
                (0, 0.0, 400),
                (0, lin, 20),
                (0, 0.0, 5),
                (30, 0.0, 60),
                (0, 0.0, 500),
            ):
                for _ in range(n):
                    if w_long:
                        v = _turned((1, 0, 0), w_long / 100, v)
                    est.update(
                        int((v[0] + a_lin) * G),
                        int(v[2] * G),
                        0,
                        10000,
                        int(v[1] * G),
                        w_long * 1000,
                        0,
                    )
                    want = math.degrees(math.atan2(-v[0], v[2]))
                    e = abs((est.angle_udeg / 1e6 - want + 180) % 360 - 180)
                    if not est.faults & 0x06FF:
                        worst_ok = max(worst_ok, e)
            assert worst_ok < 1.0, (roll, lin, worst_ok)
            assert e < 0.3, (roll, lin, e)


def test_a_hard_shake_over_a_gap_computes_under_the_heap_lock():
    # Off-pivot turns at a 250 deg/s gyro's full scale with samples up to a
    # gap apart (the estimator clamps a gap to 5 samples): one sample may
    # turn the estimate by more than 60 deg, and 6 * inc used to pass 2**30
    # (a big int).  On the board the sensors' poll runs with the heap locked
    # (inversa.app._lock), where that raised MemoryError: an internal error,
    # both estimates untrusted, the estimator left half-updated.
    vals = (-32767, -30000, -20000, -16384, -8000, -1, 0, 1, 8000, 16384, 20000, 30000, 32767)
    rates = (-250000, -125000, -31250, -1000, 0, 1000, 31250, 125000, 250000)
    dts = (0, 1, 5000, 10000, 10001, 20000, 50000, 499999)
    lock = unlock = None
    try:
        import micropython

        lock = micropython.heap_lock
        unlock = micropython.heap_unlock
    except ImportError:  # CPython: the same updates, no lock
        pass
    for one_g in (16384, 8192):
        e = TiltEstimator(100, one_g=one_g)
        for al in vals:
            for au in vals:
                for r in rates:
                    for dt in dts:
                        if lock is not None:
                            lock()
                        try:
                            e.update(al, au, r, dt, al, r, -r)
                        finally:
                            if unlock is not None:
                                unlock()
                        assert -18000 <= e.angle_cdeg <= 18000, e.angle_cdeg
