# What the I2C sensor drivers share (micropython-lib's drivers keep the same
# shape): the bus and address, one preallocated byte for single-register
# reads and writes (no allocation after the constructor), and recovery from a
# chip that reset itself (a brown-out): check() asks the driver whether the
# registers that hold its configuration are back at power-on values and, if
# so, writes the configuration again and counts it.
#
# A driver subclasses I2CDevice and provides _configure() (write the
# configuration) and _config_lost() (True if the chip no longer holds it).
#
# Usage (in a driver):
#     class MAX30102(I2CDevice):
#         def __init__(self, i2c, address=ADDR):
#             I2CDevice.__init__(self, i2c, address)
#             who = self._read_u8(_PART_ID)


class I2CDevice:
    def __init__(self, i2c, address):
        self.i2c = i2c
        self.address = address
        self._one = bytearray(1)
        self.resets = 0  # times the chip was found reset and re-initialised

    def check(self):
        """Re-initialise a chip that reset itself; True if it had (counted in
        `resets`).  Raises OSError on a bus error; allocates nothing."""
        if not self._config_lost():
            return False
        self._configure()
        self.resets += 1
        return True

    def _config_lost(self):  # the driver's: its configuration registers differ
        raise NotImplementedError

    def _configure(self):  # the driver's: write the configuration
        raise NotImplementedError

    def _read_u8(self, reg):
        self.i2c.readfrom_mem_into(self.address, reg, self._one)
        return self._one[0]

    def _write_u8(self, reg, value):
        self._one[0] = value
        self.i2c.writeto_mem(self.address, reg, self._one)
