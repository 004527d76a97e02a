# The REPL's USB CDC serial (sys.stdin/stdout.buffer) with select.poll, a
# non-blocking port like those in link/port.py (same two calls, neither waits).
# A Pico's USB write can stall ~500 ms when the host has the port open but is
# not reading: poll only says "some room", so every write is timed and after
# one slow write the port goes silent (drops and counts) until the host speaks
# again.  A module of its own: a USB board loads only this one, not the other
# ports' names (interned names are never freed; docs/ARCHITECTURE.md).
#
# Usage:
#     port = UsbCdcPort.open(clock)      # board, USB

from inversa.compat import const, ticks_diff

_STALL_US = const(3000)  # a write slower than this means the host is not reading
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
        self.stalls = 0  # writes that took longer than _STALL_US
        self.silent = False  # after a stall: drop until the host sends something
        self.not_ready = 0  # writes dropped because poll reported no room

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
        return cls(sin, sout, pin, pout, clock)

    def write(self, buf, n):
        if self.silent:
            return 0
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
        if n:
            self.silent = False  # the host is alive and servicing the port
        return n
