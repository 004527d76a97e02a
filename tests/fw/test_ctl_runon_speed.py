"""A drive that stops obeying at the fastest profile speed never takes the
table past the 6 deg/s hard limit (docs/SAFETY.md, too-fast motion).

Found by the campaign (seed 2043, timeline 179): a profile at the old 6 deg/s
ceiling ran at a true 5.86 deg/s; a driver stuck at 73 % duty as the hold
began took the table to 6.1 deg/s for 0.8 s.  The measured speed read ~1.5 %
low, so the runaway trip (then 6.05 deg/s measured) never fired and only the
run-on check cut the motor.  Now commands stay under MAX_CMD_RATE_CDPS
(5 deg/s) and the runaway trip sits at RUNAWAY_CDPS (5.6 measured), so a
stuck driver is cut before the hard limit, whatever its duty.  Virtual time
(CPython simulator), judged on the world's TRUE speed like the campaign.
"""

import pytest

from inversa.control import limits as L
from inversa_host.sim.campaign import Timeline, run_timeline


def _timeline(runon_s: float, duty: float, rate_cdps: int) -> Timeline:
    # START twice (baseline, then the descent), the person holds DOWN from
    # 23.5 s and lets go at 35.5 s (the hold begins), the driver sticks.
    return Timeline(
        seed=179,
        profile={
            "max_angle_cdeg": 4000,
            "hold_ms": 13000,
            "descent_cdps": rate_cdps,
            "rise_cdps": 100,
            "return_ms": 31000,
            "rest_ms": 15000,
        },
        events=sorted(
            [
                (3.91, "press_start", {}),
                (17.54, "press_start", {}),
                (23.55, "hold_down", {}),
                (35.5, "release_down", {}),
                (runon_s, "motor_runon", {"duty": duty}),
                (runon_s + 5.0, "motor_restore", {}),
            ],
            key=lambda e: e[0],
        ),
        duration_s=runon_s + 10.0,
        loading_deg=-60.0,
        name="runon_speed",
    )


@pytest.mark.parametrize("duty", [0.73, 0.75, 0.8, 1.0])
@pytest.mark.parametrize("runon_s", [30.0, 35.71, 36.5])
def test_a_stuck_driver_at_the_fastest_profile_speed_is_cut_under_the_hard_limit(runon_s, duty):
    out = run_timeline(_timeline(runon_s, duty, L.MAX_CMD_RATE_CDPS), early_stop=False)
    speed = [v for v in out.violations if v.kind == "speed"]
    assert not speed, speed


def test_profiles_stay_under_the_hard_limit_by_the_trip_margin():
    # The margin the trip needs: a true MAX_RATE reads GYRO_SCALE_TOL_PCT low
    # and must still trip; healthy commands must read well under the trip.
    assert L.RUNAWAY_CDPS < L.MAX_RATE_CDPS * (100 - L.GYRO_SCALE_TOL_PCT) // 100
    assert L.MAX_CMD_RATE_CDPS * (100 + L.GYRO_SCALE_TOL_PCT) // 100 + 20 < L.RUNAWAY_CDPS
