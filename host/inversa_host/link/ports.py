"""Opening the board's serial port, and finding boards by USB VID/PID.

Any pyserial URL works: a device path (``/dev/ttyACM0``, ``COM3``),
``socket://host:port`` (the virtual board), ``rfc2217://host:port`` (a serial
server) or ``loop://``.  ``auto`` picks the one connected board.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import cast

import serial
from serial.tools import list_ports

# USB (vendor, product) -> what it usually is.  None = any product of the vendor.
KNOWN_USB: dict[tuple[int, int | None], str] = {
    (0x2E8A, 0x0005): "Raspberry Pi Pico / Pico 2 (MicroPython)",
    (0x2E8A, None): "Raspberry Pi RP2 board",
    (0x303A, None): "Espressif ESP32 (native USB)",
    (0x10C4, 0xEA60): "ESP32 dev board (CP210x USB-UART)",
    (0x1A86, 0x7523): "ESP32 dev board (CH340 USB-UART)",
    (0x1A86, 0x55D4): "ESP32 dev board (CH9102 USB-UART)",
    (0x0403, 0x6001): "FTDI USB-UART (UART link)",
}


@dataclass(frozen=True)
class PortInfo:
    device: str
    description: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    board: str | None  # what KNOWN_USB says, None if not a known board


def identify(vid: int | None, pid: int | None) -> str | None:
    if vid is None:
        return None
    return KNOWN_USB.get((vid, pid)) or KNOWN_USB.get((vid, None))


def list_serial_ports() -> list[PortInfo]:
    out = []
    for p in list_ports.comports():
        out.append(
            PortInfo(
                device=p.device,
                description=p.description or "",
                vid=p.vid,
                pid=p.pid,
                serial_number=p.serial_number,
                board=identify(p.vid, p.pid),
            )
        )
    return sorted(out, key=lambda p: (p.board is None, p.device))


def find_boards(serial_number: str | None = None) -> list[PortInfo]:
    """Connected ports that look like a supported board (optionally one serial number)."""
    return [
        p
        for p in list_serial_ports()
        if p.board is not None and (serial_number is None or p.serial_number == serial_number)
    ]


class NoBoardFound(RuntimeError):
    pass


def resolve(url: str, serial_number: str | None = None) -> str:
    """Turn ``auto`` into a device path; anything else is returned as is."""
    if url != "auto":
        return url
    boards = find_boards(serial_number)
    if not boards:
        raise NoBoardFound(
            "no board found: plug it in, or give --port (a device path or socket://host:port); "
            "`inversa devices` lists the serial ports"
        )
    if len(boards) > 1:
        names = ", ".join(b.device for b in boards)
        raise NoBoardFound(f"several boards found ({names}): choose one with --port")
    return boards[0].device


class BadPortURL(ValueError):
    """The port URL itself is wrong: no retry can open it."""


# pyserial's URL handlers (serial/urlhandler/protocol_*.py)
_SCHEMES = ("socket", "rfc2217", "loop", "spy", "alt", "hwgrep", "cp2110")


def check_url(url: str) -> None:
    """BadPortURL (saying what to give) for a URL of an unknown kind or a
    network URL without HOST:PORT; pyserial's own messages for these name its
    internals ("'<=' not supported between 'int' and 'NoneType'")."""
    if "://" not in url:
        return  # a device path: only opening it tells
    scheme, rest = url.split("://", 1)
    if scheme not in _SCHEMES:
        raise BadPortURL(
            f"{url} is an unknown kind of port ({scheme}://): give a serial device "
            "(/dev/ttyACM0, COM3), socket://HOST:PORT, rfc2217://HOST:PORT, loop:// or auto"
        )
    if scheme in ("socket", "rfc2217"):
        host, _, port = rest.split("?", 1)[0].rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise BadPortURL(f"{url}: give the host and the TCP port, {scheme}://HOST:PORT")


def bad_option(url: str) -> BadPortURL:
    """The error for a URL whose ``?option`` its kind of port does not take
    (pyserial raises a bare KeyError naming the option)."""
    return BadPortURL(
        f"cannot open {url}: an option after '?' is not one this kind of port takes; remove it"
    )


def open_port(url: str, baudrate: int = 115200, timeout: float = 0.02) -> serial.Serial:
    """Open any pyserial URL (see module doc) with a short read timeout.  A
    serial device is opened exclusively where pyserial supports it (POSIX):
    a second program on the same port would take half of the frames.
    BadPortURL if the URL itself is malformed or has an option its kind
    of port does not take."""
    check_url(url)
    try:
        if "://" not in url and os.name == "posix":
            port = serial.serial_for_url(
                url, baudrate=baudrate, timeout=timeout, write_timeout=1.0, exclusive=True
            )
        else:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, write_timeout=1.0)
    except KeyError:
        raise bad_option(url) from None
    sock = getattr(port, "_socket", None)
    if sock is not None:  # socket://: small frames go out at once (no Nagle wait)
        import socket

        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    return cast(serial.Serial, port)  # every URL handler has the Serial API (in_waiting, ...)
