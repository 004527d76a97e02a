"""``inversa sim``: run a scenario against the real firmware in a simulated world.

By default in virtual time (as fast as the PC goes) with the firmware in
CPython; ``--vm`` runs the firmware (and the world) inside the MicroPython
interpreter, ``--realtime`` paces the session at wall-clock speed with a live
status line.  Telemetry goes through the real link decoder into the session
store, and a report (PNG plot, Markdown and HTML summary) is written.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from inversa_host.link.cliopts import add_db
from inversa_host.link.names import bit_names, state_name
from inversa_host.outfile import OutputError, write_files

if TYPE_CHECKING:
    from inversa_host.sim.scenario import Scenario


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sim",
        help="run a simulated session (scenario) end to end and write a report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "scenario",
        nargs="?",
        default="beginner",
        help="a scenario file or a library name (default: beginner; --list shows them)",
    )
    p.add_argument("--list", action="store_true", help="list the scenario library and exit")
    p.add_argument("--all", action="store_true", help="run every scenario in the library")
    p.add_argument("--vm", action="store_true", help="run the firmware inside MicroPython")
    p.add_argument("--realtime", action="store_true", help="pace the session at wall-clock speed")
    p.add_argument(
        "--board",
        choices=("rp2040",),
        default=None,
        help="run the firmware on an emulated board: rp2040 = stock MicroPython on an "
        "emulated Pico (rp2040js; ~5-12x slower than real time)",
    )
    p.add_argument("--uf2", default=None, help="MicroPython RPI_PICO .uf2 (or $INVERSA_RP2_UF2)")
    p.add_argument("--bootrom", default=None, help="RP2040 boot ROM (or $INVERSA_RP2_BOOTROM)")
    p.add_argument("--out", default="out/sim", help="report directory (default: out/sim)")
    c = p.add_argument_group("random fault campaign")
    c.add_argument(
        "--campaign",
        type=int,
        metavar="N",
        help="run N random timelines of faults and person actions, judged on the true "
        "angle, speed and return time; the first failing one is shrunk and written as "
        "a scenario file",
    )
    c.add_argument("--seed", type=int, default=1, help="the campaign's seed (default 1)")
    c.add_argument(
        "-j", "--jobs", type=int, default=1, help="processes to run timelines in (default 1)"
    )
    c.add_argument(
        "--keep-going",
        action="store_true",
        help="run all N timelines and count the failures by rule before shrinking the first",
    )
    add_db(p)
    p.set_defaults(func=run)


def _bar(frac: float, width: int = 30) -> str:
    n = round(frac * width)
    return "[" + "#" * n + "." * (width - n) + f"] {frac * 100:5.1f}%"


class _Progress:
    def __init__(self, name: str, live: bool) -> None:
        self.name = name
        self.live = live and sys.stdout.isatty()
        self._last = -1

    def __call__(self, frac: float, values: dict[str, int] | None) -> None:
        status = ""
        if values is not None:
            alarms = ",".join(bit_names(values["alarm_bits"], "alarm")) or "-"
            hr = f"{values['hr_bpm']} bpm" if values["hr_bpm"] else "-- bpm"
            status = (
                f" {state_name(values['state']):<9} {values['angle_cdeg'] / 100:6.1f} deg"
                f"  {hr:>7}  alarms: {alarms}"
            )
        if self.live:
            width = shutil.get_terminal_size((100, 20)).columns
            line = f"\r{self.name:<14} {_bar(frac)}{status}"
            print(line[: width - 1].ljust(width - 1), end="", flush=True)
        else:
            step = int(frac * 10)
            if step != self._last:  # a line each 10 % when not on a terminal
                self._last = step
                print(f"{self.name:<14} {_bar(frac)}{status}", flush=True)

    def done(self) -> None:
        if self.live:
            print()


def run(args: argparse.Namespace) -> int:
    from inversa_host.sim.scenario import ScenarioError, find_scenario, library, load_scenario

    if args.campaign is not None:
        return _campaign(args)
    if args.list:
        for path in library():
            sc = load_scenario(path)
            print(f"{path.stem:<22} {sc.table:<9} {sc.duration_s:5.0f} s  {sc.description}")
        return 0
    try:
        paths = library() if args.all else [find_scenario(args.scenario)]
        scenarios = [load_scenario(p) for p in paths]
    except ScenarioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.board == "rp2040":
        from inversa_host.rp2emu.tools import rp2_missing

        why = rp2_missing(args.uf2, args.bootrom)
        if why is not None:
            print(f"error: {why}", file=sys.stderr)
            return 2
    # SIGTERM (a `kill`, a closing terminal) stops a run as Ctrl-C does: the
    # session is closed as interrupted, not left open.
    try:
        previous = signal.signal(signal.SIGTERM, _terminated)
    except ValueError:  # not the main thread (a test's): Ctrl-C's path alone
        return _run(args, scenarios)
    try:
        return _run(args, scenarios)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace, scenarios: list[Scenario]) -> int:
    from inversa_host.sessions.report import summary_lines, write_report
    from inversa_host.sessions.store import Store
    from inversa_host.sim.runner import SimInterrupted, run_scenario

    failed = []
    with Store(args.db) as store:
        for sc in scenarios:
            progress = _Progress(sc.name, live=True)
            try:
                result = run_scenario(
                    sc,
                    store,
                    vm=args.vm,
                    realtime=args.realtime,
                    progress=progress,
                    board=args.board,
                    rp2_files=(args.uf2, args.bootrom),
                )
            except ValueError as e:  # a profile the firmware refuses, and the like
                progress.done()
                where = "" if str(e).startswith(str(sc.path)) else f"{sc.path}: "
                print(f"error: {where}{e}", file=sys.stderr)
                return 2
            except SimInterrupted as e:
                progress.done()
                print(f"{sc.name}: {e}", file=sys.stderr)
                if e.session_id is not None:
                    print(
                        f"  `inversa report {e.session_id} --db {args.db}` reports what it "
                        "recorded",
                        file=sys.stderr,
                    )
                return 130
            progress.done()
            out_dir = Path(args.out) / sc.name
            try:
                paths_out = write_report(
                    result.trace,
                    result.summary,
                    result.checks,
                    out_dir,
                    title=f"{sc.name}: simulated session {result.session_id}",
                    description=sc.description,
                )
            except OutputError as e:
                sid = result.session_id
                print(
                    f"error: {e}\n  session {sid} is recorded in {args.db}: "
                    f"`inversa report {sid} --db {args.db} --out DIR` writes its report",
                    file=sys.stderr,
                )
                return 1
            where = "MicroPython VM" if args.vm else "CPython"
            if args.board == "rp2040":
                where = "MicroPython on an emulated Pico"
            print(
                f"\n{sc.name} — {sc.duration_s:.0f} s simulated in {result.wall_s:.2f} s "
                f"({where}), session {result.session_id} in {args.db}"
            )
            print("  (angles: the simulated table's true angle)")
            for k, v in summary_lines(result.summary):
                print(f"  {k:<31} {v}")
            c = result.counters
            print(
                f"  {'link':<31} {c['frames']} frames, {c['lost_frames']} lost, "
                f"{c['crc_errors']} CRC errors"
            )
            verdict = "PASS" if result.passed else "FAIL"
            print(f"  expectations: {verdict}")
            for check in result.checks:
                mark = "ok  " if check.ok else "FAIL"
                print(f"    {mark} {check.name}: {check.detail}")
            print(f"  report: {paths_out.html}  (plot: {paths_out.png})")
            if not result.passed:
                failed.append(sc.name)
    if len(scenarios) > 1:
        print(f"\n{len(scenarios) - len(failed)}/{len(scenarios)} scenarios passed")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _campaign(args: argparse.Namespace) -> int:
    from inversa_host.sim.campaign import run_campaign

    n = args.campaign
    if n < 1 or args.jobs < 1:
        print("error: --campaign N and --jobs need N >= 1", file=sys.stderr)
        return 2
    live = sys.stdout.isatty()
    last = [-1]

    def progress(done: int, total: int, wall: float, failing: int) -> None:
        rate = done / wall if wall > 0 else 0.0
        line = (
            f"campaign seed {args.seed}: {_bar(done / total)} {done}/{total} timelines, "
            f"{failing} failing, {rate:.2f} timelines/s"
        )
        if live:
            print("\r" + line, end="", flush=True)
        elif done * 10 // total != last[0] or failing:
            last[0] = done * 10 // total
            print(line, flush=True)

    result = run_campaign(
        n,
        args.seed,
        jobs=args.jobs,
        progress=progress,
        keep_going=args.keep_going,
        log=(lambda m: print("  " + m, flush=True)),
    )
    if live:
        print()
    print(
        f"{result.runs} timelines ({result.sim_s:.0f} s simulated) in {result.wall_s:.1f} s "
        f"with {args.jobs} process(es): {result.rate:.2f} timelines/s"
    )
    if result.kinds:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(result.kinds.items()))
        print(f"failing timelines: {len(result.failing)} ({kinds})")
        for i in result.failing:
            print(f"  timeline {i}: {', '.join(result.broken[i])}")
    f = result.failure
    if f is None:
        print("no violations")
        return 0
    path = Path(args.out) / "campaign" / f"{f.shrunk.name}.toml"
    print(f"\nfirst failing timeline: {f.index}; {f.violations[0]}")
    try:
        write_files({path: f.toml})
    except OutputError as e:  # the scenario is printed below all the same
        print(f"error: {e}", file=sys.stderr)
    else:
        print(f"shrunk to {len(f.shrunk.events)} events; reproduce with: inversa sim {path}\n")
    print(f.toml)
    return 1
