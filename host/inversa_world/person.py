# A virtual person: heart rate that responds to inversion, and, on a manual
# table, their own way of tilting (sometimes too fast, too deep or too long).
#
# Heart rate (design brief §2: the response to inversion is inconsistent
# between studies, so it is a parameter): resting rate, respiratory sinus
# arrhythmia (~0.25 Hz), a slow random wander, an inversion response that
# approaches `inversion_delta_bpm` (scaled by depth) with a time constant of
# `inversion_tau_s`, and scripted changes (steps of +-20 bpm over 15-60 s, a
# vasovagal drop) set by the scenario timeline.
#
# Usage:
#     hr = HeartModel(resting_bpm=65, seed=1)
#     hr.step(dt_s, angle_deg)           # hr.bpm is the true instantaneous rate
#     hr.ramp_to(delta_bpm=-20, over_s=30)

import math

from inversa_world.rng import Rng


class HeartModel:
    def __init__(
        self,
        resting_bpm=65.0,
        inversion_delta_bpm=0.0,
        inversion_tau_s=20.0,
        rsa_bpm=2.0,
        wander_bpm=1.5,
        seed=1,
    ):
        if not 30.0 <= resting_bpm <= 120.0:
            raise ValueError("resting_bpm must be 30..120")
        self.resting_bpm = resting_bpm
        self.inversion_delta_bpm = inversion_delta_bpm
        self.inversion_tau_s = inversion_tau_s
        self.rsa_bpm = rsa_bpm
        self.wander_bpm = wander_bpm
        self._rng = Rng(seed)
        self.t_s = 0.0
        self._inv = 0.0  # inversion response reached so far (bpm)
        self._wander = 0.0
        self._scripted = 0.0  # scripted offset reached so far
        self._ramp_from = 0.0
        self._ramp_to = 0.0
        self._ramp_t0 = 0.0
        self._ramp_s = 0.0
        self.bpm = resting_bpm

    def ramp_to(self, delta_bpm, over_s):
        """Move the scripted offset to delta_bpm (from resting) over over_s seconds."""
        self._ramp_from = self._scripted
        self._ramp_to = delta_bpm
        self._ramp_t0 = self.t_s
        self._ramp_s = over_s if over_s > 0 else 0.001

    def step(self, dt_s, angle_deg):
        self.t_s += dt_s
        depth = angle_deg / 90.0 if angle_deg > 0.0 else 0.0
        goal = self.inversion_delta_bpm * depth
        self._inv += (goal - self._inv) * (dt_s / (self.inversion_tau_s + dt_s))
        # Ornstein-Uhlenbeck wander: bounded, slow.
        self._wander += (
            -self._wander * dt_s / 30.0
            + self.wander_bpm * 0.26 * math.sqrt(dt_s) * self._rng.gauss()
        )
        frac = (self.t_s - self._ramp_t0) / self._ramp_s if self._ramp_s else 1.0
        if frac >= 1.0:
            self._scripted = self._ramp_to
        elif frac > 0.0:
            self._scripted = self._ramp_from + (self._ramp_to - self._ramp_from) * frac
        rsa = self.rsa_bpm * math.sin(2.0 * math.pi * 0.25 * self.t_s)
        bpm = self.resting_bpm + self._inv + self._wander + self._scripted + rsa
        self.bpm = bpm if bpm > 25.0 else 25.0


class ManualTilter:
    """How a person moves a manual table: towards a goal angle at their own
    pace, by shifting their arms (a torque on the bed), with a PD 'feel'."""

    def __init__(self, descent_dps=4.0, return_dps=3.0, max_torque_nm=60.0):
        self.descent_dps = descent_dps
        self.return_dps = return_dps
        self.max_torque_nm = max_torque_nm
        self.goal_deg = None  # None: relaxed, lets the table be
        self._ref_deg = None

    def set_goal(self, goal_deg, pace_dps=None):
        self.goal_deg = goal_deg
        if pace_dps is not None:
            if goal_deg is not None and self._ref_deg is not None and goal_deg < self._ref_deg:
                self.return_dps = pace_dps
            else:
                self.descent_dps = pace_dps

    def torque_nm(self, dt_s, angle_deg, rate_dps, gravity_nm):
        if self.goal_deg is None:
            self._ref_deg = None
            return 0.0
        if self._ref_deg is None:
            self._ref_deg = angle_deg
        # Move a reference towards the goal at the person's pace, then track it.
        err = self.goal_deg - self._ref_deg
        step = (self.descent_dps if err > 0 else self.return_dps) * dt_s
        if abs(err) <= step:
            self._ref_deg = self.goal_deg
        else:
            self._ref_deg += step if err > 0 else -step
        pace = self.descent_dps if err > 0 else -self.return_dps
        if abs(err) <= step:
            pace = 0.0
        torque = -gravity_nm + 40.0 * (self._ref_deg - angle_deg) + 8.0 * (pace - rate_dps)
        if torque > self.max_torque_nm:
            torque = self.max_torque_nm
        elif torque < -self.max_torque_nm:
            torque = -self.max_torque_nm
        return torque
