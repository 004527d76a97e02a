"""A host that keeps the USB port open but stops reading, on the emulated Pico
(issue 10 item 5): no write may wait longer than the slack.

MicroPython's CDC write waits up to 500 ms (the watchdog's timeout) for room
in TinyUSB's TX FIFO.  The runner plays the host: it NAKs the board's USB IN
packets (they stay armed in the endpoint buffer) for 1.2 s of emulated time,
long enough to fill the FIFO several times over at 20 Hz, then reads again.
Before the fix the first write that did not fit waited until the watchdog
reset the board (0.78 s after the host stopped; the board then reset again
in its boot, 0.6 s after its first feed).  Bounded in emulated time; skipped,
with the reason, where the emulated Pico is unavailable.
"""

from __future__ import annotations

import pytest

from inversa.control.states import IDLE
from inversa.link import messages as M
from inversa_host.link.codec import StreamDecoder, telemetry_dict

IDLE_MS = 3200  # boot, SELFTEST, IDLE (as test_rp2_board.py)
NO_READ_MS = 1200  # the host reads nothing
AFTER_MS = 400  # the host reads again


@pytest.fixture(scope="module")
def run(emulated_pico):
    from inversa_host.rp2emu.session import Rp2Session

    s = Rp2Session({"duration_ms": 60000, "host_connected": True, "telemetry_hz": 20})
    try:
        s.run_for(IDLE_MS)
        st = s.stats
        n_gaps, n_periods = len(st.feed_gaps_us), len(st.periods_us)
        s.pico.host_reads = False
        rx, _truth, _done = s.run_for(NO_READ_MS)
        window = {
            "gaps": st.feed_gaps_us[n_gaps:],
            "works": [p[1] for p in st.periods_us[n_periods:]],
            "rx": rx,
        }
        s.pico.host_reads = True
        tx, _truth, _done = s.run_for(AFTER_MS)
        yield s, window, tx
    finally:
        s.close()


def test_the_loop_keeps_time_while_the_host_does_not_read(run):
    s, w, _tx = run
    st = s.stats
    gaps, works = w["gaps"], w["works"]
    print(
        f"\nemulated Pico, host not reading for {NO_READ_MS} ms in IDLE: {len(gaps)} feeds, "
        f"longest gap {max(gaps, default=0) / 1000:.1f} ms, longest period "
        f"{max(works, default=0) / 1000:.2f} ms; watchdog fired {st.wdt_fired}"
    )
    assert st.wdt_fired == 0 and st.resets == 0, "a write waited for the host until the watchdog"
    assert len(gaps) >= NO_READ_MS // 10 - 5, "the loop stopped feeding the watchdog"
    assert max(gaps) < 50_000, "a write waited longer than a few periods"
    assert max(works) < 10_000, "a period outlasted its 10 ms (a write waited for the host)"
    assert not w["rx"], "the host read while it was not reading"


def test_the_link_comes_back_and_counts_one_stall(run):
    _s, _w, tx = run
    tele = [
        telemetry_dict(f.payload) for f in StreamDecoder().feed(tx) if f.msg_type == M.MSG_TELEMETRY
    ]
    assert len(tele) >= AFTER_MS // 50 - 2, "telemetry did not come back when the host read again"
    assert tele[-1]["state"] == IDLE
    # one host silence, one stall (the port refused writes; none waited)
    assert tele[-1]["tx_stalls"] == 1
