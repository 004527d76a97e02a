"""A whole-system random fault campaign: ``inversa sim --campaign N --seed S``.

Each timeline is a motorized session (a person who starts, holds DOWN for a
while and lets go) with faults and person actions drawn from the scenario
action list at random times: resets (with sensors gone, buttons held, the
e-stop pressed), sensors that drop off the bus or freeze, a stuck I2C bus,
flickering pulse contact, chattering switches, stuck buttons, motor stalls
and run-ons, lost mains, host commands.  One pair is never drawn: a motor
run-on together with a dead or frozen angle sensor (then nothing can see the
motion; see ``_blind_double_fault``).  The real firmware runs against the
simulated world in CPython, period by period, and ``judge.judge`` checks the
world's TRUE angle, speed and return time (depth, speed, return, motion, end).

The first failing timeline (in index order) is shrunk: events are dropped,
times rounded and the session shortened while it still breaks the same rule;
it is then printed as a scenario file (and written) that ``inversa sim
FILE`` reproduces (its ``[expect]`` has ``safety_rules = true``).

Usage::

    result = run_campaign(1000, seed=1, jobs=2, progress=print)
    result.failure          # None, or a Failure with .toml
    tl = random_timeline(7, 3)              # the campaign's 4th timeline, seed 7
    outcome = run_timeline(tl)              # outcome.violations
"""

from __future__ import annotations

import multiprocessing
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from inversa.control import limits as L
from inversa_host.link.names import state_name
from inversa_host.sim.judge import LOADING_TOL_DEG, Rules, Sample, Violation, judge
from inversa_host.sim.scenario import ACTIONS, Scenario, parse_scenario

ArgValue = float | str | bool
Event = tuple[float, str, dict[str, ArgValue]]

SETTLE_S = 240.0  # after the last event: an open-loop return of these profiles (bound: its plan, 214 s at the assumed 2x gain) + rest + rise
SAMPLE_MS = 100  # the truth's sampling, as `inversa sim` records it
STOP_AFTER_S = 3.0  # settled this long after the last event: the timeline is over


@dataclass
class Timeline:
    seed: int
    profile: dict[str, int]
    events: list[Event]
    duration_s: float
    loading_deg: float = -60.0
    name: str = "campaign"

    @property
    def limit_deg(self) -> float:
        return self.profile.get("max_angle_cdeg", 2000) / 100.0


@dataclass
class Outcome:
    violations: list[Violation]
    sim_s: float
    wall_s: float
    samples: list[Sample] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.violations)


# ---------------------------------------------------------------------------
# timeline <-> scenario file


def _fmt(v: ArgValue) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    v = round(float(v), 4)
    return str(int(v)) if v == int(v) else repr(v)


def timeline_toml(
    tl: Timeline, header: list[str] | None = None, expect: dict[str, Any] | None = None
) -> str:
    """The timeline as a scenario file (what ``inversa sim FILE`` runs)."""
    lines = [f"# {h}" if h else "#" for h in (header or [])]
    lines += [
        "[scenario]",
        f'name = "{tl.name}"',
        f'description = "random fault campaign timeline (seed {tl.seed})"',
        f"duration_s = {_fmt(round(tl.duration_s, 2))}",
        'table = "motorized"',
        f"seed = {tl.seed}",
        "",
        "[table]",
        f"loading_deg = {_fmt(tl.loading_deg)}",
        "",
        "[profile]",
    ]
    lines += [f"{k} = {v}" for k, v in tl.profile.items()]
    for t, action, args in tl.events:
        lines += ["", "[[events]]", f"t_s = {_fmt(round(t, 2))}", f'action = "{action}"']
        lines += [f"{k} = {_fmt(v)}" for k, v in args.items()]
    lines += ["", "[expect]", "safety_rules = true"]
    for k, v in (expect or {}).items():
        lines.append(f"{k} = {_fmt(v)}")
    return "\n".join(lines) + "\n"


def timeline_scenario(tl: Timeline) -> Scenario:
    """Validated by the scenario parser (so every drawn action is a real one)."""
    return parse_scenario(timeline_toml(tl), f"<campaign timeline seed {tl.seed}>")


# ---------------------------------------------------------------------------
# running and judging one timeline


def rules_for(tl: Timeline) -> Rules:
    return Rules(limit_deg=tl.limit_deg, loading_deg=tl.loading_deg, motorized=True)


def run_timeline(tl: Timeline, early_stop: bool = True, rules: Rules | None = None) -> Outcome:
    """Run the timeline against the real firmware (CPython) and judge it."""
    from inversa_host.sim.runner import build_spec
    from inversa_world.session import SimSession

    sc = timeline_scenario(tl)
    spec = build_spec(sc)
    t0 = time.perf_counter()
    samples: list[Sample] = []
    last_event_ms = round(max((e[0] for e in tl.events), default=0.0) * 1000)
    settled_ms = 0
    with tempfile.TemporaryDirectory(prefix="inversa-campaign-") as d:
        s = SimSession(spec, d)
        table = s.table
        while not s.finished:
            s.step()
            if s.t_ms % SAMPLE_MS:
                continue
            app = s.app
            if app is not None:
                st = state_name(app.ctrl.state)
                prio = app.out.alarm_priority
            else:
                st, prio = "maintenance", 0
            a = table.angle_deg
            samples.append(Sample(s.t_ms / 1000.0, a, st, prio))
            if s.t_ms % 1000 == 0:
                s.take_tx()
                s.take_truth()
            if not early_stop or s.t_ms <= last_event_ms:
                continue
            at_loading = abs(a - tl.loading_deg) <= LOADING_TOL_DEG and st in ("idle", "done")
            latched = st in ("fault", "estop") and prio >= 3 and abs(table.rate_dps) < 0.01
            settled_ms = settled_ms + SAMPLE_MS if at_loading or latched else 0
            if settled_ms >= STOP_AFTER_S * 1000:
                break
        sim_s = s.t_ms / 1000.0
    violations = judge(samples, rules or rules_for(tl), tl.events)
    return Outcome(violations, sim_s, time.perf_counter() - t0, samples)


# ---------------------------------------------------------------------------
# random timelines


def _r(rng: random.Random, lo: float, hi: float, nd: int = 2) -> float:
    return round(rng.uniform(lo, hi), nd)


def _fault(rng: random.Random, t: float) -> list[Event]:
    """One fault or person action at t (with its end, when it has one)."""
    k = rng.randrange(20)
    later = round(t + _r(rng, 1.0, 60.0), 2)
    if k == 0:
        return [(t, "power_reset", {})]
    if k == 1:  # a reset with sensors gone from the bus
        ev: list[Event] = []
        if rng.random() < 0.7:
            ev.append((t, "imu_disconnect", {}))
        if rng.random() < 0.5:
            ev.append((t, "hr_disconnect", {}))
        ev.append((round(t + 0.05, 2), "power_reset", {}))
        if rng.random() < 0.5:
            ev += [(later, "imu_restore", {}), (later, "hr_restore", {})]
        return ev
    if k == 2:
        stop = "imu_restore" if rng.random() < 0.5 else None
        kind = rng.choice(["imu_disconnect", "imu_stuck", "imu_bus_errors"])
        return [(t, kind, {})] + ([(later, stop, {})] if stop else [])
    if k == 3:
        return [(t, "hr_disconnect", {})] + (
            [(later, "hr_restore", {})] if rng.random() < 0.5 else []
        )
    if k == 4:
        return [(t, "lose_pulse", {})] + (
            [(later, "restore_pulse", {})] if rng.random() < 0.6 else []
        )
    if k == 5:
        period = _r(rng, 0.5, 6.0)
        return [
            (
                t,
                "pulse_flicker",
                {"period_s": period, "off_s": _r(rng, 0.05, 0.6 * period), "until_s": later},
            )
        ]
    if k == 6:
        return [(t, "hr_ramp", {"delta_bpm": _r(rng, -50, 90, 0), "over_s": _r(rng, 1, 20, 0)})]
    if k == 7:
        return [(t, "i2c_stuck", {"pulses": float(rng.randint(1, 12))})]
    if k == 8:
        return [(t, "motor_stall", {}), (later, "motor_restore", {})]
    if k == 9:
        return [(t, "motor_runon", {"duty": _r(rng, 0.2, 0.8)}), (later, "motor_restore", {})]
    if k == 10:
        return [(t, "mains_lost", {})] + (
            [(later, "mains_restored", {})] if rng.random() < 0.5 else []
        )
    if k == 11:  # the e-stop, released, then cleared at the table (or not)
        ev = [(t, "press_estop", {}), (round(t + _r(rng, 0.1, 5.0), 2), "release_estop", {})]
        if rng.random() < 0.7:
            ev.append((round(t + _r(rng, 5.2, 20.0), 2), "press_stop", {}))
        return ev
    if k == 12:
        return [(t, rng.choice(["host_return", "host_silent", "host_start"]), {})]
    if k == 13:
        b = rng.choice(["start", "stop", "up", "down"])
        ev = [(t, "button_stuck", {"button": b})]
        if rng.random() < 0.6:
            ev.append((later, "button_unstick", {"button": b}))
        return ev
    if k == 14 and "switch_stuck" in ACTIONS and rng.random() < 0.5:
        # A limit switch stuck open or closed (the action issue 14's
        # safety-drive work adds), released again or not.
        which = rng.choice(["home", "end"])
        ev = [(t, "switch_stuck", {"switch": which, "closed": rng.random() < 0.5})]
        if rng.random() < 0.5:
            ev.append((later, "switch_release", {"switch": which}))
        return ev
    if k == 14:
        period = _r(rng, 0.05, 2.0)
        return [
            (
                t,
                "switch_chatter",
                {
                    "switch": rng.choice(["home", "end"]),
                    "period_s": period,
                    "duty": _r(rng, 0.1, 0.9),
                    "until_s": later,
                },
            )
        ]
    if k == 15:
        return [(t, "hold_up", {}), (round(t + _r(rng, 0.2, 10.0), 2), "release_up", {})]
    if k == 16:
        return [(t, "press_stop", {})]
    if k == 17:
        return [(t, "hold_down", {}), (round(t + _r(rng, 0.2, 15.0), 2), "release_down", {})]
    if k == 18:
        return [(t, "press_start", {})]
    return [(t, "vasovagal", {"over_s": _r(rng, 5, 30, 0)})]


# Faults that leave no trusted angle: the IMU itself, or the bus it is on
# (a stuck bus; seed 2026 timeline 171 drew one with a run-on).
_ANGLE_FAULTS = ("imu_disconnect", "imu_stuck", "imu_bus_errors", "i2c_stuck")


def _blind_double_fault(events: list[Event]) -> bool:
    """A driver stuck running (run-on) and a dead or frozen angle sensor in
    the same timeline: two independent hardware faults with nothing left to
    see the motion (the end switch only at the 90 deg stop).  The campaign
    judges the single-fault condition (IEC 60601-1, 4.7) plus any person
    actions, resets and other faults, so it does not draw this pair."""
    names = {a for _, a, _ in events}
    return "motor_runon" in names and bool(names & set(_ANGLE_FAULTS))


def random_timeline(seed: int, index: int) -> Timeline:
    """The campaign's timeline number `index` for `seed` (deterministic)."""
    rng = random.Random(seed * 1_000_003 + index)
    profile = {
        "max_angle_cdeg": rng.randrange(1000, 4001, 100),
        "hold_ms": rng.randrange(10000, 30001, 1000),
        # Drawn as before the 5 deg/s profile ceiling (so seeds keep their
        # timelines) and clamped to it: the ceiling itself is drawn often.
        "descent_cdps": min(rng.randrange(100, 601, 50), L.MAX_CMD_RATE_CDPS),
        "rise_cdps": min(rng.randrange(100, 601, 50), L.MAX_CMD_RATE_CDPS),
        "return_ms": rng.randrange(30000, 45001, 1000),
        "rest_ms": rng.randrange(10000, 15001, 1000),
    }
    t_start = _r(rng, 1.0, 4.0)
    ev: list[Event] = [(t_start, "host_start" if rng.random() < 0.2 else "press_start", {})]
    t_down = round(t_start + _r(rng, 15.5, 22.0), 2)
    t_up = round(t_down + _r(rng, 3.0, 30.0), 2)
    ev += [(t_down, "hold_down", {}), (t_up, "release_down", {})]
    horizon = t_up + 60.0
    faults: list[Event] = []
    for _ in range(rng.randint(1, 4)):
        drawn = _fault(rng, _r(rng, 0.0, horizon))
        while _blind_double_fault(faults + drawn):
            drawn = _fault(rng, _r(rng, 0.0, horizon))
        faults += drawn
    ev += faults
    ev.sort(key=lambda e: e[0])
    last = max(e[0] for e in ev)
    tl = Timeline(
        seed=seed * 1_000_003 + index,
        profile=profile,
        events=ev,
        duration_s=round(last + SETTLE_S, 2),
        name=f"campaign_s{seed}_{index}",
    )
    for _, action, _args in ev:
        assert action in ACTIONS, action
    return tl


# ---------------------------------------------------------------------------
# shrinking


def _judged(tl: Timeline) -> list[Violation]:
    """The timeline's violations; an exception out of the simulated board
    (a boot that raised, say) is the violation ``crash``."""
    try:
        return run_timeline(tl).violations
    except Exception as e:
        return [Violation("crash", 0.0, f"{type(e).__name__}: {e}")]


def _still_fails(tl: Timeline, kind: str) -> bool:
    return any(v.kind == kind for v in _judged(tl))


def shrink(
    tl: Timeline, kind: str, budget: int = 60, log: Callable[[str], None] | None = None
) -> Timeline:
    """A smaller timeline that still breaks rule `kind` (at most `budget` runs)."""
    runs = 0

    def tries(cand: Timeline) -> bool:
        nonlocal runs
        runs += 1
        ok = _still_fails(cand, kind)
        if log:
            log(
                f"shrink: {len(cand.events)} events, {cand.duration_s:.0f} s: {'fails' if ok else 'passes'}"
            )
        return ok

    # 1. drop events, one at a time, while it still fails
    changed = True
    while changed and runs < budget:
        changed = False
        i = len(tl.events) - 1
        while i >= 0 and runs < budget:
            cand = replace(tl, events=tl.events[:i] + tl.events[i + 1 :])
            if cand.events and tries(cand):
                tl = cand
                changed = True
            i -= 1
    # 2. round the times (whole seconds, then halves)
    for step in (1.0, 0.5):
        if runs >= budget:
            break
        ev = [(round(t / step) * step, a, args) for t, a, args in tl.events]
        ev.sort(key=lambda e: e[0])
        cand = replace(tl, events=ev)
        if ev != tl.events and tries(cand):
            tl = cand
            break
    # 3. shorten the session (not for the end rule: the end is what it judges)
    if kind != "end" and runs < budget:
        hit = next((v for v in _judged(tl) if v.kind == kind), None)
        last = max((e[0] for e in tl.events), default=0.0)
        if hit is not None:
            dur = round(max(hit.t_s, last) + 45.0, 0)
            if dur < tl.duration_s:
                cand = replace(tl, duration_s=dur)
                if tries(cand):
                    tl = cand
    return tl


# ---------------------------------------------------------------------------
# the campaign


@dataclass
class Failure:
    index: int
    original: Timeline
    shrunk: Timeline
    violations: list[Violation]
    toml: str


@dataclass
class CampaignResult:
    runs: int
    sim_s: float
    wall_s: float
    failure: Failure | None
    kinds: dict[str, int] = field(default_factory=dict)  # rule -> failing timelines
    failing: list[int] = field(default_factory=list)  # indices (keep_going: all of them)
    broken: dict[int, list[str]] = field(default_factory=dict)  # index -> the rules it broke

    @property
    def rate(self) -> float:
        return self.runs / self.wall_s if self.wall_s > 0 else 0.0


def _work(job: tuple[int, int]) -> tuple[int, list[Violation], float]:
    seed, i = job
    tl = random_timeline(seed, i)
    try:
        out = run_timeline(tl)
    except Exception as e:  # the firmware (or the world) raised: a finding too
        return i, [Violation("crash", 0.0, f"{type(e).__name__}: {e}")], 0.0
    return i, out.violations, out.sim_s


def run_campaign(
    n: int,
    seed: int,
    jobs: int = 1,
    progress: Callable[[int, int, float, int], None] | None = None,
    shrink_budget: int = 60,
    log: Callable[[str], None] | None = None,
    keep_going: bool = False,
) -> CampaignResult:
    """Run `n` timelines; stop at the first failing one (in index order), shrink
    it.  `keep_going`: run them all and count the failures by rule first."""
    t0 = time.perf_counter()
    sim_s = 0.0
    done = 0
    first: tuple[int, list[Violation]] | None = None
    kinds: dict[str, int] = {}
    failing: list[int] = []
    broken: dict[int, list[str]] = {}
    work = [(seed, i) for i in range(n)]
    pool = multiprocessing.get_context("spawn").Pool(jobs) if jobs > 1 else None
    try:
        results = pool.imap(_work, work, chunksize=1) if pool else map(_work, work)
        for i, violations, s in results:
            done += 1
            sim_s += s
            for v in violations:
                kinds[v.kind] = kinds.get(v.kind, 0) + 1
            if violations:
                failing.append(i)
                broken[i] = [v.kind for v in violations]
                if first is None:
                    first = (i, violations)
            if progress:
                progress(done, n, time.perf_counter() - t0, len(failing))
            if first is not None and not keep_going:
                break
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    wall = time.perf_counter() - t0
    failure = None
    if first is not None:
        i, violations = first
        original = random_timeline(seed, i)
        kind = violations[0].kind
        small = shrink(original, kind, shrink_budget, log)
        small.name = f"campaign_s{seed}_{i}_{kind}"
        hit = [v for v in _judged(small) if v.kind == kind] or violations
        header = [
            f"Found by `inversa sim --campaign {n} --seed {seed}`: timeline {i}, shrunk",
            f"from {len(original.events)} to {len(small.events)} events.",
            f"Breaks: {hit[0]}",
            "Judged on the simulated world's TRUE angle (inversa_host/sim/judge.py).",
        ]
        failure = Failure(i, original, small, hit, timeline_toml(small, header))
    return CampaignResult(done, sim_s, wall, failure, kinds, failing, broken)
