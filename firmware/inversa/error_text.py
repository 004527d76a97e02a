# The boot's error messages (issue 10 item 4: the Pico's heap): a wrong
# setting given to a constructor, a chip that does not answer.  A module's
# constant strings live as long as any of its code, so these messages, kept
# in the modules the loop uses, stayed on the heap after the boot dropped the
# constructors (settle.BOOT_METHODS).  Here they cost nothing until one is
# raised: the raising code imports this module then, and text() drops it
# again.
#
# Usage:
#     from inversa.error_text import text
#     raise ValueError(text(5, rate))     # TEXT[5] % (rate,)

TEXT = (
    "sample_rate must be one of 50..3200 (datasheet list)",  # 0: inversa.drivers.max30102
    "average must be one of 1, 2, 4, 8, 16, 32",  # 1: inversa.drivers.max30102
    "pulse_width_us must be one of 69, 118, 215, 411",  # 2: inversa.drivers.max30102
    "%d samples/s is too fast for a %d us pulse",  # 3: inversa.drivers.max30102
    "adc_range_na must be one of 2048, 4096, 8192, 16384",  # 4: inversa.drivers.max30102
    "led_ma must be within 0..50",  # 5: inversa.drivers.max30102
    "no MAX30102 at 0x%02x (PART_ID 0x%02x)",  # 6: inversa.drivers.max30102
    "MAX30102 did not come out of reset",  # 7: inversa.drivers.max30102
    "MAX30102 did not keep its configuration",  # 8: inversa.drivers.max30102
    "dlpf_hz must be one of 260, 184, 94, 44, 21, 10, 5",  # 9: inversa.drivers.mpu6050
    "rate_hz must divide %d (and be >= %d)",  # 10: inversa.drivers.mpu6050
    "no MPU-6050 at 0x%02x (WHO_AM_I 0x%02x)",  # 11: inversa.drivers.mpu6050
    "MPU-6050 did not keep its configuration",  # 12: inversa.drivers.mpu6050
    "accel_range_g must be one of 2, 4, 8, 16",  # 13: inversa.drivers.imu
    "gyro_range_dps must be one of 250, 500, 1000, 2000",  # 14: inversa.drivers.imu
    "%s did not come out of reset",  # 15: inversa.drivers.imu
    "alarm rule table: %d values for %d alarms",  # 16: inversa.control.alarms
    "alarm %d: priority must be 1..3",  # 17: inversa.control.alarms
    "alarm %d: times must be >= 0",  # 18: inversa.control.alarms
    "alarm %d: bad latch kind",  # 19: inversa.control.alarms
    "alarm %d: bad action",  # 20: inversa.control.alarms
    "at most 29 alarms fit a small int bitmask",  # 21: inversa.control.alarms
    "table_type must be MOTORIZED (0) or MANUAL (1)",  # 22: inversa.control.controller
    "accel_cdps2 must be 100..%d",  # 23: inversa.control.motion
    "release_level must be 0 or 1",  # 24: inversa.drivers.brake
    "debounce_ms must be >= 0",  # 25: inversa.drivers.buttons
    "full_scale_cdps must be 1..1000",  # 26: inversa.drivers.hbridge
    "min_duty_u16 must be 0..65534",  # 27: inversa.drivers.hbridge
    "capacity must be >= 1",  # 28: inversa.events
    "telemetry_hz must be 0..%d",  # 29: inversa.link.endpoint
    "uid must be at most 8 bytes (machine.unique_id())",  # 30: inversa.link.endpoint
    "period_us must be within 4000..50000 (20..250 samples/s)",  # 31: inversa.sense.heartrate
    "descent + hold_ms + return_ms take %d s, over the %d s hard limit: shorten hold_ms or return_ms, or raise descent_cdps",  # 32: inversa.control.profile
    "kp_shift must be within 1..12",  # 33: inversa.sense.tilt
    "rate_hz must be >= 10",  # 34: inversa.sense.tilt
    "one_g must be >= 256 (scale the accelerometer up)",  # 35: inversa.sense.tilt
    "period_us must be >= 1000",  # 36: inversa.control.scheduler
    "gc_every must be >= 1",  # 37: inversa.control.scheduler
    "%s path must not be empty",  # 38: inversa.storage
    "the UART could not be created",  # 39: inversa.app
    "odr_hz must be one of 104, 208, 416, 833, 1666",  # 40: inversa.drivers.lsm6dsox
    "accel_lpf_div must be one of 4, 10, 20, 45, 100, 200, 400, 800",  # 41: inversa.drivers.lsm6dsox
    "no LSM6DSOX at 0x%02x (WHO_AM_I 0x%02x)",  # 42: inversa.drivers.lsm6dsox
    "LSM6DSOX did not keep its configuration",  # 43: inversa.drivers.lsm6dsox
    "oversample must be within 1..64",  # 44: inversa.drivers.pulse_adc
    "period_us must be >= 1000",  # 45: inversa.drivers.pulse_adc
    "deadband_cdps must be >= 1",  # 46: inversa.drivers.relay_motor
    "dead_time_ms must be >= 20 (relay release time)",  # 47: inversa.drivers.relay_motor
    "depth must be >= 32",  # 48: inversa.drivers.injected
    "capacities must be >= 1",  # 49: inversa.link.port
    "record length %d, want %d",  # 50: inversa.control.persist
    "CRC mismatch",  # 51: inversa.control.persist
    "record version %d, want %d",  # 52: inversa.control.persist
    "value out of range",  # 53: inversa.control.persist
    "no persisted state: first boot",  # 54: inversa.control.persist
    "persisted state rejected (%s): e-stop latched, daily time used up",  # 55: inversa.control.persist
    "no stored profile: using the beginner profile",  # 56: inversa.control.profile_store
    "stored profile rejected (%s): using the beginner profile",  # 57: inversa.control.profile_store
    "inversa: maintenance mode: control loop not started, outputs safe (reset to run)",  # 58: inversa.app
    "profile must be %d bytes, got %d",  # 59: inversa.control.profile
    "profile CRC mismatch: the data is corrupt",  # 60: inversa.control.profile
    "not a profile (bad magic)",  # 61: inversa.control.profile
    "profile layout %d not supported (want %d)",  # 62: inversa.control.profile
    "%s must be an integer",  # 63: inversa.control.profile
    "%s=%d is outside %d..%d",  # 64: inversa.control.profile
    "not a Profile",  # 65: inversa.control.profile
    "hr_high_bpm must be at least %d above hr_low_bpm",  # 66: inversa.control.profile
)


def text(code, *args):
    """TEXT[code], formatted with args.  Then this module forgets itself
    (sys.modules and the package's attribute), so it costs no heap once the
    message is made: a boot with a missing or corrupt record or a failed
    sensor loads it during the build, whose peak decides whether an ESP32's
    140 KB heap fits (tests/host/test_heap_unix32.py).  Kept while a sensor
    is retried in the loop (sensor_standin, which loads it): a wrong chip
    there raises every retry, and an import is 13-22 ms on the emulated
    Pico, longer than a period."""
    import sys

    t = TEXT[code]
    mods = sys.modules
    if "inversa.sensor_standin" not in mods and mods.pop("inversa.error_text", None) is not None:
        try:
            delattr(mods["inversa"], "error_text")
        except (KeyError, AttributeError, TypeError):
            pass
    return t % args if args else t
