"""The loop's garbage collection on the emulated Pico (stock MicroPython
RPI_PICO in rp2040js, the deployed .mpy files, the app built as run() builds
it): one full collection through inversa.gcorder stays one pass over the heap.

MicroPython's mark stack holds 64 blocks; a collection that overflows it
rescans the whole heap (measured: 20.3 ms from the app's module before
inversa.gcorder, 10.7 ms with it; 19.8 ms for gc.collect() from the REPL,
which marks sys.modules' ~46 modules at once).  Emulated time is counted in
CPU cycles at 125 MHz, so the figure does not depend on the host's load.
Skipped, with the reason, where the emulated Pico is unavailable."""

from __future__ import annotations

from inversa_host.rp2emu.probes import BUILD_APP, run_probe

# One pass over the live heap and the sweep is ~10.7 ms; a second pass (a
# mark-stack overflow) brings it to ~20 ms.
MAX_PAUSE_US = 14000

SCRIPT = """
import gc, time, machine
{build}app, port = build()
from inversa.app import settle_heap
settle_heap()
for i in range(20):
    app.step()
    port.drop_tx()
t0 = time.ticks_us(); gc.collect(); repl = time.ticks_diff(time.ticks_us(), t0)
app.collect_timed()
print("pause_us", app.gc_pause_max_us, "repl_us", repl, "free", gc.mem_free())
""".replace("{build}", BUILD_APP)


def test_the_loops_collection_is_one_pass_on_the_emulated_pico(emulated_pico):
    out = run_probe(SCRIPT)
    print("\nemulated Pico, one full collection: " + out)
    vals = out.split()
    pause = int(vals[vals.index("pause_us") + 1])
    assert 0 < pause <= MAX_PAUSE_US, out
