"""LinkServer: a firmware-side MemoryPort behind a localhost TCP socket.

A firmware running in CPython (the fake board, the simulator's virtual board)
sits behind ``socket://127.0.0.1:PORT``, so the real host tools talk to it
exactly as to a board on a serial port.  One thread steps the firmware (the
``step`` callback, one control period per call) and moves bytes between the
socket and the port.  With ``speed=1.0`` the periods follow the wall clock
(the host's heartbeats and the board's lease then agree); a larger ``speed``
runs faster.

Unplugging is simulated too: :meth:`unplug` closes the connection and refuses
new ones until :meth:`plug` (the firmware keeps running; its output vanishes,
as on a cable that was pulled).

Usage::

    board = FakeBoard()
    with LinkServer(board.port, board.step) as server:
        run_logger(server.url)
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

from inversa.link.port import MemoryPort

_MAX_PENDING = 64 * 1024  # socket backlog before the port is left to fill (and drop)


class LinkServer:
    def __init__(
        self,
        port: MemoryPort,
        step: Callable[[], None],
        host: str = "127.0.0.1",
        tcp_port: int = 0,
        period_s: float = 0.01,
        speed: float = 1.0,
    ) -> None:
        if period_s <= 0 or speed <= 0:
            raise ValueError("period_s and speed must be > 0")
        self.port = port
        self.step = step
        self.period_s = period_s
        self.speed = speed
        self.lock = threading.Lock()  # held while the firmware steps
        self._listen: socket.socket | None = None
        self.address: tuple[str, int] = (host, tcp_port)
        self._open_listener()
        self._client: socket.socket | None = None
        self._pending = b""
        self._plugged = True
        self._running = False
        self._thread: threading.Thread | None = None
        self.steps = 0
        self.connections = 0
        self.rx_total = 0  # bytes received from hosts, ever
        self.tx_total = 0  # bytes sent to hosts, ever
        self.error: BaseException | None = None
        port.connected = False

    def _open_listener(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(self.address)
        s.listen(1)
        s.setblocking(False)
        self._listen = s
        self.address = s.getsockname()

    def _close_listener(self) -> None:
        if self._listen is not None:
            self._listen.close()
            self._listen = None

    @property
    def url(self) -> str:
        return f"socket://{self.address[0]}:{self.address[1]}"

    def start(self) -> LinkServer:
        self._running = True
        self._thread = threading.Thread(target=self._run, name="linkserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._drop()
        self._close_listener()

    def __enter__(self) -> LinkServer:
        return self.start() if not self._running else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def unplug(self) -> None:
        """Pull the cable: the connection drops and new ones are refused."""
        with self.lock:
            self._plugged = False
            self._drop()
            self._close_listener()

    def plug(self) -> None:
        with self.lock:
            if not self._plugged:
                self._open_listener()
            self._plugged = True

    def reconnect(self) -> None:
        """The board rebooted (its USB re-enumerated): the host's connection
        drops; the host may open the port again at once.  Called from the
        ``step`` callback (the lock is held) or with the lock."""
        self._drop()

    @property
    def connected(self) -> bool:
        return self._client is not None

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
        self._client = None
        self._pending = b""
        self.port.connected = False

    def _accept(self) -> None:
        if self._listen is None:
            return
        try:
            conn, _ = self._listen.accept()
        except (BlockingIOError, OSError):
            return
        if not self._plugged or self._client is not None:
            conn.close()
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = conn
        self.port.connected = True
        self.connections += 1

    def _io(self) -> None:
        c = self._client
        if c is None:
            return
        try:
            while True:
                data = c.recv(4096)
                if not data:
                    self._drop()  # the host closed the port
                    return
                self.rx_total += len(data)
                self.port.feed_rx(data)
        except BlockingIOError:
            pass
        except OSError:
            self._drop()
            return
        if len(self._pending) < _MAX_PENDING:
            self._pending += self.port.take_tx()
        if self._pending:
            try:
                n = c.send(self._pending)
                self._pending = self._pending[n:]
                self.tx_total += n
            except BlockingIOError:
                pass
            except OSError:
                self._drop()

    def step_lockstep(self, rx_total: int, timeout_s: float = 30.0) -> int:
        """One period in lock-step with a host in this process (virtual time:
        no wall clock): wait, bounded, until the host's first ``rx_total``
        bytes have arrived, step the firmware once, send everything it wrote;
        return ``tx_total`` (the host then reads up to it).  Not with
        :meth:`start` (nothing else steps the firmware)."""
        deadline = time.monotonic() + timeout_s
        with self.lock:
            while True:
                if self._client is None:
                    self._accept()
                self._io()
                if self.rx_total >= rx_total and self._client is not None:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"lock-step: {rx_total - self.rx_total} bytes from the host never arrived"
                    )
                waits = [self._client] if self._client is not None else []
                if self._listen is not None:
                    waits.append(self._listen)
                select.select(waits, [], [], min(left, 0.05))
            self.step()
            self.steps += 1
            self._pending += self.port.take_tx()
            while self._pending and self._client is not None:
                self._io()
                if self._pending:
                    if time.monotonic() > deadline:
                        raise TimeoutError("lock-step: the host does not read")
                    select.select([], [self._client], [], 0.05)
        return self.tx_total

    def _run(self) -> None:
        pacer = Pacer(self.period_s / self.speed)
        try:
            while self._running:
                with self.lock:
                    if self._client is None:
                        self._accept()
                    self._io()
                    self.step()
                    self.steps += 1
                    self._io()
                delay = pacer.next_delay()
                if delay > 0:
                    if self._client is not None:
                        select.select([self._client], [], [], delay)
                    left = pacer.left()
                    if left > 0:
                        time.sleep(left)
        except BaseException as e:  # surfaced to tests through .error
            self.error = e
            raise


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
