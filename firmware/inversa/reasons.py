# Reason codes: why a command or profile was refused.  One table for the
# controller, the link (refusals on the wire) and the host (messages shown to
# a person: inversa/reason_names.py, which the board never imports).  0 means
# accepted.  Codes are part of the protocol: append only.

from inversa.compat import const

OK = const(0)
BAD_FRAME = const(1)  # CRC, length or framing error
UNKNOWN_COMMAND = const(2)
BAD_ARGUMENT = const(3)  # wrong length or type of a field
OUT_OF_RANGE = const(4)  # a value past a hard limit
WRONG_STATE = const(5)  # not allowed in the current session state
NEEDS_LOCAL_ACTION = const(6)  # motion needs the hold-to-run button on the table
NOT_BENCH_MODE = const(7)  # sensor injection only when booted in bench mode
FAULT_LATCHED = const(8)  # clear the fault (and e-stop) locally first
CONTRAINDICATED = const(9)  # the profile carries a contraindication flag
PROFILE_INVALID = const(10)
DAILY_LIMIT = const(11)  # daily inverted time used up
STORAGE_ERROR = const(12)  # could not persist to the board's flash
BUSY = const(13)  # try again shortly
UNSUPPORTED_VERSION = const(14)  # protocol version mismatch
NOT_CALIBRATED = const(15)  # IMU mount calibration missing
INTERNAL_ERROR = const(16)  # a command handler failed (a bug); counted on the board
