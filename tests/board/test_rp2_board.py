"""The firmware on an emulated Raspberry Pi Pico (stock MicroPython RPI_PICO in
rp2040js), with the simulated world's chips answering its I2C.

One short boot-and-run: the deployed .mpy files boot from littlefs, the
handshake arrives over the bridged USB CDC, the 100 Hz loop runs a few hundred
periods with a host connected.  Period times are printed (figures, not
assertions: `make bench` measures them over whole sessions); the asserts are
about correctness and a generous bound.
Skipped, with the reason, where Node/rp2040js or the firmware image/boot ROM
is missing (see inversa_host.rp2emu.tools for where to get them).
"""

from __future__ import annotations

import time

import pytest

from inversa import VERSION
from inversa.control.states import IDLE, SELFTEST
from inversa.link import messages as M
from inversa_host.link.codec import StreamDecoder, parse_hello

RUN_MS = 3200  # emulated: boot ~1.5 s, the self-test (limits.SELFTEST_MS) and the tilt filter's settling, then IDLE


@pytest.fixture(scope="module")
def session(emulated_pico):
    from inversa_host.rp2emu.session import Rp2Session

    s = Rp2Session({"duration_ms": 60000, "host_connected": True, "telemetry_hz": 20})
    t0 = time.monotonic()
    tx, _truth, _done = s.run_for(RUN_MS)
    s.host_s = time.monotonic() - t0  # type: ignore[attr-defined]
    s.wire = tx  # type: ignore[attr-defined]
    yield s
    s.close()


def test_deploy_image_holds_what_deploy_copies(session):
    files = session.files
    assert "/main.py" in files
    assert "/board.json" in files
    assert "/inversa/app.mpy" in files
    assert not any(p.endswith(".py") and p.startswith(("/inversa/", "/lib/")) for p in files)


def test_boots_and_handshakes_over_usb_cdc(session):
    frames = StreamDecoder().feed(session.wire)
    hellos = [f for f in frames if f.msg_type == M.MSG_HELLO]
    assert hellos, f"no handshake; the board printed {bytes(session.wire[:300])!r}"
    hello = parse_hello(hellos[0].payload, hellos[0].flags)
    assert hello.fw_version == VERSION
    assert hello.board == "pico"
    assert hello.protocol == M.PROTOCOL_VERSION


def test_loop_runs_fed_by_the_real_sensors_over_i2c(session):
    st = session.stats
    i2c = session.pico.i2c.stats
    w = sorted(p[1] for p in st.periods_us)
    n = len(w)
    boot_ms = (st.first_telemetry_us or 0) / 1000
    print(
        f"\nemulated Pico: boot to first telemetry {boot_ms:.0f} ms; {n} periods: "
        f"mean {sum(w) / max(n, 1) / 1000:.2f} ms, p50 {w[n // 2] / 1000:.2f} ms, "
        f"p99 {w[min(n - 1, n * 99 // 100)] / 1000:.2f} ms, max {w[-1] / 1000:.2f} ms; "
        f"longest watchdog gap {st.max_feed_gap_us() / 1000:.1f} ms; "
        f"I2C transfers {i2c.transfers}; {RUN_MS / 1000:.1f} s emulated in "
        f"{session.host_s:.1f} s host"
    )
    assert n >= 80, f"only {n} periods ran"
    assert st.wdt_fired == 0, "the watchdog fired"
    # generous: the watchdog is 500 ms; a loop that keeps time feeds every ~10 ms
    assert st.max_feed_gap_us() < 250_000
    assert w[n // 2] < 10_000, "the median period does not fit in 10 ms"
    assert i2c.transfers >= n, "the IMU is read every period over I2C"
    states = {t["state"] for t in st.telemetry}
    assert states <= {SELFTEST, IDLE}, states
    assert IDLE in states, "the controller never trusted the (emulated) sensors"
    last = st.telemetry[-1]
    assert -6500 < last["angle_cdeg"] < -5500, "the tilt estimate is not the table's -60 deg"
