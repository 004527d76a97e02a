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
from inversa.control.profile import Profile
from inversa.link.frame import FrameReader, FrameWriter

# Inlined constants (issue 10): a module attribute costs ~4 us a lookup on an
# RP2040 and an imported name ~1 us, a const() nothing.  Each one names
# its source; tests/fw/test_inlined_consts.py checks every value.
_ACK_LEN = const(4)  # messages.ACK_LEN
_CMD_CALIBRATE_IMU = const(39)  # messages.CMD_CALIBRATE_IMU
_CMD_CLEAR_FAULTS = const(40)  # messages.CMD_CLEAR_FAULTS
_CMD_GET_PROFILE = const(34)  # messages.CMD_GET_PROFILE
_CMD_INFO = const(33)  # messages.CMD_INFO
_CMD_MAINTENANCE = const(41)  # messages.CMD_MAINTENANCE
_CMD_RETURN = const(37)  # messages.CMD_RETURN
_CMD_SET_PROFILE = const(35)  # messages.CMD_SET_PROFILE
_CMD_SET_TELEMETRY_RATE = const(38)  # messages.CMD_SET_TELEMETRY_RATE
_CMD_START = const(36)  # messages.CMD_START
_DEFAULT_TELEMETRY_HZ = const(20)  # messages.DEFAULT_TELEMETRY_HZ
_EVENT_LEN = const(13)  # messages.EVENT_LEN
_EV_COMMAND = const(7)  # events.EV_COMMAND
_FLAG_BENCH = const(1)  # messages.FLAG_BENCH
_HEARTBEAT_LEN = const(6)  # messages.HEARTBEAT_LEN
_HEARTBEAT_MS = const(1000)  # messages.HEARTBEAT_MS
_HELLO_HEAD_LEN = const(15)  # messages.HELLO_HEAD_LEN
_INJECT_IMU = const(48)  # messages.INJECT_IMU
_INJECT_IMU_SAMPLE_LEN = const(12)  # messages.INJECT_IMU_SAMPLE_LEN
_INJECT_PPG = const(49)  # messages.INJECT_PPG
_INJECT_PPG_SAMPLE_LEN = const(4)  # messages.INJECT_PPG_SAMPLE_LEN
_IO_BRAKE_ON = const(16)  # messages.IO_BRAKE_ON
_IO_ESTOP = const(4)  # messages.IO_ESTOP
_IO_HOST_LEASE = const(32)  # messages.IO_HOST_LEASE
_IO_HR_OK = const(2)  # messages.IO_HR_OK
_IO_MOTOR_ENABLE = const(8)  # messages.IO_MOTOR_ENABLE
_IO_TILT_OK = const(1)  # messages.IO_TILT_OK
_LEASE_MS = const(2000)  # messages.LEASE_MS
_MAX_PAYLOAD = const(240)  # messages.MAX_PAYLOAD
_MAX_TELEMETRY_HZ = const(50)  # messages.MAX_TELEMETRY_HZ
_MSG_ACK = const(5)  # messages.MSG_ACK
_MSG_EVENT = const(3)  # messages.MSG_EVENT
_MSG_HEARTBEAT = const(4)  # messages.MSG_HEARTBEAT
_MSG_HELLO = const(1)  # messages.MSG_HELLO
_MSG_HOST_HEARTBEAT = const(32)  # messages.MSG_HOST_HEARTBEAT
_MSG_PROFILE = const(6)  # messages.MSG_PROFILE
_MSG_TELEMETRY = const(2)  # messages.MSG_TELEMETRY
_PROTOCOL_VERSION = const(1)  # messages.PROTOCOL_VERSION
_TELEMETRY_LEN = const(48)  # messages.TELEMETRY_LEN

_HDR = const(5)  # messages.HEADER_LEN
# The payload formats and the command types as const() too: folded, so the
# board never loads messages.py (its names, issue 10).
_ACK_FMT = const("<HBB")  # messages.ACK_FMT
_EVENT_FMT = const("<IBii")  # messages.EVENT_FMT
_HEARTBEAT_FMT = const("<IBB")  # messages.HEARTBEAT_FMT
_HELLO_HEAD_FMT = const("<BBHHB8s")  # messages.HELLO_HEAD_FMT
_PROFILE_HEAD_FMT = const("<H")  # messages.PROFILE_HEAD_FMT
_TELEMETRY_FMT = const("<IBBhhhhhIBBIBIHBHHHHHHH")  # messages.TELEMETRY_FMT
_COMMANDS = const((33, 34, 35, 36, 37, 38, 39, 40, 41, 48, 49))  # messages.COMMANDS
_EVENTS_PER_SERVICE = const(4)
_DEDUP_MS = const(5000)  # a repeated (seq, type) this recent is a retry: answer, do not redo
_RX_CHUNK = const(128)
_PERIOD_MS = const(10)  # the control period (app.CONTROL_PERIOD_US)
# A due heartbeat waits for a period without a drain or a telemetry frame
# (busy), this long at most.
_HB_WAIT_MS = const(100)


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
        telemetry_hz=_DEFAULT_TELEMETRY_HZ,
        reset_cause=0,
        maintenance=None,
    ):
        if not 0 <= telemetry_hz <= _MAX_TELEMETRY_HZ:
            from inversa.error_text import text

            raise ValueError(text(29, _MAX_TELEMETRY_HZ))
        if len(uid) > 8:
            from inversa.error_text import text

            raise ValueError(text(30))
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
        self.writer = FrameWriter(port, _FLAG_BENCH if bench else 0)
        self.reader = FrameReader()
        self._rx = bytearray(_RX_CHUNK)
        self._ev = [0, 0, 0, 0]
        self._ev_pending = False
        now = clock.ticks_ms()
        self.telemetry_hz = 0
        self._tele_period_ms = 0
        self._tele_next = now
        self._tele_waited = False  # a due frame was put off by one busy period
        self.set_telemetry_hz(telemetry_hz)
        self._hb_next = now
        self._hello_due = True  # announce ourselves at boot
        # HELLO's texts, limits and profile CRC, prepared here so that a
        # hello (boot, a host coming back) allocates nothing in the loop;
        # remade only when the board, the limits or the profile object change
        self._hello_for = None  # (board, limits) the tail was made for
        self._hello_tail = b""
        self._crc_of = None  # the profile _crc_value was computed for
        self._crc_value = 0
        self._prepare_hello()
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
        buf = self._rx
        n = self.port.readinto(buf)
        if n:  # (nearly every period: nothing came)
            r = self.reader
            i = 0
            while i < n:
                i = r.feed(buf, i, n)
                if r.ready:
                    self._dispatch(now)
        lease = self._have_host and ticks_diff(now, self._host_ms) < _LEASE_MS
        if lease != self.lease_ok:
            if lease:
                self._hello_due = True  # a host (re)appeared: tell it who we are
            else:
                self.leases_lost += 1
            self.lease_ok = lease
        inp.host_lease_ok = lease

    def transmit(self, inp, out, loop_us=0, loop_max_us=0, overruns=0, busy=False):
        """After the controller and the actuators: each telemetry frame is one
        period's snapshot (this period's angle with this period's state and
        motor command).  busy: this period already carried a slow job (the
        heart-rate FIFO was drained): a telemetry frame due now goes out in
        the next period instead, once (never two periods late, so a period
        that is always busy still gets every frame)."""
        now = self.clock.ticks_ms()
        if self._hello_due and self._send_hello():
            self._hello_due = False
        # With no host listening, events wait in the ring (overflow is
        # counted); an empty ring costs no call.  (Issue 10: the endpoint's
        # own methods are called through the class: looked up on the
        # instance they first search its nearly full attribute table;
        # docs/ARCHITECTURE.md "The loop on the RP2040".)
        if self.lease_ok and (self._ev_pending or self.events._count):
            LinkEndpoint._send_events(self)
        sent = False
        if self._tele_period_ms and ticks_diff(now, self._tele_next) >= 0:
            if busy and not self._tele_waited:
                self._tele_waited = True  # the next period sends it
            else:
                self._tele_waited = False
                LinkEndpoint._send_telemetry(self, now, inp, out, loop_us, loop_max_us, overruns)
                sent = True
                self._tele_next = ticks_add(self._tele_next, self._tele_period_ms)
                if ticks_diff(now, self._tele_next) >= 0:  # fell behind: no burst
                    self._tele_next = ticks_add(now, self._tele_period_ms)
        # the heartbeat goes in a period with neither a drain nor a telemetry
        # frame (issue 10: it used to land on either), _HB_WAIT_MS late at most
        late = ticks_diff(now, self._hb_next)
        if late >= 0 and (not (busy or sent) or late >= _HB_WAIT_MS):
            LinkEndpoint._send_heartbeat(self, now, inp, out)
            self._hb_next = ticks_add(now, _HEARTBEAT_MS)

    def busy(self, now):
        """Before the period's sensor poll (now: its ticks_ms): True when
        this period's transmit may send a frame (telemetry or the heartbeat
        due before the period ends, a frame put off by the last period,
        events for the host), so the sensors keep their chip checks off it."""
        if self._tele_waited or (self.lease_ok and (self._ev_pending or self.events._count)):
            return True
        end = ticks_add(now, _PERIOD_MS)
        if self._tele_period_ms and ticks_diff(end, self._tele_next) > 0:
            return True
        return ticks_diff(end, self._hb_next) > 0

    # -- receiving -----------------------------------------------------------
    def _dispatch(self, now):
        r = self.reader
        t = r.msg_type
        if t < _MSG_HOST_HEARTBEAT:
            self.ignored += 1  # our own frames echoed back (loopback): not the host
            return
        self._have_host = True
        self._host_ms = now
        if r.version != _PROTOCOL_VERSION:
            self.version_errors += 1
            self._ack(r.seq, t, R.UNSUPPORTED_VERSION)
            return
        if t == _MSG_HOST_HEARTBEAT:
            return
        off = _HDR
        n = r.payload_len
        if t == _INJECT_IMU or t == _INJECT_PPG:  # noqa: SIM109
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
        if t != _CMD_INFO and t != _CMD_GET_PROFILE:
            self.events.push(now, _EV_COMMAND, t, reason)

    def _answer(self, t, reason):
        # Data that goes with an accepted query, sent just before its ACK.
        if reason:
            return
        if t == _CMD_INFO:
            self._send_hello()
        elif t == _CMD_GET_PROFILE:
            self._send_profile()

    def _command(self, t, body, off, n):
        ctrl = self.ctrl
        if t == _CMD_SET_PROFILE:
            if n == 0:
                return R.BAD_ARGUMENT
            decode = self._profile_from_bytes
            try:
                if decode is None:
                    # Profile imported with this module: an import here would
                    # make the package inversa.control again in a period
                    # (settle_heap sheds it); no message: nobody reads one
                    # here (Profile.check)
                    profile = Profile.from_bytes(bytes(body[off : off + n]), False)
                else:
                    profile = decode(bytes(body[off : off + n]))
            except (ValueError, TypeError, IndexError):
                return R.PROFILE_INVALID
            return ctrl.set_profile(profile)
        if t == _CMD_SET_TELEMETRY_RATE:
            if n != 1:
                return R.BAD_ARGUMENT
            hz = body[off]
            if hz > _MAX_TELEMETRY_HZ:
                return R.OUT_OF_RANGE
            self.set_telemetry_hz(hz)
            self._tele_next = self.clock.ticks_ms()
            return R.OK
        if n != 0:
            if t in _COMMANDS:
                return R.BAD_ARGUMENT
            return R.UNKNOWN_COMMAND
        if t == _CMD_INFO or t == _CMD_GET_PROFILE:  # noqa: SIM109
            return R.OK
        if t == _CMD_START:
            return ctrl.request_start()
        if t == _CMD_RETURN:
            return ctrl.request_return()
        if t == _CMD_CLEAR_FAULTS:
            return ctrl.clear_faults()
        if t == _CMD_CALIBRATE_IMU:
            if self.calibrate is None:
                return R.UNKNOWN_COMMAND
            return self.calibrate()
        if t == _CMD_MAINTENANCE:
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
        size = _INJECT_IMU_SAMPLE_LEN if t == _INJECT_IMU else _INJECT_PPG_SAMPLE_LEN
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
        struct.pack_into(_ACK_FMT, w.body, _HDR, seq, t, reason)
        return w.send(_MSG_ACK, _ACK_LEN)

    def _send_events(self):
        w = self.writer
        ev = self._ev
        for _ in range(_EVENTS_PER_SERVICE):
            if not self._ev_pending:
                if not self.events.pop_into(ev):
                    return
                self._ev_pending = True
            struct.pack_into(_EVENT_FMT, w.body, _HDR, ev[0], ev[1], ev[2], ev[3])
            if not w.send(_MSG_EVENT, _EVENT_LEN):
                return  # keep it for the next period
            self._ev_pending = False

    def _io_bits(self, inp, out):
        b = 0
        if inp.tilt_ok:
            b |= _IO_TILT_OK
        if inp.hr_ok:
            b |= _IO_HR_OK
        if inp.estop_pressed:
            b |= _IO_ESTOP
        if out.motor_enable:
            b |= _IO_MOTOR_ENABLE
        if out.brake_on:
            b |= _IO_BRAKE_ON
        if self.lease_ok:
            b |= _IO_HOST_LEASE
        return b

    def _send_telemetry(self, now, inp, out, loop_us, loop_max_us, overruns):
        w = self.writer
        # The clamps inline, the call only for a value out of range (issue
        # 10: a Python call costs ~10 us on an RP2040, a frame had nine).
        st = out.state
        act = out.action
        a = inp.angle_cdeg
        r = inp.rate_cdps
        tg = out.target_angle_cdeg
        c = out.motor_cmd_cdps
        d = out.deepest_cdeg
        hr = inp.hr_bpm
        q = inp.hr_quality_pct
        p = out.alarm_priority
        struct.pack_into(
            _TELEMETRY_FMT,
            w.body,
            _HDR,
            now,
            st if 0 <= st <= 255 else _u8(st),
            act if 0 <= act <= 255 else _u8(act),
            a if -32768 <= a <= 32767 else _s16(a),
            r if -32768 <= r <= 32767 else _s16(r),
            tg if -32768 <= tg <= 32767 else _s16(tg),
            c if -32768 <= c <= 32767 else _s16(c),
            d if -32768 <= d <= 32767 else _s16(d),
            out.inverted_ms,
            hr if 0 <= hr <= 255 else _u8(hr),
            q if 0 <= q <= 255 else _u8(q),
            out.alarm_bits,
            p if 0 <= p <= 255 else _u8(p),
            out.fault_bits,
            inp.tilt_faults & 0xFFFF,
            LinkEndpoint._io_bits(self, inp, out),
            loop_us if loop_us < 0xFFFF else 0xFFFF,
            loop_max_us if loop_max_us < 0xFFFF else 0xFFFF,
            overruns & 0xFFFF,
            w.dropped & 0xFFFF,
            LinkEndpoint.rx_errors(self) & 0xFFFF,
            self.events.dropped & 0xFFFF,
            self.port.stalls & 0xFFFF,
        )
        return w.send(_MSG_TELEMETRY, _TELEMETRY_LEN)

    def _send_heartbeat(self, now, inp, out):
        w = self.writer
        struct.pack_into(
            _HEARTBEAT_FMT,
            w.body,
            _HDR,
            now,
            _u8(out.state),
            LinkEndpoint._io_bits(self, inp, out),
        )
        return w.send(_MSG_HEARTBEAT, _HEARTBEAT_LEN)

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
        if len(data) + 2 > _MAX_PAYLOAD:
            return False
        crc = self._profile_crc(p)
        struct.pack_into(_PROFILE_HEAD_FMT, w.body, _HDR, crc)
        o = _HDR + 2
        w.body[o : o + len(data)] = data
        return w.send(_MSG_PROFILE, 2 + len(data))

    def _prepare_hello(self):
        # the variable part of HELLO: firmware version, board (each a length
        # byte and at most 32 bytes), then at most 24 limits as <Bi
        board = self.board
        limits = self.limits
        if (
            self._hello_for is None
            or self._hello_for[0] is not board
            or self._hello_for[1] is not limits
        ):
            tail = bytearray()
            for text in (VERSION, board):
                data = text.encode()[:32]
                tail.append(len(data))
                tail += data
            lim = limits[:24]
            tail.append(len(lim))
            for lid, value in lim:
                tail += struct.pack("<Bi", lid, value)
            self._hello_tail = bytes(tail)
            self._hello_for = (board, limits)
        p = self._profile()
        if p is not self._crc_of:
            self._crc_value = self._profile_crc(p)
            self._crc_of = p

    def _send_hello(self):
        w = self.writer
        body = w.body
        self._prepare_hello()  # (allocates only after a change)
        struct.pack_into(
            _HELLO_HEAD_FMT,
            body,
            _HDR,
            _PROTOCOL_VERSION,
            self.telemetry_hz,
            _LEASE_MS,
            self._crc_value,
            _u8(self.reset_cause),
            self.uid,
        )
        o = _HDR + _HELLO_HEAD_LEN
        tail = self._hello_tail
        n = len(tail)
        body[o : o + n] = tail
        return w.send(_MSG_HELLO, o + n - _HDR)
