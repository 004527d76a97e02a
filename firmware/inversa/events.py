# A fixed-size ring of events (state changes, alarms, faults, boot) shared by
# the controller, which pushes, and the link, which drains and sends them.
# Storage is allocated once; push and pop allocate nothing.  When full, the
# oldest event is overwritten and counted in `dropped`, so a host that stops
# reading can never stall the control loop and every loss is reported.
#
# Usage:
#     log = EventLog(64)
#     log.push(t_ms, EV_STATE, new_state, old_state)
#     if log.pop_into(rec):      # rec = [0, 0, 0, 0], filled in place
#         t_ms, kind, code, value = rec

from array import array

from inversa.compat import const

# Event kinds. Codes and values are kind-specific (see docs/PROTOCOL.md).
EV_BOOT = const(1)  # code: reset cause, value: 1 if a session was interrupted
EV_STATE = const(2)  # code: new state, value: previous state
EV_ALARM_RAISED = const(3)  # code: alarm id, value: priority
EV_ALARM_CLEARED = const(4)  # code: alarm id, value: priority
EV_FAULT = const(5)  # code: fault MASK (F_* bits), value: raising alarm id (F_PROFILE: status)
EV_PROFILE = const(6)  # code: profile slot, value: profile CRC16
EV_COMMAND = const(7)  # code: command id, value: result/reason code
EV_SENSOR = const(8)  # code: sensor condition, value: count
EV_PAUSE = const(9)  # code: 0 persist record, 1 motion record (the first due), value: state

_FIELDS = const(3)  # t_ms, code, value; the kind (1..9, a byte on the wire) in _kind


class EventLog:
    def __init__(self, capacity=64):
        if capacity < 1:
            from inversa.error_text import text

            raise ValueError(text(28))
        self.capacity = capacity
        self._buf = array("i", [0] * (capacity * _FIELDS))
        self._kind = bytearray(capacity)
        self._head = 0  # next slot to write
        self._count = 0
        self.dropped = 0  # overwritten before being read
        self.pushed = 0

    def push(self, t_ms, kind, code, value):
        h = self._head
        i = h * _FIELDS
        b = self._buf
        b[i] = t_ms
        self._kind[h] = kind
        b[i + 1] = code
        b[i + 2] = value
        self._head = (self._head + 1) % self.capacity
        self.pushed += 1
        if self._count == self.capacity:
            self.dropped += 1
        else:
            self._count += 1

    def __len__(self):
        return self._count

    def pop_into(self, rec):
        """Move the oldest event into rec[0:4]; return False if empty."""
        if self._count == 0:
            return False
        tail = (self._head - self._count) % self.capacity
        i = tail * _FIELDS
        b = self._buf
        rec[0] = b[i]
        rec[1] = self._kind[tail]
        rec[2] = b[i + 1]
        rec[3] = b[i + 2]
        self._count -= 1
        return True
