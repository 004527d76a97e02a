# Names of the link's command types and handshake limit ids, keyed by their
# codes in inversa/link/messages.py, and of the payloads' fields in the order
# of messages.*_FMT, for the host and the tests.  The board
# never imports this module: there these names were interned strings (never
# freed) that nothing on the board reads (issue 10).  A command or limit added
# in messages.py gets its name here, a payload field its name in the same place
# as its code (tests/host/test_link_names.py).
#
# Usage (host):
#     from inversa.link.message_names import COMMAND_NAMES, LIMIT_NAMES
#     COMMAND_NAMES[M.CMD_START]   # "start"
#     dict(zip(TELEMETRY_FIELDS, struct.unpack(M.TELEMETRY_FMT, payload)))

from inversa.link import messages as M

COMMAND_NAMES = {
    M.CMD_INFO: "info",
    M.CMD_GET_PROFILE: "get-profile",
    M.CMD_SET_PROFILE: "set-profile",
    M.CMD_START: "start",
    M.CMD_RETURN: "return",
    M.CMD_SET_TELEMETRY_RATE: "telemetry-rate",
    M.CMD_CALIBRATE_IMU: "calibrate-imu",
    M.CMD_CLEAR_FAULTS: "clear-faults",
    M.CMD_MAINTENANCE: "maintenance",
    M.INJECT_IMU: "inject-imu",
    M.INJECT_PPG: "inject-ppg",
}

LIMIT_NAMES = {
    M.LIMIT_MAX_ANGLE_CDEG: "max_angle_cdeg",
    M.LIMIT_MIN_ANGLE_CDEG: "min_angle_cdeg",
    M.LIMIT_MAX_RATE_CDPS: "max_rate_cdps",
    M.LIMIT_MAX_ACCEL_CDPS2: "max_accel_cdps2",
    M.LIMIT_MAX_INVERTED_S: "max_inverted_s",
    M.LIMIT_MIN_RETURN_S: "min_return_s",
    M.LIMIT_HR_MAX_BPM: "hr_max_bpm",
    M.LIMIT_HR_MIN_BPM: "hr_min_bpm",
}

# The payloads' field names, in wire order (one per code of messages.*_FMT).
TELEMETRY_FIELDS = (
    "t_ms",
    "state",
    "action",
    "angle_cdeg",
    "rate_cdps",
    "target_angle_cdeg",
    "motor_cmd_cdps",
    "deepest_cdeg",
    "inverted_ms",
    "hr_bpm",
    "hr_quality_pct",
    "alarm_bits",
    "alarm_priority",
    "fault_bits",
    "tilt_faults",
    "io_bits",
    "loop_us",
    "loop_max_us",
    "overruns",
    "tx_drops",
    "rx_errors",
    "events_dropped",
    "tx_stalls",
)
EVENT_FIELDS = ("t_ms", "kind", "code", "value")
HEARTBEAT_FIELDS = ("t_ms", "state", "io_bits")
ACK_FIELDS = ("cmd_seq", "cmd", "reason")
