"""The simulated table behaves like the physical one the firmware will meet."""

from __future__ import annotations

import pytest

from inversa_world.table import PersonBody, TableModel, TableParams


def _run(t: TableModel, seconds: float, dt: float = 0.01) -> None:
    for _ in range(round(seconds / dt)):
        t.step(dt)


def test_motorized_table_holds_without_motor_even_when_unbalanced() -> None:
    t = TableModel(TableParams(), PersonBody(com_along_m=0.08), angle_deg=30.0)
    t.brake_on = False
    _run(t, 5.0)
    assert t.angle_deg == pytest.approx(30.0)


def test_motor_speed_follows_duty_and_direction() -> None:
    balanced = PersonBody(com_along_m=0.0, com_above_m=0.0)
    t = TableModel(TableParams(motor_no_load_dps=8.0), balanced, angle_deg=0.0)
    t.brake_on, t.motor_enabled, t.motor_duty = False, True, 0.5
    _run(t, 3.0)
    assert t.rate_dps == pytest.approx(4.0, abs=0.01)
    t.motor_duty = -0.5
    _run(t, 3.0)
    assert t.rate_dps == pytest.approx(-4.0, abs=0.01)


def test_load_moves_speed_along_the_motor_line() -> None:
    heavy = PersonBody(com_along_m=0.05, com_above_m=0.0)  # head-heavy: helps descent
    down = TableModel(TableParams(), heavy, angle_deg=0.0)
    up = TableModel(TableParams(), heavy, angle_deg=0.0)
    for t, duty in ((down, 0.5), (up, -0.5)):
        t.brake_on, t.motor_enabled, t.motor_duty = False, True, duty
        _run(t, 1.0)
    assert down.rate_dps > 4.0 > -up.rate_dps > 3.5


def test_motor_disabled_means_no_drive() -> None:
    t = TableModel(TableParams(), PersonBody(), angle_deg=0.0)
    t.brake_on, t.motor_enabled, t.motor_duty = False, False, 1.0
    _run(t, 2.0)
    assert t.angle_deg == 0.0


def test_runon_drives_without_command_until_enable_or_power_is_cut() -> None:
    t = TableModel(TableParams(), PersonBody(), angle_deg=0.0)
    t.brake_on, t.motor_enabled, t.motor_duty = False, True, 0.0
    t.motor_runon_duty = 0.5
    _run(t, 2.0)
    assert t.angle_deg > 4.0
    t.motor_enabled = False  # the enable line drops the motor contactor
    a = t.angle_deg
    _run(t, 2.0)
    assert t.angle_deg == pytest.approx(a, abs=0.1)
    t.motor_enabled = True
    t.power_ok = False  # e-stop contactor
    _run(t, 2.0)
    assert t.angle_deg == pytest.approx(a, abs=0.1)


def test_manual_table_tips_head_down_when_head_heavy_and_brake_holds_it() -> None:
    t = TableModel(TableParams(motorized=False), PersonBody(com_along_m=0.05), angle_deg=0.0)
    t.brake_on = False
    _run(t, 2.0)
    assert t.angle_deg > 1.0
    t.brake_on = True
    a = t.angle_deg
    _run(t, 2.0)
    assert t.angle_deg == pytest.approx(a)


def test_manual_table_lock_never_keeps_the_person_from_coming_up() -> None:
    t = TableModel(TableParams(motorized=False), PersonBody(com_along_m=0.0), angle_deg=30.0)
    t.brake_on = True
    t.person_torque_nm = 20.0  # pushing deeper: locked
    _run(t, 1.0)
    assert t.angle_deg == pytest.approx(30.0)
    t.person_torque_nm = -40.0  # pulling up: free
    _run(t, 2.0)
    assert t.angle_deg < 25.0


def test_stops_and_switches() -> None:
    p = TableParams(motorized=False, loading_deg=-65.0, deepest_stop_deg=90.0)
    t = TableModel(p, PersonBody(com_along_m=-0.08), angle_deg=-60.0)  # feet-heavy: falls back
    t.brake_on = False
    _run(t, 10.0)
    assert t.angle_deg == -65.0 and t.home_switch and not t.end_switch
    t = TableModel(p, PersonBody(com_along_m=0.08, com_above_m=0.05), angle_deg=60.0)
    t.brake_on = False
    _run(t, 10.0)
    assert t.angle_deg == 90.0 and t.end_switch and not t.home_switch


def test_stalled_motor_does_not_move() -> None:
    t = TableModel(TableParams(), PersonBody(), angle_deg=10.0)
    t.brake_on, t.motor_enabled, t.motor_duty = False, True, -1.0
    t.motor_stalled = True
    _run(t, 2.0)
    assert t.angle_deg == 10.0


def test_vibration_grows_with_speed_up_to_0_3_g() -> None:
    t = TableModel(TableParams(), PersonBody(), angle_deg=0.0)
    assert t.vibration_g() == 0.0
    t.rate_dps = 4.0
    assert 0.1 < t.vibration_g() < 0.3
    t.rate_dps = 20.0
    assert t.vibration_g() == pytest.approx(0.3)


def test_bad_body_refused() -> None:
    with pytest.raises(ValueError, match="mass_kg"):
        PersonBody(mass_kg=5)
