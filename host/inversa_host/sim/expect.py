"""Judge a simulated session against its scenario's [expect] table.

Each check reads the trace (decoded telemetry, plus the simulator's ground
truth where it has one) and says what it found, so a failing scenario
explains itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inversa_host.sim.judge import Rules, Sample, judge
from inversa_host.sim.trace import SessionTrace, summarize


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _true_or_measured(trace: SessionTrace) -> list[float]:
    return trace.true_angle_deg if trace.true_angle_deg else trace.angle_deg


def check_expectations(
    trace: SessionTrace,
    expect: dict[str, Any],
    rules: Rules | None = None,
    events: list[tuple[float, str, dict]] | None = None,
) -> list[Check]:
    """`rules` and `events` (the scenario's) are needed by ``safety_rules``."""
    angles = _true_or_measured(trace)
    s = summarize(trace, angles)
    checks: list[Check] = []
    deepest_true = max(angles)
    for key, want in expect.items():
        if key == "final_state":
            checks.append(
                Check(key, s.final_state == want, f"ended in {s.final_state}, want {want}")
            )
        elif key == "final_state_any":
            checks.append(
                Check(key, s.final_state in want, f"ended in {s.final_state}, want one of {want}")
            )
        elif key == "alarms_include":
            missing = [a for a in want if a not in s.alarms]
            checks.append(Check(key, not missing, f"raised {s.alarms}; missing {missing}"))
        elif key == "alarms_include_any":
            hit = [a for a in want if a in s.alarms]
            checks.append(Check(key, bool(hit), f"raised {s.alarms}; want one of {want}"))
        elif key == "alarms_exclude":
            present = [a for a in want if a in s.alarms]
            checks.append(Check(key, not present, f"raised {s.alarms}; unwanted {present}"))
        elif key == "faults_include":
            missing = [f for f in want if f not in s.faults]
            checks.append(Check(key, not missing, f"faults {s.faults}; missing {missing}"))
        elif key == "states_include":
            visited = trace.states_visited()
            missing = [st for st in want if st not in visited]
            checks.append(Check(key, not missing, f"visited {visited}; missing {missing}"))
        elif key == "max_angle_deg":
            checks.append(
                Check(key, deepest_true <= want, f"deepest {deepest_true:.2f} deg, limit {want}")
            )
        elif key == "min_angle_reached_deg":
            checks.append(
                Check(key, deepest_true >= want, f"deepest {deepest_true:.2f} deg, want >= {want}")
            )
        elif key == "min_return_s":
            if s.return_s is None:
                checks.append(Check(key, False, "no return from depth to horizontal was seen"))
            else:
                checks.append(
                    Check(
                        key, s.return_s >= want, f"return took {s.return_s:.1f} s, want >= {want}"
                    )
                )
        elif key == "max_rate_dps":
            rates = [abs(b - a) / (tb - ta) for a, b, ta, tb in _pairs(angles, trace.t_s)]
            peak = max(rates, default=0.0)
            checks.append(Check(key, peak <= want, f"fastest {peak:.2f} deg/s, limit {want}"))
        elif key == "end_near_loading":
            near = abs(angles[-1] - trace.loading_deg) <= 3.0
            checks.append(
                Check(
                    key,
                    near == bool(want),
                    f"ended at {angles[-1]:.1f} deg, loading {trace.loading_deg:.1f} deg",
                )
            )
        elif key == "safety_rules":
            if rules is None:
                checks.append(Check(key, False, "no rules given (profile limit, loading angle)"))
                continue
            samples = [
                Sample(t, a, st, p)
                for t, a, st, p in zip(
                    trace.t_s, angles, trace.state, trace.alarm_priority, strict=False
                )
            ]
            broken = judge(samples, rules, events or [])
            detail = "; ".join(str(v) for v in broken) or "depth, speed, return, motion, end: ok"
            checks.append(Check(key, (not broken) == bool(want), detail))
        else:
            checks.append(Check(key, False, f"unknown expectation {key!r}"))
    return checks


def _pairs(angles: list[float], t_s: list[float]):
    # Rate over 0.5 s windows: the truth of how fast the person moved, not
    # single-sample noise.
    step = 1
    if len(t_s) > 1 and t_s[1] > t_s[0]:
        step = max(1, round(0.5 / (t_s[1] - t_s[0])))
    for i in range(0, len(angles) - step, step):
        yield angles[i], angles[i + step], t_s[i], t_s[i + step]
