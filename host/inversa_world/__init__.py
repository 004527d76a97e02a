# The simulated world: register-level sensor fakes, table physics, a virtual
# person.  MicroPython-compatible (no typing/dataclasses at run time), so it
# can run beside the firmware inside the MicroPython interpreter too.
