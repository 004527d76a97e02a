"""The virtual boards' serial socket: one host at a time, counted bytes, a
cable that can be pulled (inversa_host.vboards.serialsocket)."""

from __future__ import annotations

import socket
import time

from inversa_host.vboards.serialsocket import SerialSocket


def _until(cond, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_one_host_at_a_time_bytes_both_ways_and_a_pulled_cable() -> None:
    events: list[bool] = []
    s = SerialSocket(on_connected=events.append)
    try:
        a = socket.create_connection(s.address, timeout=5)
        _until(lambda: (s.accept(), s.connected)[1])
        b = socket.create_connection(s.address, timeout=5)
        s.accept()  # a second opener is refused, as by a serial port
        b.settimeout(5)
        assert b.recv(10) == b""
        a.sendall(b"hello")
        got = b""
        while len(got) < 5:
            chunk = s.recv()
            assert chunk is not None
            got += chunk
        assert got == b"hello" and s.rx_total == 5
        s.out += b"world"
        s.flush()
        assert a.recv(10) == b"world" and s.tx_total == 5
        s.close_listener()  # the cable is pulled ...
        s.drop()
        assert events == [True, False] and not s.connected
        a.settimeout(5)
        assert a.recv(10) == b""
        try:  # ... and nobody can connect until it is plugged back in
            socket.create_connection(s.address, timeout=0.5).close()
            refused = False
        except OSError:
            refused = True
        assert refused
        s.open_listener()
        c = socket.create_connection(s.address, timeout=5)
        _until(lambda: (s.accept(), s.connected)[1])
        c.close()
        _until(lambda: s.recv() is None)  # the host closed its end
        assert events == [True, False, True, False]
    finally:
        s.close()


def test_a_wait_ends_quietly_when_another_thread_pulls_the_cable() -> None:
    # The link server waits outside its lock while unplug() closes the
    # sockets from another thread (found by CI: the server thread died in
    # select() on a socket closed under it, and the board stopped running).
    # The moment between taking the socket and select(): closed under it.
    s = SerialSocket()
    a = socket.create_connection(s.address, timeout=5)
    _until(lambda: (s.accept(), s.connected)[1])
    try:
        s._client.close()  # type: ignore[union-attr]  # closed, not yet dropped
        s._listen.close()  # type: ignore[union-attr]
        s.wait(0.01)  # returns, raises nothing
        s.wait(0.01, writable=True)
    finally:
        s.close()
        a.close()


def test_what_a_host_writes_just_before_it_closes_still_arrives() -> None:
    # Found on the emulated Pico: `inversa doctor` ends with mpremote writing
    # `machine.reset()` and closing the port at once; the bytes and the close
    # arrived in one recv() loop and the bytes were thrown away, so the board
    # stayed at its REPL.  A serial port delivers what was written.
    s = SerialSocket()
    try:
        a = socket.create_connection(s.address, timeout=5)
        _until(lambda: (s.accept(), s.connected)[1])
        a.sendall(b"import machine\r\nmachine.reset()\r\n\x04")
        a.close()
        got = b""
        deadline = time.monotonic() + 5
        while s.connected:  # until the close is seen, bounded
            got += s.recv() or b""
            assert time.monotonic() < deadline, "the close was never seen"
            time.sleep(0.005)
        assert got == b"import machine\r\nmachine.reset()\r\n\x04"
        assert s.rx_total == len(got) and not s.connected
    finally:
        s.close()
