# What survives a reset (control/persist.py): the record's format, a torn
# write, a corrupt record taken conservatively, the rounding that never gives
# time back, and the app keeping an e-stop latch and the daily time across a
# rebuild on the same storage.  CPython and MicroPython.
from inversa.control import alarms as A
from inversa.control import limits as L
from inversa.control import persist as P
from inversa.control import states as S
from mpyunit import IS_MICROPYTHON, raises


def _dir(name):
    if IS_MICROPYTHON:
        import os

        for d in ("/flash", "/flash/" + name):
            try:
                os.mkdir(d)
            except OSError:
                pass
        return "/flash/" + name
    import tempfile

    return tempfile.mkdtemp()


def _rm(path):
    import os

    try:
        os.remove(path)
    except OSError:
        pass


def test_record_round_trips_and_has_a_version_and_a_crc():
    data = P.encode(1 << A.A_ESTOP, 90000, 123456)
    assert len(data) == P.RECORD_LEN
    assert P.decode_record(data) == (1 << A.A_ESTOP, 90000, 123456)
    bad = bytearray(data)
    bad[6] ^= 0x01  # a flipped bit
    raises(ValueError, P.decode_record, bytes(bad))
    raises(ValueError, P.decode_record, data[:-1])  # torn
    other = bytearray(data)
    other[2] = P.VERSION + 1
    raises(ValueError, P.decode_record, bytes(other))


def test_missing_record_is_a_first_boot():
    d = _dir("p1")
    st = P.PersistStore(d + "/persist.bin")
    _rm(st.path)
    _rm(st.path + ".tmp")
    assert st.load() == (0, 0, 0, P.STATE_MISSING)


def test_save_then_load():
    d = _dir("p2")
    st = P.PersistStore(d + "/persist.bin")
    assert st.save(1 << A.A_STALL, 60000, 900000) == 0
    assert st.load() == (1 << A.A_STALL, 60000, 900000, P.STATE_OK)


def test_a_torn_write_keeps_a_valid_record():
    d = _dir("p3")
    st = P.PersistStore(d + "/persist.bin")
    assert st.save(0, 30000, 0) == 0
    with open(st.path + ".tmp", "wb") as f:  # reset in the middle of the next write
        f.write(P.encode(1 << A.A_ESTOP, 60000, 0)[:7])
    assert st.load() == (0, 30000, 0, P.STATE_OK)
    # reset after the old record was removed, before the rename (FAT)
    _rm(st.path)
    with open(st.path + ".tmp", "wb") as f:
        f.write(P.encode(1 << A.A_ESTOP, 60000, 0))
    assert st.load() == (1 << A.A_ESTOP, 60000, 0, P.STATE_OK)


def test_a_corrupt_record_is_taken_as_the_worst_case():
    d = _dir("p4")
    st = P.PersistStore(d + "/persist.bin")
    _rm(st.path + ".tmp")
    with open(st.path, "wb") as f:
        f.write(b"\xff" * P.RECORD_LEN)  # erased flash
    latched, daily, day, status = st.load()
    assert status == P.STATE_CORRUPT
    assert latched == 1 << A.A_ESTOP  # the local clear is needed
    assert daily == L.MAX_DAILY_MS and day == 0  # the day's allowance is used up
    assert "rejected" in st.message


def test_stored_daily_time_never_gives_time_back():
    step = P.DAILY_STEP_MS
    assert P.daily_to_store(0) == 0
    for used in (1, step - 1, step, step + 1, 7 * step + 123):
        # stored when the time used enters its step: the end of that step,
        # which covers every millisecond used until the next write
        assert P.daily_to_store(used) >= (used // step + 1) * step
    assert P.day_to_store(P.DAY_STEP_MS * 3 + 5) == P.DAY_STEP_MS * 3


def test_app_steps_match_the_store():
    from inversa import app

    assert app._DAILY_STEP_MS == P.DAILY_STEP_MS
    assert app._DAY_STEP_MS == P.DAY_STEP_MS


def _app(storage):
    from inversa.app_build import build_app
    from inversa.board.build import build_board
    from inversa.board.clock import VirtualClock
    from inversa.board.config import validate
    from inversa.link.port import MemoryPort
    from inversa_world.devices.bus import FakeI2CBus
    from inversa_world.machine_sim import SimMachine
    from inversa_world.panel import TablePanel

    cfg = validate(
        {"board": "pico", "imu": "mpu6050", "hr": "max30102", "motor": "hbridge", "bench": True},
        "test board",
    )
    machine = SimMachine(FakeI2CBus())
    board = build_board(cfg, machine)
    panel = TablePanel()
    pins = cfg.board_def["pins"]
    clock = VirtualClock(0)
    a = build_app(cfg, board, clock, storage, MemoryPort(tx_capacity=8192, rx_capacity=2048))

    def step(n=1):
        for _ in range(n):
            clock.advance_ms(10)
            panel.drive(machine, pins, clock.ticks_ms(), False, False)
            a.step()

    return a, panel, clock, step


def test_the_app_keeps_an_estop_latch_and_the_daily_time_across_a_reset():
    d = _dir("p5")
    _rm(d + "/persist.bin")
    _rm(d + "/persist.bin.tmp")
    a, panel, clock, step = _app(d)
    step(200)
    panel.apply("press_estop", clock.ticks_ms())
    step(20)
    assert a.ctrl.state == S.ESTOP
    a.ctrl.daily_used_ms = 95000  # what the sessions of the day used
    step(1)
    assert a.persist_errors == 0
    # the reset: a new app on the same storage, the e-stop released meanwhile
    b, _panel2, _clock2, step2 = _app(d)
    step2(1)
    assert b.ctrl.state == S.ESTOP and b.out.alarm_bits & (1 << A.A_ESTOP)
    assert b.ctrl.daily_used_ms >= 95000
    step2(300)
    assert b.ctrl.state == S.ESTOP  # only the local clear drops it


def test_app_state_numbers_match_the_controllers():
    # App._persist tells a calm period by these numbers (issue 10: no flash
    # write while the table may move)
    from inversa import app

    if not IS_MICROPYTHON:  # const() names with "_" are not module attributes there
        assert app._READY == S.READY and app._DONE == S.DONE and app._ESTOP == S.ESTOP
        assert app._MANUAL == S.MANUAL
    assert S.SELFTEST < S.IDLE < S.BASELINE < S.READY  # "st <= READY": before motion
    assert S.DONE < S.FAULT < S.ESTOP  # "DONE <= st <= ESTOP": nothing driven
    assert app.MAX_DAILY_MS == L.MAX_DAILY_MS
