# The application: board, sensing, link and control wired into one step, the
# same on the board, in the simulator (CPython) and in the MicroPython VM.
#
# One period (10 ms), in this order, allocating nothing:
#   1. sensors: read the IMU and drain the heart-rate FIFO, run the estimators
#   2. local inputs: e-stop, hold-to-run buttons, start/stop, limit switches
#   3. link, receive: answer the host's commands, keep the host lease
#      (before the controller, so a refused/accepted command acts this period)
#   4. controller: the session state machine and the motor command
#   5. actuators: motor driver, fail-safe brake, buzzer, LED
#   6. link, transmit: handshake, events, telemetry, heartbeat (after the
#      step, so a telemetry frame is one period's snapshot)
#   7. the step checks itself; only then may the watchdog be fed
#
# This module is that period (App) and the board's loop (run).  Building the
# App from a board is inversa.app_build, everything before the loop
# inversa.app_boot; on the board, run() drops both (and the board tables)
# once the App is built (settle.BOOT_ONLY_MODULES), so they cost no heap while a
# person is on the table.
#
# Usage (board; main.py does this):
#     from inversa.app import run
#     run()
# Usage (the simulated machine does what run() does, minus the watchdog):
#     from inversa.app_boot import boot
#     app = boot(machine, clock, open_port, "/flash/board.json", "/flash")
# Usage (simulator / tests):
#     from inversa.app_build import build_app
#     app = build_app(cfg, board, clock, storage_dir="/tmp/x", port=MemoryPort())
#     ok = app.step()                         # one period

import gc

from inversa.compat import const, ticks_diff
from inversa.control.io import ControlInputs, ControlOutputs
from inversa.control.session_record import save_record
from inversa.gcorder import collect as gc_collect
from inversa.gcorder import order_modules
from inversa.storage import MAINTENANCE_FILE, MOTION_FILE, file_path

CONTROL_PERIOD_US = 10000
# App.gc_in_slack: collect once this much was allocated, with nobody on the
# table; with someone on it only at a calm period (the table still, as for a
# flash write), where the measured pause fits the period's slack or free
# heap is below the reserve.
GC_IDLE_BYTES = 1024
GC_RESERVE_BYTES = 24 * 1024
GC_PAUSE_MARGIN_US = 1000  # the slack must exceed the longest pause by this
GC_PAUSE_UNKNOWN_US = 50000  # before any collection was timed: fits no slack
# With someone on the table, after a heap walk that collected nothing, the
# next this many offers (50 periods each) do not walk: ~10 s between walks.
GC_CALM_HOLD_OFFERS = 19
_SELFTEST = const(0)  # control.states (tests/mpy/test_app_gc.py checks each state)
_IDLE = const(1)
_DONE = const(9)


def _no_lock():
    return 0


# The heap locked around a period's allocation-free parts (App.step), on the
# board only (run() binds MicroPython's heap_lock and heap_unlock here; the
# simulator and the VM run their simulated devices inside those parts).
# MicroPython puts a call's frame bigger than 11 words (arguments, locals and
# working stack) on the heap and frees it on return; with the heap locked it
# falls back to the C stack.  The heap round trip walks the allocation table
# from its first free block: ~26 us more per call than on the stack on an
# RP2040, up to ~800 us once a collection has left small holes low in the
# heap (emulated Pico, 500 calls of an 8-argument function: 25 / 51 / 824
# us; docs/ARCHITECTURE.md "The loop on the RP2040").
_lock = _no_lock
_unlock = _no_lock

MAINTENANCE_FLUSH_PERIODS = 10  # let the acknowledgement leave before the reset


_DAILY_STEP_MS = 30000  # = persist.DAILY_STEP_MS (checked by its test)
_DAY_STEP_MS = 900000  # = persist.DAY_STEP_MS
MAX_DAILY_MS = 1800000  # = limits.MAX_DAILY_MS
# App._persist: a motorized table whose motor has had no command for this
# many periods is still (its brake on), so a flash write may stall a period.
STILL_PERIODS = const(50)
_READY = const(3)  # control.states
_ESTOP = const(11)
_MANUAL = const(1)
_EV_PAUSE = const(9)  # events.EV_PAUSE
# The watchdog (run()): 50 periods, so a hung loop resets the board; a
# flash write's pause gets a longer window (a W25Q16JV 4 KB sector erase
# takes up to 400 ms, its datasheet maximum, and a littlefs write may erase
# more than one sector; the table is still in a pause), then the loop's own.
_WDT_MS = const(500)
_WDT_PAUSE_MS = const(3000)


def _daily_store(daily_ms):
    # persist.daily_to_store, the account capped at the largest allowance
    # (its record accepts at most MAX_DAILY_MS + one step)
    if daily_ms <= 0:
        return 0
    if daily_ms > MAX_DAILY_MS:
        daily_ms = MAX_DAILY_MS
    return (daily_ms // _DAILY_STEP_MS + 1) * _DAILY_STEP_MS


def _day_store(day_ms):
    return day_ms // _DAY_STEP_MS * _DAY_STEP_MS


class ResetRequested(Exception):
    """The loop must end and the board reset (maintenance was asked for)."""


class App:
    def __init__(
        self,
        clock,
        sensors,
        panel,
        ctrl,
        link,
        motor,
        brake,
        buzzer,
        led=None,
        motor_timed=False,
        profile_store=None,
        events=None,
        scheduler=None,
    ):
        self.clock = clock
        self.sensors = sensors
        self.panel = panel
        self.ctrl = ctrl
        self.link = link
        self.motor = motor
        self.brake = brake
        self.buzzer = buzzer
        self.led = led
        self._led_v = -1  # the level last written to led (-1: none yet)
        self.inp = ControlInputs()
        self.out = ControlOutputs()
        # Relay drives need the time for their reversal dead time.
        self._motor_timed = motor_timed
        self.profile_store = profile_store
        self._saved_profile = ctrl.profile
        self._buzz_pattern = -1
        self.events = events
        # Loop timing for telemetry, from the scheduler (None in the simulator).
        self.scheduler = scheduler
        self.steps = 0
        self._record_seq = ctrl.record_seq
        self.gc_runs = 0  # collections gc_in_slack actually ran
        self._gc_base = 0  # heap in use after the last collection (set by run())
        self._gc_hold = 0  # offers left before the next walk (gc_in_slack)
        # the longest collection timed so far (us): run() times the one
        # before the loop, gc_in_slack every one it runs
        self.gc_pause_max_us = GC_PAUSE_UNKNOWN_US
        self._gc_timed = False
        self.gc_in_session = 0  # collections with someone possibly on the table
        self.storage_dir = "/"
        self._reset_in = -1  # periods until a requested reset; -1: none
        self.persist_store = None
        self.persist_errors = 0
        self.retained = None  # the motion record's retained RAM (inversa.retained)
        self._pending = None  # flash writes put off to the scheduler's pause (_write)
        self.wdt_window = None  # fn(ms): the watchdog's timeout from now (run())
        self._flash_seq = ctrl.record_seq  # the record_seq the flash holds
        self._ahead = False  # this session's write-ahead is on the flash
        self._still = 0  # periods with no motor command (STILL_PERIODS)
        self._manual = ctrl.profile.table_type == _MANUAL
        self._p_latched = 0
        self._p_daily = 0
        self._p_day = 0
        self._p_daily_ms = 0  # what the flash charges, ms
        self._p_day_ms = 0
        # STOP held at power-on: ask for maintenance once the controller is
        # idle or done (request_maintenance's gate: nobody inverted in a
        # session), as long as it stays held; dropped when it is released.
        self.stop_at_boot = False

    def attach_persist(self, store):
        """Keep the controller's latches and daily time in store (persist.py)
        from now on; what the controller started with counts as written."""
        from inversa.control.persist import DAILY_STEP_MS, DAY_STEP_MS

        c = self.ctrl
        self._p_latched = c.persist_latched
        self._p_daily = c.daily_used_ms // DAILY_STEP_MS
        self._p_day = c.day_ms // DAY_STEP_MS
        self._p_daily_ms = c.daily_used_ms
        self._p_day_ms = c.day_ms
        self.persist_store = store

    def attach_retained(self, ram, flash_stale=False):
        """Keep the motion record in `ram` (inversa.retained.Retained) at
        every change and on the flash only while the table is calm;
        flash_stale: the controller resumed from `ram`, newer than the
        flash (written at the first calm period out of a session)."""
        self.retained = ram
        if ram is not None:
            ram.save(self.ctrl.record())
        if flash_stale:
            self._flash_seq = -1

    def step(self):
        """One control period; returns the controller's self-check verdict."""
        inp = self.inp
        out = self.out
        t = self.clock.ticks_ms()
        sensors = self.sensors
        link = self.link
        busy = False
        # The sensors, the panel, the controller and the actuators allocate
        # nothing: on the board they run with the heap locked (_lock), so
        # their big call frames stay on the C stack.  An allocation there
        # raises MemoryError: in the sensors' poll it is counted and both
        # estimates reported untrusted (SensorFrontEnd.poll); elsewhere it
        # ends the loop like any fault of the step (the safe outputs, then
        # the watchdog's reset).  The link's receive and the persistence,
        # which may allocate (a new profile, a record), run unlocked.
        _lock()
        try:
            if sensors is not None:
                # (a period whose transmit may send a frame keeps the chip
                # checks off it: LinkEndpoint.busy)
                sensors.poll(link is not None and link.busy(t))
                sensors.fill(inp)
                busy = sensors.hr_polled
            else:  # no sensors at all: the controller must see untrusted data
                inp.tilt_ok = False
                inp.hr_ok = False
            self.panel.update(t, inp)
        finally:
            _unlock()
        if link is not None:
            link.receive(inp, out)
            if self.ctrl.profile is not self._saved_profile:
                self._persist_profile()
        _lock()
        try:
            self.ctrl.step(inp, out)
            # (App's own methods through the class: looked up on the instance
            # they first search its ~46 attributes' nearly full table, ~20 us
            # each on an RP2040; docs/ARCHITECTURE.md "The loop on the RP2040")
            App.actuate(self, t)
        finally:
            _unlock()
        App._persist(self)
        if link is not None:  # after the step: the frame is this period's snapshot
            # (a period that drained the heart-rate FIFO leaves a due
            # telemetry frame or heartbeat to the next one: no period
            # carries both)
            # (the loop timing straight from the scheduler, which changes it
            # only between periods)
            sch = self.scheduler
            if sch is None:
                link.transmit(inp, out, 0, 0, 0, busy)
            else:
                link.transmit(inp, out, sch.work_us, sch.work_max_us, sch.overruns, busy)
        self.steps += 1
        if self.stop_at_boot:
            self._stop_at_boot_step()
        if self._reset_in >= 0:
            if self._reset_in == 0:
                raise ResetRequested()
            self._reset_in -= 1
        return self.ctrl.self_check(out)

    def gc_in_slack(self, slack_us=0):
        """The scheduler's gc hook, offered after a period's work with
        slack_us left before the period's end.  A steady-state period
        allocates nothing, so there is usually nothing to collect.  A full
        collection (~11 ms on an RP2040, longer than a period) runs once
        something was allocated: with nobody on the table (SELFTEST, IDLE,
        DONE); otherwise only at a calm period (no motion to delay: the
        table still, as for a flash write), where the longest timed pause
        fits slack_us (with GC_PAUSE_MARGIN_US to spare) or free heap is
        below the reserve.  While the table may move it does not even look:
        gc.mem_alloc() and gc.mem_free() each walk the whole heap's
        allocation table, ~8 ms on an RP2040, more than a period's slack
        (found by the iopath review, 30 Nov: after the arming's flash write
        left garbage, the two walks every 0.5 s of a descent started the
        next period late, a period lost).  There MicroPython's own
        collection, when an allocation finds no room, is the floor (one late
        period rather than a MemoryError), as the old floor rule was."""
        st = self.ctrl.state
        nobody = st in (_IDLE, _DONE, _SELFTEST)
        if not nobody:
            if not self._calm():
                return
            # Each walk stretches its period by ~8-16 ms: with someone on
            # the table at most one every ~10 s (bench, emulated Pico: a
            # 21 ms gap between feeds every 0.5 s of BASELINE after the
            # arming's write left garbage the slack could not collect).
            if self._gc_hold:
                self._gc_hold -= 1
                return
            self._gc_hold = GC_CALM_HOLD_OFFERS
        if gc.mem_alloc() - self._gc_base < GC_IDLE_BYTES:
            return
        if not nobody:
            if (
                slack_us < self.gc_pause_max_us + GC_PAUSE_MARGIN_US
                and gc.mem_free() >= GC_RESERVE_BYTES
            ):
                return
            self.gc_in_session += 1
        self.collect_timed()
        self.gc_runs += 1

    def collect_timed(self):
        """A full collection (inversa.gcorder: in its fixed marking order),
        timed into gc_pause_max_us; the heap in use after it is the base."""
        order_modules()  # (allocates only when the set of modules changed)
        us = self.clock.ticks_us
        t0 = us()
        gc_collect()
        pause = ticks_diff(us(), t0)
        if not self._gc_timed or pause > self.gc_pause_max_us:
            self.gc_pause_max_us = pause
            self._gc_timed = True
        self._gc_base = gc.mem_alloc()

    def _calm(self):
        """Nothing moves that a stalled period would delay: a state without
        motion (SELFTEST..READY, DONE, FAULT, ESTOP), or a motorized table
        whose motor has had no command for STILL_PERIODS (its brake on)."""
        st = self.ctrl.state
        if st <= _READY or _DONE <= st <= _ESTOP:
            return True
        return not self._manual and self._still >= STILL_PERIODS

    def _stop_at_boot_step(self):
        if not self.inp.stop_pressed:
            self.stop_at_boot = False
        elif self.ctrl.idle_at_loading():
            self.stop_at_boot = False
            self.request_maintenance()

    def request_maintenance(self):
        """The host's maintenance command: only with nobody on the table in a
        session (idle or done, the angle trusted and at the loading position).  Marks the next boot
        for maintenance and resets once the acknowledgement has gone out."""
        from inversa import reasons

        if not self.ctrl.idle_at_loading():
            return reasons.WRONG_STATE
        path = file_path(self.storage_dir, MAINTENANCE_FILE)
        try:
            with open(path, "w") as f:
                f.write("1")
        except OSError:
            # Refused: leave no mark behind (a half-written one would still
            # send the next boot into maintenance).
            import os

            try:
                os.remove(path)
            except OSError:
                pass
            return reasons.STORAGE_ERROR
        self._reset_in = MAINTENANCE_FLUSH_PERIODS
        return reasons.OK

    def _persist_profile(self):
        # A profile the host set and the controller accepted: keep it across
        # reboots (rare, so the allocation of a file write is fine here).
        self._saved_profile = self.ctrl.profile
        # (a failed write keeps the old profile there; no count: nothing read
        # the profile's and the motion record's write and error counts, and
        # four attributes fewer keep the App's table at 47 slots, not 59)
        if self.profile_store is not None:
            self.profile_store.save(self.ctrl.profile)

    def _persist(self):
        # What must survive a reset, after actuate() (the outputs of this
        # period are out).  The motion record goes to the retained RAM at
        # every change (a few words: microseconds, no allocation).  The flash
        # (a write stalls the whole CPU for 5-110 ms, an erase up to 400 ms)
        # is written only while the table is calm (_calm), except a new
        # latch, written at once: its outputs are already safe.  In a session the flash holds what a power cut must
        # assume, written AHEAD before motion: the deepest the session may
        # reach (Controller.ahead_record) and the daily time charged with the
        # planned session (Controller.session_plan_ms); the exact values once
        # the session is over.  docs/SAFETY.md "What survives a reset".
        c = self.ctrl
        seq = c.record_seq
        ram = self.retained
        moved = seq != self._record_seq  # (the record changed this period)
        if moved:
            self._record_seq = seq
            if ram is not None:
                c.record_to(ram)  # (allocation-free: no record() tuple)
            else:  # no retained RAM on this board: the flash, at once (stalls)
                App._write(self, 1, c.record())
                self._flash_seq = seq
        if self.out.motor_cmd_cdps:
            self._still = 0
        elif self._still < STILL_PERIODS:
            self._still += 1
        store = self.persist_store
        lat = c.persist_latched
        sess = c.in_session
        if not sess:
            # (the period a session ends its record still changes, at the
            # loading position: the flash gets it once it held a period)
            moved = moved or self._ahead
            self._ahead = False
        if store is not None and lat != self._p_latched:
            self._p_latched = lat
            if sess:  # never below what the flash already charges
                d = _daily_store(c.daily_used_ms)
                self._save_persist(d if d > self._p_daily_ms else self._p_daily_ms, self._p_day_ms)
            else:
                self._save_exact()
                return  # (one record per period out of a session: below)
        if sess and not self._ahead and self._manual:
            # A manual session begins when the person tilts the table past
            # horizontal, with no calm period before it: the one flash write
            # of the session (its daily time charged ahead) is this period,
            # near horizontal, far from any limit.
            self._write_ahead()
        if not App._calm(self):
            return  # the table may move: no flash write in this period
        if sess:
            if not self._ahead:
                self._write_ahead()
            elif (
                store is not None
                and c.daily_used_ms >= self._p_daily_ms
                and self._p_daily_ms < MAX_DAILY_MS
            ):
                # Inverted longer than charged (a session past its plan):
                # charge the plan again, at the first calm period.
                self._save_persist(
                    _daily_store(c.daily_used_ms + c.session_plan_ms()),
                    self._p_day_ms,
                )
            return
        # One record per period out of a session (at the session's end the
        # old code wrote both in one pause and the motion record again a
        # period later, when it settled at the loading position: 6 + 4
        # flash ops, pauses of 30 and 88 ms on the emulated Pico, a ~100 ms
        # gap between watchdog feeds).  The motion record once it held for
        # a period (the retained RAM holds it meanwhile; the flash's bound
        # written ahead is deeper), the exact daily account at another calm
        # period (the flash's, charged ahead, is no lower).
        if ram is not None and seq != self._flash_seq and not moved:
            self._flash_seq = seq
            App._write(self, 1, c.record())
            return
        if store is not None:
            ds = c.daily_used_ms // _DAILY_STEP_MS
            ws = c.day_ms // _DAY_STEP_MS
            if ds != self._p_daily or ws != self._p_day:
                self._save_exact()

    def _write_ahead(self):
        # A session began and the table is still calm: before any motion,
        # the flash gets what a power cut mid-session must assume.
        c = self.ctrl
        self._ahead = True
        if self.retained is not None and not self._manual:
            # (a manual table has no open loop: the record's depth serves
            # only a motorized return after a reset)
            App._write(self, 1, c.ahead_record())
            self._flash_seq = -1  # a bound, not the record: exact once it is over
        if self.persist_store is not None:
            self._save_persist(
                _daily_store(c.daily_used_ms + c.session_plan_ms()), _day_store(c.day_ms)
            )
            self._p_daily = -1  # the exact account once the session is over

    def _save_exact(self):
        c = self.ctrl
        self._p_daily = c.daily_used_ms // _DAILY_STEP_MS
        self._p_day = c.day_ms // _DAY_STEP_MS
        self._save_persist(_daily_store(c.daily_used_ms), _day_store(c.day_ms))

    def _save_persist(self, daily_ms, day_ms):
        # (rare, so the allocation of a file write is fine here)
        self._p_daily_ms = daily_ms
        self._p_day_ms = day_ms
        App._write(self, 0, (self._p_latched, daily_ms, day_ms))

    def _write(self, kind, data):
        # kind 0: the persist record (latches, daily time), 1: the motion
        # record.  Under the board's scheduler a flash write (it stalls the
        # whole RP2040 for 5-110 ms) goes after this period, as the
        # scheduler's pause (_due): this period's outputs are out, its
        # telemetry and an EV_PAUSE event announcing the pause are sent
        # first, and the next period starts after it.  Nothing can run in
        # between, so the flash holds the same records as written in-period,
        # before the table can move.
        sch = self.scheduler
        if sch is not None:
            if self._pending is None:
                self._pending = []
                sch.pause = self._due
                # (the board's App has its event log: build_app)
                self.events.push(self.clock.ticks_ms(), _EV_PAUSE, kind, self.ctrl.state)  # pyright: ignore[reportOptionalMemberAccess]
            self._pending.append((kind, data))
            return
        if kind:
            # save_record imported with this module: an import here would
            # make the packages (settle_heap sheds them) again
            save_record(file_path(self.storage_dir, MOTION_FILE), data)
            return
        store = self.persist_store
        if store is not None and store.save(data[0], data[1], data[2]):
            self.persist_errors += 1

    def _due(self):
        # The scheduler's pause after a period: the flash writes that period
        # decided, in its order, now (no scheduler to hand them to meanwhile).
        sch = self.scheduler
        self.scheduler = None
        w = self.wdt_window
        if w is not None:
            w(_WDT_PAUSE_MS)
        for kind, data in self._pending:  # pyright: ignore[reportOptionalIterable] (set with pause)
            App._write(self, kind, data)
        self._pending = None
        if w is not None:
            w(_WDT_MS)
        self.scheduler = sch

    def actuate(self, t):
        out = self.out
        m = self.motor
        if m is not None:
            if self._motor_timed:
                m.drive(out.motor_cmd_cdps, out.motor_enable, t)
            else:
                m.drive(out.motor_cmd_cdps, out.motor_enable)
        if self.brake is not None:
            self.brake.set(out.brake_on)
        bz = self.buzzer
        if bz is not None:
            if out.buzzer_pattern != self._buzz_pattern:
                self._buzz_pattern = out.buzzer_pattern
                bz.set_pattern(out.buzzer_pattern, t)
            if bz.pattern or bz.on:  # (silent and off: update() does nothing)
                bz.update(t)
        if self.led is not None:
            # written when it changes (a pin write is ~15-20 us on an RP2040;
            # nothing else writes this pin)
            v = 1 if out.alarm_priority or out.led_pattern else 0
            if v != self._led_v:
                self.led.value(v)
                self._led_v = v

    def safe(self):
        """Outputs to their safe state (motor off, brake on) whatever happens."""
        try:
            if self.motor is not None:
                self.motor.stop(self.clock.ticks_ms()) if self._motor_timed else self.motor.stop()
        finally:
            if self.brake is not None:
                self.brake.engage()


def settle_heap():
    """Before the loop: drop the boot-only modules and the boot-only
    methods (inversa.settle, itself boot-only) and collect.  Call it from
    a frame that never held the boot code (run() builds in _boot_app): a
    stale pointer to it in the caller's frame would keep ~10 KB of dropped
    code alive until the loop's first collection (the collector is
    conservative; bench/bench_board.py measures both).  Board only (see
    gcorder.shed_modules)."""
    _shed_boot()
    order_modules()
    gc_collect()


def _shed_boot():
    # in a frame of its own (like _boot_app): a stale slot of settle_heap's
    # value stack would keep inversa.settle (its tables) alive
    from inversa.settle import settle

    settle()


def _open_board_port(cfg, board, clock):  # pragma: no cover - board only
    if cfg.link == "uart":
        from inversa.link.port import UartPort

        if board.uart is None:
            from inversa.error_text import text

            raise OSError(text(39))
        return UartPort(board.uart)
    from inversa.link.usb_port import UsbCdcPort

    return UsbCdcPort.open(clock)


def _boot_app(machine, clock, config_path, storage_dir):  # pragma: no cover - board only
    # boot() from a frame of its own: once it returns, nothing in run()'s
    # frame (a stale slot of its value stack) points at the boot code, so
    # settle_heap's collection frees it at once (the collector is
    # conservative; measured on the emulated Pico: ~10 KB otherwise held
    # until the loop's first collection).
    from inversa.app_boot import boot

    return boot(
        machine,
        clock,
        lambda cfg, board: _open_board_port(cfg, board, clock),
        config_path,
        storage_dir,
        shed=True,
    )


def run(config_path="/board.json", storage_dir="/"):  # pragma: no cover - board only
    """Boot on the board: config, hardware, app, then the fixed-rate loop."""
    app = _start(config_path, storage_dir)
    if app is None:
        return
    import machine

    try:
        app.scheduler.run()  # pyright: ignore[reportOptionalMemberAccess] (_start set it)
    except ResetRequested:
        app.safe()
        machine.reset()  # boots into maintenance (the mark is on the flash)
    finally:
        app.safe()


def _start(config_path, storage_dir):  # pragma: no cover - board only
    # run()'s boot, in a function of its own that settle_heap drops
    # (settle.BOOT_METHODS): run()'s code stays alive as long as the loop
    # runs, so it holds only the loop's few lines (issue 10 item 4).
    import micropython

    micropython.kbd_intr(-1)  # first: a Ctrl-C (or 0x03 on the link) must not stop a boot
    import time

    import machine

    from inversa.control.scheduler import Scheduler

    # The clock is the time module itself: the firmware reads ticks_ms and
    # ticks_us of a clock, and board/system_clock.SystemClock's were these
    # C functions; no module or object of its own on the heap (-240 B on
    # the emulated Pico; the probes build with it too).
    clock = time
    global _lock, _unlock
    _lock = micropython.heap_lock
    _unlock = micropython.heap_unlock
    app = _boot_app(machine, clock, config_path, storage_dir)
    if app is None:
        from inversa.error_text import text

        # made before Ctrl-C works again: mpremote sends it over and over
        # while it waits for the REPL, and the import takes a while
        msg = text(58)
        micropython.kbd_intr(3)  # the REPL
        print(msg)
        return None
    # Collect the boot's garbage before the loop: left in place, it makes
    # every later allocation search a nearly full heap (measured on the
    # emulated Pico: ~4 ms more per period until the first collection).
    settle_heap()
    app.collect_timed()  # the pause gc_in_slack weighs against a period's slack
    # The heart-rate chip filled its FIFO while the board booted (32 samples,
    # then lost ones): drained in the loop's first period, that period took
    # 11.7 ms on the emulated Pico.  Samples from before the loop are of no use.
    clear_ppg = getattr(getattr(app.sensors, "ppg", None), "clear_fifo", None)
    if clear_ppg is not None:
        try:
            clear_ppg()
        except OSError:
            pass  # a chip gone: the front end's first read finds it so
    wdt = machine.WDT(timeout=_WDT_MS)

    def wdt_window(ms):
        # a new WDT restarts the one watchdog with this timeout (rp2 and
        # esp32 ports of MicroPython 1.29; tests/board/test_rp2_flash_max.py)
        machine.WDT(timeout=ms)

    app.wdt_window = wdt_window  # pyright: ignore[reportAttributeAccessIssue] (None until run())
    sch = Scheduler(clock, CONTROL_PERIOD_US, app.step, wdt, time.sleep_us, app.gc_in_slack)
    app.scheduler = sch
    return app
