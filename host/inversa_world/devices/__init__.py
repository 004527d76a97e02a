# Register-level fakes of the sensors, and a fake I2C bus to hang them on, so
# the real firmware drivers run unchanged in tests and the simulator.
#
# Usage:
#     from inversa_world.devices import FakeI2CBus, FakeMPU6050, FakeMAX30102
#     bus = FakeI2CBus()
#     imu_fake = bus.attach(0x68, FakeMPU6050(clock, seed=1))
#     ppg_fake = bus.attach(0x57, FakeMAX30102(clock, seed=1, source=PPGSynth(seed=1)))

from inversa_world.devices.bus import FakeI2CBus
from inversa_world.devices.lsm6dsox import FakeLSM6DSOX
from inversa_world.devices.max30102 import FakeMAX30102
from inversa_world.devices.mpu6050 import FakeMPU6050
from inversa_world.devices.pulse_adc import FakePulseADC

__all__ = ["FakeI2CBus", "FakeLSM6DSOX", "FakeMAX30102", "FakeMPU6050", "FakePulseADC"]
