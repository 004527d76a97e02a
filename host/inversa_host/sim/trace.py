"""What a session looked like: the samples and events a report and the checks read.

Filled from decoded telemetry (the simulator, or a session in the store), so
a simulated session is judged from exactly what a real board would send.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TraceEvent:
    t_s: float
    kind: str  # "state", "alarm_raised", "alarm_cleared", "fault", "boot", ...
    name: str
    detail: str = ""


@dataclass
class SessionTrace:
    t_s: list[float] = field(default_factory=list)
    angle_deg: list[float] = field(default_factory=list)
    target_deg: list[float] = field(default_factory=list)
    rate_dps: list[float] = field(default_factory=list)
    hr_bpm: list[float] = field(default_factory=list)  # 0 = no reading
    true_hr_bpm: list[float] = field(default_factory=list)  # simulator only
    true_angle_deg: list[float] = field(default_factory=list)  # simulator only
    state: list[str] = field(default_factory=list)
    alarm_priority: list[int] = field(default_factory=list)
    motor_cmd_dps: list[float] = field(default_factory=list)
    events: list[TraceEvent] = field(default_factory=list)
    loading_deg: float = -65.0
    board_t0_ms: int = 0  # the board's ticks_ms at t_s = 0
    # sample indexes where a new boot or a hole (frames lost) begins: plots break there
    breaks: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.t_s)

    def alarms_raised(self) -> list[str]:
        """Alarms raised, from the board's events and from the alarm bits in
        telemetry (events wait on the board while no host holds the lease)."""
        seen: list[str] = []
        for ev in self.events:
            if ev.kind in ("alarm_raised", "alarm_seen") and ev.name not in seen:
                seen.append(ev.name)
        return seen

    def faults(self) -> list[str]:
        seen: list[str] = []
        for ev in self.events:
            if ev.kind == "fault" and ev.name not in seen:
                seen.append(ev.name)
        return seen

    def states_visited(self) -> list[str]:
        seen: list[str] = []
        for s in self.state:
            if not seen or seen[-1] != s:
                seen.append(s)
        return seen


@dataclass
class TraceSummary:
    duration_s: float
    deepest_deg: float
    time_inverted_s: float
    return_s: float | None  # deepest angle -> horizontal, last return
    max_rate_dps: float
    hr_min_bpm: float | None
    hr_max_bpm: float | None
    alarms: list[str]
    faults: list[str]
    final_state: str
    final_angle_deg: float


def summarize(trace: SessionTrace, angles: list[float] | None = None) -> TraceSummary:
    """Summary of a session; ``angles`` overrides the measured angle (the
    simulator passes its ground truth when judging a scenario)."""
    if not trace.t_s:
        raise ValueError("the session has no samples")
    angle = trace.angle_deg if angles is None else angles
    dt = [b - a for a, b in zip(trace.t_s, trace.t_s[1:], strict=False)]
    for i in trace.breaks:  # nothing is known across a hole or a reboot
        if 0 < i <= len(dt):
            dt[i - 1] = 0.0
    inverted = sum(d for d, a in zip(dt, angle, strict=False) if a > 0.0)
    deepest_i = max(range(len(trace)), key=lambda i: angle[i])
    return_s = None
    if angle[deepest_i] > 0.0:
        # The return: from the last moment within 0.1 deg of the deepest
        # angle to the first moment after it that the bed is horizontal.
        last_deep = deepest_i
        peak = angle[deepest_i]
        for i in range(deepest_i, len(trace)):
            if angle[i] >= peak - 0.1:
                last_deep = i
            elif angle[i] <= 0.0:
                return_s = trace.t_s[i] - trace.t_s[last_deep]
                break
    hrs = [h for h in trace.hr_bpm if h > 0]
    return TraceSummary(
        duration_s=trace.t_s[-1] - trace.t_s[0],
        deepest_deg=angle[deepest_i],
        time_inverted_s=inverted,
        return_s=return_s,
        max_rate_dps=max((abs(r) for r in trace.rate_dps), default=0.0),
        hr_min_bpm=min(hrs) if hrs else None,
        hr_max_bpm=max(hrs) if hrs else None,
        alarms=trace.alarms_raised(),
        faults=trace.faults(),
        final_state=trace.state[-1] if trace.state else "?",
        final_angle_deg=angle[-1],
    )
