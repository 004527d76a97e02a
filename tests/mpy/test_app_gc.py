# The loop's garbage-collection hook (App.gc_in_slack): a full collection takes
# longer than a period on an RP2040 (measured on the emulated Pico, see
# bench/results/board.json), so it runs only with nobody on the table once
# something was allocated, or in a session when free heap runs low.

from inversa.app import GC_IDLE_BYTES, GC_RESERVE_BYTES
from inversa.app import App as RealApp
from inversa.control import states as S


class FakeGC:
    def __init__(self):
        self.alloc = 50000
        self.free = 100000
        self.collections = 0

    def mem_alloc(self):
        return self.alloc

    def mem_free(self):
        return self.free

    def collect(self):
        self.collections += 1
        self.alloc = 40000


class Ctrl:
    state = S.IDLE


class App:
    def __init__(self):
        self.ctrl = Ctrl()
        self.gc_runs = 0
        self._gc_base = 0


def slack_gc(app, g):
    # App.gc_in_slack with the gc module replaced (the method reads `gc`
    # through the app module's globals).
    import inversa.app as A

    app._gc_base = g.mem_alloc()

    def hook():
        real = A.gc
        A.gc = g
        try:
            RealApp.gc_in_slack(app)
        finally:
            A.gc = real

    return hook


def test_nothing_allocated_nothing_collected():
    app = App()
    g = FakeGC()
    hook = slack_gc(app, g)
    for _ in range(10):
        hook()
    assert g.collections == 0
    g.alloc += GC_IDLE_BYTES - 1
    hook()
    assert g.collections == 0


def test_collects_when_idle_and_something_was_allocated():
    for st in (S.IDLE, S.DONE, S.SELFTEST):
        app = App()
        app.ctrl.state = st
        g = FakeGC()
        hook = slack_gc(app, g)
        g.alloc += GC_IDLE_BYTES
        hook()
        assert g.collections == 1, st
        assert app.gc_runs == 1
        hook()  # the base moved: nothing new
        assert g.collections == 1


def test_never_collects_with_a_person_on_the_table_unless_heap_runs_low():
    on_table = [s for s in range(S.N_STATES) if s not in (S.IDLE, S.DONE, S.SELFTEST)]
    assert len(on_table) == S.N_STATES - 3
    for st in on_table:
        app = App()
        app.ctrl.state = st
        g = FakeGC()
        hook = slack_gc(app, g)
        g.alloc += 30000
        hook()
        assert g.collections == 0, st
        g.free = GC_RESERVE_BYTES - 1
        hook()
        assert g.collections == 1, st


def test_shed_modules_forgets_a_module_and_its_package_attribute():
    # run() drops the boot-only modules before the loop (issue 10: their
    # code is then collected).  Shed one and put it back: nothing else in
    # this process sees it gone.
    import sys

    import inversa
    import inversa.events as mod
    from inversa.app import BOOT_ONLY_MODULES, shed_modules

    try:
        assert shed_modules(("inversa.events", "inversa.no_such_module")) == 1
        assert "inversa.events" not in sys.modules
        assert not hasattr(inversa, "events"), "the package still holds the module"
    finally:
        sys.modules["inversa.events"] = mod
        inversa.events = mod  # type: ignore[attr-defined]
    # The loop's own modules are never on the list.
    for name in ("inversa.app", "inversa.control.controller", "inversa.sense.frontend"):
        assert name not in BOOT_ONLY_MODULES, name
