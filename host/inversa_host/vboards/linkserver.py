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

import threading
import time
from collections.abc import Callable

from inversa.link.port import MemoryPort
from inversa_host.vboards.serialsocket import Pacer, SerialServer

_MAX_PENDING = 64 * 1024  # socket backlog before the port is left to fill (and drop)


class LinkServer(SerialServer):
    thread_name = "linkserver"

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
        super().__init__(host, tcp_port)
        self.steps = 0
        port.connected = False

    def _on_connected(self, up: bool) -> None:
        self.port.connected = up

    def stop(self) -> None:
        self.close()

    def unplug(self) -> None:
        """Pull the cable: the connection drops and new ones are refused."""
        with self.lock:
            self.sock.close()

    def plug(self) -> None:
        with self.lock:
            self.sock.open_listener()

    def reconnect(self) -> None:
        """The board rebooted (its USB re-enumerated): the host's connection
        drops; the host may open the port again at once.  Called from the
        ``step`` callback (the lock is held) or with the lock."""
        self.sock.drop()

    def _io(self) -> None:
        sock = self.sock
        if not sock.connected:
            return
        data = sock.recv()
        if data is None:
            return  # the host closed the port
        if data:
            self.port.feed_rx(data)
        if len(sock.out) < _MAX_PENDING:
            sock.out += self.port.take_tx()
        sock.flush()

    def step_lockstep(self, rx_total: int, timeout_s: float = 30.0) -> int:
        """One period in lock-step with a host in this process (virtual time:
        no wall clock): wait, bounded, until the host's first ``rx_total``
        bytes have arrived, step the firmware once, send everything it wrote;
        return ``tx_total`` (the host then reads up to it).  Not with
        :meth:`start` (nothing else steps the firmware)."""
        deadline = time.monotonic() + timeout_s
        sock = self.sock
        with self.lock:
            while True:
                sock.accept()  # a second host is refused at once, as a serial port does
                self._io()
                if sock.rx_total >= rx_total and sock.connected:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"lock-step: {rx_total - sock.rx_total} bytes from the host never arrived"
                    )
                sock.wait(min(left, 0.05))
            self.step()
            self.steps += 1
            sock.out += self.port.take_tx()
            while sock.out and sock.connected:
                self._io()
                if sock.out:
                    if time.monotonic() > deadline:
                        raise TimeoutError("lock-step: the host does not read")
                    sock.wait(0.05, writable=True)
        return sock.tx_total

    def _serve(self) -> None:
        pacer = Pacer(self.period_s / self.speed)
        sock = self.sock
        while self._running:
            with self.lock:
                sock.accept()  # a second host is refused at once, as a serial port does
                self._io()
                self.step()
                self.steps += 1
                self._io()
            delay = pacer.next_delay()
            if delay > 0:
                if sock.connected:
                    sock.wait(delay)
                left = pacer.left()
                if left > 0:
                    time.sleep(left)
