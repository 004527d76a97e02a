# The REPL's USB CDC serial (sys.stdin/stdout.buffer) with select.poll, a
# non-blocking port like those in link/port.py (same two calls, neither waits).
#
# The stall rule.  MicroPython's CDC write waits (up to 500 ms, the watchdog's
# timeout) for room in TinyUSB's 256-byte TX FIFO, and a host that keeps the
# port open but stops reading never makes room; POLLOUT only says "one byte
# free".  On an RP2040/RP2350 the port reads the CDC data IN endpoint's buffer
# control register instead: AVAILABLE set = the packet armed last is still
# waiting for the host.  While it waits, the bytes written since it was seen
# taken (less the 64 the endpoint took then) bound what the FIFO holds (it
# was empty then: TinyUSB's task, run from the USB interrupt, refills the
# endpoint as soon as the host takes a packet), and a write that would take
# them past 256 is refused (dropped, counted), never waited on.  Elsewhere (no such register) poll is asked, and every write is
# timed: after one write slower than 3 ms the port goes silent (drops and
# counts) until the host speaks again.  tx_stalls counts both: the times the
# host stopped reading.  A module of its own: a USB board loads only this
# one, not the other ports' names (interned names are never freed;
# docs/ARCHITECTURE.md).
#
# Usage:
#     port = UsbCdcPort.open(clock)      # board, USB

from inversa.compat import const, ticks_diff

_STALL_US = const(3000)  # a write slower than this means the host is not reading
# USB DPRAM (RP2040, RP2350): the buffer control word of EP2 IN, MicroPython's
# CDC data IN endpoint (0x82 in shared/tinyusb/tusb_config.h); bit 10
# AVAILABLE: armed, not yet taken by the host.
_EP_IN_CTRL = const(0x50100090)
_AVAILABLE = const(0x400)
_TX_FIFO = const(256)  # TinyUSB's CDC TX FIFO at full speed (CFG_TUD_CDC_TX_BUFSIZE)
_EP_BYTES = const(64)  # a full-speed bulk packet: what a write moves on into the idle endpoint
# USB CDC bytes read per call (per period).  stdin offers no byte count, so
# each byte costs a poll and a one-byte read (~0.1 ms on an RP2040); a host
# frame read at once put ~1.5 ms on one period (measured on the emulated Pico).
# 4 bytes per period is 400 B/s, twenty times the host's usual traffic;
# unread bytes wait in the USB stack (the host is NAKed, nothing is lost).
USB_RX_BUDGET = const(4)


class UsbCdcPort:
    """USB CDC through sys.stdin/sys.stdout with poll; see the header for the stall rule."""

    def __init__(self, stream_in, stream_out, poll_in, poll_out, clock):
        self._in = stream_in
        self._out = stream_out
        self._pin = poll_in
        self._pout = poll_out
        self._clock = clock
        self._one = bytearray(1)
        self.stalls = 0  # the host stopped reading: a write refused or slow
        self.silent = False  # after a stall: drop until the host reads (or speaks)
        self.not_ready = 0  # writes dropped for lack of room
        self._mem = None  # machine.mem16 on an RP2040/RP2350: the IN endpoint's state
        self._queued = 0  # bytes put in the FIFO since the IN endpoint was seen idle

    @classmethod
    def open(cls, clock):
        import select
        import sys

        try:
            import micropython

            micropython.kbd_intr(-1)  # 0x03 inside a frame must not raise KeyboardInterrupt
        except (ImportError, AttributeError):
            pass
        sin = sys.stdin.buffer  # pyright: ignore[reportAttributeAccessIssue]
        sout = sys.stdout.buffer  # pyright: ignore[reportAttributeAccessIssue]
        pin = select.poll()
        pin.register(sys.stdin, select.POLLIN)
        pout = select.poll()
        pout.register(sys.stdout, select.POLLOUT)
        port = cls(sin, sout, pin, pout, clock)
        if sys.platform == "rp2":
            import machine

            port._mem = machine.mem16
        return port

    def write(self, buf, n):
        mem = self._mem
        if mem is not None:
            if mem[_EP_IN_CTRL] & _AVAILABLE:  # the host has not taken the last packet
                q = self._queued + n
                if q > _TX_FIFO or self.silent:  # might not fit: MicroPython would wait
                    self.not_ready += 1
                    if not self.silent:
                        self.silent = True
                        self.stalls += 1
                    return 0
                self._queued = q
            else:  # the host took it: the FIFO is empty, the endpoint takes 64
                self._queued = n - _EP_BYTES if n > _EP_BYTES else 0
                self.silent = False
        elif self.silent:
            return 0
        else:
            ready = False
            for _ in self._pout.ipoll(0):
                ready = True
            if not ready:
                self.not_ready += 1
                return 0
        t0 = self._clock.ticks_us()
        r = self._out.write(buf, n)
        if ticks_diff(self._clock.ticks_us(), t0) > _STALL_US:
            self.stalls += 1
            self.silent = True
        return r if r else 0

    def readinto(self, buf):
        n = 0
        cap = len(buf)
        if cap > USB_RX_BUDGET:
            cap = USB_RX_BUDGET
        one = self._one
        while n < cap:
            ready = False
            for _ in self._pin.ipoll(0):
                ready = True
            if not ready:
                break
            if not self._in.readinto(one, 1):
                break
            buf[n] = one[0]
            n += 1
        if n and self._mem is None:
            self.silent = False  # the host is alive and servicing the port
        return n
