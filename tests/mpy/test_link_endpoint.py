# LinkEndpoint, the firmware side: handshake, telemetry at its rate, events,
# commands answered with a reason (retries not re-executed), the host lease,
# bench-mode injection, and no allocation in the steady state.
import struct

from inversa import reasons as R
from inversa.board.clock import VirtualClock
from inversa.compat import ticks_add
from inversa.events import EV_COMMAND, EV_STATE, EventLog
from inversa.link import messages as M
from inversa.link.endpoint import LinkEndpoint
from inversa.link.frame import FrameReader
from inversa.link.message_names import TELEMETRY_FIELDS
from inversa.link.port import MemoryPort
from inversa.link.wire import encode_frame
from mpyunit import assert_no_alloc, raises


class Inputs:
    def __init__(self):
        self.angle_cdeg = 1234
        self.rate_cdps = -56
        self.tilt_ok = True
        self.tilt_faults = 0
        self.hr_bpm = 72
        self.hr_quality_pct = 90
        self.hr_ok = True
        self.estop_pressed = False
        self.host_lease_ok = False


class Outputs:
    def __init__(self):
        self.state = 5
        self.target_angle_cdeg = 3000
        self.motor_cmd_cdps = 150
        self.motor_enable = True
        self.brake_on = False
        self.alarm_bits = 0x104
        self.alarm_priority = 2
        self.fault_bits = 0
        self.action = 1
        self.deepest_cdeg = 3000
        self.inverted_ms = 65000


class Profile:
    def __init__(self, data=b"PROFILE1"):
        self.data = data

    def to_bytes(self):
        return self.data

    def crc16(self):
        return 0xBEEF

    @staticmethod
    def from_bytes(b):
        if not b.startswith(b"PROFILE"):
            raise ValueError("not a profile")
        return Profile(bytes(b))


class Ctrl:
    """Stand-in controller: records calls, answers with preset reasons."""

    def __init__(self):
        self.calls = []
        self.profile = Profile()
        self.start_reason = R.NEEDS_LOCAL_ACTION

    def request_start(self):
        self.calls.append("start")
        return self.start_reason

    def request_return(self):
        self.calls.append("return")
        return R.OK

    def set_profile(self, p):
        self.calls.append("profile")
        self.profile = p
        return R.OK

    def clear_faults(self):
        self.calls.append("clear")
        return R.FAULT_LATCHED


class MsClock:
    # VirtualClock keeps microseconds and reduces them modulo 2**30, which is
    # not a small int in MicroPython: it allocates.  The board's clock does
    # not, so the allocation test uses this millisecond clock instead.
    def __init__(self, start_ms):
        self.ms = start_ms

    def ticks_ms(self):
        return self.ms

    def advance_ms(self, ms):
        self.ms = ticks_add(self.ms, ms)


def make(bench=False, inject=None, hz=20, start_ms=(1 << 30) - 3000, clock=None):
    clock = clock or VirtualClock(start_ms=start_ms)  # by default, ticks wrap during the tests
    port = MemoryPort(8192, 1024)
    events = EventLog(16)
    ctrl = Ctrl()
    ep = LinkEndpoint(
        port,
        clock,
        events,
        ctrl,
        board="testboard",
        uid=b"ABCDEFGH",
        limits=((M.LIMIT_MAX_ANGLE_CDEG, 9000), (M.LIMIT_MIN_ANGLE_CDEG, -8000)),
        bench=bench,
        inject=inject,
        profile_from_bytes=Profile.from_bytes,
        telemetry_hz=hz,
    )
    return clock, port, events, ctrl, ep, Inputs(), Outputs()


def frames(port):
    data = port.take_tx()
    r = FrameReader()
    out = []
    i = 0
    while i < len(data):
        i = r.feed(data, i, len(data))
        if r.ready:
            out.append((r.msg_type, r.seq, r.flags, bytes(r.body[5 : 5 + r.payload_len])))
    assert r.errors() == 0
    return out


def fields(fmt, names, payload):
    values = struct.unpack(fmt, payload)
    return {names[i]: values[i] for i in range(len(names))}


def run(clock, ep, inp, out, ms, step=10):
    for _ in range(ms // step):
        ep.service(inp, out, 800, 1200, 0)
        clock.advance_ms(step)


def acks(fs):
    return [struct.unpack(M.ACK_FMT, f[3]) for f in fs if f[0] == M.MSG_ACK]


def test_boot_sends_hello_with_versions_board_and_limits():
    _clock, port, _events, _ctrl, ep, inp, out = make()
    ep.service(inp, out)
    fs = frames(port)
    assert fs[0][0] == M.MSG_HELLO
    p = fs[0][3]
    proto, hz, lease, crc, _cause, uid = struct.unpack(M.HELLO_HEAD_FMT, p[:15])
    assert (proto, hz, lease, crc, uid) == (1, 20, 2000, 0xBEEF, b"ABCDEFGH")
    o = 15
    fw = p[o + 1 : o + 1 + p[o]].decode()
    o += 1 + p[o]
    board = p[o + 1 : o + 1 + p[o]].decode()
    o += 1 + p[o]
    import inversa

    assert fw == inversa.VERSION and board == "testboard"
    assert p[o] == 2
    assert struct.unpack("<Bi", p[o + 1 : o + 6]) == (M.LIMIT_MAX_ANGLE_CDEG, 9000)
    assert struct.unpack("<Bi", p[o + 6 : o + 11]) == (M.LIMIT_MIN_ANGLE_CDEG, -8000)


def test_telemetry_at_the_configured_rate_with_every_field():
    clock, port, _events, _ctrl, ep, inp, out = make(hz=20)
    run(clock, ep, inp, out, 1000)
    fs = frames(port)
    tele = [f for f in fs if f[0] == M.MSG_TELEMETRY]
    assert len(tele) == 20
    seqs = [f[1] for f in fs]
    assert seqs == list(range(len(fs)))  # no gaps, one counter for all frames
    v = fields(M.TELEMETRY_FMT, TELEMETRY_FIELDS, tele[-1][3])
    assert v["angle_cdeg"] == 1234 and v["rate_cdps"] == -56
    assert v["state"] == 5 and v["target_angle_cdeg"] == 3000 and v["motor_cmd_cdps"] == 150
    assert v["hr_bpm"] == 72 and v["hr_quality_pct"] == 90
    assert v["alarm_bits"] == 0x104 and v["alarm_priority"] == 2 and v["inverted_ms"] == 65000
    assert v["io_bits"] == M.IO_TILT_OK | M.IO_HR_OK | M.IO_MOTOR_ENABLE
    assert v["loop_us"] == 800 and v["loop_max_us"] == 1200
    assert len([f for f in fs if f[0] == M.MSG_HEARTBEAT]) == 1


def test_values_beyond_the_wire_range_are_clamped_not_wrapped():
    clock, port, _events, _ctrl, ep, inp, out = make()
    inp.rate_cdps = 100000
    out.motor_cmd_cdps = -100000
    inp.hr_bpm = 400
    run(clock, ep, inp, out, 100)
    tele = [f for f in frames(port) if f[0] == M.MSG_TELEMETRY]
    v = fields(M.TELEMETRY_FMT, TELEMETRY_FIELDS, tele[0][3])
    assert v["rate_cdps"] == 32767 and v["motor_cmd_cdps"] == -32768 and v["hr_bpm"] == 255


def test_events_are_drained_in_order():
    clock, port, events, _ctrl, ep, inp, out = make()
    for i in range(6):
        events.push(100 + i, EV_STATE, i + 1, i)
    run(clock, ep, inp, out, 20)
    assert len(events) == 6  # nobody listening: the events wait
    port.feed_rx(encode_frame(M.MSG_HOST_HEARTBEAT, 1))
    run(clock, ep, inp, out, 20)
    evs = [struct.unpack(M.EVENT_FMT, f[3]) for f in frames(port) if f[0] == M.MSG_EVENT]
    assert evs == [(100 + i, EV_STATE, i + 1, i) for i in range(6)]


def test_event_waits_when_the_port_is_full():
    clock, port, events, _ctrl, ep, inp, out = make(hz=0)
    port.feed_rx(encode_frame(M.MSG_HOST_HEARTBEAT, 1))
    ep.service(inp, out)
    frames(port)
    port._tx_count = len(port._tx)  # the host stopped reading: no room at all
    events.push(1, EV_STATE, 2, 1)
    run(clock, ep, inp, out, 50)
    assert len(events) == 0 and ep.writer.dropped > 0
    port._tx_count = 0
    run(clock, ep, inp, out, 20)
    evs = [struct.unpack(M.EVENT_FMT, f[3]) for f in frames(port) if f[0] == M.MSG_EVENT]
    assert evs == [(1, EV_STATE, 2, 1)]


def test_commands_are_acknowledged_with_the_controller_reason():
    clock, port, _events, ctrl, ep, inp, out = make()
    port.feed_rx(encode_frame(M.CMD_START, 10) + encode_frame(M.CMD_RETURN, 11))
    port.feed_rx(encode_frame(M.CMD_CLEAR_FAULTS, 12))
    ep.service(inp, out)
    assert ctrl.calls == ["start", "return", "clear"]
    fs = frames(port)
    assert acks(fs) == [
        (10, M.CMD_START, R.NEEDS_LOCAL_ACTION),
        (11, M.CMD_RETURN, R.OK),
        (12, M.CMD_CLEAR_FAULTS, R.FAULT_LATCHED),
    ]
    run(clock, ep, inp, out, 10)
    fs += frames(port)
    evs = [struct.unpack(M.EVENT_FMT, f[3]) for f in fs if f[0] == M.MSG_EVENT]
    assert [e[1:] for e in evs] == [
        (EV_COMMAND, M.CMD_START, R.NEEDS_LOCAL_ACTION),
        (EV_COMMAND, M.CMD_RETURN, R.OK),
        (EV_COMMAND, M.CMD_CLEAR_FAULTS, R.FAULT_LATCHED),
    ]


def test_a_retried_command_is_answered_but_not_executed_twice():
    _clock, port, _events, ctrl, ep, inp, out = make()
    ctrl.start_reason = R.OK
    port.feed_rx(encode_frame(M.CMD_START, 42))
    ep.service(inp, out)
    port.feed_rx(encode_frame(M.MSG_HOST_HEARTBEAT, 43) + encode_frame(M.CMD_START, 42))
    ep.service(inp, out)
    assert ctrl.calls == ["start"]
    assert acks(frames(port)) == [(42, M.CMD_START, R.OK), (42, M.CMD_START, R.OK)]
    assert ep.retries == 1


def test_bad_commands_are_refused_and_change_nothing():
    _clock, port, _events, ctrl, ep, inp, out = make()
    port.feed_rx(encode_frame(M.CMD_START, 1, b"\x01"))  # unexpected argument
    port.feed_rx(encode_frame(0x7E, 2))  # unknown type
    port.feed_rx(encode_frame(M.CMD_SET_TELEMETRY_RATE, 3, b"\xc8"))  # 200 Hz
    port.feed_rx(encode_frame(M.CMD_SET_TELEMETRY_RATE, 4, b"\x01\x02"))
    port.feed_rx(encode_frame(M.CMD_SET_PROFILE, 5, b"garbage"))
    port.feed_rx(encode_frame(M.CMD_SET_PROFILE, 6))
    port.feed_rx(encode_frame(M.CMD_CALIBRATE_IMU, 7))  # no routine on this build
    port.feed_rx(encode_frame(M.CMD_START, 8, version=2))
    ep.service(inp, out)
    assert ctrl.calls == []
    assert ep.telemetry_hz == 20
    assert acks(frames(port)) == [
        (1, M.CMD_START, R.BAD_ARGUMENT),
        (2, 0x7E, R.UNKNOWN_COMMAND),
        (3, M.CMD_SET_TELEMETRY_RATE, R.OUT_OF_RANGE),
        (4, M.CMD_SET_TELEMETRY_RATE, R.BAD_ARGUMENT),
        (5, M.CMD_SET_PROFILE, R.PROFILE_INVALID),
        (6, M.CMD_SET_PROFILE, R.BAD_ARGUMENT),
        (7, M.CMD_CALIBRATE_IMU, R.UNKNOWN_COMMAND),
        (8, M.CMD_START, R.UNSUPPORTED_VERSION),
    ]


def test_profile_get_and_set():
    _clock, port, _events, _ctrl, ep, inp, out = make()
    port.feed_rx(encode_frame(M.CMD_SET_PROFILE, 1, b"PROFILE-NEW"))
    port.feed_rx(encode_frame(M.CMD_GET_PROFILE, 2))
    ep.service(inp, out)
    fs = frames(port)
    prof = [f[3] for f in fs if f[0] == M.MSG_PROFILE]
    assert prof == [b"\xef\xbe" + b"PROFILE-NEW"]
    assert acks(fs) == [(1, M.CMD_SET_PROFILE, R.OK), (2, M.CMD_GET_PROFILE, R.OK)]
    # the data comes before its ACK, so a host that sees the ACK has the data
    kinds = [(f[0], f[3][:2]) for f in fs]
    assert kinds.index((M.MSG_PROFILE, b"\xef\xbe")) < kinds.index((M.MSG_ACK, b"\x02\x00"))


def test_telemetry_rate_command():
    clock, port, _events, _ctrl, ep, inp, out = make(hz=20)
    port.feed_rx(encode_frame(M.CMD_SET_TELEMETRY_RATE, 1, b"\x05"))
    run(clock, ep, inp, out, 2000)
    tele = [f for f in frames(port) if f[0] == M.MSG_TELEMETRY]
    assert ep.telemetry_hz == 5 and len(tele) == 10


def test_host_lease_follows_host_frames():
    clock, port, _events, _ctrl, ep, inp, out = make()
    ep.service(inp, out)
    assert inp.host_lease_ok is False
    port.feed_rx(encode_frame(M.MSG_HOST_HEARTBEAT, 1))
    ep.service(inp, out)
    assert inp.host_lease_ok is True
    run(clock, ep, inp, out, M.LEASE_MS - 20)
    assert inp.host_lease_ok is True
    run(clock, ep, inp, out, 40)
    assert inp.host_lease_ok is False and ep.leases_lost == 1
    # a corrupt frame or our own echo does not renew the lease
    bad = bytearray(encode_frame(M.MSG_HOST_HEARTBEAT, 2))
    bad[3] ^= 1
    port.feed_rx(bytes(bad) + encode_frame(M.MSG_TELEMETRY, 3, bytes(48)))
    ep.service(inp, out)
    assert inp.host_lease_ok is False and ep.ignored == 1


def test_host_coming_back_gets_a_fresh_hello():
    clock, port, _events, _ctrl, ep, inp, out = make(hz=0)
    run(clock, ep, inp, out, 20)
    frames(port)
    port.feed_rx(encode_frame(M.MSG_HOST_HEARTBEAT, 1))
    ep.service(inp, out)
    assert [f[0] for f in frames(port)] == [M.MSG_HELLO]


def test_injection_only_in_bench_mode():
    got = []

    def inject(kind, buf, off, count):
        got.append((kind, count, bytes(buf[off : off + count * 12])))
        return R.OK

    sample = struct.pack("<hhhhhh", 10, -20, 1000, 1, 2, 3)
    frame = encode_frame(M.INJECT_IMU, 1, b"\x01" + sample)
    _clock, port, _events, _ctrl, ep, inp, out = make(bench=False, inject=inject)
    port.feed_rx(frame)
    ep.service(inp, out)
    fs = frames(port)
    assert got == [] and acks(fs) == [(1, M.INJECT_IMU, R.NOT_BENCH_MODE)]
    assert all(f[2] == 0 for f in fs)
    _clock, port, _events, _ctrl, ep, inp, out = make(bench=True, inject=inject)
    port.feed_rx(frame + encode_frame(M.INJECT_IMU, 2, b"\x02" + sample))
    ep.service(inp, out)
    fs = frames(port)
    assert got == [(M.INJECT_IMU, 1, sample)]
    assert acks(fs) == [(2, M.INJECT_IMU, R.BAD_ARGUMENT)]  # count says 2, one sample sent
    assert all(f[2] & M.FLAG_BENCH for f in fs)  # every frame flags bench mode


def test_a_controller_exception_is_answered_internal_error_and_counted():
    # A bug is not "busy": BUSY would have the host retry it.
    _clock, port, _events, ctrl, ep, inp, out = make()

    def boom():
        raise RuntimeError("bug")

    ctrl.request_return = boom
    port.feed_rx(encode_frame(M.CMD_RETURN, 1))
    ep.service(inp, out)
    assert acks(frames(port)) == [(1, M.CMD_RETURN, R.INTERNAL_ERROR)] and ep.cmd_errors == 1


def test_bad_configuration_is_refused():
    clock = VirtualClock()
    raises(ValueError, LinkEndpoint, MemoryPort(), clock, EventLog(4), Ctrl(), telemetry_hz=99)
    raises(ValueError, LinkEndpoint, MemoryPort(), clock, EventLog(4), Ctrl(), uid=b"123456789")
    ep = LinkEndpoint(MemoryPort(), clock, EventLog(4), Ctrl(), uid=b"\x01\x02\x03\x04\x05\x06")
    assert ep.uid == b"\x01\x02\x03\x04\x05\x06\x00\x00"  # an ESP32's 6-byte id, padded


def test_service_does_not_allocate_in_the_steady_state():
    # Away from the ticks wrap: compat.ticks_add/ticks_diff build a temporary
    # above 2**30 at the wrap itself, which allocates once (a foundation note).
    clock, port, events, _ctrl, ep, inp, out = make(hz=50, clock=MsClock(1000))
    hb = encode_frame(M.MSG_HOST_HEARTBEAT, 1)
    run(clock, ep, inp, out, 100)

    def period():
        if port.tx_room() < 1000:
            port._tx_count = 0
        port.feed_rx(hb)
        events.push(5, EV_STATE, 3, 2)
        ep.service(inp, out, 700, 900, 0)
        clock.advance_ms(10)

    for _ in range(5):
        period()
    assert inp.host_lease_ok
    assert_no_alloc(period, 300)
    assert inp.host_lease_ok


def test_a_hello_allocates_nothing():
    # A host coming back (or asking) gets a fresh HELLO in the loop, possibly
    # mid-session: its texts, limits and profile CRC are prepared beforehand
    # (measured on the emulated Pico: the boot's first period allocated 384 B
    # in the HELLO before).
    clock, port, _events, _ctrl, ep, inp, out = make(hz=0, clock=MsClock(1000))
    sent = [0]

    def period():
        port._tx_count = 0
        ep._hello_due = True
        ep.transmit(inp, out)
        if not ep._hello_due:
            sent[0] += 1
        clock.advance_ms(10)

    period()
    fs = frames(port)
    assert fs and fs[0][0] == M.MSG_HELLO
    for _ in range(3):
        period()
    assert sent[0] == 4  # one HELLO every period
    assert_no_alloc(period, 100)
    # a board renamed after the build (the deploy's handshake test does it)
    ep.board = "esp32"
    port._tx_count = 0
    ep._hello_due = True
    ep.transmit(inp, out)
    p = frames(port)[0][3]
    o = 15 + 1 + p[15]
    assert p[o + 1 : o + 1 + p[o]] == b"esp32"
