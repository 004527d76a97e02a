"""A firmware link endpoint in CPython with a stand-in controller.

For host tests, the link benchmark and trying the host tools without a board
or the full simulator: the real :class:`inversa.link.endpoint.LinkEndpoint`
behind a :class:`inversa.link.port.MemoryPort`, driven in virtual time, with a
small controller stand-in that moves a pretend table through a session.  The
simulator's virtual board replaces the stand-in with the real controller.

Usage::

    rig = FakeBoard()
    rig.step()                      # one 10 ms control period
    server = LinkServer(rig.port, rig.step).start()   # socket:// for the host tools
"""

from __future__ import annotations

from inversa import reasons
from inversa.board.clock import VirtualClock
from inversa.events import EV_ALARM_CLEARED, EV_ALARM_RAISED, EV_BOOT, EV_STATE, EventLog
from inversa.link import messages as M
from inversa.link.endpoint import LinkEndpoint
from inversa.link.port import MemoryPort

PERIOD_MS = 10


class StandInInputs:
    def __init__(self) -> None:
        self.angle_cdeg = -6000
        self.rate_cdps = 0
        self.tilt_ok = True
        self.tilt_faults = 0
        self.hr_bpm = 68
        self.hr_quality_pct = 95
        self.hr_ok = True
        self.estop_pressed = False
        self.host_lease_ok = False


class StandInOutputs:
    def __init__(self) -> None:
        self.state = 1
        self.target_angle_cdeg = -6000
        self.motor_cmd_cdps = 0
        self.motor_enable = False
        self.brake_on = True
        self.alarm_bits = 0
        self.alarm_priority = 0
        self.fault_bits = 0
        self.action = 0
        self.deepest_cdeg = -6000
        self.inverted_ms = 0


class StandInProfile:
    def __init__(self, data: bytes = b"\x01\x00\xb8\x0b") -> None:
        self.data = data

    def to_bytes(self) -> bytes:
        return self.data

    def crc16(self) -> int:
        from inversa.crc import crc16

        return crc16(self.data, 0, len(self.data))

    @staticmethod
    def from_bytes(data: bytes) -> StandInProfile:
        if len(data) != 4 or data[0] != 1:
            raise ValueError("stand-in profile: 4 bytes, version 1")
        return StandInProfile(bytes(data))


class StandInController:
    """Idle -> (start) descent -> hold -> return -> idle, at 3 deg/s; never needs a button."""

    def __init__(self, events: EventLog, clock: VirtualClock) -> None:
        self.events = events
        self.clock = clock
        self.profile = StandInProfile()
        self.calls: list[str] = []
        self._target = -6000
        self.require_local_action = False

    def _state(self, out: StandInOutputs, new: int) -> None:
        if out.state != new:
            self.events.push(self.clock.ticks_ms(), EV_STATE, new, out.state)
            out.state = new

    def request_start(self) -> int:
        self.calls.append("start")
        if self.require_local_action:
            return reasons.NEEDS_LOCAL_ACTION
        self._target = 3000
        return reasons.OK

    def request_return(self) -> int:
        self.calls.append("return")
        self._target = -6000
        return reasons.OK

    def set_profile(self, profile: StandInProfile) -> int:
        self.calls.append("profile")
        self.profile = profile
        return reasons.OK

    def clear_faults(self) -> int:
        self.calls.append("clear")
        return reasons.OK

    def step(self, inp: StandInInputs, out: StandInOutputs) -> None:
        err = self._target - inp.angle_cdeg
        rate = max(-300, min(300, err * 2))
        inp.angle_cdeg += rate * PERIOD_MS // 1000
        inp.rate_cdps = rate
        out.motor_cmd_cdps = rate
        out.target_angle_cdeg = self._target
        out.motor_enable = rate != 0
        out.brake_on = rate == 0
        out.deepest_cdeg = max(out.deepest_cdeg, inp.angle_cdeg)
        if inp.angle_cdeg > 0:
            out.inverted_ms += PERIOD_MS
        if rate > 0:
            self._state(out, 4)
        elif rate < 0:
            self._state(out, 6)
        elif self._target > 0:
            self._state(out, 5)
        else:
            self._state(out, 1)
        alarm = 1 if inp.angle_cdeg > 2500 else 0
        if alarm != out.alarm_bits:
            kind = EV_ALARM_RAISED if alarm else EV_ALARM_CLEARED
            self.events.push(self.clock.ticks_ms(), kind, 0, 1)
            out.alarm_bits = alarm
            out.alarm_priority = alarm


class FakeBoard:
    """Clock, events, stand-in controller, endpoint and MemoryPort, stepped together."""

    def __init__(self, bench: bool = False, telemetry_hz: int = M.DEFAULT_TELEMETRY_HZ) -> None:
        self.clock = VirtualClock()
        self.events = EventLog(64)
        self.ctrl = StandInController(self.events, self.clock)
        self.port = MemoryPort(8192, 2048)
        self.inp = StandInInputs()
        self.out = StandInOutputs()
        self.injected: list[tuple[int, int]] = []
        self.endpoint = LinkEndpoint(
            self.port,
            self.clock,
            self.events,
            self.ctrl,
            board="fakeboard",
            uid=b"FAKE0001",
            limits=((M.LIMIT_MAX_ANGLE_CDEG, 9000), (M.LIMIT_MAX_RATE_CDPS, 600)),
            bench=bench,
            inject=self._inject,
            profile_from_bytes=StandInProfile.from_bytes,
            telemetry_hz=telemetry_hz,
        )
        self.events.push(0, EV_BOOT, 1, 0)

    def _inject(self, kind: int, buf: bytearray, off: int, count: int) -> int:
        self.injected.append((kind, count))
        return reasons.OK

    def step(self) -> None:
        """One 10 ms control period: link service, then the controller."""
        self.endpoint.service(self.inp, self.out, 900, 1400, 0)
        self.ctrl.step(self.inp, self.out)
        self.clock.advance_ms(PERIOD_MS)
