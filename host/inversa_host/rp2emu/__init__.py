"""The firmware on an emulated Raspberry Pi Pico (rp2040js + stock MicroPython).

* :mod:`.tools`    where the firmware image and boot ROM are (never in the repo)
* :mod:`.fsimage`  the board's littlefs: exactly what ``inversa deploy`` copies
* :mod:`.board`    one emulated Pico, stepped in lock-step with the world
* :mod:`.session`  a whole simulated session with the firmware on it
"""
