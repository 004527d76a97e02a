"""Every scenario in the library runs against the real firmware and meets its
expectations (CPython); a representative set also runs inside MicroPython."""

from __future__ import annotations

from pathlib import Path

import pytest

from inversa_host.sessions.store import Store
from inversa_host.sim.runner import run_scenario
from inversa_host.sim.scenario import library, load_scenario

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
            "mains_flicker",
            "home_switch_stuck",
            "end_switch_stuck",
            "review_home_stuck_imu_lost",
        },
        "physiological distress": {
            "hr_rise",
            "vasovagal",
            "pulse_lost",
            "review_hr_flapping_pulse",
        },
        # reboot_with_dead_imu: handed case ../shared/cases/safety/ (issue 14 item 1)
        "tilt sensor failure": {
            "tilt_stuck",
            "tilt_bus_errors",
            "reboot_with_dead_imu",
            "reboot_bus_stuck",
            "review_long_return_imu_lost",
            "review_foot_heavy_imu_lost",
        },
        "motor run-on / runaway": {"motor_runon", "motor_stall"},
        "host misbehaviour": {"host_silent"},
        "unintended motion": {
            "host_cannot_move",
            "estop_descent",
            "estop_wire_broken",
            "contactor_welded",
            "stuck_hold_to_run",
            "review_estop_during_selftest",
            "review_manual_contraindicated",
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


def test_power_reset_keeps_the_estop_latch_and_the_daily_time(tmp_path: Path) -> None:
    # Issue 14 (items 5, 12): what the firmware persists (control/persist.py)
    # survives the simulator's power_reset, which keeps the board's storage.
    from inversa.control import states as S
    from inversa.control.profile import Profile
    from inversa_world.session import SimSession

    spec = {
        "table": "motorized",
        "duration_ms": 90000,
        "profile": Profile(max_angle_cdeg=2500, hold_ms=180000).to_bytes(),
        "events": [
            (3000, "press_start", {}),
            (25000, "hold_down", {}),
            (50000, "release_down", {}),
            (60000, "press_estop", {}),
            (62000, "release_estop", {}),
            (65000, "power_reset", {}),
        ],
    }
    s = SimSession(spec, str(tmp_path))
    s.run_for(64000)
    assert s.app is not None
    assert s.app.ctrl.state == S.ESTOP
    used = s.app.ctrl.daily_used_ms
    assert used > 10000  # inverted for a while
    s.run_for(2000)
    assert s.boots == 2 and s.app is not None
    assert s.app.ctrl.daily_used_ms >= used  # not started afresh
    s.run_for(10000)
    assert s.app.ctrl.state == S.ESTOP  # the latch survived; only the local clear drops it
    assert s.app.out.motor_cmd_cdps == 0 and not s.app.out.motor_enable
