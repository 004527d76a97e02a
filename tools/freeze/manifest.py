# Freeze the firmware package into a custom MicroPython image.
#
# Why: loaded from .mpy files, the firmware's bytecode, constant tables and
# module globals all live in the GC heap (~95.0 KB live after the build on
# a Pico, measured on the emulated Pico; 104 KB in the 32-bit fixed-heap
# interpreter, tests/host/test_heap_unix32.py).  An ESP32 without PSRAM starts
# MicroPython with a 56 KB heap and grows it to roughly 110-140 KB: the .mpy
# firmware fits a 140k heap in the fixed-heap interpreter (28.3 KB free after
# the build, heap6 branch of 1 Dec 02:10; the build's peak is ~124 KB) but
# not 112k or 56k (MemoryError while building the app), so an ESP32 that
# stops short of ~140 KB needs it frozen.  Frozen bytecode stays in flash and is executed in
# place; only the running objects (instances, buffers) take heap.
# The other path is an ESP32 module with PSRAM (ESP32-WROVER, the
# ESP32_GENERIC-SPIRAM firmware: a 2-4 MB heap), which runs the .mpy files
# as `inversa deploy` puts them.
#
# Build (a MicroPython v1.29 source tree with ESP-IDF set up):
#   make -C ports/esp32 BOARD=ESP32_GENERIC \
#        FROZEN_MANIFEST=/path/to/inversa/tools/freeze/manifest.py
# (Pico: make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=...)
# Then flash the image, and `inversa deploy` writes /board.json and main.py as
# usual: it sees the frozen package and copies no .mpy files (a /inversa
# at the root comes before ".frozen" on sys.path; it removes those there
# and an older /lib/inversa).
include("$(PORT_DIR)/boards/manifest.py")  # noqa: F821 - manifest functions
package("inversa", base_path="../../firmware")  # noqa: F821
