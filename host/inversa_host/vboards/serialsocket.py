"""SerialSocket: a virtual board's serial port, a localhost TCP socket.

Both virtual boards (:class:`~inversa_host.vboards.linkserver.LinkServer`
for a firmware in CPython, :class:`~inversa_host.vboards.repl.ReplBoard` for
MicroPython's REPL) sit behind ``socket://HOST:PORT``, which pyserial and
mpremote open as if it were a serial port.  This is the socket half they
share: one host at a time (a second connection is closed at once, as a
serial port refuses a second opener), non-blocking reads and writes, bytes
counted both ways, and a cable that can be pulled (:meth:`close_listener`:
the connection drops and new ones are refused until :meth:`open_listener`).

Usage::

    sock = SerialSocket(on_connected=lambda up: print("host", up))
    sock.accept()           # once per period: takes a host, or refuses a second
    data = sock.recv()      # b"" (nothing yet) or None (the host closed it)
    sock.out += reply
    sock.flush()            # sends what the socket takes now, keeps the rest

:class:`SerialServer` is the thread half they share: the socket served by a
thread of the board's own (``start``; ``close`` or the ``with`` block's end
stops it), what stopped that thread (``error``), the socket's address and
counters; and :class:`Pacer`, the fixed-rate pacing of its periods.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from inversa_host.closing import Closing


class SerialSocket:
    def __init__(
        self,
        host: str = "127.0.0.1",
        tcp_port: int = 0,
        on_connected: Callable[[bool], None] | None = None,
    ) -> None:
        self.address: tuple[str, int] = (host, tcp_port)
        self.on_connected = on_connected
        self.out = b""  # bytes for the host not yet taken by the socket
        self.connections = 0
        self.rx_total = 0  # bytes received from hosts, ever
        self.tx_total = 0  # bytes sent to hosts, ever
        self._listen: socket.socket | None = None
        self._client: socket.socket | None = None
        self.open_listener()

    @property
    def url(self) -> str:
        return f"socket://{self.address[0]}:{self.address[1]}"

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def listening(self) -> bool:
        return self._listen is not None

    def open_listener(self) -> None:
        """Listen (again) on the same address; the first call picks the port."""
        if self._listen is not None:
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(self.address)
        s.listen(1)
        s.setblocking(False)
        self._listen = s
        self.address = s.getsockname()

    def close_listener(self) -> None:
        if self._listen is not None:
            self._listen.close()
            self._listen = None

    def close(self) -> None:
        self.drop()
        self.close_listener()

    def accept(self) -> None:
        """Take a waiting connection if nobody is connected; refuse others
        while the connected host is there (as a serial port refuses a second
        opener).  A host whose connection has bytes or its close still to be
        read keeps the others waiting: :meth:`recv` sees those first, so a
        host that closes and opens again at once is never refused."""
        if self._listen is None:
            return
        if self._client is not None and not self._open_and_idle(self._client):
            return
        try:
            conn, _ = self._listen.accept()
        except (BlockingIOError, OSError):
            return
        if self._client is not None:
            conn.close()  # one host at a time, like a serial port
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = conn
        self.connections += 1
        if self.on_connected is not None:
            self.on_connected(True)

    @staticmethod
    def _open_and_idle(c: socket.socket) -> bool:
        try:
            c.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return True  # open, nothing waiting to be read
        except OSError:
            return False
        return False  # bytes, or the host's close, waiting for recv()

    def drop(self) -> None:
        """Close the host's connection (a pulled cable, a rebooting board);
        what was not sent is lost, as on the wire."""
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
            self._client = None
            if self.on_connected is not None:
                self.on_connected(False)
        self.out = b""

    def recv(self) -> bytes | None:
        """All bytes the host sent so far (b"" if none); None when the host
        closed the connection or it failed (the connection is then dropped)."""
        c = self._client
        if c is None:
            return b""
        data = b""
        try:
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    self.drop()
                    if not data:
                        return None
                    # what the host wrote before it closed still reaches the
                    # board (mpremote's last `machine.reset()` does exactly that)
                    break
                data += chunk
        except BlockingIOError:
            pass
        except OSError:
            self.drop()
            return None
        self.rx_total += len(data)
        return data

    def flush(self) -> None:
        """Send as much of ``out`` as the socket takes now."""
        c = self._client
        if c is None or not self.out:
            return
        try:
            n = c.send(self.out)
        except BlockingIOError:
            return
        except OSError:
            self.drop()
            return
        self.out = self.out[n:]
        self.tx_total += n

    def wait(self, timeout_s: float, writable: bool = False) -> None:
        """Sleep until the host sent something (or can take more, with
        ``writable``), someone connects, or ``timeout_s`` passed."""
        c = self._client
        try:
            if writable:
                select.select([], [c] if c is not None else [], [], timeout_s)
                return
            waits = [s for s in (c, self._listen) if s is not None]
            select.select(waits, [], [], timeout_s)
        except (OSError, ValueError):
            # Closed by another thread while waiting (a pulled cable: the
            # caller may wait outside its lock): the wait is simply over.
            pass


_S = TypeVar("_S", bound="SerialServer")


class SerialServer(Closing):
    """A board served on a :class:`SerialSocket` by a thread of its own.  A
    subclass gives the thread's loop (``_serve``, run while ``_running``) and
    may follow the host's connection (``_on_connected``)."""

    thread_name = "serialserver"

    def __init__(self, host: str = "127.0.0.1", tcp_port: int = 0) -> None:
        self.error: BaseException | None = None  # what stopped the thread, if anything did
        self._running = False
        self._thread: threading.Thread | None = None
        self.sock = SerialSocket(host, tcp_port, self._on_connected)

    def _on_connected(self, up: bool) -> None:
        """The host connected (True) or its connection went (False)."""

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.address

    @property
    def url(self) -> str:
        return self.sock.url

    @property
    def connections(self) -> int:
        return self.sock.connections

    @property
    def connected(self) -> bool:
        return self.sock.connected

    @property
    def rx_total(self) -> int:
        """Bytes received from hosts, ever."""
        return self.sock.rx_total

    @property
    def tx_total(self) -> int:
        """Bytes sent to hosts, ever."""
        return self.sock.tx_total

    def start(self: _S) -> _S:
        self._running = True
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread (waiting 5 s at most) and close the socket."""
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.sock.close()

    def __enter__(self: _S) -> _S:
        return self.start() if not self._running else self

    def _run(self) -> None:
        try:
            self._serve()
        except BaseException as e:  # surfaced to tests through .error
            self.error = e
            raise

    def _serve(self) -> None:
        raise NotImplementedError


class Pacer:
    """Fixed-rate pacing: after each period, how long to wait for the next
    one's start; far behind (a stalled PC) it starts afresh instead of
    running a burst of catch-up periods."""

    def __init__(
        self,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_behind_s: float = 1.0,
    ) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.max_behind_s = max_behind_s
        self.next_t = clock()
        self.restarts = 0

    def next_delay(self) -> float:
        self.next_t += self.interval_s
        delay = self.next_t - self.clock()
        if delay < -self.max_behind_s:
            self.next_t = self.clock()
            self.restarts += 1
        return delay

    def left(self) -> float:
        return self.next_t - self.clock()

    def resync(self) -> None:
        """Not paced for a while (idle): the next period starts from now."""
        self.next_t = self.clock()
