"""Allocation probe: heap bytes per call of a callable, measured inside MicroPython.

On a board the control step must not allocate: a steady stream of small
allocations fragments the heap and makes the garbage collector run at a time
nobody chose.  The probe runs ``setup`` once, calls ``call`` a few times to
warm up (first calls may intern names or fill caches), then counts
``gc.mem_alloc()`` growth over ``n`` calls with the collector disabled, less
the cost of the empty loop.  ``heap_lock_check`` runs one call under
``micropython.heap_lock()`` and returns MicroPython's traceback of the first
allocation, which points at the offending line.

Usage::

    with MicroPythonVM() as vm:
        vm.install_firmware()
        r = measure_alloc(vm, "from inversa.x import X; x = X()", "x.step(1)")
        print(r.bytes_per_call)
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass

from inversa_host.vm import MicroPythonError, MicroPythonVM

_PROBE = """
import gc, micropython, time
def __probe(n, warm):
    for _ in range(warm):
        {call}
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for _ in range(n):
        pass
    b = gc.mem_alloc()
    t0 = time.ticks_us()
    for _ in range(n):
        {call}
    t1 = time.ticks_us()
    c = gc.mem_alloc()
    gc.enable()
    return (c - b) - (b - a), time.ticks_diff(t1, t0)
__r = __probe({n}, {warm})
print('ALLOC', __r[0], __r[1])
"""

_LOCK = """
import micropython, sys, io
micropython.heap_lock()
try:
    {call}
    micropython.heap_unlock()
    print('LOCK-OK')
except MemoryError as __e:
    micropython.heap_unlock()
    __s = io.StringIO()
    sys.print_exception(__e, __s)
    print('LOCK-ALLOC ' + repr(__s.getvalue()))
"""


@dataclass(frozen=True)
class AllocResult:
    calls: int
    total_bytes: int
    elapsed_us: int

    @property
    def bytes_per_call(self) -> float:
        return self.total_bytes / self.calls

    @property
    def us_per_call(self) -> float:
        return self.elapsed_us / self.calls

    def as_json(self) -> str:
        return json.dumps(
            {
                "calls": self.calls,
                "bytes_per_call": self.bytes_per_call,
                "us_per_call": self.us_per_call,
            }
        )


def measure_alloc(
    vm: MicroPythonVM, setup: str, call: str, n: int = 200, warm: int = 5
) -> AllocResult:
    """Heap bytes per ``call`` (a statement) after ``setup`` has run, over ``n`` calls."""
    if n <= 0:
        raise ValueError("n must be positive")
    vm.exec(setup)
    out = vm.exec(_PROBE.format(call=call, n=n, warm=warm))
    for line in out.splitlines():
        if line.startswith("ALLOC "):
            _, total, us = line.split()
            return AllocResult(calls=n, total_bytes=int(total), elapsed_us=int(us))
    raise MicroPythonError(f"allocation probe printed no result: {out!r}")


def heap_lock_check(vm: MicroPythonVM, call: str) -> str | None:
    """Run ``call`` once with the heap locked; None if it allocated nothing, else the traceback."""
    out = vm.exec(_LOCK.format(call=call))
    for line in out.splitlines():
        if line == "LOCK-OK":
            return None
        if line.startswith("LOCK-ALLOC "):
            return str(ast.literal_eval(line[len("LOCK-ALLOC ") :]))
    raise MicroPythonError(f"heap-lock check printed no result: {out!r}")
