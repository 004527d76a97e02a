# Human text of the reason codes (inversa.reasons), for the host and the
# tests.  The board never imports this module: on a Pico its strings were
# ~1.3 KB of heap for text only a person at the host reads (issue 10).  A
# code added in reasons.py gets its text here (tests/fw/test_reason_names.py).
#
# Usage (host):
#     from inversa.reason_names import text
#     text(reasons.DAILY_LIMIT)   # "the daily inverted-time limit is used up"

from inversa.reasons import (
    BAD_ARGUMENT,
    BAD_FRAME,
    BUSY,
    CONTRAINDICATED,
    DAILY_LIMIT,
    FAULT_LATCHED,
    INTERNAL_ERROR,
    NEEDS_LOCAL_ACTION,
    NOT_BENCH_MODE,
    NOT_CALIBRATED,
    OK,
    OUT_OF_RANGE,
    PROFILE_INVALID,
    STORAGE_ERROR,
    UNKNOWN_COMMAND,
    UNSUPPORTED_VERSION,
    WRONG_STATE,
)

TEXT = {
    OK: "accepted",
    BAD_FRAME: "bad frame (CRC, length or framing)",
    UNKNOWN_COMMAND: "unknown command",
    BAD_ARGUMENT: "bad argument (length or type)",
    OUT_OF_RANGE: "value outside the hard limits",
    WRONG_STATE: "not allowed in the current state",
    NEEDS_LOCAL_ACTION: "press and hold the button on the table to start motion",
    NOT_BENCH_MODE: "sensor injection needs the board booted in bench mode",
    FAULT_LATCHED: "a fault is latched: clear it at the table (release e-stop, press stop)",
    CONTRAINDICATED: "the profile has a contraindication flag: inversion is not allowed",
    PROFILE_INVALID: "the profile is invalid",
    DAILY_LIMIT: "the daily inverted-time limit is used up",
    STORAGE_ERROR: "could not write to the board's flash",
    BUSY: "busy, try again",
    UNSUPPORTED_VERSION: "protocol version not supported",
    NOT_CALIBRATED: "the IMU is not calibrated: run the calibration first",
    INTERNAL_ERROR: "internal error on the board (please report it)",
}


def text(code):
    return TEXT.get(code, "reason %d" % code)
