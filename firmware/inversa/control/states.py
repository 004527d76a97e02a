# Session states of the controller, with names for display (the host imports
# STATE_NAMES).  Ids are part of the protocol: append only.
#
#   SELFTEST -> IDLE -> BASELINE -> READY -> DESCENT <-> HOLD -> RETURN
#            -> REST -> RISE -> DONE -> (IDLE/BASELINE on the next start)
#   any -> ESTOP (e-stop), FAULT (cut-off), OPEN_LOOP (tilt sensor lost)
#   SELFTEST -> RETURN/REST (reboot mid-session detected)

from inversa.compat import const

SELFTEST = const(0)  # boot: outputs safe, waiting for the estimators
IDLE = const(1)  # at the loading position, no session
BASELINE = const(2)  # session armed: measuring resting heart rate at loading
READY = const(3)  # baseline known: waiting for the local action (hold-to-run)
DESCENT = const(4)  # going deeper (motorized: only while hold-to-run is held)
HOLD = const(5)  # holding the chosen angle
RETURN = const(6)  # gradual return to horizontal (>= 30 s from depth)
REST = const(7)  # resting near horizontal
RISE = const(8)  # up to the loading position
DONE = const(9)  # session over, at the loading position
FAULT = const(10)  # latched safe state: motor off, brake on, alarm
ESTOP = const(11)  # e-stop pressed: motor cut, brake on, latched
OPEN_LOOP = const(12)  # tilt sensor lost: slow, bounded, open-loop return home

N_STATES = const(13)

STATE_NAMES = (
    "selftest",
    "idle",
    "baseline",
    "ready",
    "descent",
    "hold",
    "return",
    "rest",
    "rise",
    "done",
    "fault",
    "estop",
    "open-loop",
)

# Table types (Profile.table_type).
MOTORIZED = const(0)
MANUAL = const(1)
TABLE_TYPE_NAMES = ("motorized", "manual")
