"""Closing: ``with x:`` closes ``x`` at the end, for a class with ``close()``.

The host's resources (a link client, a store, a MicroPython VM, an emulated
board, a virtual board) are each opened, used in a ``with`` block and closed;
this is that block's one implementation.

Usage::

    class Store(Closing):
        def close(self) -> None: ...

    with Store(path) as store: ...
"""

from __future__ import annotations

from typing import TypeVar

_T = TypeVar("_T", bound="Closing")


class Closing:
    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
