# Non-blocking byte ports under the link.  Every port has the same two calls,
# and neither ever waits:
#     n = port.write(buf, n)    bytes taken (0 = no room: the caller drops the frame)
#     n = port.readinto(buf)    bytes read (0 = nothing waiting)
#
# MemoryPort   a pair of byte rings in RAM: tests, the simulator, linkserver.
# UsbCdcPort   the REPL's USB CDC serial (sys.stdin/stdout.buffer) with
#              select.poll.  A Pico's USB write can stall ~500 ms when the host
#              has the port open but is not reading: poll only says "some
#              room", so every write is timed and after one slow write the
#              port goes silent (drops and counts) until the host speaks again.
# UartPort     machine.UART, built by the board code with timeout=0 and a TX
#              buffer larger than a frame (txbuf=1024), so writes never wait.
#
# Usage:
#     port = MemoryPort(4096, 512)       # tests: port.feed_rx(b), port.take_tx()
#     port = UsbCdcPort.open(clock)      # board, USB
#     port = UartPort(UART(0, 115200, txbuf=1024, timeout=0))

from inversa.compat import const, ticks_diff

_STALL_US = const(3000)  # a write slower than this means the host is not reading
# USB CDC bytes read per call (per period).  stdin offers no byte count, so
# each byte costs a poll and a one-byte read (~0.1 ms on an RP2040); a host
# frame read at once put ~1.5 ms on one period (measured on the emulated Pico).
# 4 bytes per period is 400 B/s, twenty times the host's usual traffic;
# unread bytes wait in the USB stack (the host is NAKed, nothing is lost).
USB_RX_BUDGET = const(4)


def _ring_put(ring, start, src, n):
    """Copy src[0:n] into the ring from index start, wrapping (allocates nothing)."""
    cap = len(ring)
    j = start
    for i in range(n):
        ring[j] = src[i]
        j += 1
        if j == cap:
            j = 0


def _ring_get(ring, start, dst, n):
    """Copy n bytes out of the ring from index start into dst; return the next index."""
    cap = len(ring)
    j = start
    for i in range(n):
        dst[i] = ring[j]
        j += 1
        if j == cap:
            j = 0
    return j


class MemoryPort:
    """Two byte rings: firmware writes tx and reads rx; the other side does the opposite."""

    def __init__(self, tx_capacity=4096, rx_capacity=1024):
        if tx_capacity < 1 or rx_capacity < 1:
            raise ValueError("capacities must be >= 1")
        self._tx = bytearray(tx_capacity)
        self._tx_head = 0
        self._tx_count = 0
        self._rx = bytearray(rx_capacity)
        self._rx_head = 0
        self._rx_count = 0
        self.connected = True  # False: bytes written vanish, as on an unplugged line
        self.tx_refused = 0  # writes refused for lack of room
        self.rx_overflow = 0  # bytes fed while the rx ring was full (lost)
        self.stalls = 0

    # -- firmware side (allocation-free) ------------------------------------
    def write(self, buf, n):
        if not self.connected:
            return n
        cap = len(self._tx)
        if cap - self._tx_count < n:
            self.tx_refused += 1
            return 0
        _ring_put(self._tx, (self._tx_head + self._tx_count) % cap, buf, n)
        self._tx_count += n
        return n

    def readinto(self, buf):
        n = min(len(buf), self._rx_count)
        self._rx_head = _ring_get(self._rx, self._rx_head, buf, n)
        self._rx_count -= n
        return n

    # -- other side (host, simulator, tests) --------------------------------
    def feed_rx(self, data):
        """Queue bytes for the firmware to read; return how many fit (the rest are lost)."""
        r = self._rx
        cap = len(r)
        room = cap - self._rx_count
        n = len(data)
        if n > room:
            self.rx_overflow += n - room
            n = room
        _ring_put(r, (self._rx_head + self._rx_count) % cap, data, n)
        self._rx_count += n
        return n

    def take_tx(self, limit=-1):
        """Remove and return up to `limit` bytes the firmware wrote (all if -1)."""
        n = self._tx_count if limit < 0 else min(limit, self._tx_count)
        out = bytearray(n)
        self._tx_head = _ring_get(self._tx, self._tx_head, out, n)
        self._tx_count -= n
        return bytes(out)

    def drop_tx(self):
        """Forget what the firmware wrote (a reader that keeps up); allocates nothing."""
        self._tx_head = (self._tx_head + self._tx_count) % len(self._tx)
        self._tx_count = 0

    def tx_pending(self):
        return self._tx_count

    def tx_room(self):
        return len(self._tx) - self._tx_count


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


class UartPort:
    """machine.UART (timeout=0, txbuf >= 1024); partial writes are resynced by the framer."""

    def __init__(self, uart, poll_out=None):
        self._uart = uart
        self._pout = poll_out
        self.stalls = 0
        self.not_ready = 0

    def write(self, buf, n):
        if self._pout is not None:
            ready = False
            for _ in self._pout.ipoll(0):
                ready = True
            if not ready:
                self.not_ready += 1
                return 0
        r = self._uart.write(buf, n)
        return r if r else 0

    def readinto(self, buf):
        if not self._uart.any():
            return 0
        r = self._uart.readinto(buf)
        return r if r else 0
