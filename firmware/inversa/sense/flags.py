# Fault and condition bits of the sensing layer.  The front end reports them
# in `tilt.faults` / `hr.faults` (and ControlInputs.tilt_faults); the safety
# controller trusts an estimate only when its `ok` is true, which is exactly
# "no bit of the *_FAULT_MASK is set".  Bits are part of the telemetry
# protocol: append only.
#
# Usage:
#     from inversa.sense.flags import TILT_STUCK, TILT_FAULT_MASK
#     if fe.tilt.faults & TILT_STUCK: ...

from inversa.compat import const

# -- tilt (IMU) -------------------------------------------------------------
TILT_NO_SENSOR = const(0x0001)  # no IMU configured, or it never answered its ID
TILT_BUS_ERROR = const(0x0002)  # consecutive I2C errors (OSError) while reading
TILT_STUCK = const(0x0004)  # raw registers identical for too many reads
TILT_SATURATED = const(0x0008)  # a used channel at its full-scale limit
TILT_IMPLAUSIBLE = const(0x0010)  # |a| far from 1 g, or rate beyond any table's
TILT_DISAGREE = const(0x0020)  # gyro-propagated and gravity angles drifted apart
TILT_NOT_READY = const(0x0040)  # filter still settling after start/recovery
TILT_NOT_CALIBRATED = const(0x0080)  # no valid mount calibration on the board
TILT_VIBRATION = const(0x0100)  # strong vibration seen (information, not a fault)
TILT_FAST_MOTION = const(0x0200)  # turning faster than the gravity correction can follow
TILT_RECOVERING = const(0x0400)  # after a fast turn or a disagreement: gravity must confirm

# Any of these makes the angle untrusted (tilt.ok false).
TILT_FAULT_MASK = const(0x06FF)

# -- heart rate (PPG) -------------------------------------------------------
HR_NO_SENSOR = const(0x0001)  # no PPG sensor configured, or it failed its ID check
HR_BUS_ERROR = const(0x0002)  # consecutive I2C errors while draining the FIFO
HR_NO_DATA = const(0x0004)  # the sensor delivers no samples (FIFO not advancing)
HR_NO_CONTACT = const(0x0008)  # optical level says no finger/ear on the sensor
HR_NO_PULSE = const(0x0010)  # no accepted beat for the no-pulse timeout
HR_LOW_QUALITY = const(0x0020)  # beats found but too irregular to trust
HR_NOT_READY = const(0x0040)  # not enough beats yet since start/recovery
HR_FIFO_OVERFLOW = const(0x0080)  # samples were lost recently (information)

# Any of these makes the heart rate untrusted (hr.ok false).
HR_FAULT_MASK = const(0x007F)
