# Non-blocking byte ports under the link.  Every port has the same two calls,
# and neither ever waits:
#     n = port.write(buf, n)    bytes taken (0 = no room: the caller drops the frame)
#     n = port.readinto(buf)    bytes read (0 = nothing waiting)
#
# MemoryPort   a pair of byte rings in RAM: tests, the simulator, linkserver.
# UsbCdcPort   the REPL's USB CDC serial: in link/usb_port.py, so a USB
#              board never loads this module's names (qstrs are never freed).
# UartPort     machine.UART, built by the board code with timeout=0 and a TX
#              buffer larger than a frame (txbuf=1024), so writes never wait.
#
# Usage:
#     port = MemoryPort(4096, 512)       # tests: port.feed_rx(b), port.take_tx()
#     port = UartPort(UART(0, 115200, txbuf=1024, timeout=0))


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
            from inversa.error_text import text

            raise ValueError(text(49))
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
