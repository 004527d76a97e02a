# Wiring a board into an App: the sensor front end (drivers, estimators,
# calibration), the actuator drivers, the panel of local inputs, the
# controller with what the flash kept across a reset (profile, latches and
# daily time, session record) and the link.  Called once, by the boot before
# the loop, and by the simulator and the tests; nothing here runs in the
# control period (inversa.app).
#
# Usage (simulator / tests; also importable from inversa.app):
#     app = build_app(cfg, board, clock, storage_dir="/tmp/x", port=MemoryPort())
#     ok = app.step()                         # one period

import gc

from inversa.compat import IS_MICROPYTHON, const
from inversa.events import EventLog
from inversa.storage import (
    CALIBRATION_FILE,
    MOTION_FILE,
    PERSIST_FILE,
    PROFILE_FILE,
    file_path,
)


def _compact():
    """On a board, between the build's stages: collect the stage's garbage
    (file buffers of the .mpy loads, tables built at import) while the heap
    is still mostly empty, so what stays packs at its bottom and the top
    stays one free run.  Left to MicroPython, the first collection comes
    only when the heap is full: the live objects are then scattered over all
    of it, and the qstr pool the later imports need (7.7 KB in one piece on
    an RP2040, when the interned names pass ~1,270) found no room: a
    MemoryError in the build with 115 KB free in 5 KB pieces (the emulated
    Pico, tests/board/test_rp2_heap.py).  Not in CPython (the tests build
    thousands of apps)."""
    if IS_MICROPYTHON:
        gc.collect()


def build_sensors(board, clock, storage_dir, sleep_us=None, events=None):
    """The sensor front end for this board (drivers + estimators + calibration).
    Never raises: a sensor that does not initialise (absent from the bus, a
    stuck bus even after clocking it free, a bus that could not be created)
    is replaced by a stand-in from inversa.sensor_boot whose reads fail, so
    the front end reports it untrusted and the controller's fault reactions
    run; the stand-in tries the sensor again every few seconds."""
    from inversa.board.build import driver_class
    from inversa.sense.calibration import Calibration
    from inversa.sense.frontend import SensorFrontEnd
    from inversa.sensor_boot import make_imu, make_ppg

    def recover():
        board.recover_i2c(sleep_us)

    def bus():
        if board.i2c is None and board.open_i2c() is None:
            raise OSError(19)  # ENODEV: no bus, no sensor
        return board.i2c

    imu = None
    hr = None
    cfg = board.cfg
    if board.imu_driver is not None:
        imu_spec = board.imu_driver  # a driver not on the board: absent, like the chip
        imu = make_imu(
            lambda: driver_class(imu_spec)(bus(), board.imu_addr),
            cfg.imu,
            clock,
            recover,
            events=events,
        )
    if board.hr_driver is not None:
        hr_spec = board.hr_driver
        if board.pulse_adc is not None:
            adc = board.pulse_adc
            hr = make_ppg(lambda: driver_class(hr_spec)(adc), cfg.hr, clock, events=events)
        else:
            hr = make_ppg(
                lambda: driver_class(hr_spec)(bus(), board.hr_addr),
                cfg.hr,
                clock,
                recover,
                events=events,
            )
    try:
        calibration = Calibration.load(file_path(storage_dir, CALIBRATION_FILE))
    except Exception:  # unreadable storage: not calibrated (a tilt fault)
        calibration = None
    try:
        return SensorFrontEnd(clock, imu, hr, calibration)
    except Exception:  # a bug must not stop the boot: no sensor is trusted
        return SensorFrontEnd(clock, None, None, None)


def build_actuators(board, log=print):
    """(motor, brake, buzzer) drivers for the fitted hardware (None if absent).
    A driver that cannot be built leaves its output as the board builder set
    it (safe: motor off, brake engaged, quiet) and is reported, not raised."""
    from inversa.board.build import driver_class

    motor = None
    if board.motor_driver is not None:
        try:
            cls = driver_class(board.motor_driver)
            motor = cls(board.motor_a, board.motor_b, board.motor_en)
        except Exception as e:
            log("inversa: motor driver: %s" % e)
    brake = None
    if board.brake_driver is not None:
        try:
            brake = driver_class(board.brake_driver)(board.brake)
        except Exception as e:
            log("inversa: brake driver: %s" % e)
    buzzer = None
    if board.buzzer_driver is not None and board.buzzer is not None:
        try:
            buzzer = driver_class(board.buzzer_driver)(board.buzzer)
        except Exception as e:
            log("inversa: buzzer driver: %s" % e)
    return motor, brake, buzzer


# The pins build_panel reads (tests/fw/test_panel_word.py: every input signal)
_PANEL_INPUTS = const(
    (
        "estop_a",
        "estop_b",
        "btn_up",
        "btn_down",
        "btn_start",
        "btn_stop",
        "home_sw",
        "end_sw",
        "power_ok",
        "contactor_fb",
    )
)
_RP2_GPIO_IN = const(0xD0000004)  # RP2040 SIO GPIO_IN: bits 0-29, the pins' levels


def build_panel(board):
    # Each input's "active" level comes from the wiring (boards.ACTIVE_LEVEL):
    # e-stop, stop and limit switches are normally closed (a broken wire
    # reads as stop), the motion buttons normally open (a broken wire can
    # never ask for motion).
    import sys

    from inversa.drivers.buttons import Button, EStop, Panel

    lvl = board.active_level
    panel = Panel(
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
    if sys.platform == "rp2":
        # One read of every input (drivers/buttons.py): SIO GPIO_IN and the
        # mask of the pins read above.  (GPIO_IN's bits 30-31 read 0: the
        # word is a small int, no allocation.)
        pins = board.cfg.board_def["pins"]
        mask = 0
        for name in _PANEL_INPUTS:
            mask |= 1 << pins[name]
        panel.mem32 = board.machine.mem32
        panel._addr = _RP2_GPIO_IN
        panel._mask = mask
    return panel


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
    sleep_us=None,
    log=print,
    retained=None,
    shed=False,
):
    """Wire a board into an App.  `port` is the link's port (None: no link);
    `sensors` overrides the front end (bench mode passes injected drivers, and
    `inject` the link's callable that feeds them); `calibrate` runs the IMU
    calibration for the link's command; `retained` the board's retained RAM
    for the motion record (inversa.retained; None: the flash alone).
    `shed` (run() and the heap probes only, a board: a re-import makes new
    classes): once the front end is built, drop the sensors' boot-only
    modules (sensor_boot, calibration; settle.BOOT_ONLY_MODULES sheds them
    later anyway, and a late sensor's retry or a host's calibration imports
    them afresh, as after it), so the build's peak, which decides whether
    it fits a small heap, is ~2 KB lower: the 32-bit interpreter (unix32)
    fits at 140k (bench/bench_board.py --heap-only)."""
    _compact()
    from inversa.control import limits as L
    from inversa.control.controller import Controller
    from inversa.control.profile_store import ProfileStore
    from inversa.control.session_record import load_record
    from inversa.control.states import MANUAL, MOTORIZED

    if events is None:
        events = EventLog(64)
    if sensors is None and cfg.bench:
        from inversa.bench_sensors import build_bench_sensors

        sensors, inject = build_bench_sensors(cfg, clock)
    if sensors is None:
        _compact()
        sensors = build_sensors(board, clock, storage_dir, sleep_us, events)
        if shed:
            from inversa.gcorder import shed_modules

            shed_modules(("inversa.sensor_boot", "inversa.sense.calibration"))
    _compact()
    motor, brake, buzzer = build_actuators(board, log)
    store = ProfileStore(file_path(storage_dir, PROFILE_FILE))
    try:
        profile, status = store.load()
    except Exception:  # storage that fails oddly: as a corrupt profile
        from inversa.control.profile import beginner_profile
        from inversa.control.profile_store import STORE_CORRUPT

        profile, status = beginner_profile(), STORE_CORRUPT
    from inversa.control.persist import PersistStore

    pstore = PersistStore(file_path(storage_dir, PERSIST_FILE))
    latched, daily_ms, day_ms, _pstatus = pstore.load()
    manual = cfg.motor == "none"
    # The motion record: the retained RAM's (exact, survives a watchdog or
    # soft reset) when it holds one, else the flash's (exact out of a
    # session, the write-ahead bound in one: a power cut).
    resume = retained.load() if retained is not None else None
    from_ram = resume is not None
    if resume is None:
        resume = load_record(file_path(storage_dir, MOTION_FILE))
    ctrl = Controller(
        clock,
        events,
        profile,
        table_type=MANUAL if manual else MOTORIZED,
        has_brake=brake is not None,
        profile_status=status,
        reset_cause=reset_cause,
        latched=latched,
        daily_used_ms=daily_ms,
        day_ms=day_ms,
        resume=resume,
    )
    link = None
    if port is not None:
        _compact()
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
    _compact()
    import sys

    from inversa.app import App

    # A RelayMotor's stop is timed.  Its module is loaded only if one was
    # built: not importing it here keeps its code and names off the heap of
    # every board with another motor.
    relay = sys.modules.get("inversa.drivers.relay_motor")
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
        motor_timed=relay is not None and isinstance(motor, relay.RelayMotor),
        profile_store=store,
        events=events,
    )
    app.storage_dir = storage_dir
    app.attach_persist(pstore)
    if retained is not None:
        app.attach_retained(retained, flash_stale=from_ram)
    if link is not None:
        link.maintenance = app.request_maintenance
    return app
