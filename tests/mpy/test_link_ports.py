# UsbCdcPort and UartPort with fake streams: never wait, drop when poll says
# no room, go silent after a stalled write until the host speaks again; on an
# RP2040 (the IN endpoint's buffer control word) refuse what might not fit
# while the host leaves a packet unread.
from inversa.link.port import UartPort
from inversa.link.usb_port import USB_RX_BUDGET, UsbCdcPort
from mpyunit import assert_no_alloc


class Poll:
    def __init__(self):
        self.ready = True

    def ipoll(self, timeout):
        return (1,) if self.ready else ()


class Clock:
    def __init__(self):
        self.us = 0

    def ticks_us(self):
        return self.us


class Out:
    def __init__(self, clock):
        self.clock = clock
        self.data = bytearray()
        self.delay_us = 0

    def write(self, buf, n):
        self.clock.us += self.delay_us
        for i in range(n):
            self.data.append(buf[i])
        return n


class In:
    def __init__(self, data, poll):
        self.data = bytearray(data)
        self.poll = poll

    def readinto(self, buf, n):
        if not self.data:
            return 0
        buf[0] = self.data[0]
        self.data = self.data[1:]
        self.poll.ready = len(self.data) > 0
        return 1


def test_usb_port_writes_and_drops_when_poll_says_no_room():
    clock = Clock()
    out = Out(clock)
    pin, pout = Poll(), Poll()
    pin.ready = False
    p = UsbCdcPort(In(b"", pin), out, pin, pout, clock)
    assert p.write(b"abc", 2) == 2 and bytes(out.data) == b"ab"
    pout.ready = False
    assert p.write(b"xyz", 3) == 0 and p.not_ready == 1
    assert bytes(out.data) == b"ab"


def test_usb_port_goes_silent_after_a_stall_until_the_host_speaks():
    clock = Clock()
    out = Out(clock)
    pin, pout = Poll(), Poll()
    sin = In(b"", pin)
    pin.ready = False
    p = UsbCdcPort(sin, out, pin, pout, clock)
    out.delay_us = 500000  # the host has the port open but does not read
    assert p.write(b"abc", 3) == 3
    assert p.stalls == 1 and p.silent
    out.delay_us = 0
    assert p.write(b"def", 3) == 0  # no second stall: silent
    buf = bytearray(8)
    sin.data = bytearray(b"\x00hi")
    pin.ready = True
    assert p.readinto(buf) == 3 and bytes(buf[:3]) == b"\x00hi"
    assert not p.silent and p.write(b"ok", 2) == 2


class Mem16:
    """machine.mem16 with the CDC data IN endpoint's buffer control word."""

    def __init__(self):
        self.armed = False  # AVAILABLE: a packet waits for the host

    def __getitem__(self, addr):
        assert addr == 0x50100090  # EP2 IN buffer control (USB DPRAM)
        return 0x843C if self.armed else 0x203C  # FULL|AVAILABLE|len 60 : PID|len


def test_usb_port_refuses_what_might_not_fit_while_the_host_leaves_a_packet_unread():
    # The host keeps the port open and stops reading: MicroPython would wait
    # (up to 500 ms, the watchdog) for room in TinyUSB's 256-byte TX FIFO.
    clock = Clock()
    out = Out(clock)
    pin, pout = Poll(), Poll()
    pin.ready = False
    pout.ready = False  # poll is not asked on an RP2040 (it only says "one byte")
    p = UsbCdcPort(In(b"", pin), out, pin, pout, clock)
    mem = Mem16()
    p._mem = mem
    frame = bytes(range(60))
    assert p.write(frame, 60) == 60  # the endpoint was idle: it takes all 60
    mem.armed = True  # the host does not take the packet
    assert p.write(frame, 60) == 60 and p.write(frame, 60) == 60
    assert p.write(frame, 60) == 60 and p.write(frame, 60) == 60  # 240 in the FIFO
    assert p.write(frame, 60) == 0  # 300 might not fit: refused, not waited on
    assert p.stalls == 1 and p.silent and p.not_ready == 1
    assert p.write(b"ab", 2) == 0  # silent while the packet waits: one stall
    assert p.stalls == 1 and p.not_ready == 2
    assert len(out.data) == 300
    mem.armed = False  # the host reads again
    assert p.write(frame, 60) == 60 and not p.silent and p.stalls == 1


def test_usb_port_rp2_write_does_not_allocate():
    clock = Clock()
    pin, pout = Poll(), Poll()
    pin.ready = False

    class Sink:
        def write(self, buf, n):
            return n

    pout.ready = False  # not asked on an RP2040
    p = UsbCdcPort(In(b"", pin), Sink(), pin, pout, clock)
    mem = Mem16()
    p._mem = mem
    buf = bytearray(48)

    def step():
        mem.armed = not mem.armed
        p.write(buf, 48)

    assert_no_alloc(step)
    assert p.not_ready == 0  # the endpoint's state was read, not poll: all written


def test_usb_port_read_stops_when_nothing_waits():
    clock = Clock()
    pin, pout = Poll(), Poll()
    pin.ready = False
    p = UsbCdcPort(In(b"", pin), Out(clock), pin, pout, clock)
    assert p.readinto(bytearray(4)) == 0


class Uart:
    def __init__(self):
        self.sent = bytearray()
        self.incoming = bytearray(b"\x01\x02")
        self.room = 100

    def write(self, buf, n):
        if self.room == 0:
            return None  # MicroPython: EAGAIN with timeout=0
        k = min(n, self.room)
        for i in range(k):
            self.sent.append(buf[i])
        return k

    def any(self):
        return len(self.incoming)

    def readinto(self, buf):
        n = min(len(buf), len(self.incoming))
        for i in range(n):
            buf[i] = self.incoming[i]
        self.incoming = self.incoming[n:]
        return n or None


def test_uart_port_reports_partial_and_refused_writes():
    u = Uart()
    p = UartPort(u)
    assert p.write(b"abcd", 4) == 4
    u.room = 2
    assert p.write(b"efgh", 4) == 2
    u.room = 0
    assert p.write(b"ijkl", 4) == 0
    buf = bytearray(8)
    assert p.readinto(buf) == 2 and p.readinto(buf) == 0


def test_usb_port_write_does_not_allocate():
    clock = Clock()
    pin, pout = Poll(), Poll()
    pin.ready = False

    class Sink:
        def write(self, buf, n):
            return n

    p = UsbCdcPort(In(b"", pin), Sink(), pin, pout, clock)
    buf = bytearray(48)

    def step():
        p.write(buf, 48)

    assert_no_alloc(step)


def test_usb_port_reads_at_most_its_budget_per_call():
    # A whole host frame read at once cost ~1.5 ms of one period on an RP2040:
    # the reads are spread over periods, nothing is lost.
    clock = Clock()
    pin, pout = Poll(), Poll()
    data = b"\x00" + bytes(range(1, 20)) + b"\x00"
    p = UsbCdcPort(In(data, pin), Out(clock), pin, pout, clock)
    buf = bytearray(128)
    got = bytearray()
    for _ in range(100):
        n = p.readinto(buf)
        assert n <= USB_RX_BUDGET
        got += buf[:n]
        if len(got) == len(data):
            break
    assert bytes(got) == data
