"""Display names for states, alarms and faults, from the controller's tables.

Imported lazily, so the host works (showing numbers) even with a firmware tree
that lacks a table.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from functools import cache

from inversa import events as ev
from inversa import reasons

_MODULES = (
    "inversa.control.controller",
    "inversa.control.states",
    "inversa.control.alarms",
    "inversa.control.faults",
)

EVENT_KIND_NAMES = {
    ev.EV_BOOT: "boot",
    ev.EV_STATE: "state",
    ev.EV_ALARM_RAISED: "alarm-raised",
    ev.EV_ALARM_CLEARED: "alarm-cleared",
    ev.EV_FAULT: "fault",
    ev.EV_PROFILE: "profile",
    ev.EV_COMMAND: "command",
    ev.EV_SENSOR: "sensor",
}


@cache
def _table(name: str) -> Sequence[str] | dict[int, str] | None:
    for mod in _MODULES:
        try:
            m = importlib.import_module(mod)
        except Exception:
            continue
        t = getattr(m, name, None)
        if isinstance(t, (tuple, list, dict)):
            return t
    return None


def _lookup(table: str, code: int, prefix: str) -> str:
    t = _table(table)
    if isinstance(t, dict):
        return str(t.get(code, f"{prefix}{code}"))
    if t is not None and 0 <= code < len(t):
        return str(t[code])
    return f"{prefix}{code}"


def state_name(code: int) -> str:
    return _lookup("STATE_NAMES", code, "state ")


def alarm_name(bit: int) -> str:
    return _lookup("ALARM_NAMES", bit, "alarm ")


def fault_name(bit: int) -> str:
    return _lookup("FAULT_NAMES", bit, "fault ")


def bit_names(bits: int, kind: str) -> list[str]:
    """Names of the set bits of an alarm or fault mask (bit i -> table[i])."""
    fn = alarm_name if kind == "alarm" else fault_name
    return [fn(i) for i in range(32) if bits >> i & 1]


def action_name(code: int) -> str:
    """The controller's action (what the alarms ask of it) as a word."""
    return _lookup("ACTION_NAMES", code, "action ")


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


def reason_text(code: int) -> str:
    return str(reasons.text(code))


def event_text(kind: int, code: int, value: int) -> str:
    name = EVENT_KIND_NAMES.get(kind, f"event {kind}")
    if kind == ev.EV_STATE:
        return f"state {state_name(value)} -> {state_name(code)}"
    if kind in (ev.EV_ALARM_RAISED, ev.EV_ALARM_CLEARED):
        return f"{name} {alarm_name(code)} (priority {value})"
    if kind == ev.EV_FAULT:
        return f"fault {fault_name(code)} ({value})"
    if kind == ev.EV_COMMAND:
        from inversa.link.messages import COMMAND_NAMES

        return f"command {COMMAND_NAMES.get(code, code)}: {reasons.text(value)}"
    if kind == ev.EV_BOOT:
        cut = ", a session was interrupted" if value else ""
        return f"boot ({reset_cause_name(code)}{cut})"
    if kind == ev.EV_PROFILE:
        return f"profile {code} in use (CRC 0x{value & 0xFFFF:04x})"
    return f"{name} {code} {value}"
