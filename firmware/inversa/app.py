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
# Usage (board; main.py does this):
#     from inversa.app import run
#     run()
# Usage (the simulated machine does what run() does, minus the watchdog):
#     app = boot(machine, clock, open_port, "/flash/board.json", "/flash")
# Usage (simulator / tests; build_app is inversa.app_build's, importable here):
#     app = build_app(cfg, board, clock, storage_dir="/tmp/x", port=MemoryPort())
#     ok = app.step()                         # one period

import gc

from inversa.app_build import build_actuators as build_actuators
from inversa.app_build import build_app as build_app
from inversa.app_build import build_panel as build_panel
from inversa.app_build import build_sensors as build_sensors
from inversa.compat import const
from inversa.control.io import ControlInputs, ControlOutputs
from inversa.storage import CALIBRATION_FILE as CALIBRATION_FILE
from inversa.storage import MAINTENANCE_FILE as MAINTENANCE_FILE
from inversa.storage import MOTION_FILE as MOTION_FILE
from inversa.storage import PERSIST_FILE as PERSIST_FILE
from inversa.storage import PROFILE_FILE as PROFILE_FILE
from inversa.storage import file_path

CONTROL_PERIOD_US = 10000
# App.gc_in_slack: collect once this much was allocated (nobody on the
# table), or whatever the state when free heap falls below the reserve.
GC_IDLE_BYTES = 1024
GC_RESERVE_BYTES = 24 * 1024
_SELFTEST = const(0)  # control.states (tests/mpy/test_app_gc.py checks each state)
_IDLE = const(1)
_DONE = const(9)

# The files kept on the flash (PROFILE_FILE, MAINTENANCE_FILE, ...) are named
# in inversa.storage; imported here, they stay importable from this module.
MAINTENANCE_FLUSH_PERIODS = 10  # let the acknowledgement leave before the reset


_DAILY_STEP_MS = 30000  # = persist.DAILY_STEP_MS (checked by its test)
_DAY_STEP_MS = 900000  # = persist.DAY_STEP_MS


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
        self.loop_us = 0
        self.loop_max_us = 0
        self.overruns = 0
        self.steps = 0
        self.profile_save_errors = 0
        self.record_save_errors = 0
        self._record_seq = ctrl.record_seq
        self.gc_runs = 0  # collections gc_in_slack actually ran
        self._gc_base = 0  # heap in use after the last collection (set by run())
        self.storage_dir = "/"
        self._reset_in = -1  # periods until a requested reset; -1: none
        self.persist_store = None
        self.persist_errors = 0
        self._p_latched = 0
        self._p_daily = 0
        self._p_day = 0
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
        self.persist_store = store

    def step(self):
        """One control period; returns the controller's self-check verdict."""
        inp = self.inp
        out = self.out
        t = self.clock.ticks_ms()
        if self.sensors is not None:
            self.sensors.poll()
            self.sensors.fill(inp)
        else:  # no sensors at all: the controller must see untrusted data
            inp.tilt_ok = False
            inp.hr_ok = False
        self.panel.update(t, inp)
        sch = self.scheduler
        if sch is not None:
            self.loop_us = sch.work_us
            self.loop_max_us = sch.work_max_us
            self.overruns = sch.overruns
        link = self.link
        if link is not None:
            link.receive(inp, out)
            if self.ctrl.profile is not self._saved_profile:
                self._persist_profile()
        self.ctrl.step(inp, out)
        self.actuate(t)
        self._persist_state()
        if self.ctrl.record_seq != self._record_seq:
            self._persist_record()
        if link is not None:  # after the step: the frame is this period's snapshot
            link.transmit(inp, out, self.loop_us, self.loop_max_us, self.overruns)
        self.steps += 1
        if self.stop_at_boot:
            self._stop_at_boot_step()
        if self._reset_in >= 0:
            if self._reset_in == 0:
                raise ResetRequested()
            self._reset_in -= 1
        return self.ctrl.self_check(out)

    def gc_in_slack(self):
        """The scheduler's gc hook, offered in the slack after a period.  A
        steady-state period allocates nothing, so there is usually nothing to
        collect; a full collection takes longer than a period on an RP2040, so
        it runs only with nobody on the table (SELFTEST, IDLE, DONE) once
        something was allocated, or in a session when free heap runs low
        (better one late period than a MemoryError)."""
        if gc.mem_alloc() - self._gc_base < GC_IDLE_BYTES:
            return
        st = self.ctrl.state
        if st == _IDLE or st == _DONE or st == _SELFTEST or gc.mem_free() < GC_RESERVE_BYTES:  # noqa: SIM109
            gc.collect()
            self.gc_runs += 1
            self._gc_base = gc.mem_alloc()

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
        if self.profile_store is not None and self.profile_store.save(self.ctrl.profile):
            self.profile_save_errors += 1

    def _persist_state(self):
        # Written only when something that must survive a reset changed (a
        # latch, a new step of daily time, of the day's window): rare, so the
        # allocation of a file write is fine here; otherwise three compares.
        c = self.ctrl
        store = self.persist_store
        if store is None:
            return
        lat = c.persist_latched
        ds = c.daily_used_ms // _DAILY_STEP_MS
        ws = c.day_ms // _DAY_STEP_MS
        if lat != self._p_latched or ds != self._p_daily or ws != self._p_day:
            from inversa.control.persist import daily_to_store, day_to_store

            self._p_latched = lat
            self._p_daily = ds
            self._p_day = ws
            code = store.save(lat, daily_to_store(c.daily_used_ms), day_to_store(c.day_ms))
            if code:
                self.persist_errors += 1

    def _persist_record(self):
        # The depth/gain record changed (2 deg steps; rare, so the
        # allocation of a file write is fine here).
        from inversa.control.session_record import save_record

        self._record_seq = self.ctrl.record_seq
        if not save_record(file_path(self.storage_dir, MOTION_FILE), self.ctrl.record()):
            self.record_save_errors += 1

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
            bz.update(t)
        if self.led is not None:
            self.led.value(1 if out.alarm_priority or out.led_pattern else 0)

    def safe(self):
        """Outputs to their safe state (motor off, brake on) whatever happens."""
        try:
            if self.motor is not None:
                self.motor.stop(self.clock.ticks_ms()) if self._motor_timed else self.motor.stop()
        finally:
            if self.brake is not None:
                self.brake.engage()


def maintenance_requested(storage_dir):
    """At boot: start in maintenance?  Yes if the host's command (or STOP held
    at power-on with the table idle, App.step) asked for it before the last
    reset; the mark is used once.  STOP held at power-on alone is not enough:
    a reset while a person hangs inverted with STOP stuck (or pressed) must
    still run the loop and bring them up."""
    import os

    path = file_path(storage_dir, MAINTENANCE_FILE)
    try:
        os.remove(path)
        return True
    except OSError:
        pass
    return False


def boot(
    machine,
    clock,
    open_port,
    config_path="/board.json",
    storage_dir="/",
    sleep_us=None,
    log=print,
):
    """Everything before the loop, on the board (run) and on the simulated
    machine (inversa_world.session): config, board (outputs safe first),
    maintenance check, sensors, link, app.  Returns the App, or None for
    maintenance.  Nothing that the table's hardware or storage can do makes it
    raise: an absent sensor, a stuck or missing bus, an unreadable profile or
    calibration, a link that does not open all become faults the running loop
    reports and reacts to.  `open_port(cfg, board)` returns the link's port;
    `log(text)` gets what is reported (print on the board).
    Only a board config that cannot be read, with no earlier good copy,
    raises (ValueError saying what to fix): the pins are then unknown."""
    from inversa.board.build import build_board, scan_i2c
    from inversa.board.config import check_fitted

    cfg = load_board_config(config_path, log)
    board = build_board(cfg, machine)  # outputs are created safe first
    try:
        stop_held = board.btn_stop.value() == board.active_level["btn_stop"]
    except Exception:
        stop_held = False
    if maintenance_requested(storage_dir):
        return None
    try:
        check_fitted(cfg, scan_i2c(board))
    except ValueError as e:  # reported; the loop runs with the sensor's fault
        log("inversa: %s" % e)
    port = None
    try:
        port = open_port(cfg, board)
    except Exception as e:  # no link: the table runs on its local controls
        log("inversa: link: %s" % e)
    try:
        reset_cause = machine.reset_cause()
    except Exception:
        reset_cause = 0
    try:
        uid = machine.unique_id()
    except Exception:
        uid = b""
    app = build_app(
        cfg,
        board,
        clock,
        storage_dir,
        port,
        reset_cause=reset_cause,
        uid=uid,
        sleep_us=sleep_us,
        log=log,
    )
    app.stop_at_boot = stop_held  # maintenance, through the idle gate (step)
    return app


LAST_GOOD_SUFFIX = ".good"  # a copy of the last board config that loaded


def load_board_config(path, log=print):
    """The board config at `path`; if it cannot be read or is invalid, the
    last one that loaded (kept beside it); ValueError if neither loads."""
    from inversa.board.config import load_config

    good = path + LAST_GOOD_SUFFIX
    try:
        cfg = load_config(path)
    except Exception as e:
        try:
            cfg = load_config(good)
        except Exception:
            raise ValueError("%s (and no earlier good copy)" % e) from None
        log("inversa: %s: %s; using the last good copy" % (path, e))
        return cfg
    try:  # keep a copy of what loaded, written only when it changed
        with open(path, "rb") as f:
            data = f.read()
        try:
            with open(good, "rb") as f:
                same = f.read() == data
        except OSError:
            same = False
        if not same:
            with open(good, "wb") as f:
                f.write(data)
    except Exception:
        pass
    return cfg


def _open_board_port(cfg, board, clock):  # pragma: no cover - board only
    if cfg.link == "uart":
        from inversa.link.port import UartPort

        if board.uart is None:
            raise OSError("the UART could not be created")
        return UartPort(board.uart)
    from inversa.link.port import UsbCdcPort

    return UsbCdcPort.open(clock)


def run(config_path="/board.json", storage_dir="/"):  # pragma: no cover - board only
    """Boot on the board: config, hardware, app, then the fixed-rate loop."""
    import micropython

    micropython.kbd_intr(-1)  # first: a Ctrl-C (or 0x03 on the link) must not stop a boot
    import time

    import machine

    from inversa.board.clock import SystemClock
    from inversa.control.scheduler import Scheduler

    clock = SystemClock()
    app = boot(
        machine,
        clock,
        lambda cfg, board: _open_board_port(cfg, board, clock),
        config_path,
        storage_dir,
    )
    if app is None:
        micropython.kbd_intr(3)  # the REPL
        print("inversa: maintenance mode: control loop not started, outputs safe (reset to run)")
        return
    # Collect the boot's garbage before the loop: left in place, it makes
    # every later allocation search a nearly full heap (measured on the
    # emulated Pico: ~4 ms more per period until the first collection).
    gc.collect()
    app._gc_base = gc.mem_alloc()
    wdt = machine.WDT(timeout=500)  # 50 periods: a hung loop resets the board
    sch = Scheduler(clock, CONTROL_PERIOD_US, app.step, wdt, time.sleep_us, app.gc_in_slack)
    app.scheduler = sch
    try:
        sch.run()
    except ResetRequested:
        app.safe()
        machine.reset()  # boots into maintenance (the mark is on the flash)
    finally:
        app.safe()
