# Display names of the alarm engine's codes (inversa.control.alarms), for the
# host and the tests.  The board never imports this module: on a Pico its
# strings would be heap for names only a person at the host reads (issue 10).
# An alarm, fault bit, action or priority added in alarms.py gets its name
# here, in the same order (tests/mpy/test_ctl_alarms.py checks the lengths).
#
# Usage (host):
#     from inversa.control.alarm_names import ALARM_NAMES
#     ALARM_NAMES[A_ESTOP]    # "estop"

PRIORITY_NAMES = ("none", "low", "medium", "high")

ACTION_NAMES = ("none", "warn", "no-deeper", "return", "open-loop", "cutoff")

FAULT_NAMES = (  # by bit position (F_*)
    "estop",
    "tilt-sensor",
    "motor",
    "limit-switch",
    "self-test",
    "hr-sensor",
    "reboot",
    "host",
    "profile",
    "input",
)

ALARM_NAMES = (  # by alarm id (A_*)
    "estop",
    "self-test",
    "tilt-sensor",
    "end-switch",
    "home-timeout",
    "motor-stall",
    "motor-run-on",
    "uncommanded-motion",
    "tracking-error",
    "runaway",
    "over-limit",
    "time-limit",
    "hr-high",
    "hr-low",
    "hr-rise",
    "hr-drop",
    "hr-lost",
    "host-lease",
    "reboot-recovery",
    "too-fast",
    "rising-too-fast",
    "hold-over",
    "no-baseline",
    "daily-limit",
    "mains-lost",
    "contactor-stuck",
    "input-stuck",
    "contraindicated",
    "switch-fault",
)
