"""The firmware's board definitions and the pin tables in hardware/ agree, and
every pin is legal for its job on its chip (rules from the RP2040/RP2350 and
ESP32 datasheets, written here independently of boards.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inversa.board.boards import ACTIVE_LEVEL, ADC, BOARDS, IN, OUT, PWM, SIGNALS

HW = Path(__file__).resolve().parents[2] / "hardware"
ROW = re.compile(r"^\| `(\w+)` \| (\d+) \| (\w+) \|")


def table(board: str) -> dict[str, tuple[int, str]]:
    rows = {}
    for line in (HW / f"pins_{board}.md").read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} listed twice"
            rows[m.group(1)] = (int(m.group(2)), m.group(3))
    return rows


KIND_WORD = {IN: "input", OUT: "output", PWM: "PWM", ADC: "analog"}


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_pin_table_matches_the_firmware(board):
    d = BOARDS[board]
    rows = table(board)
    for name, kind in SIGNALS:
        assert rows[name] == (d["pins"][name], KIND_WORD[kind]), name
    bus, sda, scl = d["i2c"]
    assert rows[f"i2c{bus}_sda"][0] == sda and rows[f"i2c{bus}_scl"][0] == scl
    uid, tx, rx = d["uart"]
    assert rows[f"uart{uid}_tx"][0] == tx and rows[f"uart{uid}_rx"][0] == rx
    assert len(rows) == len(SIGNALS) + 4  # nothing in the table the firmware lacks


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_every_signal_has_its_own_gpio(board):
    d = BOARDS[board]
    used = [d["pins"][n] for n, _ in SIGNALS] + list(d["i2c"][1:]) + list(d["uart"][1:])
    assert len(used) == len(set(used)), sorted(used)
    assert set(d["pins"]) == {n for n, _ in SIGNALS}


# RP2040 and RP2350 share the Pico header and its function map.
RP_I2C = {
    0: ({0, 4, 8, 12, 16, 20}, {1, 5, 9, 13, 17, 21}),
    1: ({2, 6, 10, 14, 18, 26}, {3, 7, 11, 15, 19, 27}),
}
RP_UART = {0: ({0, 12, 16, 28}, {1, 13, 17, 29}), 1: ({4, 8, 20, 24}, {5, 9, 21, 25})}
RP_ADC = {26, 27, 28}
PICO_INTERNAL = {23, 24, 29}  # SMPS mode, VBUS sense, VSYS/3: not on the header


@pytest.mark.parametrize("board", ["pico", "pico2"])
def test_rp2_pins_are_legal(board):
    d = BOARDS[board]
    bus, sda, scl = d["i2c"]
    assert sda in RP_I2C[bus][0] and scl in RP_I2C[bus][1]
    uid, tx, rx = d["uart"]
    assert tx in RP_UART[uid][0] and rx in RP_UART[uid][1]
    for name, kind in SIGNALS:
        g = d["pins"][name]
        assert 0 <= g <= 29 and g not in PICO_INTERNAL, name
        if kind == ADC:
            assert g in RP_ADC, name
        if g == 25:
            assert name == "led", "GPIO25 is the on-board LED"
    # both motor PWMs: the same slice is fine, the same channel is not
    a, b = d["pins"]["motor_a"], d["pins"]["motor_b"]
    assert (a >> 1) & 7 != (b >> 1) & 7 or (a & 1) != (b & 1)
    assert d["no_pull"] == ()  # every RP2 GPIO has pull resistors


ESP_FLASH = set(range(6, 12))
ESP_CONSOLE = {1, 3}  # UART0: the REPL / USB bridge
ESP_INPUT_ONLY = {34, 35, 36, 37, 38, 39}
ESP_ADC1 = set(range(32, 40))
# Strapping pins and pins that glitch at boot: never an output that moves
# or releases anything.  GPIO12 sets the flash voltage: never used at all.
ESP_BOOT_UNSAFE = {0, 1, 2, 3, 5, 12, 14, 15}


def test_esp32_pins_are_legal():
    d = BOARDS["esp32"]
    used = {d["pins"][n]: (n, k) for n, k in SIGNALS}
    assert not (set(used) & (ESP_FLASH | ESP_CONSOLE | {12}))
    for g, (name, kind) in used.items():
        if kind in (OUT, PWM):
            assert g not in ESP_INPUT_ONLY, name
        if kind == ADC:
            assert g in ESP_ADC1, f"{name}: ADC2 stops working when Wi-Fi is on"
        if kind == IN and g in ESP_INPUT_ONLY:
            assert g in d["no_pull"], f"{name}: input-only pins have no internal pull-up"
    for name in ("motor_a", "motor_b", "motor_en", "brake"):
        assert d["pins"][name] not in ESP_BOOT_UNSAFE, name
    assert set(d["no_pull"]) <= ESP_INPUT_ONLY


def test_readme_documents_the_reset_safe_wiring_the_firmware_relies_on():
    # The builder relies on "level 0 is safe on every output" (hardware
    # pull-downs) and on NO motion buttons; the build guide must say so.
    text = (HW / "README.md").read_text(encoding="utf-8")
    assert "pull-downs" in text and "Level 0 is safe on every output" in text
    assert "Motion inputs are normally open" in text
    assert ACTIVE_LEVEL["btn_down"] == 0
