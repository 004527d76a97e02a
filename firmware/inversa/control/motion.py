# Motion: a speed- and acceleration-limited trajectory (the setpoint the table
# follows), closed-loop tracking, and motion supervision ("motion must follow
# command": stall, run-on, movement without command, tracking error, runaway).
#
# Integer fixed point throughout (see docs/ARCHITECTURE.md): the setpoint is
# kept in mcdeg (1/1000 cdeg = 1e-5 deg) and its velocity in mcdps so that a
# slow return (0.1 deg/s = 0.1 cdeg per 10 ms period) still moves smoothly.
# The trajectory brakes along v = sqrt(2 a d) (time-optimal trapezoid) with an
# integer square root warm-started from the previous period: 1-2 iterations.
#
# Usage:
#     tr = Trajectory()
#     tr.reset(angle_cdeg)                 # setpoint := measured angle, at rest
#     tr.set_goal(goal_cdeg, vmax_cdps)
#     ff_cdps = tr.step(dt_ms)             # advance; tr.pos_mcdeg // 1000 is the setpoint
#     mon = MotionMonitor()
#     bits = mon.check(t_ms, dt_ms, cmd_cdps, angle_cdeg, rate_cdps, setpoint_cdeg, moving)
#     fc = FollowCheck()
#     if fc.check(cmd_cdps, dt_ms, angle_cdeg): ...  # the angle did not follow deeper motion

from inversa.compat import const, ticks_diff

# Inlined constants (issue 10): a module attribute costs ~4 us a lookup on an
# RP2040 and an imported name ~1 us, a const() nothing.  Each one names
# its source; tests/fw/test_inlined_consts.py checks every value.
_B_RUNAWAY = const(512)  # alarms.B_RUNAWAY
_B_RUNON = const(64)  # alarms.B_RUNON
_B_STALL = const(32)  # alarms.B_STALL
_B_TRACKING = const(256)  # alarms.B_TRACKING
_B_UNCOMMANDED = const(128)  # alarms.B_UNCOMMANDED
_DRIVE_LAG_MS = const(200)  # limits.DRIVE_LAG_MS
_FOLLOW_MIN_PCT = const(25)  # limits.FOLLOW_MIN_PCT
_FOLLOW_TRAVEL_CDEG = const(50)  # limits.FOLLOW_TRAVEL_CDEG
_MAX_ACCEL_CDPS2 = const(300)  # limits.MAX_ACCEL_CDPS2
_MAX_CMD_RATE_CDPS = const(500)  # limits.MAX_CMD_RATE_CDPS
_RUNAWAY_CDPS = const(560)  # limits.RUNAWAY_CDPS
_RUNON_CDPS = const(100)  # limits.RUNON_CDPS
_RUNON_SETTLE_MS = const(500)  # limits.RUNON_SETTLE_MS
_RUNON_WINDOW_MS = const(3000)  # limits.RUNON_WINDOW_MS
_STALL_MAX_WINDOW_MS = const(30000)  # limits.STALL_MAX_WINDOW_MS
_STALL_MIN_TRAVEL_CDEG = const(150)  # limits.STALL_MIN_TRAVEL_CDEG
_STALL_SLOW_MIN_CDEG = const(30)  # a slow window's least expected travel ...
_STALL_SLOW_DEPTH_CDEG = const(100)  # ... judged with the table this far inverted
_STALL_WINDOW_MS = const(2000)  # limits.STALL_WINDOW_MS
_TRACK_ERR_CDEG = const(500)  # limits.TRACK_ERR_CDEG
_UNCMD_DRIFT_CDEG = const(300)  # limits.UNCMD_DRIFT_CDEG

# Any command in one direction while the table moves the other way at
# RUNON_CDPS or more: the plant's lag cannot explain it (the trajectory's
# accel limit passes through 0 slowly).  Was 50: a gradual return from a
# shallow depth commands less than that, and a driver stuck running down went
# 8.8 deg deeper during it (campaign seed 11, timeline 85).
_AGAINST_CMD_CDPS = const(1)
# How much faster than its command a healthy drive can be while the command
# slows down (the accel limit times the drive's lag).
_LAG_CDPS = _MAX_ACCEL_CDPS2 * _DRIVE_LAG_MS // 1000


class Trajectory:
    def __init__(self, accel_cdps2=_MAX_ACCEL_CDPS2):
        if not 100 <= accel_cdps2 <= _MAX_ACCEL_CDPS2:
            from inversa.error_text import text

            raise ValueError(text(23, _MAX_ACCEL_CDPS2))
        self.accel_cdps2 = accel_cdps2
        self.pos_mcdeg = 0
        self.vel_mcdps = 0
        self.goal_mcdeg = 0
        self.vmax_mcdps = 0
        self._zone_mcdeg = 0  # braking starts inside this distance of the goal
        self._guess = 1  # isqrt warm start
        self.at_goal = True

    def reset(self, angle_cdeg):
        """Setpoint := angle_cdeg, at rest, goal there too."""
        self.pos_mcdeg = angle_cdeg * 1000
        self.goal_mcdeg = self.pos_mcdeg
        self.vel_mcdps = 0
        self.at_goal = True

    def stop_at(self, angle_cdeg, rate_cdps):
        """Brake from where the table IS (angle, measured speed), not from a
        setpoint that leads it: a hold-to-run release stops within the
        table's own braking distance (v^2/2a) instead of lead + braking."""
        v = rate_cdps * 1000
        if v > self.vmax_mcdps:
            v = self.vmax_mcdps
        elif v < -self.vmax_mcdps:
            v = -self.vmax_mcdps
        self.pos_mcdeg = angle_cdeg * 1000
        self.vel_mcdps = v
        self.stop()

    def set_goal(self, goal_cdeg, vmax_cdps):
        if vmax_cdps > _MAX_CMD_RATE_CDPS:
            vmax_cdps = _MAX_CMD_RATE_CDPS
        elif vmax_cdps < 1:
            vmax_cdps = 1
        self.goal_mcdeg = goal_cdeg * 1000
        self.vmax_mcdps = vmax_cdps * 1000
        self._zone_mcdeg = vmax_cdps * vmax_cdps * 500 // self.accel_cdps2
        self.at_goal = self.pos_mcdeg == self.goal_mcdeg and self.vel_mcdps == 0

    def stop(self):
        """Brake to rest at the full acceleration: goal := the stopping point."""
        v = self.vel_mcdps // 1000
        d = v * v * 500 // self.accel_cdps2  # v^2 / 2a, in mcdeg
        if self.vel_mcdps >= 0:
            self.goal_mcdeg = self.pos_mcdeg + d
        else:
            self.goal_mcdeg = self.pos_mcdeg - d
        self.at_goal = self.pos_mcdeg == self.goal_mcdeg and self.vel_mcdps == 0

    def _isqrt(self, n):
        if n < 2:
            return n
        x = self._guess
        x = (x + n // x) >> 1  # from any x >= 1 this lands at or above isqrt(n)
        if x < 1:
            x = 1
        while True:
            y = (x + n // x) >> 1
            if y >= x:
                break
            x = y
        self._guess = x
        return x

    def step(self, dt_ms):
        """Advance one period; return the setpoint velocity in cdps (feed-forward)."""
        if self.at_goal:
            return 0
        a = self.accel_cdps2
        goal = self.goal_mcdeg
        pos = self.pos_mcdeg
        d = goal - pos
        ad = d if d >= 0 else -d
        if ad > self._zone_mcdeg:
            vd = self.vmax_mcdps
        else:
            # Fastest speed that can still stop within d when the speed drops
            # by a*dt per period: v^2/2a + v*dt/2 <= d, in 0.1 cdps units.
            h = a * dt_ms // 200
            vd = (self._isqrt(a * ad // 5 + h * h) - h) * 100
            if vd < 0:
                vd = 0
            elif vd > self.vmax_mcdps:
                vd = self.vmax_mcdps
        if d < 0:
            vd = -vd
        v = self.vel_mcdps
        dv = a * dt_ms
        if vd > v + dv:
            v += dv
        elif vd < v - dv:
            v -= dv
        else:
            v = vd
        p = pos + v * dt_ms // 1000
        if (d >= 0 and v >= 0 and p >= goal) or (d <= 0 and v <= 0 and p <= goal):
            # Landing on the goal: stay there and let the speed ramp down to 0
            # at the acceleration limit over the next period(s).
            self.pos_mcdeg = goal
            self.vel_mcdps = v
            if v == 0:
                self.at_goal = True
                return 0
            return v // 1000 if v >= 0 else -(-v // 1000)
        self.pos_mcdeg = p
        self.vel_mcdps = v
        return v // 1000 if v >= 0 else -(-v // 1000)


class FollowCheck:
    """Deeper motion must show in the angle: every FOLLOW_TRAVEL_CDEG of
    commanded deeper travel, the angle must have moved at least
    FOLLOW_MIN_PCT of it.  check() is True when it did not (a frozen
    reading, or a stalled motor: either way, stop going deeper).  A reading
    that moved as far the wrong way is alive: that is the motor's fault,
    judged by MotionMonitor (moving against the command)."""

    def __init__(self):
        self._k = 0  # commanded deeper travel in this window, cdeg * 1000
        self._a0 = 0  # the angle when the window began

    def check(self, cmd_cdps, dt_ms, angle_cdeg):
        if cmd_cdps <= 0:
            self._k = 0
            self._a0 = angle_cdeg
            return False
        self._k += cmd_cdps * dt_ms
        exp = self._k // 1000
        if exp < _FOLLOW_TRAVEL_CDEG:
            return False
        moved = angle_cdeg - self._a0
        self._k = 0
        self._a0 = angle_cdeg
        if moved < 0:
            moved = -moved  # the wrong way: a live reading (MotionMonitor: run-on)
        return moved * 100 < exp * _FOLLOW_MIN_PCT


class MotionMonitor:
    """Motion must follow command (motorized tables, trusted angle only).
    check() returns the raw condition bits; the alarm rules debounce them."""

    def __init__(self):
        self.reset(0, 0)

    def reset(self, t_ms, angle_cdeg):
        self._win_t = t_ms
        self._win_angle = angle_cdeg
        self._expect_k = 0  # expected travel in the window, cdeg * 1000
        self._zero_t = t_ms  # when the command last became 0
        self._last_move_t = t_ms - _RUNON_WINDOW_MS
        self._still_angle = angle_cdeg
        self._settled = False
        self._was_zero = True

    def check(
        self, t_ms, dt_ms, cmd_cdps, angle_cdeg, rate_cdps, setpoint_cdeg, tracking, gain_pct=0
    ):
        # gain_pct: the motor's true speed per commanded speed, in % (0: the
        # faster-than-commanded check is off).
        bits = 0
        r = rate_cdps if rate_cdps >= 0 else -rate_cdps
        if r > _RUNAWAY_CDPS:
            bits = _B_RUNAWAY
        if cmd_cdps:
            if self._was_zero:
                self._was_zero = False
                self._win_t = t_ms
                self._win_angle = angle_cdeg
                self._expect_k = 0
            self._last_move_t = t_ms
            # Moving against the command: the motor does not obey (run-on).
            if (cmd_cdps <= -_AGAINST_CMD_CDPS and rate_cdps >= _RUNON_CDPS) or (
                cmd_cdps >= _AGAINST_CMD_CDPS and rate_cdps <= -_RUNON_CDPS
            ):
                bits |= _B_RUNON
            # Faster than any command of the last DRIVE_LAG_MS could make it,
            # the commanded way: the motor does not obey (a stuck driver that
            # keeps running while the command slows down near the limit).
            # Found by the campaign (seed 11, timeline 237): a run-on during
            # a descent went 2 deg past the limit before the command was 0.
            if gain_pct:
                c = cmd_cdps if cmd_cdps > 0 else -cmd_cdps
                v = rate_cdps if cmd_cdps > 0 else -rate_cdps
                if v > (c + _LAG_CDPS) * gain_pct // 100 + _RUNON_CDPS:
                    bits |= _B_RUNON
            self._expect_k += cmd_cdps * dt_ms
            age = ticks_diff(t_ms, self._win_t)
            if age >= _STALL_WINDOW_MS:
                exp = self._expect_k // 1000
                moved = angle_cdeg - self._win_angle
                if exp < 0:
                    exp = -exp
                    moved = -moved
                # A window is judged once it expects enough travel to tell a
                # stall from noise; a slow command (a long return, the last
                # degrees of a rise) just makes the window longer.  Found by
                # hypothesis: with fixed 2 s windows a motor stalled at 0.5
                # deg/s was never judged and the rise never ended.
                # A command too slow for that (a shallow or long return, a
                # rise's last degrees: down to 0.01 deg/s) is judged at the
                # longest window if it expects 0.3 deg and the table is over
                # 1 deg inverted (under it, a motor that does not turn at
                # 0.01 deg/s is no hazard): a return stalled at 3 deg was
                # seen only 4x its planned time later, up to 12 min (review
                # attack6).
                if exp >= _STALL_MIN_TRAVEL_CDEG or (
                    age >= _STALL_MAX_WINDOW_MS
                    and exp >= _STALL_SLOW_MIN_CDEG
                    and angle_cdeg > _STALL_SLOW_DEPTH_CDEG
                ):
                    if moved * 4 < exp:
                        bits |= _B_STALL
                    self._win_t = t_ms
                    self._win_angle = angle_cdeg
                    self._expect_k = 0
                elif age >= _STALL_MAX_WINDOW_MS:
                    self._win_t = t_ms
                    self._win_angle = angle_cdeg
                    self._expect_k = 0
            if tracking:
                e = setpoint_cdeg - angle_cdeg
                if e > _TRACK_ERR_CDEG or e < -_TRACK_ERR_CDEG:
                    bits |= _B_TRACKING
        else:
            if not self._was_zero:
                self._was_zero = True
                self._zero_t = t_ms
                self._settled = False
            if ticks_diff(t_ms, self._zero_t) >= _RUNON_SETTLE_MS:
                if not self._settled:
                    self._settled = True
                    self._still_angle = angle_cdeg
                if r > _RUNON_CDPS:
                    if ticks_diff(t_ms, self._last_move_t) < _RUNON_WINDOW_MS:
                        bits |= _B_RUNON
                    else:
                        bits |= _B_UNCOMMANDED
                d = angle_cdeg - self._still_angle
                if d > _UNCMD_DRIFT_CDEG or d < -_UNCMD_DRIFT_CDEG:
                    bits |= _B_UNCOMMANDED
            if tracking:
                e = setpoint_cdeg - angle_cdeg
                if e > _TRACK_ERR_CDEG or e < -_TRACK_ERR_CDEG:
                    bits |= _B_TRACKING
        return bits
