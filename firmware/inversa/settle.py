# What app.settle_heap drops before the loop (issue 10 item 4: the Pico's
# heap): the boot-only modules, and the methods and module functions only the
# boot calls.  Boot-only itself: it sheds itself with the others, so its
# tables (their strings sit in this module's constant table, which lives as
# long as any of its code) cost nothing in the loop.

# Modules the board needs only before the loop (issue 10: the Pico's heap).
# run() drops them once the App is built, so their code is collected; only
# the interned names (qstrs) stay.  A rare later need (a new calibration from
# the host, in IDLE) imports one again.  A module that something still uses
# (a sensor's stand-in keeps inversa.sensor_standin) stays alive through it.
BOOT_ONLY_MODULES = (
    "inversa.app_boot",
    "inversa.app_build",
    "inversa.board.build",
    "inversa.board.config",
    "inversa.board.boards",
    "inversa.sensor_boot",
    "inversa.sensor_standin",
    "inversa.sense.calibration",
    "inversa.settle",
)

# Modules whose classes are built after settle_heap (a Profile from the
# link; run()'s Scheduler): their methods stay (drop_boot_methods).
BUILT_IN_LOOP = ("inversa.control.profile", "inversa.control.scheduler")
# A sensor that failed at boot is retried in the loop (sensor_standin, loaded
# only then): its driver is built then, so these keep theirs too.
LATE_SENSOR_MODULES = (
    "inversa.drivers.i2cdev",
    "inversa.drivers.imu",
    "inversa.drivers.lsm6dsox",
    "inversa.drivers.max30102",
    "inversa.drivers.mpu6050",
    "inversa.drivers.pulse_adc",
)
# Methods, module functions and module tables only the boot uses
# (tests/host/test_built_once.py checks the sources): dropped once the App is
# built.
BOOT_METHODS = (
    # bias_mdps, set_bias_mdps, service, daily_to_store, day_to_store: no
    # firmware calls them (the tests' and the fake board's); settle_heap and
    # shed_modules: the boot's helpers in app and gcorder (this module's own
    # go with it); _make_table: crc.py's import builds its table;
    # decode_record: persist's, only PersistStore.load reads a record
    "settle_heap",
    "shed_modules",
    "__init__",
    "_await_reset",
    "_boot_app",
    "_make_table",
    "_open_board_port",
    "_read_mpy",
    "_shed_boot",
    "_start",
    "CHIP_IDS",
    "action_mask",
    "attach_persist",
    "attach_retained",
    "bias_mdps",
    "check_ranges",
    "check_rules",
    "daily_to_store",
    "day_to_store",
    "decode_record",
    "load",
    "load_record",
    "restore",
    "retained_for",
    "rp2_scratch",
    "service",
    "set_bias_mdps",
    "set_calibration",
    "set_one_g",
)


def drop_boot_methods(keep=BUILT_IN_LOOP, modules=None):
    """Board only, once the App is built: every firmware class loaded by now
    (but those of the modules in ``keep``) was built at boot and is never
    built again, and BOOT_METHODS (methods and module functions) are never
    called after it
    (tests/host/test_built_once.py checks the sources), so each of those
    methods is set to None and the next collection frees its code (~7 KB on
    the emulated Pico); calling one later would raise TypeError at once.
    Not ``del``: MicroPython keeps a deleted entry's value in the class's
    table, so nothing would be freed.  ``modules``: sys.modules (a test
    gives its own).  Returns how many."""
    if modules is None:
        import sys

        modules = sys.modules
    n = 0
    names = BOOT_METHODS
    for name, mod in modules.items():
        if name[:8] != "inversa." or name in keep:
            continue
        g = mod.__dict__
        for m in names:
            if type(g.get(m, type)) is not type:  # a module function (or None)
                setattr(mod, m, None)
        for v in g.values():
            if type(v) is type:
                d = v.__dict__
                if d.get("__module__") == name:
                    for m in names:
                        if d.get(m) is not None:
                            setattr(v, m, None)
                            n += 1
    return n


def settle():
    """app.settle_heap's work: shed BOOT_ONLY_MODULES (this one too, so its
    tables go: a module's constant strings live as long as its code) and
    drop the boot-only methods.  settle_heap then collects."""
    import sys

    from inversa.gcorder import shed_modules

    keep = BUILT_IN_LOOP
    # After the boot methods are dropped (drop_boot_methods reads
    # sys.modules): the packages' module objects (each a table of its
    # modules, ~136-224 B on the emulated Pico), whose modules stay loaded
    # (sys.modules; a later import: error_text, a calibration from the host,
    # a retried sensor's driver, makes the package again, none in a
    # period); and the modules nothing holds once their __init__s are gone
    # (measured one by one on the emulated Pico: io -160 B, drivers.imu -192
    # B; compat's names are MicroPython's own built-ins): their classes stay
    # with their objects, a later import loads the module again.
    shed = (
        "inversa.board",
        "inversa.control",
        "inversa.drivers",
        "inversa.link",
        "inversa.sense",
        "inversa.compat",
        "inversa.control.io",
        "inversa",
    )
    if "inversa.sensor_standin" in sys.modules:  # a sensor is retried in the loop
        keep += LATE_SENSOR_MODULES
    else:  # (a retried driver's import would load imu again: kept then)
        shed += ("inversa.drivers.imu",)
    shed_modules(BOOT_ONLY_MODULES)
    drop_boot_methods(keep)
    shed_modules(shed)
