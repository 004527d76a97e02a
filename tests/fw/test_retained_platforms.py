"""Which retained RAM each board gets (inversa/retained.retained_for)."""

from __future__ import annotations

import sys

import pytest

from inversa import retained


class _Rtc:
    def __init__(self) -> None:
        self.data = b""

    def memory(self, buf=None):
        if buf is None:
            return self.data
        self.data = bytes(buf)
        return None


class _Machine:
    def __init__(self) -> None:
        self.rtc = _Rtc()
        self.mem32: dict[int, int] = {}

    def RTC(self) -> _Rtc:  # machine.RTC
        return self.rtc


@pytest.mark.parametrize("platform", ["esp32", "rp2", "linux"])
def test_each_board_gets_its_retained_ram(monkeypatch, platform: str) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    m = _Machine()
    ram = retained.retained_for(m)
    if platform == "linux":
        assert ram is None  # no retained RAM: the app writes the flash
        return
    assert ram is not None
    ram.save((1500, -200, 140))
    if platform == "esp32":
        assert len(m.rtc.data) == 16 and not m.mem32
    else:
        assert sorted(m.mem32) == [retained.RP2_SCRATCH0 + 4 * i for i in range(4)]
    assert ram.load() == (1500, -200, 140)
