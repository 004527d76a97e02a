# The loop's garbage-collection hook (App.gc_in_slack): a full collection takes
# longer than a period on an RP2040 (~8 ms measured on the emulated Pico, see
# bench/results/board.json), so it runs with nobody on the table once something
# was allocated; with someone on it only at a calm period (the table still),
# where its timed pause fits the period's slack or free heap is below the
# reserve.  While the table may move the hook does not even look at the heap
# (gc.mem_alloc() / gc.mem_free() walk the whole heap, ~8 ms on an RP2040).

from inversa.app import (
    GC_CALM_HOLD_OFFERS,
    GC_IDLE_BYTES,
    GC_PAUSE_MARGIN_US,
    GC_PAUSE_UNKNOWN_US,
    GC_RESERVE_BYTES,
    STILL_PERIODS,
)
from inversa.app import App as RealApp
from inversa.control import states as S

NOBODY = (S.IDLE, S.DONE, S.SELFTEST)
# states in which the table does not move whatever the motor's last command
CALM = (S.BASELINE, S.READY, S.FAULT, S.ESTOP)


class FakeClock:
    def __init__(self):
        self.us = 1000

    def ticks_us(self):
        return self.us


class FakeGC:
    def __init__(self, clock, pause_us=11000):
        self.alloc = 50000
        self.free = 100000
        self.collections = 0
        self.clock = clock
        self.pause_us = pause_us

        self.walks = 0  # heap walks: mem_alloc / mem_free

    def mem_alloc(self):
        self.walks += 1
        return self.alloc

    def mem_free(self):
        self.walks += 1
        return self.free

    def collect(self):
        self.collections += 1
        self.alloc = 40000
        self.clock.us += self.pause_us


class Ctrl:
    state = S.IDLE


class App:
    # the real methods on a stand-in App (only what they read)
    gc_in_slack = RealApp.gc_in_slack
    collect_timed = RealApp.collect_timed
    _calm = RealApp._calm

    def __init__(self, state=S.IDLE, manual=False, still=0):
        self.ctrl = Ctrl()
        self.ctrl.state = state
        self.clock = FakeClock()
        self.gc_runs = 0
        self.gc_in_session = 0
        self._gc_base = 0
        self.gc_pause_max_us = GC_PAUSE_UNKNOWN_US
        self._gc_timed = False
        self._manual = manual
        self._still = still
        self._gc_hold = 0


def slack_gc(app, g):
    # App.gc_in_slack with the gc module and the collection replaced (the
    # methods read `gc` and `gc_collect` through the app module's globals).
    import inversa.app as A

    app._gc_base = g.mem_alloc()

    def hook(slack_us=0):
        real = A.gc, A.gc_collect, A.order_modules
        A.gc = g
        A.gc_collect = g.collect
        A.order_modules = lambda: None
        try:
            app.gc_in_slack(slack_us)
        finally:
            A.gc, A.gc_collect, A.order_modules = real

    return hook


def test_nothing_allocated_nothing_collected():
    app = App()
    g = FakeGC(app.clock)
    hook = slack_gc(app, g)
    for _ in range(10):
        hook()
    assert g.collections == 0
    g.alloc += GC_IDLE_BYTES - 1
    hook(100000)
    assert g.collections == 0


def test_collects_when_idle_and_something_was_allocated():
    for st in NOBODY:
        app = App(st)
        g = FakeGC(app.clock)
        hook = slack_gc(app, g)
        g.alloc += GC_IDLE_BYTES
        hook()
        assert g.collections == 1, st
        assert app.gc_runs == 1 and app.gc_in_session == 0
        hook()  # the base moved: nothing new
        assert g.collections == 1


def test_every_collection_is_timed_and_the_longest_pause_kept():
    app = App(S.IDLE)
    assert app.gc_pause_max_us == GC_PAUSE_UNKNOWN_US  # none timed yet: fits no slack
    g = FakeGC(app.clock, pause_us=9000)
    hook = slack_gc(app, g)
    g.alloc += GC_IDLE_BYTES
    hook()
    assert app.gc_pause_max_us == 9000, app.gc_pause_max_us
    g.pause_us = 12000
    g.alloc += GC_IDLE_BYTES
    hook()
    assert app.gc_pause_max_us == 12000
    g.pause_us = 5000
    g.alloc += GC_IDLE_BYTES
    hook()
    assert app.gc_pause_max_us == 12000  # the longest, not the last


def _timed(state, pause_us, manual=False, still=0):
    # an app whose collections were timed at pause_us (one at idle)
    app = App(S.IDLE, manual, still)
    g = FakeGC(app.clock, pause_us)
    hook = slack_gc(app, g)
    g.alloc += GC_IDLE_BYTES
    hook()
    assert app.gc_pause_max_us == pause_us
    app.ctrl.state = state
    g.collections = 0
    return app, g, hook


def test_someone_on_the_table_collects_only_where_the_timed_pause_fits_the_slack():
    on_table = [s for s in range(S.N_STATES) if s not in NOBODY]
    assert len(on_table) == S.N_STATES - 3
    for st in on_table:
        app, g, hook = _timed(st, 3000, False, STILL_PERIODS)  # the table still
        g.alloc += 30000
        hook(3000 + GC_PAUSE_MARGIN_US - 1)
        assert g.collections == 0, st
        for _ in range(GC_CALM_HOLD_OFFERS):  # no walk for a while after one
            hook(3000 + GC_PAUSE_MARGIN_US)
        assert g.collections == 0, st
        hook(3000 + GC_PAUSE_MARGIN_US)
        assert g.collections == 1, st
        assert app.gc_in_session == 1
    # never timed: no slack is long enough
    app = App(S.HOLD)
    g = FakeGC(app.clock)
    hook = slack_gc(app, g)
    g.alloc += 30000
    hook(40000)
    assert g.collections == 0


def test_low_heap_with_someone_on_the_table_collects_only_at_a_calm_period():
    pause = 11000
    slack = 4000  # the pause does not fit
    moving = (S.DESCENT, S.HOLD, S.RETURN, S.REST, S.RISE, S.OPEN_LOOP)
    assert len(moving) + len(CALM) + len(NOBODY) == S.N_STATES
    for st in moving:
        # a motorized table whose motor was commanded lately, and a manual
        # table (its person moves it): never below the reserve ...
        for manual, still in ((False, STILL_PERIODS - 1), (True, STILL_PERIODS)):
            _app, g, hook = _timed(st, pause, manual, still)
            g.alloc += 30000
            g.walks = 0
            for free in (GC_RESERVE_BYTES - 1, 100):
                g.free = free
                hook(100000)  # whatever the slack
            # ... and not even a walk of the heap (~8 ms on an RP2040): below
            # any floor, MicroPython collects by itself when an allocation
            # finds no room (found by the iopath review: the walks every
            # 0.5 s of a descent lost a period)
            assert g.collections == 0 and g.walks == 0, (st, manual, g.walks)
        # the motorized table still (no command for STILL_PERIODS, brake on)
        _app, g, hook = _timed(st, pause, False, STILL_PERIODS)
        g.alloc += 30000
        g.free = GC_RESERVE_BYTES
        hook(slack)
        assert g.collections == 0, st
        g.free = GC_RESERVE_BYTES - 1
        for _ in range(GC_CALM_HOLD_OFFERS + 1):  # the next walk, after the hold
            hook(slack)
        assert g.collections == 1, st
    for st in CALM:
        _app, g, hook = _timed(st, pause, True, 0)
        g.alloc += 30000
        g.free = GC_RESERVE_BYTES
        hook(slack)
        assert g.collections == 0, st
        g.free = GC_RESERVE_BYTES - 1
        for _ in range(GC_CALM_HOLD_OFFERS + 1):  # the next walk, after the hold
            hook(slack)
        assert g.collections == 1, st


def test_shed_modules_forgets_a_module_and_its_package_attribute():
    # run() drops the boot-only modules before the loop (issue 10: their
    # code is then collected).  Shed one and put it back: nothing else in
    # this process sees it gone.
    import sys

    import inversa
    import inversa.events as mod
    from inversa.gcorder import shed_modules
    from inversa.settle import BOOT_ONLY_MODULES

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


def test_the_loaded_modules_are_chained_rest_first_in_each_tuple():
    # inversa.gcorder: the collector pushes a tuple's items in order and takes
    # the last pushed first, so each tuple is (rest, m1, .., m5): its modules
    # are marked with at most the rest of the chain and four modules waiting
    # (a (module, rest) chain measured 20.0 ms on the emulated Pico, the
    # (rest, module) one 10.8 ms; five to a tuple, 32 bytes, still one pass).
    import sys

    from inversa import gcorder

    gcorder.order_modules()
    chained = []
    c = gcorder._chain
    while c is not None:
        assert 2 <= len(c) <= 6
        chained.extend(c[1:])
        c = c[0]
    loaded = [sys.modules[k] for k in sys.modules]
    assert len(chained) == len(loaded)
    for m in loaded:
        assert any(m is x for x in chained), m
    # rebuilt when a module is dropped, so the chain does not keep it alive
    import inversa.reasons as mod

    try:
        del sys.modules["inversa.reasons"]
        gcorder.order_modules()
        c = gcorder._chain
        while c is not None:
            assert all(m is not mod for m in c[1:])
            c = c[0]
    finally:
        sys.modules["inversa.reasons"] = mod
        gcorder.order_modules()


def test_drop_boot_methods_leaves_built_objects_and_kept_modules_alone():
    # settle_heap sets the __init__ (and settle.BOOT_METHODS) of the firmware's
    # classes loaded by then to None (their code is then collected: ~7 KB on
    # the emulated Pico): an object built before keeps working, building one
    # raises at once,
    # the classes of settle.BUILT_IN_LOOP's modules (a Profile from the link)
    # and anything outside the package keep theirs.
    from inversa.settle import BUILT_IN_LOOP, drop_boot_methods

    def init(self, x=1):
        self.x = x

    def twice(self):
        return 2 * self.x

    class Mod:
        def __init__(self, c, f):
            self.C = c
            self.load_record = f  # a module function only the boot calls

    def mod_with(name):
        d = {"__module__": name, "__init__": init, "twice": twice, "restore": twice}
        return Mod(type("C", (), d), twice)

    names = ("inversa.zz_built_once", BUILT_IN_LOOP[0], "zz_not_firmware")
    mods = {n: mod_with(n) for n in names}
    built = mods[names[0]].C(3)
    assert drop_boot_methods(modules=mods) == 2  # __init__ and restore
    assert twice(built) == 6
    assert mods[names[0]].C.__dict__.get("restore") is None
    assert mods[names[0]].load_record is None
    assert mods[names[2]].load_record is twice
    try:
        mods[names[0]].C(3)
        raise AssertionError("a dropped __init__ still built an object")
    except TypeError:
        pass
    assert twice(mods[names[1]].C(4)) == 8  # kept
    assert twice(mods[names[2]].C(5)) == 10  # not the firmware's


def test_drop_boot_methods_drops_the_boot_s_own_helpers():
    # settle_heap's helpers (app.py's settle_heap and _shed_boot; gcorder.py's
    # shed_modules) and crc.py's table builder are dropped too, and the list
    # is read once, so dropping app.py's own entries midway is harmless.
    from inversa.settle import drop_boot_methods

    class Mod:
        pass

    app = Mod()
    app.settle_heap = len
    app._shed_boot = len
    gco = Mod()
    gco.shed_modules = len
    gco.collect = len
    crc = Mod()
    crc._make_table = len
    crc.crc16 = len
    mods = {"inversa.app": app, "inversa.gcorder": gco, "inversa.crc": crc}
    drop_boot_methods(keep=(), modules=mods)
    assert app.settle_heap is None and app._shed_boot is None
    assert gco.shed_modules is None and gco.collect is len
    assert crc._make_table is None and crc.crc16 is len


def test_settle_heap_sheds_its_own_tables_with_its_module():
    # The boot's lists (settle.BOOT_METHODS...) are strings in a module's
    # constant table, which lives as long as any code of that module: they
    # sit in inversa.settle, which settle_heap sheds with the boot-only
    # modules, not in app.py, which the loop keeps (issue 10 item 4).
    import inversa.app as app
    import inversa.settle as settle

    assert "inversa.settle" in settle.BOOT_ONLY_MODULES
    for name in dir(settle):
        if name[:2] != "__":
            assert not hasattr(app, name), name


def test_someone_on_the_table_the_heap_is_walked_at_most_once_per_hold():
    # A walk (gc.mem_alloc / mem_free: ~8 ms each on an RP2040) stretches its
    # period; with someone on the table and nothing to collect it comes at
    # most once every GC_CALM_HOLD_OFFERS + 1 offers (bench, emulated Pico:
    # before, a 21 ms gap between feeds every 0.5 s of BASELINE).
    for st in (S.BASELINE, S.READY, S.FAULT, S.ESTOP):
        app, g, hook = _timed(st, 11000, True, 0)
        g.alloc += 30000  # garbage the slack cannot collect, free heap plenty
        g.walks = 0
        offers = 3 * (GC_CALM_HOLD_OFFERS + 1)
        for _ in range(offers):
            hook(4000)
        assert g.collections == 0, st
        assert g.walks <= 2 * 3, (st, g.walks)  # mem_alloc + mem_free, 3 times
    # with nobody on the table nothing changes: a walk at every offer
    app = App(S.IDLE)
    g = FakeGC(app.clock)
    hook = slack_gc(app, g)
    g.walks = 0
    for _ in range(5):
        hook()
    assert g.walks == 5
