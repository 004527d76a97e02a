# Inversa: safety controller firmware for inversion tables (MicroPython).
# The same package runs on the board, in CPython (tests, simulator) and in the
# MicroPython WebAssembly interpreter on the PC.
VERSION = "0.1.0"
