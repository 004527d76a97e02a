"""The firmware's live heap on the emulated Pico (stock MicroPython RPI_PICO
in rp2040js, the .mpy files as `inversa deploy` leaves them, the app built
as run() builds it, then the boot-only modules dropped).

* The build must not fail for want of one contiguous block: MicroPython
  collects only when an allocation fails, so a build that never collected
  had its live objects scattered over the whole heap by the time the qstr
  pool of the later imports (7.7 KB in one piece) was needed: a MemoryError
  with 115 KB free in 5 KB pieces.  app_build collects between its stages
  (``_compact``).
* A ceiling on the live heap after the build, so a regression fails: the
  figure, measured with this probe (the bench's too), is 91,984 B (heap7
  branch, 1 Dec 04:00: the packages' module objects and the modules nothing
  holds shed after the boot, run()'s boot dropped, the modules chained five
  to a tuple, the CRC's nibble table, the Panel's and Buttons' smaller
  tables, the time module as the clock; 94,832 B on the main of 1 Dec
  02:25), 94,624 B (95,008 B
  with the package under /lib instead of the root; 95,664 B
  on the main of 1 Dec 01:50 before the drivers' setting tables and
  Profile.__repr__ left the loop's modules; 95,504 B on the heap5 branch; 99,696 B
  on the main of 1 Dec 00:00 before the boot's messages left the loop's
  modules; 96,128 B on the heap4 branch; 96,544 B
  on the main of 30 Nov 21:00; 96,128 B on the heap2 branch, 102,080 B
  before the boot-only methods were dropped, 103,856 B on the main of 30 Nov
  18:20 before the public names were shortened, 102,160 B on the heap branch,
  104,384 B before the private names were shortened, 107,472 B before the link's
  payload names and formats and the host-only functions left the board, 117,728 B
  before the seventh qstr pool was avoided, 118,896 B before
  the board stopped loading what it never runs: the relay driver on an
  H-bridge board, the sensor stand-ins on a healthy boot, VirtualClock, the
  calibration procedure, the constant-only modules; bench/bench_board.py
  --heap-only, whose probe then differed a little, said 128,672 B before issue 10
  item 4's work: no -O3, the 4 KB atan table, the reason texts on the board;
  the target is 90 KB).

Skipped, with the reason, where the emulated Pico is unavailable."""

from __future__ import annotations

from inversa_host.rp2emu.probes import LIVE_AFTER_BUILD, run_probe

# measured 96,128 B, 1,226 names (heap4 branch, 30 Nov 22:30: settle_heap
# drops its own tables and helpers, the App's four unread counters gone, the
# sensors' boot-only modules shed as soon as the front end is built;
# 96,544 B, 1,230 names on the main of 30 Nov 21:00); ~700 B of margin;
# 96,400 B, 1,229 names (heap3 branch, 30 Nov 20:45: the alarm
# levels and event kinds in bytes, the frame writer stuffing in place, more
# boot-only and uncalled methods dropped; 97,424 B before on the
# main of 30 Nov 20:30 (ada6e7a)); 96,128 B, 1,226 names (heap2 branch, 30 Nov 19:55: public names
# shortened, boot-only methods dropped; 103,856 B, 1,224 names on the main
# of 30 Nov 18:20); the margin is less than the 7.7 KB qstr
# pool that comes back when the board interns more than 1,260 names
# (qstr_info's n_pool 7; the count is printed below)
# + 1,936 B (hrfast branch, 30 Nov 22:40: the heart-rate check's viper
# kernels, imath_native.lags and harm, machine code on the heap; 96,544 ->
# 98,480 B, 1,230 names both) on heap4's 96,800; +1,040 B (tiltfast
# branch, 30 Nov 23:00: the IMU map's viper twin, imath_native.map_v, whose machine
# code lives on the heap; 96,544 -> 97,584 B, 1,230 -> 1,233 names).
# Merged main of 30 Nov 23:40 (heap4, hrfast, ctrlfast, tiltfast, attack3):
# 99,696 B, 1,231 names.  95,504 B, 1,241 names (heap5 branch, 1 Dec 01:40:
# the boot's and Profile's messages in error_text.py, settle_heap's tables in
# settle.py, both off the heap in the loop); ~700 B of margin.
# 95,008 B, 1,239 names (heap6 branch, 1 Dec 02:10: the MAX30102's and
# MPU-6050's setting tables built in __init__, CHIP_IDS dropped after the
# boot, Profile.__repr__ host-only; 95,664 B, 1,240 names on the main of
# 1 Dec 01:50); 94,624 B with the package at the root (/inversa: each
# module's file name 5 characters shorter); ~700 B of margin.
# 94,560 B, 1,212 names (hrboard branch, 1 Dec 04:15: HeartRateEstimator's
# instance 141 -> 110 attributes, 167 -> 127 slots; 94,832 B, 1,241 names on
# the main of 1 Dec 02:25); ~500 B of margin.
# 91,984 B, 1,241 names (heap7 branch, 1 Dec 04:00; 94,832 B on the main of
# 1 Dec 02:25), ~500 B of margin: issue 10 item 4's 90 KB is 92,160 B.
# 91,744 B with both merged (main of 1 Dec 04:25), ~500 B of margin.
# 92,304 B, 1,215 names (heap8 branch, 1 Dec 08:28: the IMU's read the
# class's, MPU6050's table smaller; 92,496 B, 1,215 names on the main
# of 1 Dec 07:40 with sensattack, hrmotion3 and attack6).
# 92,368 B, 1,214 names on the main of 1 Dec 08:45, with hrramp's fold
# period (+64 B after its loop moved into _near's): issue 10's 90 KB
# (92,160 B) is missed by 208 B; the day's safety and sensing fixes (an
# MPU-6500 reset mark, a sine-motion check, a rate-change fold, the attack6
# controls) were kept over it.  Ceiling raised from 92,250 to 92,500:
# ~130 B of margin for the build's layout.
MAX_LIVE_AFTER_BUILD = 92_500

# after the shared measurement (probes.LIVE_AFTER_BUILD, the bench's too)
AFTER = """
import sys
print("relay_loaded", int("inversa.drivers.relay_motor" in sys.modules))
SHED = ("inversa", "inversa.board", "inversa.control", "inversa.drivers", "inversa.link",
        "inversa.sense", "inversa.compat", "inversa.control.io", "inversa.drivers.imu")
print("packages_loaded", sum(int(p in sys.modules) for p in SHED))
tilt = sys.modules["inversa.sense.tilt"]
from inversa.sense import tilt as tilt2  # makes the packages again
print("same_module", int(tilt is tilt2), int("inversa.sense" in sys.modules))
import micropython
micropython.qstr_info()
"""


def test_the_app_builds_and_its_live_heap_stays_below_the_ceiling_on_the_emulated_pico(
    emulated_pico: None,
) -> None:
    out = run_probe(LIVE_AFTER_BUILD, then=(AFTER,))  # a MemoryError in the build raises here
    print("\nemulated Pico, live heap after the build: " + out)
    vals = out.split()
    live = int(vals[vals.index("live") + 1])
    assert 60_000 < live <= MAX_LIVE_AFTER_BUILD, (
        "the live heap grew past its ceiling; if qstr_info says n_pool=7, the"
        " board now interns more than 1,260 names and a 7.7 KB pool came back:"
        " keep host-only names off the board (docs/ARCHITECTURE.md, the heap): " + out
    )
    # an H-bridge board never loads the relay motor's driver (issue 10 item 4)
    assert vals[vals.index("relay_loaded") + 1] == "0", out
    # settle_heap shed the packages' module objects (inversa, inversa.sense,
    # ...), not their modules, and the modules nothing holds after the boot
    # (compat, control.io, drivers.imu); a later import makes the package
    # again and finds the loaded module (heap7 branch)
    assert vals[vals.index("packages_loaded") + 1] == "0", out
    i = vals.index("same_module")
    assert vals[i + 1 : i + 3] == ["1", "1"], out
