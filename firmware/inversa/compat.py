# The few MicroPython built-ins the firmware uses, with CPython fallbacks so
# the very same code runs in the simulator and the tests.
#
# Usage:
#     from inversa.compat import const, ticks_diff, IS_MICROPYTHON

import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython

    def const(expr):
        return expr


# MicroPython's ticks wrap at 2**30 on every port; the same arithmetic is used
# for the virtual clock so wrap-around is exercised in tests.
TICKS_PERIOD = const(1 << 30)
_TICKS_MAX = const((1 << 30) - 1)
_TICKS_HALF = const(1 << 29)


if IS_MICROPYTHON:
    # The C versions: the pure-Python ones below make a big int (a heap
    # allocation) when an intermediate passes 2**30, i.e. near the wrap.
    import time

    ticks_add = time.ticks_add  # pyright: ignore
    ticks_diff = time.ticks_diff  # pyright: ignore
else:

    def ticks_add(ticks, delta):
        return (ticks + delta) & _TICKS_MAX

    def ticks_diff(end, start):
        # Signed difference end - start, correct across one wrap.
        return ((end - start + _TICKS_HALF) & _TICKS_MAX) - _TICKS_HALF
