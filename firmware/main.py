# Boot: load /board.json, build the board (outputs safe first), run the
# 100 Hz control loop.  A configuration error stops here with a message that
# says what to fix; the outputs stay in their safe state (motor off, brake on).
# Maintenance (the REPL for `inversa deploy` / `doctor`, no control loop):
# hold STOP while powering on, or send the host's maintenance command while
# the table is idle; the next reset runs normally again.
import micropython

# Before anything else, even the import below (hundreds of ms from flash): a
# Ctrl-C (every host frame begins with 0x03; mpremote sends it to take the
# REPL) must not stop a boot half-way.  Found on the emulated Pico: mpremote
# stopped the maintenance boot before it used up its mark, so the next reset
# came back to the REPL instead of the firmware.  app.run() gives Ctrl-C back
# where it hands over to the REPL.
micropython.kbd_intr(-1)
try:
    from inversa.app import run
except BaseException:
    micropython.kbd_intr(3)  # no firmware to run: the REPL, interruptible
    raise
run()
