"""Every scenario in the library runs against the real firmware and meets its
expectations (CPython); a representative set also runs inside MicroPython."""

from __future__ import annotations

from pathlib import Path

import pytest

from inversa_host.sim.runner import run_scenario
from inversa_host.sim.scenario import library, load_scenario
from inversa_host.store import Store

# Whole sessions (motorized and manual), a reboot, a sensor failure, a
# heart-rate alarm, a latched fault and a refusal.
VM_SET = (
    "quick_session",
    "manual_session",
    "reboot_mid_session",
    "tilt_stuck",
    "hr_rise",
    "estop_wire_broken",
    "contraindicated",
)


def _run(path: Path, tmp_path: Path, vm: bool) -> None:
    sc = load_scenario(path)
    with Store(tmp_path / "sim.db") as store:
        result = run_scenario(sc, store, vm=vm)
        failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.ok]
        assert not failed, f"{sc.name}{' (VM)' if vm else ''}: " + "; ".join(failed)
        assert result.checks, "a scenario must expect something"
        # Nothing recorded is lost between the simulated board and the store.
        assert result.counters["lost_frames"] == 0
        assert result.counters["crc_errors"] == 0
        stored = store.session(result.session_id)
        assert stored.counters["frames"] == result.counters["frames"] > 0
        assert stored.samples == len(result.trace) > 0


def test_library_covers_every_hazard_row() -> None:
    names = {p.stem for p in library()}
    hazards = {
        "over-inversion": {
            "over_inversion_manual",
            "motor_runon",
            "manual_tipping",
            "manual_reset_releases_lock",
        },
        "too-fast motion": {"too_fast_manual", "fast_motor"},
        "rising too fast": {
            "rising_too_fast_manual",
            "beginner",
            "shallow_profile_return",
            "reboot_with_stuck_imu",
        },
        "trapped inverted": {
            "time_limit_manual",
            "reboot_mid_session",
            "motor_stall",
            "mains_lost",
            "home_switch_stuck",
            "end_switch_stuck",
        },
        "physiological distress": {"hr_rise", "vasovagal", "pulse_lost"},
        "tilt sensor failure": {"tilt_stuck", "tilt_bus_errors"},
        "motor run-on / runaway": {"motor_runon", "motor_stall"},
        "host misbehaviour": {"host_silent"},
        "unintended motion": {
            "host_cannot_move",
            "estop_descent",
            "estop_wire_broken",
            "contactor_welded",
        },
    }
    for hazard, scenarios in hazards.items():
        assert scenarios <= names, f"{hazard}: missing {scenarios - names}"
    assert {"beginner", "intermediate", "manual_session"} <= names


@pytest.mark.parametrize("path", library(), ids=lambda p: p.stem)
def test_scenario_in_cpython(path: Path, tmp_path: Path) -> None:
    _run(path, tmp_path, vm=False)


@pytest.mark.mpy
@pytest.mark.slow
@pytest.mark.parametrize("name", VM_SET)
def test_scenario_in_micropython(name: str, tmp_path: Path) -> None:
    path = next(p for p in library() if p.stem == name)
    _run(path, tmp_path, vm=True)
