# The user's calibration procedure, played against an IMU fake: hold the
# table still at each angle, feed the raw samples to the firmware's
# Calibrator, return the Calibration it computes.  The simulator runs this
# once at start (as a user would after mounting the sensor); tests and the
# benchmark use it too.
#
# Usage:
#     cal = calibrate(clock, fake, imu)                   # 5 positions
#     cal = calibrate(clock, fake, imu, angles=(0.0,))    # level only
#     fe = SensorFrontEnd(clock, imu, ppg, cal)

from inversa.sense.calibrator import Calibrator

FIVE_POSITIONS = (0.0, -60.0, -30.0, 30.0, 60.0)


def calibrate(clock, fake, imu, angles=FIVE_POSITIONS, hold_s=2.0, settle_s=0.5, previous=None):
    """Run the procedure; returns a Calibration (raises ValueError if it fails)."""
    cal = Calibrator(previous)
    period_ms = 10
    for angle in angles:
        fake.set_truth(angle, 0.0, 0.0)
        for _ in range(int(settle_s * 1000) // period_ms):
            clock.advance_ms(period_ms)
            imu.read()
        cal.begin(round(angle * 100))
        for _ in range(int(hold_s * 1000) // period_ms):
            clock.advance_ms(period_ms)
            try:
                imu.read()
            except OSError:
                continue
            cal.add(imu.raw)
        if not cal.end(imu):
            raise ValueError("calibration position %.0f deg: %s" % (angle, cal.error))
    return cal.finish(imu)


def tilt_profile(seed=0, rate_dps=3.0, accel_dps2=3.0, hold_s=8.0, angles=None):
    """A test trajectory: holds at several angles joined by moves at `rate_dps`
    with smooth (acceleration-limited) starts and stops.

    Returns a list of (t_s, angle_deg, rate_dps, moving) at 100 Hz."""
    from inversa_world.rng import Rng

    rng = Rng(seed + 31)
    if angles is None:
        angles = [0.0]
        for _ in range(5):
            a = angles[-1]
            while abs(a - angles[-1]) < 10.0:
                a = float(rng.randint(-60, 70))
            angles.append(a)
        angles.append(0.0)
    dt = 0.01
    out = []
    t = 0.0
    ang = angles[0]
    for target in angles:
        # hold
        for _ in range(int(hold_s / dt)):
            out.append((t, ang, 0.0, False))
            t += dt
        # move with a trapezoidal rate profile
        d = 1.0 if target > ang else -1.0
        rate = 0.0
        while abs(target - ang) > 1e-9:
            remaining = abs(target - ang)
            stop = rate * rate / (2 * accel_dps2)
            if remaining <= stop + 1e-9:
                rate = max(rate - accel_dps2 * dt, 0.0)
            else:
                rate = min(rate + accel_dps2 * dt, rate_dps)
            step = rate * dt
            if step <= 0.0 or step >= remaining:
                step = remaining
                rate = 0.0
            ang += d * step
            out.append((t, ang, d * rate, True))
            t += dt
    for _ in range(int(hold_s / dt)):
        out.append((t, ang, 0.0, False))
        t += dt
    return out
