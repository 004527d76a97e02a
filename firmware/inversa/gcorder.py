# A full garbage collection in a fixed marking order (issue 10: the pause).
#
# MicroPython marks depth first with a stack of 64 blocks
# (MICROPY_ALLOC_GC_STACK_SIZE).  When that stack is full it marks the child
# without pushing it, and after the mark it rescans the WHOLE heap for marked
# blocks and traces each again: one overflow costs a second full pass over
# every live word.  The roots are traced in a fixed order: first the globals
# of the module whose code called gc.collect(), then the loaded modules
# (sys.modules), whose table pushes every loaded module at once, ~45 of them,
# so the first module's tree is traced with ~45 blocks already waiting and
# the stack overflowed.  Measured on the emulated Pico (stock MicroPython
# 1.29, the firmware as deployed, the app built): a full collection took
# 19.8 ms from the REPL and 20.4 ms from the app's module; with the modules
# taken from a chain in the caller's globals, 10.8 ms.  (A change that adds
# a few pushes on the deepest path, e.g. a few more array attributes on the
# heart-rate estimator, tips it over: 11.6 -> 22.2 ms on a branch.)
#
# So this module's globals hold the loaded modules as a chain of tuples
# (rest, m1, .., m5): marking one pushes the rest, then its modules, and
# takes the modules first, with at most the rest and four modules waiting;
# by the time sys.modules' turn comes, every module is marked and nothing is
# pushed.  Five to a tuple (32 bytes, two GC blocks) instead of one to a
# pair (16 bytes each): -336 B of live heap; measured on the emulated Pico
# (tests/board/test_rp2_gc.py), the loop's collection 7,331 us with pairs,
# 7,298 with five and with thirteen to a tuple: still one pass.
# This module's globals hold nothing else of size.  (shed_modules, the
# boot's, lives here because both app and app_build load this module.)
#
# Usage (the loop's collections: inversa.app.App.gc_in_slack):
#     from inversa.gcorder import collect, order_modules
#     order_modules()      # after the set of loaded modules changed (allocates)
#     collect()            # gc.collect(), this module's globals first

import gc
import sys

_chain = None  # (rest, module) pairs over sys.modules
_modules = -1  # how many modules the chain was built from


def order_modules():
    """Chain the loaded modules (32 bytes per five), unless the chain
    already has as many as are loaded.  Call it where allocating is fine:
    after a module was loaded or dropped, before a collection."""
    global _chain, _modules
    mods = sys.modules
    if len(mods) == _modules:
        return
    _chain = None  # a dropped module must not stay alive through the chain
    c = None
    t = ()
    for name in mods:
        t += (mods[name],)
        if len(t) == 5:
            c = (c,) + t
            t = ()
    if t:
        c = (c,) + t
    _chain = c
    _modules = len(mods)


def collect():
    """gc.collect() with this module's globals as the first root."""
    gc.collect()


def shed_modules(names):
    """Forget the named modules (sys.modules and their package's attribute)
    so the next collection frees their code unless something still uses it.
    Board only: in CPython a re-import would make new classes.  Returns how
    many were loaded.  Boot only (app.settle_heap, app_build.build_app), so
    app.settle_heap drops it (settle.BOOT_METHODS)."""
    n = 0
    for name in names:
        if name not in sys.modules:
            continue
        del sys.modules[name]
        n += 1
        pkg, _, leaf = name.rpartition(".")
        parent = sys.modules.get(pkg)
        if parent is not None:
            try:
                delattr(parent, leaf)
            except (AttributeError, TypeError):
                pass
    return n
