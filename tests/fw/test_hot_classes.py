"""The classes whose instances the 100 Hz period writes to have no property,
no descriptor and no __getattr__/__setattr__/__delattr__ (issue 10).

MicroPython marks a class that has any of them ("special accessors"), and
then every attribute STORE on its instances first looks the name up in the
class: measured on the emulated Pico (docs/ARCHITECTURE.md "The loop on the
RP2040"), ~14 us per store instead of ~3.  The controller stores dozens of
attributes per period; its two properties (in_session, persist_latched)
cost ~0.35 ms of every period until they became plain attributes."""

from __future__ import annotations

import inspect

import pytest

from inversa.app import App
from inversa.control.alarms import Alarms
from inversa.control.controller import Controller
from inversa.control.io import ControlInputs, ControlOutputs
from inversa.control.motion import FollowCheck, MotionMonitor, Trajectory
from inversa.control.scheduler import Scheduler
from inversa.drivers.brake import Brake
from inversa.drivers.buttons import Button, EStop, Panel
from inversa.drivers.buzzer import Buzzer
from inversa.drivers.hbridge import HBridge
from inversa.drivers.relay_motor import RelayMotor
from inversa.events import EventLog
from inversa.link.endpoint import LinkEndpoint
from inversa.link.frame import FrameReader, FrameWriter
from inversa.link.port import UartPort
from inversa.link.usb_port import UsbCdcPort

HOT = [
    App,
    Alarms,
    Controller,
    ControlInputs,
    ControlOutputs,
    FollowCheck,
    MotionMonitor,
    Trajectory,
    Scheduler,
    Brake,
    Button,
    EStop,
    Panel,
    Buzzer,
    HBridge,
    RelayMotor,
    EventLog,
    LinkEndpoint,
    FrameReader,
    FrameWriter,
    UartPort,
    UsbCdcPort,
]

_ACCESSOR_NAMES = ("__getattr__", "__setattr__", "__delattr__")
_DESCRIPTOR_METHODS = ("__get__", "__set__", "__delete__")


def special_accessors(cls: type) -> list[str]:
    """What would make MicroPython mark cls (py/objtype.c,
    check_for_special_accessors), over the class and its bases."""
    found = []
    for klass in inspect.getmro(cls):
        if klass is object:
            continue
        for name, value in vars(klass).items():
            if name in _ACCESSOR_NAMES:
                found.append(f"{klass.__name__}.{name}")
            elif isinstance(value, property):
                found.append(f"{klass.__name__}.{name} (property)")
            elif not inspect.isroutine(value) and not isinstance(
                value, (staticmethod, classmethod)
            ):
                t = type(value)
                if t.__module__ != "builtins" and any(m in vars(t) for m in _DESCRIPTOR_METHODS):
                    found.append(f"{klass.__name__}.{name} (descriptor)")
    return found


@pytest.mark.parametrize("cls", HOT, ids=lambda c: c.__name__)
def test_hot_classes_have_no_special_accessors(cls):
    assert special_accessors(cls) == []


def test_the_check_finds_a_property_and_a_setattr():
    class WithProperty:
        @property
        def x(self):
            return 1

    class WithSetattr:
        def __setattr__(self, name, value):
            object.__setattr__(self, name, value)

    assert special_accessors(WithProperty) == ["WithProperty.x (property)"]
    assert special_accessors(WithSetattr) == ["WithSetattr.__setattr__"]
