"""A flash write's pause at a slow chip's erase times, on the emulated Pico.

A W25Q16JV 4 KB sector erase takes 45 ms typically and up to 400 ms (its
datasheet maximum: a worn or hot chip), and one littlefs write may erase more
than one sector.  The loop's watchdog is 500 ms, so a pause with two such
erases reset the board (the table still; the review's open item since 30 Nov).
The firmware now gives the pause a 3 s window and restores 500 ms after it
(`App._due`, `run()`'s `wdt_window`).  The runner charges every erase
here at the datasheet maximum, 400 ms: the session's arming pause erases
two sectors (860 ms), and on the old code the watchdog fired in it.  Bounded in
emulated time; skipped, with the reason, where the emulated Pico is missing.
"""

from __future__ import annotations

import pytest

from inversa.control.states import BASELINE, FAULT, READY
from inversa.link import messages as M
from inversa_host.link.codec import StreamDecoder, telemetry_dict

ERASE_MS = 400.0  # the W25Q16JV maximum
PROGRAM_MS = 3.0  # its page-program maximum
START_MS = 3300  # the host starts a session once the board is idle
RUN_MS = 6000


@pytest.fixture(scope="module")
def run(emulated_pico):
    from inversa_host.rp2emu.session import Rp2Session

    s = Rp2Session(
        {
            "duration_ms": 60000,
            "host_connected": True,
            "telemetry_hz": 20,
            "events": [(START_MS, "host_start", {})],
            "flash_times_ms": (ERASE_MS, PROGRAM_MS),
        }
    )
    try:
        rx, _truth, _done = s.run_for(RUN_MS)
        yield s, rx
    finally:
        s.close()


def test_a_pause_with_slow_erases_does_not_reset_the_board(run):
    s, _rx = run
    st = s.stats
    pauses = [(t, g) for t, g, _state in st.long_gaps_us if g > 100_000]
    print(
        f"\nemulated Pico, erase {ERASE_MS:.0f} ms / program {PROGRAM_MS:.0f} ms: "
        f"{len(st.flash_us)} flash operations, pauses "
        f"{[round(g / 1000, 1) for _t, g in pauses]} ms; watchdog fired {st.wdt_fired}"
    )
    assert st.flash_us, "the session's arming wrote nothing to the flash: no pause was tried"
    assert pauses, "no pause as long as an erase: the erase time did not apply"
    assert st.wdt_fired == 0 and st.resets == 0, "the watchdog reset the board in a flash pause"


def test_the_loop_runs_on_after_the_pause(run):
    s, rx = run
    st = s.stats
    (t_end, _gap) = max(((t, g) for t, g, _st in st.long_gaps_us), key=lambda x: x[1])
    later_gaps = [g for t, g, _st in st.long_gaps_us if t > t_end]
    periods = [w for t, w, _st in st.periods_us if t > t_end]
    tele = [
        telemetry_dict(f.payload) for f in StreamDecoder().feed(rx) if f.msg_type == M.MSG_TELEMETRY
    ]
    assert len(periods) >= (RUN_MS * 1000 - t_end) // 10_000 - 10, (
        "the loop stopped after the pause"
    )
    assert max(later_gaps, default=0) < 50_000, "the loop did not keep its period after the pause"
    # An outage over 0.5 s restarts the tilt filter (the table may have
    # moved): at the loading position that is the tilt alarm (FAULT, cleared
    # at the table); not a reset.
    assert tele and tele[-1]["state"] in (BASELINE, READY, FAULT)
