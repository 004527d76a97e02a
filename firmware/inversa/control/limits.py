# Hard limits: the envelope that no profile, command or host can leave.
# Every profile is validated against these (profile.py) and the controller
# clamps every command to them again at run time (defence in depth).  The
# handshake reports them to the host (link/messages.py LIMIT_* ids).
#
# Units are in the names: cdeg = 0.01 deg (0 = horizontal, +9000 = fully
# inverted head-down), cdps = 0.01 deg/s, cdps2 = 0.01 deg/s^2, ms, bpm.
#
# Usage:
#     from inversa.control import limits as L
#     if angle_cdeg > L.MAX_ANGLE_CDEG: ...

from inversa.compat import const

CONTROL_PERIOD_MS = const(10)  # the loop runs at 100 Hz

# --- angles -----------------------------------------------------------------
MAX_ANGLE_CDEG = const(9000)  # deepest any profile may allow (full inversion)
MIN_ANGLE_CDEG = const(-8000)  # most head-up position any command may ask for
MIN_DEPTH_CDEG = const(500)  # a profile's deepest angle is at least 5 deg
MIN_LOADING_CDEG = const(-8000)  # loading (upright) position range
MAX_LOADING_CDEG = const(-3000)
HORIZONTAL_BAND_CDEG = const(500)  # |angle| <= 5 deg counts as "near horizontal"
LOADING_TOL_CDEG = const(500)  # within 5 deg of the loading angle = "at loading"
LIMIT_TOL_CDEG = const(50)  # over-limit alarm: angle > limit + 0.5 deg ...
LIMIT_DEBOUNCE_MS = const(20)  # ... for 3 consecutive 10 ms samples
LIMIT_HYST_CDEG = const(100)  # cleared only once back 1 deg under the limit
LIMIT_BACKOFF_CDEG = const(200)  # after a breach the hold target is 2 deg under (clears the
# 1 deg hysteresis even if the tracking deadband stops the table 0.6 deg short)

# --- motion -----------------------------------------------------------------
MAX_RATE_CDPS = const(600)  # hard limit on the table's true speed: 6 deg/s
# Commands (and profiles) stay a margin under the hard limit, so a motor
# that stops obeying is cut (RUNAWAY_CDPS) before it passes the limit:
# the measured speed may read GYRO_SCALE_TOL_PCT low (a true 6 deg/s reads
# 5.82), and the trip is debounced 30 ms.  Found by the campaign (seed 2043,
# timeline 179): a profile at 6 deg/s ran at a true 5.86; a driver stuck at
# 73 % duty as the hold began took it to 6.1 deg/s for 0.8 s, under the
# old runaway trip (6.05 measured), until the run-on check cut it.
MAX_CMD_RATE_CDPS = const(500)  # fastest commanded motion / profile speed: 5 deg/s
MIN_RATE_CDPS = const(50)  # slowest descent/rise speed a profile may set
MAX_ACCEL_CDPS2 = const(300)  # commanded acceleration: 3 deg/s^2 (smooth)
MIN_RETURN_MS = const(30000)  # deepest -> horizontal takes at least 30 s
RETURN_MARGIN_MS = const(1500)  # returns are planned this much longer (lag, noise)
# The flash record's last angle when only a bound is known (the record
# written ahead of a session's motion): the table may be anywhere from the
# loading position to its deepest (control/session_record.py).  Below any
# angle a table reaches, and kept as is by both record encodings.
REC_UNKNOWN_CDEG = const(-16384)
MAX_RETURN_MS = const(180000)
MIN_RETURN_CDPS = const(10)  # floor so a shallow return still moves (stall check)
MIN_REST_MS = const(10000)  # rest near horizontal before coming upright
MAX_REST_MS = const(120000)
TRACK_KP_PER_S = const(2)  # closed-loop gain: 1 deg error -> 2 deg/s correction
TRACK_LEAD_CDEG = const(200)  # the setpoint never runs more than 2 deg ahead
TRACK_DEADBAND_CDEG = const(30)  # at rest within 0.3 deg: motor off, brake on

# --- time -------------------------------------------------------------------
MIN_HOLD_MS = const(10000)
MAX_HOLD_MS = const(600000)  # 10 min (the longest hold used in the trials)
MAX_INVERTED_MS = const(900000)  # 15 min inverted per session, whatever happens
TIME_GRACE_MS = const(120000)  # inverted-time alarm at hold + return + grace
MAX_DAILY_MS = const(1800000)  # a profile's daily allowance is at most 30 min
MIN_DAILY_MS = const(60000)
# No clock on the board: a "day" of the daily allowance is this much powered
# time from the first inverted second of the day (powered time <= real time,
# so the allowance never comes back early; see docs/SAFETY.md).
DAY_MS = const(86400000)

# --- heart rate -------------------------------------------------------------
HR_MIN_BPM = const(40)  # a profile's low alarm may not be set below this
HR_MAX_BPM = const(170)  # a profile's high alarm may not be set above this
HR_MIN_SPAN_BPM = const(30)  # high - low at least this
HR_MIN_DELTA_BPM = const(10)  # rise/drop-from-baseline limits range
HR_MAX_DELTA_BPM = const(40)
HR_DEBOUNCE_MS = const(5000)  # absolute limit exceeded for 5 s
HR_DELTA_DEBOUNCE_MS = const(10000)  # rise/drop sustained for 10 s
HR_LOST_MS = const(5000)  # no valid pulse for 5 s while inverted
BASELINE_MS = const(15000)  # resting baseline measured over 15 s at loading
BASELINE_MAX_MS = const(60000)  # give up (and refuse descent) after 60 s
READY_TIMEOUT_MS = const(120000)  # armed but no local action for 2 min: disarm

# --- supervision ------------------------------------------------------------
SELFTEST_MS = const(1000)  # boot: wait for the estimators before deciding
SELFTEST_MAX_MS = const(5000)  # ... and for a trusted angle at most this long
# The e-stop input reads "pressed" at boot until both channels have proven
# closed (drivers/buttons.py EStop: release_ms 50, discrepancy_ms 200); any
# other "pressed", from the first period on, is a press and latches.
ESTOP_BOOT_SETTLE_MS = const(250)
TILT_DEBOUNCE_MS = const(30)
CONTACTOR_DROP_MS = const(300)  # e-stop pressed: the contactor must have opened by then
SWITCH_DEBOUNCE_MS = const(20)
HOME_DISAGREE_CDEG = const(2000)  # home switch closed but angle 20 deg off: it lies
HOME_AGREE_CDEG = const(250)  # with a trusted angle, home counts only within 2.5 deg of loading
HOME_CONFIRM_MS = const(100)  # open loop believes the home switch after 100 ms closed
END_SWITCH_MIN_CDEG = const(7000)  # end switch (at the ~90 deg stop) closed above 70 deg: it lies
FOLLOW_TRAVEL_CDEG = const(50)  # deeper motion is judged every 0.5 deg of commanded travel ...
FOLLOW_MIN_PCT = const(25)  # ... the angle must follow at least a quarter of it
GAIN_MIN_PCT = const(100)  # the motor's true speed per commanded speed, as learned: never
GAIN_MAX_PCT = const(300)  # ... assumed slower than the driver's scale, at most 3x
GAIN_ASSUMED_PCT = const(200)  # ... until learned, assume twice the scale
GAIN_SLEW_MS = const(250)  # ... once known, it moves 1 % per this at most
GAIN_LEARN_CDPS = const(20)  # learned only from commands of at least 0.2 deg/s
GYRO_SCALE_TOL_PCT = const(3)  # gyro sensitivity tolerance (MPU-6050/6500 datasheets: +-3 %)
DRIVE_LAG_MS = const(200)  # a healthy drive's speed follows its command within this
# Measured speed above this for 30 ms: runaway.  A true 6 deg/s reads at
# least 5.82 (GYRO_SCALE_TOL_PCT), so a trip at 5.6 cuts before the hard
# limit; healthy motion (commands <= MAX_CMD_RATE, the drive aiming a few %
# under) reads <= ~5.1 deg/s, 0.5 deg/s from it against the rate's noise
# (+-0.08 deg/s).  Was MAX_RATE + 5: a stuck driver at a true 6.1 deg/s
# read 5.99-6.05 and was cut only by the run-on check (seed 2043, tl. 179);
# MAX_RATE + 25 before that: 0.6 s above the limit (seed 2029, tl. 1239).
RUNAWAY_CDPS = const(560)
STALL_WINDOW_MS = const(2000)
STALL_MIN_TRAVEL_CDEG = const(150)  # only judge windows that expect >= 1.5 deg
STALL_MAX_WINDOW_MS = const(30000)  # ... growing the window up to this (slow commands;
# judged there if it expects 0.3 deg: motion/MotionMonitor)
RUNON_SETTLE_MS = const(500)  # after the command reaches 0, the table may coast
RUNON_CDPS = const(100)  # still moving faster than 1 deg/s after that: run-on
RUNON_WINDOW_MS = const(3000)  # stop-to-still within this is "run-on", later "uncommanded"
UNCMD_DRIFT_CDEG = const(300)  # moved 3 deg with no command: uncommanded
TRACK_ERR_CDEG = const(500)  # setpoint - angle beyond 5 deg ...
TRACK_ERR_MS = const(1000)  # ... for 1 s: motion does not follow command
OPEN_LOOP_CDPS = const(150)  # tilt failed: 1.5 deg/s up, open loop
OPEN_LOOP_TIME_FACTOR = const(2)  # ... planned for twice the return time (speed unmeasured)
# Hard bound of an open-loop return.  Each open loop is bounded by its own
# plan (drive.begin_open_loop: slow leg + rest + leg home + margin); this cap
# must never cut a plan short: the longest one (a 180 s return, a 120 s
# rest, the learned gain 300 %, a record at 15.6 deg with its 2 deg doubt)
# is 1,985 s.  At 180 s it cut the plans of long returns or rests and left
# the person inverted in a home-timeout fault (review attack3, 30 Nov).
OPEN_LOOP_MAX_MS = const(2400000)
OPEN_LOOP_MARGIN_MS = const(20000)

# --- manual tables ----------------------------------------------------------
MANUAL_SPEED_TOL_CDPS = const(50)  # measured speed above profile speed + this
COACH_TOL_CDPS = const(30)  # rising faster than the coached speed + this
MANUAL_STILL_CDPS = const(30)  # "holding still" below this
MANUAL_STILL_MS = const(1000)
