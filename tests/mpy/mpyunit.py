# Tiny test helpers that work both under pytest (CPython) and inside the
# MicroPython interpreter, where pytest does not exist.  Test modules in
# tests/mpy are plain functions named test_* using `assert` and these helpers.
#
# Usage:
#     from mpyunit import raises, assert_no_alloc
#     def test_parse():
#         raises(ValueError, parse, b"junk")

import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

try:
    from unittest import SkipTest  # pytest reports this as a skip
except ImportError:  # MicroPython

    class SkipTest(Exception):  # type: ignore[no-redef]
        pass


def skip(reason):
    raise SkipTest(reason)


def raises(exc_type, fn, *args, **kwargs):
    """Call fn; return the exception it raised; fail if it raised nothing or another type."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("expected %s from %r" % (exc_type.__name__, fn))


def check_cmp(a, op, b, msg=None):
    """assert `a op b`, failing with both values (MicroPython runs of the
    tests call this in place of each one-comparison assert; see
    tests/mpy_runner.py)."""
    if op == "==":
        ok = a == b
    elif op == "!=":
        ok = a != b
    elif op == "<":
        ok = a < b
    elif op == "<=":
        ok = a <= b
    elif op == ">":
        ok = a > b
    elif op == ">=":
        ok = a >= b
    elif op == "in":
        ok = a in b
    elif op == "not in":
        ok = a not in b
    elif op == "is":
        ok = a is b
    else:
        ok = a is not b
    if not ok:
        text = "%r %s %r" % (a, op, b)
        if msg is not None:
            text += ": %s" % (msg,)
        raise AssertionError(text)


def approx(a, b, tol):
    return abs(a - b) <= tol


def alloc_per_call(fn, n=100, warm=3):
    """Heap bytes per call of fn() inside MicroPython; None under CPython."""
    if not IS_MICROPYTHON:
        return None
    import gc

    for _ in range(warm):
        fn()
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for _ in range(n):
        pass
    b = gc.mem_alloc()
    for _ in range(n):
        fn()
    c = gc.mem_alloc()
    gc.enable()
    return ((c - b) - (b - a)) / n


def assert_no_alloc(fn, n=100):
    """Inside MicroPython, fail if fn() allocates on the heap; no-op in CPython."""
    per_call = alloc_per_call(fn, n)
    if per_call is not None:
        assert per_call == 0, "allocates %s bytes per call" % per_call
