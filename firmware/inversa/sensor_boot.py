# Sensors that are missing at boot.  A watchdog or brown-out reset may find
# the IMU or the pulse sensor gone from the bus (a loose connector, a chip
# that hangs the bus).  The control loop must start anyway: the sensor that
# did not answer is replaced by a stand-in with the driver's interface whose
# reads fail (OSError ENODEV), so the sensor front end reports it as a bus
# error, the tilt estimate (or the heart rate) is untrusted and the
# controller's existing fault reactions run: the open-loop return without the
# IMU, the return on the angle without a pulse.  Every `retry_ms` the stand-in
# tries to initialise the real driver again (after clocking a stuck I2C bus
# free when nothing answers); a sensor that comes back is used from then on,
# counted in `reinits`.  The tilt alarm stays latched as the controller says.
#
# The stand-ins (PendingIMU, PendingPPG, their EV_SENSOR events) are in
# inversa/sensor_standin.py, loaded only when a sensor does not initialise.
#
# Usage (app_build.build_sensors does this):
#     imu = make_imu(lambda: MPU6050(board.i2c), "mpu6050", clock, recover, events=log)
#     imu.read()            # driver's read once initialised, else OSError(19)
#     imu.present, imu.attempts, imu.reinits, imu.last_error
#
# `make_*` returns the real driver when it initialises at once, else the
# stand-in.  `recover()` (optional) clocks the bus free; it may raise.

from inversa.sensor_standin import RETRY_MS  # an int: folded on the board


def _first(make, recover):
    # The boot's attempt: make(), and once more after recover() when that is
    # given.  (driver, None), or (None, the last exception) if both raise.
    try:
        return make(), None
    except Exception as e:
        err = e
    if recover is not None:
        try:
            recover()
            return make(), None
        except Exception as e:
            err = e
    return None, err


def make_imu(make, kind, clock, recover=None, retry_ms=RETRY_MS, events=None):
    """The IMU driver from `make()`, or a PendingIMU if it does not initialise
    (after a bus recovery and a second try)."""
    d, err = _first(make, recover)
    if err is None:
        return d
    from inversa.sensor_standin import IMU_NOMINAL, PendingIMU

    return PendingIMU(make, IMU_NOMINAL[kind], clock, recover, retry_ms, err, events)


def make_ppg(make, kind, clock, recover=None, retry_ms=RETRY_MS, events=None):
    """The pulse driver from `make()`, or a PendingPPG (as make_imu)."""
    d, err = _first(make, recover)
    if err is None:
        return d
    from inversa.sensor_standin import HR_NOMINAL, PendingPPG

    return PendingPPG(make, HR_NOMINAL[kind], clock, recover, retry_ms, err, events)
