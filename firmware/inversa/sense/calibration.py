# IMU mount calibration: which sensor axes lie along the bed and across it,
# the angle the sensor reads when the bed is level (zero offset), the gyro
# bias, and (from several positions) the accelerometer offsets and the
# relative scale of the two in-plane axes.  Stored on the board as a small
# binary record with a CRC; a missing or corrupt file means "not
# calibrated" (the front end raises TILT_NOT_CALIBRATED), never a crash.
#
# The user runs the calibration once, from the host (`calibrate` command) or
# the board's REPL, with the table still at each position:
#
#     from inversa.sense.calibrator import Calibrator   # the procedure
#     cal = Calibrator()                 # or Calibrator(previous_calibration)
#     cal.begin(0)                       # bed level (0 deg, known exactly)
#     ... cal.add(imu.raw) for ~2 s ...; cal.end()
#     cal.begin(-60); ...; cal.end()     # optional: other still positions,
#     cal.begin(30); ...; cal.end()      #   angle only roughly known
#     calibration = cal.finish(imu)      # imu: for its LSB -> mg/mdps scale
#     calibration.save("/calibration.bin")
#
#     calibration = Calibration.load("/calibration.bin")   # None if missing/bad
#
# One position (level) gives the zero offset, the gyro bias and the up axis;
# the long axis then comes from the previous calibration or the default
# (sensor x towards the head).  Two positions also find the long axis and its
# sign.  Three or more positions spanning >= 30 deg also fit the
# accelerometer offsets in the bed plane (a circle), five or more spanning
# >= 60 deg also the relative scale of the two axes (an ellipse): the
# MPU-6050's +-50 mg offsets and +-3 % sensitivity tolerance otherwise leave
# 0.5-1 deg RMS (up to ~2 deg) away from level.  Floats are used here (once,
# not in a control step).

import struct

from inversa.compat import const
from inversa.crc import crc16
from inversa.storage import stored_copies, write_atomic

_MAGIC = b"INVC"
_VERSION = const(1)
# magic, version, long axis, long sign, up axis, up sign, flags, positions,
# zero (cdeg), gyro bias x y z (mdps), accel bias x y z (mg), long/up scale (Q14)
_FMT = "<4sBBbBbBBhhhhhhhH"
_SIZE = struct.calcsize(_FMT)

FLAG_LEVEL = const(1)  # zero offset and gyro bias from a level position
FLAG_AXES = const(2)  # long axis found from a second position
FLAG_OFFSETS = const(4)  # accelerometer offsets fitted (>= 3 positions)
FLAG_SCALE = const(8)  # relative scale fitted (>= 5 positions)


class Calibration:
    """The mount calibration; all fields are small integers."""

    def __init__(
        self,
        long_axis=0,
        long_sign=1,
        up_axis=2,
        up_sign=1,
        zero_cdeg=0,
        gyro_bias_mdps=(0, 0, 0),
        accel_bias_mg=(0, 0, 0),
        scale_q14=16384,
        flags=0,
        positions=0,
    ):
        if long_axis == up_axis or not (0 <= long_axis <= 2 and 0 <= up_axis <= 2):
            raise ValueError("long_axis and up_axis must be two different axes 0..2")
        if long_sign not in (1, -1) or up_sign not in (1, -1):
            raise ValueError("axis signs must be +1 or -1")
        self.long_axis = long_axis
        self.long_sign = long_sign
        self.up_axis = up_axis
        self.up_sign = up_sign
        self.zero_cdeg = int(zero_cdeg)
        self.gyro_bias_mdps = [int(v) for v in gyro_bias_mdps]
        self.accel_bias_mg = [int(v) for v in accel_bias_mg]
        self.scale_q14 = int(scale_q14)
        self.flags = flags
        self.positions = positions

    def pivot(self):
        """(axis, sign) of the pivot axis: rotation about it, positive = head down."""
        p = 3 - self.long_axis - self.up_axis
        cyc = 1 if (self.long_axis - self.up_axis) % 3 == 1 else -1
        return p, self.up_sign * self.long_sign * cyc

    def to_bytes(self):
        g = self.gyro_bias_mdps
        a = self.accel_bias_mg
        body = struct.pack(
            _FMT,
            _MAGIC,
            _VERSION,
            self.long_axis,
            self.long_sign,
            self.up_axis,
            self.up_sign,
            self.flags,
            self.positions,
            self.zero_cdeg,
            g[0],
            g[1],
            g[2],
            a[0],
            a[1],
            a[2],
            self.scale_q14,
        )
        return body + struct.pack("<H", crc16(body, 0, len(body)))

    @classmethod
    def from_bytes(cls, data):
        """Parse a record; None if it is not a valid calibration (length, magic, CRC, ranges)."""
        if data is None or len(data) != _SIZE + 2:
            return None
        body = bytes(data[:_SIZE])
        if struct.unpack("<H", bytes(data[_SIZE:]))[0] != crc16(body, 0, len(body)):
            return None
        f = struct.unpack(_FMT, body)
        if f[0] != _MAGIC or f[1] != _VERSION:
            return None
        try:
            return cls(
                long_axis=f[2],
                long_sign=f[3],
                up_axis=f[4],
                up_sign=f[5],
                flags=f[6],
                positions=f[7],
                zero_cdeg=f[8],
                gyro_bias_mdps=(f[9], f[10], f[11]),
                accel_bias_mg=(f[12], f[13], f[14]),
                scale_q14=f[15],
            )
        except ValueError:
            return None

    @classmethod
    def load(cls, path):
        """The calibration stored at `path`, or None if it is missing or
        corrupt.  A valid PATH.tmp serves when PATH does not: on FAT a power
        cut between write_atomic's remove and rename leaves only that."""
        for data in stored_copies(path, _SIZE + 3):
            c = cls.from_bytes(data)
            if c is not None:
                return c
        return None

    def save(self, path):
        """Write atomically (temporary file, then rename: inversa.storage);
        raises OSError on failure (the old calibration then stays)."""
        write_atomic(path, self.to_bytes())

    def __eq__(self, other):
        return isinstance(other, Calibration) and self.to_bytes() == other.to_bytes()

    def __repr__(self):
        return (
            "Calibration(long=%s%d up=%s%d zero=%d cdeg gyro=%r mdps accel=%r mg scale=%d flags=%d)"
            % (
                "+" if self.long_sign > 0 else "-",
                self.long_axis,
                "+" if self.up_sign > 0 else "-",
                self.up_axis,
                self.zero_cdeg,
                self.gyro_bias_mdps,
                self.accel_bias_mg,
                self.scale_q14,
                self.flags,
            )
        )
