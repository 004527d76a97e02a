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
# Usage (simulator / tests):
#     app = build_app(cfg, board, clock, storage_dir="/tmp/x", port=MemoryPort())
#     ok = app.step()                         # one period

import gc

from inversa.compat import const
from inversa.control.io import ControlInputs, ControlOutputs
from inversa.events import EventLog

CONTROL_PERIOD_US = 10000
# App.gc_in_slack: collect once this much was allocated (nobody on the
# table), or whatever the state when free heap falls below the reserve.
GC_IDLE_BYTES = 1024
GC_RESERVE_BYTES = 24 * 1024
_SELFTEST = const(0)  # control.states (tests/mpy/test_app_gc.py checks each state)
_IDLE = const(1)
_DONE = const(9)

# Files the firmware keeps on the board's flash (relative to storage_dir).
PROFILE_FILE = "profile.bin"
CALIBRATION_FILE = "calibration.bin"
# Present at boot: start in maintenance (the REPL, no control loop, outputs
# safe), once.  Written on the host's maintenance command, which is the only
# way into the REPL once the loop runs: the watchdog cannot be stopped and the
# link turns Ctrl-C off (0x03 may appear inside a frame).
MAINTENANCE_FILE = "maintenance"
MAINTENANCE_FLUSH_PERIODS = 10  # let the acknowledgement leave before the reset


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
        self.gc_runs = 0  # collections gc_in_slack actually ran
        self._gc_base = 0  # heap in use after the last collection (set by run())
        self.storage_dir = "/"
        self._reset_in = -1  # periods until a requested reset; -1: none

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
        if link is not None:  # after the step: the frame is this period's snapshot
            link.transmit(inp, out, self.loop_us, self.loop_max_us, self.overruns)
        self.steps += 1
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

    def request_maintenance(self):
        """The host's maintenance command: only with nobody on the table in a
        session (idle or done at the loading position).  Marks the next boot
        for maintenance and resets once the acknowledgement has gone out."""
        from inversa import reasons
        from inversa.control.states import DONE, IDLE

        if self.ctrl.state != IDLE and self.ctrl.state != DONE:
            return reasons.WRONG_STATE
        try:
            with open(_path(self.storage_dir, MAINTENANCE_FILE), "w") as f:
                f.write("1")
        except OSError:
            return reasons.STORAGE_ERROR
        self._reset_in = MAINTENANCE_FLUSH_PERIODS
        return reasons.OK

    def _persist_profile(self):
        # A profile the host set and the controller accepted: keep it across
        # reboots (rare, so the allocation of a file write is fine here).
        self._saved_profile = self.ctrl.profile
        if self.profile_store is not None and self.profile_store.save(self.ctrl.profile):
            self.profile_save_errors += 1

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


def _path(storage_dir, name):
    if storage_dir.endswith("/"):
        return storage_dir + name
    return storage_dir + "/" + name


def build_sensors(board, clock, storage_dir):
    """The sensor front end for this board (drivers + estimators + calibration)."""
    from inversa.board.build import driver_class
    from inversa.sense.calibration import Calibration
    from inversa.sense.frontend import SensorFrontEnd

    imu = None
    hr = None
    if board.imu_driver is not None:
        imu = driver_class(board.imu_driver)(board.i2c, board.imu_addr)
    if board.hr_driver is not None:
        cls = driver_class(board.hr_driver)
        if board.pulse_adc is not None:
            hr = cls(board.pulse_adc)
        else:
            hr = cls(board.i2c, board.hr_addr)
    calibration = Calibration.load(_path(storage_dir, CALIBRATION_FILE))
    return SensorFrontEnd(clock, imu, hr, calibration)


def build_actuators(board):
    """(motor, brake, buzzer) drivers for the fitted hardware (None if absent)."""
    from inversa.board.build import driver_class

    motor = None
    if board.motor_driver is not None:
        cls = driver_class(board.motor_driver)
        motor = cls(board.motor_a, board.motor_b, board.motor_en)
    brake = None
    if board.brake_driver is not None:
        brake = driver_class(board.brake_driver)(board.brake)
    buzzer = None
    if board.buzzer_driver is not None and board.buzzer is not None:
        buzzer = driver_class(board.buzzer_driver)(board.buzzer)
    return motor, brake, buzzer


def build_panel(board):
    # Each input's "active" level comes from the wiring (boards.ACTIVE_LEVEL):
    # e-stop, stop and limit switches are normally closed (a broken wire
    # reads as stop), the motion buttons normally open (a broken wire can
    # never ask for motion).
    from inversa.drivers.buttons import Button, EStop, Panel

    lvl = board.active_level
    return Panel(
        EStop(board.estop_a, board.estop_b, pressed_level=lvl["estop_a"]),
        Button(board.btn_up, pressed_level=lvl["btn_up"]),
        Button(board.btn_down, pressed_level=lvl["btn_down"]),
        Button(board.btn_start, pressed_level=lvl["btn_start"]),
        Button(board.btn_stop, pressed_level=lvl["btn_stop"]),
        Button(board.home_sw, pressed_level=lvl["home_sw"], debounce_ms=10),
        Button(board.end_sw, pressed_level=lvl["end_sw"], debounce_ms=10),
        Button(board.power_ok, pressed_level=lvl["power_ok"], debounce_ms=200),
        Button(board.contactor_fb, pressed_level=lvl["contactor_fb"], debounce_ms=20),
    )


def build_app(
    cfg,
    board,
    clock,
    storage_dir="/",
    port=None,
    reset_cause=0,
    uid=b"",
    sensors=None,
    events=None,
    inject=None,
    calibrate=None,
):
    """Wire a board into an App.  `port` is the link's port (None: no link);
    `sensors` overrides the front end (bench mode passes injected drivers, and
    `inject` the link's callable that feeds them); `calibrate` runs the IMU
    calibration for the link's command."""
    from inversa.control import limits as L
    from inversa.control.controller import Controller
    from inversa.control.profile_store import ProfileStore
    from inversa.control.states import MANUAL, MOTORIZED

    if events is None:
        events = EventLog(64)
    if sensors is None and cfg.bench:
        from inversa.bench_sensors import build_bench_sensors

        sensors, inject = build_bench_sensors(cfg, clock)
    if sensors is None:
        sensors = build_sensors(board, clock, storage_dir)
    motor, brake, buzzer = build_actuators(board)
    store = ProfileStore(_path(storage_dir, PROFILE_FILE))
    profile, status = store.load()
    manual = cfg.motor == "none"
    ctrl = Controller(
        clock,
        events,
        profile,
        table_type=MANUAL if manual else MOTORIZED,
        has_brake=brake is not None,
        profile_status=status,
        reset_cause=reset_cause,
    )
    link = None
    if port is not None:
        from inversa.link import messages as M
        from inversa.link.endpoint import LinkEndpoint

        link = LinkEndpoint(
            port,
            clock,
            events,
            ctrl,
            board=cfg.board,
            uid=uid,
            limits=(
                (M.LIMIT_MAX_ANGLE_CDEG, L.MAX_ANGLE_CDEG),
                (M.LIMIT_MIN_ANGLE_CDEG, L.MIN_ANGLE_CDEG),
                (M.LIMIT_MAX_RATE_CDPS, L.MAX_RATE_CDPS),
                (M.LIMIT_MAX_ACCEL_CDPS2, L.MAX_ACCEL_CDPS2),
                (M.LIMIT_MAX_INVERTED_S, L.MAX_INVERTED_MS // 1000),
                (M.LIMIT_MIN_RETURN_S, L.MIN_RETURN_MS // 1000),
                (M.LIMIT_HR_MAX_BPM, L.HR_MAX_BPM),
                (M.LIMIT_HR_MIN_BPM, L.HR_MIN_BPM),
            ),
            bench=cfg.bench,
            inject=inject,
            calibrate=calibrate,
            reset_cause=reset_cause,
        )
    from inversa.drivers.relay_motor import RelayMotor

    app = App(
        clock,
        sensors,
        build_panel(board),
        ctrl,
        link,
        motor,
        brake,
        buzzer,
        board.led,
        motor_timed=isinstance(motor, RelayMotor),
        profile_store=store,
        events=events,
    )
    app.storage_dir = storage_dir
    if link is not None:
        link.maintenance = app.request_maintenance
    return app


def maintenance_requested(storage_dir, stop_held):
    """At boot: start in maintenance?  Yes if the host asked for it before the
    last reset (the mark is used once), or if STOP is held down at power-on."""
    import os

    path = _path(storage_dir, MAINTENANCE_FILE)
    try:
        os.remove(path)
        return True
    except OSError:
        pass
    return bool(stop_held)


def run(config_path="/board.json", storage_dir="/"):  # pragma: no cover - board only
    """Boot on the board: config, hardware, app, then the fixed-rate loop."""
    import time

    import machine
    import micropython

    # Before any boot step: every host frame starts with 0x03 (Ctrl-C), and a
    # KeyboardInterrupt during boot would stop the firmware with outputs as built.
    micropython.kbd_intr(-1)

    from inversa.board.build import build_board, verify_board
    from inversa.board.clock import SystemClock
    from inversa.board.config import load_config
    from inversa.control.scheduler import Scheduler

    cfg = load_config(config_path)  # ValueError says what to fix in board.json
    board = build_board(cfg, machine)  # outputs are created safe first
    stop_held = board.btn_stop.value() == board.active_level["btn_stop"]
    if maintenance_requested(storage_dir, stop_held):
        print("inversa: maintenance mode: control loop not started, outputs safe (reset to run)")
        micropython.kbd_intr(3)  # the REPL's Ctrl-C again
        return
    verify_board(board)  # ValueError names a configured device that is absent
    clock = SystemClock()
    if cfg.link == "uart":
        from inversa.link.port import UartPort

        port = UartPort(board.uart)
    else:
        from inversa.link.port import UsbCdcPort

        port = UsbCdcPort.open(clock)
    app = build_app(
        cfg,
        board,
        clock,
        storage_dir,
        port,
        reset_cause=machine.reset_cause(),
        uid=machine.unique_id(),
    )
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
