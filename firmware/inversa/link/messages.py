# The message schema: types, payload layouts (struct formats, little-endian)
# and field names, shared by the firmware and the host.  docs/PROTOCOL.md
# describes every field and its unit.
#
# Versioning: PROTOCOL_VERSION is in every frame header.  Within one version a
# payload may only grow by appending fields at its end (decoders read the
# fields they know and ignore a longer tail); anything else (a field changes
# size, meaning or order, a message goes away) bumps the version.  Message
# type numbers and reason codes are append-only.
#
# Usage:
#     from inversa.link import messages as m
#     m.TELEMETRY_FMT, m.TELEMETRY_LEN, m.CMD_START

from inversa.compat import const

PROTOCOL_VERSION = const(1)

# Frame header: version u8, type u8, flags u8, seq u16; then payload; then CRC16.
HEADER_FMT = "<BBBH"
HEADER_LEN = const(5)
CRC_LEN = const(2)
MAX_PAYLOAD = const(240)
MAX_BODY = const(247)  # HEADER_LEN + MAX_PAYLOAD + CRC_LEN

# Header flags (firmware -> host).
FLAG_BENCH = const(0x01)  # the board booted in bench mode: sensor data may be injected

# --- firmware -> host -------------------------------------------------------
MSG_HELLO = const(0x01)  # handshake: versions, board, limits, profile CRC
MSG_TELEMETRY = const(0x02)  # periodic snapshot
MSG_EVENT = const(0x03)  # one EventLog record
MSG_HEARTBEAT = const(0x04)  # 1 Hz liveness
MSG_ACK = const(0x05)  # answer to every command: reason 0 = accepted
MSG_PROFILE = const(0x06)  # the active profile (answer to CMD_GET_PROFILE)

# --- host -> firmware -------------------------------------------------------
MSG_HOST_HEARTBEAT = const(0x20)  # keeps the host lease alive
CMD_INFO = const(0x21)  # -> MSG_HELLO, MSG_ACK
CMD_GET_PROFILE = const(0x22)  # -> MSG_PROFILE, MSG_ACK
CMD_SET_PROFILE = const(0x23)  # payload: Profile.to_bytes()
CMD_START = const(0x24)  # still needs the local physical action at the table
CMD_RETURN = const(0x25)  # stop / bring the person back up
CMD_SET_TELEMETRY_RATE = const(0x26)  # payload: hz u8 (0 = off, 1..MAX_TELEMETRY_HZ)
CMD_CALIBRATE_IMU = const(0x27)
CMD_CLEAR_FAULTS = const(0x28)
CMD_MAINTENANCE = const(0x29)  # idle only: reboot into the REPL (deploy, doctor)
INJECT_IMU = const(0x30)  # bench mode only; acknowledged only when refused
INJECT_PPG = const(0x31)  # bench mode only; acknowledged only when refused

# Every command type (the endpoint refuses a payload for one that takes none).
# Their names are host-side, keyed by these codes (inversa/link/message_names.py).
COMMANDS = (
    CMD_INFO,
    CMD_GET_PROFILE,
    CMD_SET_PROFILE,
    CMD_START,
    CMD_RETURN,
    CMD_SET_TELEMETRY_RATE,
    CMD_CALIBRATE_IMU,
    CMD_CLEAR_FAULTS,
    CMD_MAINTENANCE,
    INJECT_IMU,
    INJECT_PPG,
)

DEFAULT_TELEMETRY_HZ = const(20)
MAX_TELEMETRY_HZ = const(50)
HEARTBEAT_MS = const(1000)  # firmware heartbeat period
HOST_HEARTBEAT_MS = const(500)  # host heartbeat period
LEASE_MS = const(2000)  # host lease: no valid host frame for this long = host gone

# --- payloads ---------------------------------------------------------------
# Each payload layout is one struct format, little-endian, one code per line
# in wire order, the comment naming the field.  The field names are
# host-side, in the same order (inversa/link/message_names.py *_FIELDS: on
# the board they were ~30 interned names and tuples nothing reads, issue 10);
# tests/host/test_link_names.py ties the comments, the names and the lengths.
# The board never loads this module: link/endpoint.py and link/frame.py keep
# the formats and COMMANDS as const() (tests/fw/test_inlined_consts.py), and
# `inversa deploy` folds the integers.

# Telemetry: inputs, outputs, loop timing and counters.  Counters are u16 and
# wrap; the host works with differences.
TELEMETRY_FMT = (
    "<"
    "I"  # t_ms: board ticks_ms (wraps at 2**30)
    "B"  # state: ControlOutputs.state
    "B"  # action: ControlOutputs.action
    "h"  # angle_cdeg: 0.01 deg, +9000 = fully inverted
    "h"  # rate_cdps: 0.01 deg/s, + = deeper
    "h"  # target_angle_cdeg
    "h"  # motor_cmd_cdps
    "h"  # deepest_cdeg
    "I"  # inverted_ms
    "B"  # hr_bpm: 0 = unknown
    "B"  # hr_quality_pct
    "I"  # alarm_bits
    "B"  # alarm_priority: 0 none, 1 low, 2 medium, 3 high
    "I"  # fault_bits
    "H"  # tilt_faults
    "B"  # io_bits: IO_* below
    "H"  # loop_us: duration of the last control period's work
    "H"  # loop_max_us: worst since boot
    "H"  # overruns: periods that ran late
    "H"  # tx_drops: frames the board dropped because the port had no room
    "H"  # rx_errors: bad CRC/framing/length frames + bytes the rx buffer dropped
    "H"  # events_dropped: EventLog records overwritten before they were sent
    "H"  # tx_stalls: writes that stalled (USB host not reading)
)
TELEMETRY_LEN = const(48)

IO_TILT_OK = const(0x01)
IO_HR_OK = const(0x02)
IO_ESTOP = const(0x04)
IO_MOTOR_ENABLE = const(0x08)
IO_BRAKE_ON = const(0x10)
IO_HOST_LEASE = const(0x20)

# an event record (inversa/events.py)
EVENT_FMT = (
    "<"
    "I"  # t_ms
    "B"  # kind
    "i"  # code
    "i"  # value
)
EVENT_LEN = const(13)
HEARTBEAT_FMT = (
    "<"
    "I"  # t_ms
    "B"  # state
    "B"  # io_bits
)
HEARTBEAT_LEN = const(6)
# the answer to a command: its seq and type, and the reason (inversa/reasons.py)
ACK_FMT = (
    "<"
    "H"  # cmd_seq
    "B"  # cmd
    "B"  # reason
)
ACK_LEN = const(4)

# MSG_PROFILE: crc16 u16, then the profile's own bytes (Profile.to_bytes()).
PROFILE_HEAD_FMT = "<H"

# MSG_HELLO:
#   protocol u8, telemetry_hz u8, lease_ms u16, profile_crc u16, reset_cause u8,
#   uid 8 bytes, fw_version (len u8 + ASCII), board (len u8 + ASCII),
#   n_limits u8, n x (limit id u8, value i32)
HELLO_HEAD_FMT = "<BBHHB8s"
HELLO_HEAD_LEN = const(15)

# Hard limit ids carried by the handshake (values in the unit of the name).
LIMIT_MAX_ANGLE_CDEG = const(1)
LIMIT_MIN_ANGLE_CDEG = const(2)
LIMIT_MAX_RATE_CDPS = const(3)
LIMIT_MAX_ACCEL_CDPS2 = const(4)
LIMIT_MAX_INVERTED_S = const(5)
LIMIT_MIN_RETURN_S = const(6)
LIMIT_HR_MAX_BPM = const(7)
LIMIT_HR_MIN_BPM = const(8)
# (their names: inversa/link/message_names.py LIMIT_NAMES)

# Sensor injection payloads: count u8, then count samples.
#   INJECT_IMU: 6 x i16 per sample: ax, ay, az, gx, gy, gz in the chip's raw counts
#   INJECT_PPG: 1 x i32 per sample: the raw PPG reading
INJECT_IMU_SAMPLE_LEN = const(12)
INJECT_PPG_SAMPLE_LEN = const(4)
INJECT_MAX_IMU = const(19)  # (MAX_PAYLOAD - 1) // 12
INJECT_MAX_PPG = const(59)  # (MAX_PAYLOAD - 1) // 4
