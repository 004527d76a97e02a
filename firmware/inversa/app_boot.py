# Everything before the control loop, the same on the board (inversa.app.run)
# and on the simulated machine (inversa_world.session): the board config (or
# the last copy that loaded), the board with its outputs safe first, the
# maintenance mark, the fitted-sensor check, the link's port, then the App
# (inversa.app_build).  Hardware and storage faults become faults the running
# loop reports; only an unreadable board config with no good copy raises.
#
# Usage (also importable from inversa.app):
#     app = boot(machine, clock, open_port, "/flash/board.json", "/flash")
#     if app is None: ...                     # maintenance: no loop

from inversa.app_build import build_app
from inversa.compat import const
from inversa.storage import MAINTENANCE_FILE, file_path


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
    shed=False,
):
    """Everything before the loop, on the board (run) and on the simulated
    machine (inversa_world.session): config, board (outputs safe first),
    maintenance check, sensors, link, app.  Returns the App, or None for
    maintenance.  Nothing that the table's hardware or storage can do makes it
    raise: an absent sensor, a stuck or missing bus, an unreadable profile or
    calibration, a link that does not open all become faults the running loop
    reports and reacts to.  `open_port(cfg, board)` returns the link's port;
    `log(text)` gets what is reported (print on the board); `shed`: see
    build_app (run() only).
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
    from inversa.retained import retained_for

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
        retained=retained_for(machine),
        shed=shed,
    )
    app.stop_at_boot = stop_held  # maintenance, through the idle gate (step)
    return app


_LAST_GOOD_SUFFIX = const(".good")  # a copy of the last board config that loaded


def load_board_config(path, log=print):
    """The board config at `path`; if it cannot be read or is invalid, the
    last one that loaded (kept beside it); ValueError if neither loads."""
    from inversa.board.config import load_config

    good = path + _LAST_GOOD_SUFFIX
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
