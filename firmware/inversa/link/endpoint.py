# LinkEndpoint: the firmware side of the link, serviced once per control
# period.  Each service() call reads what the host sent and answers it
# (commands go to the controller, which returns a reason code), keeps the host
# lease (inp.host_lease_ok), and sends the handshake, queued events, telemetry
# at the configured rate and a heartbeat.  Nothing here blocks or allocates in
# the steady state; a full port drops frames and counts them.  Events are not
# dropped for a full port, nor sent while no host holds the lease: they wait
# in the EventLog (whose overflow is counted) and go out on a later period.
#
# Usage:
#     ep = LinkEndpoint(port, clock, events, ctrl, board="pico", limits=((1, 9000),))
#     every period:  ep.receive(inp, out)             before the controller
#                    ep.transmit(inp, out, loop_us, loop_max_us, overruns)  after it
#     (ep.service(...) does both at once: tests, the fake board)
#                    ctrl.step(inp, out)   # sees inp.host_lease_ok
#
# Injected callables (may be None):
#     inject(msg_type, buf, offset, count) -> reason   bench-mode sensor samples
#     calibrate() -> reason                             IMU calibration
#     maintenance() -> reason                           reboot into the REPL (idle only)
#     profile_from_bytes(b) -> profile                  raises ValueError when invalid
#
# Over 400 lines on purpose: one job, the board end of docs/PROTOCOL.md.  The
# receiving and the sending half share the host lease, the HELLO that is due,
# the frame writer (a command is acknowledged while its frame is read) and the
# last command's answer for retries; split apart, each half would reach into
# the other's fields.

import struct

from inversa import VERSION
from inversa import reasons as R
from inversa.compat import const, ticks_add, ticks_diff
from inversa.events import EV_COMMAND
from inversa.link import messages as M
from inversa.link.frame import FrameReader, FrameWriter

_HDR = const(5)  # messages.HEADER_LEN
_EVENTS_PER_SERVICE = const(4)
_DEDUP_MS = const(5000)  # a repeated (seq, type) this recent is a retry: answer, do not redo
_RX_CHUNK = const(128)


def _s16(v):
    if v > 32767:
        return 32767
    if v < -32768:
        return -32768
    return v


def _u8(v):
    if v > 255:
        return 255
    if v < 0:
        return 0
    return v


class LinkEndpoint:
    """The board end of the link (docs/PROTOCOL.md): decodes the host's
    frames from `port` (a non-blocking port: read_into/write), answers each
    command with an ACK and a reason code, keeps the host lease, and sends
    HELLO, events (from `events`) and telemetry at telemetry_hz.  ctrl: the
    Controller the commands go to; board/uid/limits: what HELLO reports;
    bench/inject: bench mode and its sensor injector; calibrate: the mount
    calibration hook; profile_from_bytes: Profile.from_bytes (ValueError on
    a bad profile: answered BAD_ARGUMENT); maintenance: the hook that
    reboots into maintenance.  ValueError for a telemetry_hz outside
    0..MAX_TELEMETRY_HZ or a uid longer than 8 bytes.  Allocates nothing
    per period."""

    def __init__(
        self,
        port,
        clock,
        events,
        ctrl,
        board="unknown",
        uid=b"\x00" * 8,
        limits=(),
        bench=False,
        inject=None,
        calibrate=None,
        profile_from_bytes=None,
        telemetry_hz=M.DEFAULT_TELEMETRY_HZ,
        reset_cause=0,
        maintenance=None,
    ):
        if not 0 <= telemetry_hz <= M.MAX_TELEMETRY_HZ:
            raise ValueError("telemetry_hz must be 0..%d" % M.MAX_TELEMETRY_HZ)
        if len(uid) > 8:
            raise ValueError("uid must be at most 8 bytes (machine.unique_id())")
        self.port = port
        self._port_drops = hasattr(port, "rx_overflow")  # a port that counts what it dropped
        self.clock = clock
        self.events = events
        self.ctrl = ctrl
        self.board = board
        self.uid = bytes(uid) + bytes(8 - len(uid))  # ESP32 ids are 6 bytes: pad
        self.limits = tuple(limits)
        self.bench = bool(bench)
        self.inject = inject
        self.calibrate = calibrate
        self.maintenance = maintenance
        self._profile_from_bytes = profile_from_bytes
        self.reset_cause = reset_cause
        self.writer = FrameWriter(port, M.FLAG_BENCH if bench else 0)
        self.reader = FrameReader()
        self._rx = bytearray(_RX_CHUNK)
        self._ev = [0, 0, 0, 0]
        self._ev_pending = False
        now = clock.ticks_ms()
        self.telemetry_hz = 0
        self._tele_period_ms = 0
        self._tele_next = now
        self.set_telemetry_hz(telemetry_hz)
        self._hb_next = now
        self._hello_due = True  # announce ourselves at boot
        self._have_host = False
        self._host_ms = now
        self.lease_ok = False
        self._last_seq = -1
        self._last_type = -1
        self._last_reason = 0
        self._last_ms = now
        # counters
        self.version_errors = 0
        self.ignored = 0  # valid frames of a firmware->host type (an echo)
        self.commands = 0
        self.refused = 0
        self.retries = 0
        # A command handler raised: a ValueError is a bad argument
        # (BAD_ARGUMENT); anything else is a bug, answered INTERNAL_ERROR so
        # the host reports it instead of retrying it as if the board were busy.
        self.cmd_errors = 0
        self.leases_lost = 0

    def set_telemetry_hz(self, hz):
        self.telemetry_hz = hz
        self._tele_period_ms = 1000 // hz if hz else 0

    def rx_errors(self):
        # bad frames, plus the bytes the port's receive buffer dropped (full):
        # a frame lost whole leaves no bad frame behind, so count its bytes
        n = self.reader.errors() + self.version_errors
        if self._port_drops:
            n += self.port.rx_overflow
        return n

    # -- the periodic call ---------------------------------------------------
    def service(self, inp, out, loop_us=0, loop_max_us=0, overruns=0):
        """Both halves at once (tests, the fake board)."""
        self.receive(inp, out)
        self.transmit(inp, out, loop_us, loop_max_us, overruns)

    def receive(self, inp, out):
        """Before the controller: the host's commands, and the lease it keeps."""
        now = self.clock.ticks_ms()
        self._receive(now, inp, out)
        lease = self._have_host and ticks_diff(now, self._host_ms) < M.LEASE_MS
        if lease != self.lease_ok:
            if lease:
                self._hello_due = True  # a host (re)appeared: tell it who we are
            else:
                self.leases_lost += 1
            self.lease_ok = lease
        inp.host_lease_ok = lease

    def transmit(self, inp, out, loop_us=0, loop_max_us=0, overruns=0):
        """After the controller and the actuators: each telemetry frame is one
        period's snapshot (this period's angle with this period's state and
        motor command)."""
        now = self.clock.ticks_ms()
        lease = self.lease_ok
        if self._hello_due and self._send_hello():
            self._hello_due = False
        if lease:  # with no host listening, events wait in the ring (overflow is counted)
            self._send_events()
        if self._tele_period_ms and ticks_diff(now, self._tele_next) >= 0:
            self._send_telemetry(now, inp, out, loop_us, loop_max_us, overruns)
            self._tele_next = ticks_add(self._tele_next, self._tele_period_ms)
            if ticks_diff(now, self._tele_next) >= 0:  # fell behind: no burst
                self._tele_next = ticks_add(now, self._tele_period_ms)
        if ticks_diff(now, self._hb_next) >= 0:
            self._send_heartbeat(now, inp, out)
            self._hb_next = ticks_add(now, M.HEARTBEAT_MS)

    # -- receiving -----------------------------------------------------------
    def _receive(self, now, inp, out):
        buf = self._rx
        n = self.port.readinto(buf)
        r = self.reader
        i = 0
        while i < n:
            i = r.feed(buf, i, n)
            if r.ready:
                self._dispatch(now)

    def _dispatch(self, now):
        r = self.reader
        t = r.msg_type
        if t < M.MSG_HOST_HEARTBEAT:
            self.ignored += 1  # our own frames echoed back (loopback): not the host
            return
        self._have_host = True
        self._host_ms = now
        if r.version != M.PROTOCOL_VERSION:
            self.version_errors += 1
            self._ack(r.seq, t, R.UNSUPPORTED_VERSION)
            return
        if t == M.MSG_HOST_HEARTBEAT:
            return
        off = _HDR
        n = r.payload_len
        if t == M.INJECT_IMU or t == M.INJECT_PPG:
            reason = self._inject(t, r.body, off, n)
            if reason:
                self.refused += 1
                self._ack(r.seq, t, reason)
            return
        if (
            r.seq == self._last_seq
            and t == self._last_type
            and ticks_diff(now, self._last_ms) < _DEDUP_MS
        ):
            self.retries += 1
            self._answer(t, self._last_reason)
            self._ack(r.seq, t, self._last_reason)
            return
        self.commands += 1
        try:
            reason = self._command(t, r.body, off, n)
        except ValueError:
            self.cmd_errors += 1
            reason = R.BAD_ARGUMENT
        except Exception:  # a handler must never take the loop down
            self.cmd_errors += 1
            reason = R.INTERNAL_ERROR
        if reason:
            self.refused += 1
        self._last_seq = r.seq
        self._last_type = t
        self._last_reason = reason
        self._last_ms = now
        self._answer(t, reason)
        self._ack(r.seq, t, reason)
        if t != M.CMD_INFO and t != M.CMD_GET_PROFILE:
            self.events.push(now, EV_COMMAND, t, reason)

    def _answer(self, t, reason):
        # Data that goes with an accepted query, sent just before its ACK.
        if reason:
            return
        if t == M.CMD_INFO:
            self._send_hello()
        elif t == M.CMD_GET_PROFILE:
            self._send_profile()

    def _command(self, t, body, off, n):
        ctrl = self.ctrl
        if t == M.CMD_SET_PROFILE:
            if n == 0:
                return R.BAD_ARGUMENT
            decode = self._profile_from_bytes
            if decode is None:
                from inversa.control.profile import Profile

                decode = Profile.from_bytes
            try:
                profile = decode(bytes(body[off : off + n]))
            except (ValueError, TypeError, IndexError):
                return R.PROFILE_INVALID
            return ctrl.set_profile(profile)
        if t == M.CMD_SET_TELEMETRY_RATE:
            if n != 1:
                return R.BAD_ARGUMENT
            hz = body[off]
            if hz > M.MAX_TELEMETRY_HZ:
                return R.OUT_OF_RANGE
            self.set_telemetry_hz(hz)
            self._tele_next = self.clock.ticks_ms()
            return R.OK
        if n != 0:
            if t in M.COMMAND_NAMES:
                return R.BAD_ARGUMENT
            return R.UNKNOWN_COMMAND
        if t == M.CMD_INFO or t == M.CMD_GET_PROFILE:
            return R.OK
        if t == M.CMD_START:
            return ctrl.request_start()
        if t == M.CMD_RETURN:
            return ctrl.request_return()
        if t == M.CMD_CLEAR_FAULTS:
            return ctrl.clear_faults()
        if t == M.CMD_CALIBRATE_IMU:
            if self.calibrate is None:
                return R.UNKNOWN_COMMAND
            return self.calibrate()
        if t == M.CMD_MAINTENANCE:
            if self.maintenance is None:
                return R.UNKNOWN_COMMAND
            return self.maintenance()
        return R.UNKNOWN_COMMAND

    def _inject(self, t, body, off, n):
        if not self.bench:
            return R.NOT_BENCH_MODE
        if self.inject is None:
            return R.UNKNOWN_COMMAND
        if n < 1:
            return R.BAD_ARGUMENT
        count = body[off]
        size = M.INJECT_IMU_SAMPLE_LEN if t == M.INJECT_IMU else M.INJECT_PPG_SAMPLE_LEN
        if count == 0 or n != 1 + count * size:
            return R.BAD_ARGUMENT
        try:
            return self.inject(t, body, off + 1, count)
        except Exception:
            self.cmd_errors += 1
            return R.INTERNAL_ERROR

    # -- sending -------------------------------------------------------------
    def _ack(self, seq, t, reason):
        w = self.writer
        struct.pack_into(M.ACK_FMT, w.body, _HDR, seq, t, reason)
        return w.send(M.MSG_ACK, M.ACK_LEN)

    def _send_events(self):
        w = self.writer
        ev = self._ev
        for _ in range(_EVENTS_PER_SERVICE):
            if not self._ev_pending:
                if not self.events.pop_into(ev):
                    return
                self._ev_pending = True
            struct.pack_into(M.EVENT_FMT, w.body, _HDR, ev[0], ev[1], ev[2], ev[3])
            if not w.send(M.MSG_EVENT, M.EVENT_LEN):
                return  # keep it for the next period
            self._ev_pending = False

    def _io_bits(self, inp, out):
        b = 0
        if inp.tilt_ok:
            b |= M.IO_TILT_OK
        if inp.hr_ok:
            b |= M.IO_HR_OK
        if inp.estop_pressed:
            b |= M.IO_ESTOP
        if out.motor_enable:
            b |= M.IO_MOTOR_ENABLE
        if out.brake_on:
            b |= M.IO_BRAKE_ON
        if self.lease_ok:
            b |= M.IO_HOST_LEASE
        return b

    def _send_telemetry(self, now, inp, out, loop_us, loop_max_us, overruns):
        w = self.writer
        struct.pack_into(
            M.TELEMETRY_FMT,
            w.body,
            _HDR,
            now,
            _u8(out.state),
            _u8(out.action),
            _s16(inp.angle_cdeg),
            _s16(inp.rate_cdps),
            _s16(out.target_angle_cdeg),
            _s16(out.motor_cmd_cdps),
            _s16(out.deepest_cdeg),
            out.inverted_ms,
            _u8(inp.hr_bpm),
            _u8(inp.hr_quality_pct),
            out.alarm_bits,
            _u8(out.alarm_priority),
            out.fault_bits,
            inp.tilt_faults & 0xFFFF,
            self._io_bits(inp, out),
            loop_us if loop_us < 0xFFFF else 0xFFFF,
            loop_max_us if loop_max_us < 0xFFFF else 0xFFFF,
            overruns & 0xFFFF,
            w.dropped & 0xFFFF,
            self.rx_errors() & 0xFFFF,
            self.events.dropped & 0xFFFF,
            self.port.stalls & 0xFFFF,
        )
        return w.send(M.MSG_TELEMETRY, M.TELEMETRY_LEN)

    def _send_heartbeat(self, now, inp, out):
        w = self.writer
        struct.pack_into(
            M.HEARTBEAT_FMT, w.body, _HDR, now, _u8(out.state), self._io_bits(inp, out)
        )
        return w.send(M.MSG_HEARTBEAT, M.HEARTBEAT_LEN)

    def _profile(self):
        return getattr(self.ctrl, "profile", None)

    def _profile_crc(self, p):
        # control/profile.py names it crc(); older stand-ins crc16().
        if p is None:
            return 0
        f = getattr(p, "crc", None) or getattr(p, "crc16", None)
        return f() & 0xFFFF if f is not None else 0

    def _send_profile(self):
        w = self.writer
        p = self._profile()
        data = p.to_bytes() if p is not None else b""
        if len(data) + 2 > M.MAX_PAYLOAD:
            return False
        crc = self._profile_crc(p)
        struct.pack_into(M.PROFILE_HEAD_FMT, w.body, _HDR, crc)
        o = _HDR + 2
        w.body[o : o + len(data)] = data
        return w.send(M.MSG_PROFILE, 2 + len(data))

    def _send_hello(self):
        w = self.writer
        body = w.body
        crc = self._profile_crc(self._profile())
        struct.pack_into(
            M.HELLO_HEAD_FMT,
            body,
            _HDR,
            M.PROTOCOL_VERSION,
            self.telemetry_hz,
            M.LEASE_MS,
            crc,
            _u8(self.reset_cause),
            self.uid,
        )
        o = _HDR + M.HELLO_HEAD_LEN
        for text in (VERSION, self.board):
            data = text.encode()[:32]
            body[o] = len(data)
            body[o + 1 : o + 1 + len(data)] = data
            o += 1 + len(data)
        limits = self.limits[:24]
        body[o] = len(limits)
        o += 1
        for lid, value in limits:
            struct.pack_into("<Bi", body, o, lid, value)
            o += 5
        return w.send(M.MSG_HELLO, o - _HDR)
