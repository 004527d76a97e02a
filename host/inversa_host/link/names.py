"""Display names for states, alarms and faults: the firmware's own tables.

One source: the names are the firmware's (``inversa.control.states`` and
``inversa.control.alarm_names``, beside the alarm engine: the board never
loads them), imported here, never copied.  Two kinds of
numbers are named, and they must never be confused:

* an **index** (a state id, an alarm id): ``state_name``, ``alarm_name``;
* a **mask** (``alarm_bits``, ``fault_bits``, and the code of an EV_FAULT
  event, which carries the ``F_*`` fault bit(s), not a bit position):
  ``alarm_names``, ``fault_names``, ``bit_names``.
"""

from __future__ import annotations

from inversa import events as ev
from inversa import reason_names
from inversa.control.alarm_names import ACTION_NAMES, ALARM_NAMES, FAULT_NAMES, PRIORITY_NAMES
from inversa.control.alarms import F_PROFILE, P_HIGH
from inversa.control.profile_store import STORE_CORRUPT, STORE_MISSING
from inversa.control.states import STATE_NAMES

EVENT_KIND_NAMES = {
    ev.EV_BOOT: "boot",
    ev.EV_STATE: "state",
    ev.EV_ALARM_RAISED: "alarm-raised",
    ev.EV_ALARM_CLEARED: "alarm-cleared",
    ev.EV_FAULT: "fault",
    ev.EV_PROFILE: "profile",
    ev.EV_COMMAND: "command",
    ev.EV_SENSOR: "sensor",
    ev.EV_PAUSE: "flash-pause",
}


def _index(table: tuple[str, ...], code: int, prefix: str) -> str:
    return table[code] if 0 <= code < len(table) else f"{prefix} {code}"


def state_name(code: int) -> str:
    """A state id (an index) -> its name."""
    return _index(STATE_NAMES, code, "state")


def alarm_name(alarm_id: int) -> str:
    """An alarm id (an index, the code of EV_ALARM_* events) -> its name."""
    return _index(ALARM_NAMES, alarm_id, "alarm")


def priority_name(priority: int) -> str:
    return _index(PRIORITY_NAMES, priority, "priority")


def alarm_level_name(level: int) -> str:
    """An alarm event's level: a priority, or above high once the alarm
    escalated (the engine's loud stage, alarms.py)."""
    if level > P_HIGH:
        return PRIORITY_NAMES[P_HIGH] + ", escalated (loud)"
    return priority_name(level)


def _mask(mask: int, table: tuple[str, ...], prefix: str) -> list[str]:
    out = []
    for i in range(32):
        if mask >> i & 1:
            out.append(table[i] if i < len(table) else f"{prefix} bit {i}")
    return out


def alarm_names(mask: int) -> list[str]:
    """The names of the set bits of an alarm mask (telemetry ``alarm_bits``)."""
    return _mask(mask & 0xFFFFFFFF, ALARM_NAMES, "alarm")


def fault_names(mask: int) -> list[str]:
    """The names of the set bits of a fault mask (telemetry ``fault_bits``, or
    the code of an EV_FAULT event, which is an ``F_*`` mask)."""
    return _mask(mask & 0xFFFFFFFF, FAULT_NAMES, "fault")


def fault_text(mask: int) -> str:
    """A fault mask as one name ("estop", "motor+host"; "none" for 0)."""
    return "+".join(fault_names(mask)) or "none"


def bit_names(bits: int, kind: str) -> list[str]:
    """Names of the set bits of an alarm or fault mask (bit i -> table[i])."""
    if kind == "alarm":
        return alarm_names(bits)
    if kind == "fault":
        return fault_names(bits)
    raise ValueError(f"kind must be 'alarm' or 'fault', not {kind!r}")


# The profile store's status (control/profile_store.py STORE_*), the value of
# the F_PROFILE fault event; the board then runs on the beginner profile.
PROFILE_STORE_TEXT = {
    STORE_MISSING: "no stored profile: the beginner profile is in use",
    STORE_CORRUPT: "stored profile damaged: the beginner profile is in use",
}


def fault_detail(mask: int, value: int) -> str:
    """The value of an EV_FAULT event: the alarm that raised it, or for the
    stored-profile fault the profile store's status."""
    if mask == F_PROFILE:
        return PROFILE_STORE_TEXT.get(value, f"profile store status {value}")
    return f"raised by alarm {alarm_name(value)}"


def action_name(code: int) -> str:
    """The controller's action (what the alarms ask of it) as a word."""
    return _index(ACTION_NAMES, code, "action")


# machine.reset_cause() values (the same on the rp2 and esp32 ports).
RESET_CAUSES = {
    1: "power-on",
    2: "hard reset",
    3: "watchdog",
    4: "deep sleep",
    5: "soft reset",
}


def reset_cause_name(code: int) -> str:
    return RESET_CAUSES.get(code, f"reset cause {code}")


def sensor_text(code: int, value: int) -> str:
    """An EV_SENSOR event (inversa/sensor_standin.py): value 0 = the sensor was
    absent at boot (a fault until it answers), n >= 1 = it came back, n-th time."""
    from inversa.sensor_standin import RETRY_MS, SENSOR_IMU, SENSOR_PPG

    name = {SENSOR_IMU: "tilt sensor (IMU)", SENSOR_PPG: "heart-rate sensor"}.get(
        code, f"sensor {code}"
    )
    if value == 0:
        return f"{name} absent at boot: tried again every {RETRY_MS // 1000} s"
    return f"{name} back (re-initialised {value} time(s) since boot)"


def reason_text(code: int) -> str:
    return str(reason_names.text(code))


def event_text(kind: int, code: int, value: int) -> str:
    name = EVENT_KIND_NAMES.get(kind, f"event {kind}")
    if kind == ev.EV_STATE:
        return f"state {state_name(value)} -> {state_name(code)}"
    if kind in (ev.EV_ALARM_RAISED, ev.EV_ALARM_CLEARED):
        return f"{name} {alarm_name(code)} (priority {alarm_level_name(value)})"
    if kind == ev.EV_FAULT:
        return f"fault {fault_text(code)} ({fault_detail(code, value)})"
    if kind == ev.EV_COMMAND:
        from inversa.link.message_names import COMMAND_NAMES

        return f"command {COMMAND_NAMES.get(code, code)}: {reason_names.text(value)}"
    if kind == ev.EV_BOOT:
        cut = ", a session was interrupted" if value else ""
        return f"boot ({reset_cause_name(code)}{cut})"
    if kind == ev.EV_PROFILE:
        return f"profile {code} in use (CRC 0x{value & 0xFFFF:04x})"
    if kind == ev.EV_SENSOR:
        return sensor_text(code, value)
    if kind == ev.EV_PAUSE:
        what = "motion record" if code else "latches and daily time"
        return f"flash write after this period ({what}) in {state_name(value)}: the loop pauses"
    return f"{name} {code} {value}"
