"""``inversa bench``: hardware in the loop.

Drives a board booted in bench mode (board.json ``"bench": true``) with
sensor readings from the simulated world running here in real time, closes
the loop with the board's motor commands, records the session into the store
and judges it against the scenario's expectations.  A board that did not
boot in bench mode is refused.

The local actions at the table (start/stop, hold-to-run, e-stop, power)
never travel over the link: on a real board the operator is told when to do
them; with ``--vboard`` (an in-process bench-mode virtual board) they are
pressed directly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inversa_host.link.cliopts import add_db, add_port
from inversa_host.link.names import bit_names, state_name
from inversa_host.link.ports import NoBoardFound


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="hardware in the loop: feed a bench-mode board simulated sensors, record the session",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_port(p)
    p.add_argument(
        "--vboard",
        action="store_true",
        help="ignore --port: start a bench-mode virtual board here and press its buttons",
    )
    p.add_argument("--vm", action="store_true", help="with --vboard: its firmware in MicroPython")
    p.add_argument(
        "--scenario", default="beginner", help="a scenario file or library name (default beginner)"
    )
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="virtual seconds per wall second: 1 for a real board (default 1); with "
        "--vboard the most it runs at (lock-step virtual time: never late)",
    )
    p.add_argument(
        "--duration", type=float, default=None, help="stop after this many simulated seconds"
    )
    p.add_argument("--out", default="out/bench", help="report directory (default out/bench)")
    p.add_argument("--no-report", action="store_true", help="no PNG/HTML report")
    add_db(p)
    p.set_defaults(func=run)


class _Progress:
    def __init__(self) -> None:
        self._last = -1

    def __call__(self, frac: float, values: tuple[int, ...] | None) -> None:
        step = int(frac * 10)
        if step == self._last:
            return
        self._last = step
        status = ""
        if values is not None:
            from inversa.link.message_names import TELEMETRY_FIELDS

            v = dict(zip(TELEMETRY_FIELDS, values, strict=True))
            alarms = ",".join(bit_names(v["alarm_bits"], "alarm")) or "-"
            hr = f"{v['hr_bpm']} bpm" if v["hr_bpm"] else "-- bpm"
            status = (
                f"  {state_name(v['state']):<9} {v['angle_cdeg'] / 100:6.1f} deg "
                f"{hr:>7}  alarms: {alarms}"
            )
        print(f"{frac * 100:5.1f}%{status}", flush=True)


def _lockstep(vb: Any, client: Any) -> Callable[[], list[Any]]:
    def step() -> list[Any]:
        return vb.lockstep(client)

    return step


def run(args: argparse.Namespace) -> int:
    from inversa_host.link.client import LinkClient, LinkError
    from inversa_host.link.ports import resolve
    from inversa_host.sessions.report import summary_lines, write_report
    from inversa_host.sessions.store import Store
    from inversa_host.sim.scenario import ScenarioError, find_scenario, load_scenario
    from inversa_host.vboards.hil import HilBench, HilError, OperatorPanel, VirtualPanel
    from inversa_host.vboards.vboard import VBoardConfig, VirtualBoard

    if args.speed <= 0:
        print("error: --speed must be > 0", file=sys.stderr)
        return 2
    try:
        sc = load_scenario(find_scenario(args.scenario))
    except ScenarioError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    vb: VirtualBoard | None = None
    try:
        if args.vboard:
            vb = VirtualBoard(
                VBoardConfig(
                    bench=True,
                    vm=args.vm,
                    table=sc.table,
                    imu=str(sc.table_opts.get("imu", "mpu6050")),
                    hr=str(sc.table_opts.get("hr_sensor", "max30102")),
                ),
                speed=args.speed,
                lockstep_only=True,
            ).start()
            url = vb.url
            panel = VirtualPanel(vb.press)
            print(
                f"bench-mode virtual board at {url}, in lock-step virtual time "
                f"(at most {args.speed:g}x real time; a loaded PC is slower, never late)"
            )
        else:
            url = resolve(args.port)
            panel = OperatorPanel(lambda s: print(s, flush=True))
        with Store(args.db) as store, LinkClient.open(url, args.baud) as client:
            bench = HilBench(
                client,
                sc,
                store,
                url=url,
                panel=panel,
                speed=args.speed,
                duration_s=args.duration,
                progress=_Progress(),
                say=lambda s: print(f"  {s}", flush=True),
                lockstep=None if vb is None else _lockstep(vb, client),
            )
            for note in bench.notes:
                print(f"note: {note}")
            print(f"bench: scenario {sc.name}, {bench.duration_s:g} s, board at {url}", flush=True)
            result = bench.run()
    except (HilError, LinkError, NoBoardFound, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if vb is not None:
            vb.stop()

    c = result.counters
    print(
        f"\n{sc.name} on the bench — session {result.session_id} in {args.db}, "
        f"board {result.hello.board} firmware {result.hello.fw_version}, {result.wall_s:.1f} s"
    )
    if result.summary is not None:
        for k, v in summary_lines(result.summary):
            print(f"  {k:<31} {v}")
    if result.tilt_rms_deg is not None and result.tilt_max_deg is not None:
        print(
            f"  {'board angle vs simulated table':<31} "
            f"{result.tilt_rms_deg:.2f} deg RMS, {result.tilt_max_deg:.2f} deg worst"
        )
    print(
        f"  {'link':<31} {c['frames']} frames in, {c['lost_frames']} lost, "
        f"{c['crc_errors']} CRC errors; {c['imu_frames']} IMU samples and "
        f"{c['ppg_samples']} PPG samples out, {c['inject_refused']} refused"
    )
    print(f"  {'late periods (PC too slow)':<31} {c['late_periods']}")
    periods = max(1, c["imu_frames"])
    pc_behind = c["late_periods"] > periods // 100
    if pc_behind:
        print(
            "  WARNING: the PC fell behind in more than 1 % of the periods: samples reached "
            "the board in bursts, so what it saw is not a steady 100 Hz sensor "
            "(lower --speed, or a less loaded PC)"
        )
    if result.summary is None:
        print("  no telemetry was recorded: FAIL")
        return 1
    if pc_behind and not result.passed:
        print(
            "  expectations: NOT JUDGED: the PC could not keep up, so a failed expectation "
            "says nothing about the board (run it again on an idle PC, or with "
            "--vboard, which runs in lock-step virtual time)"
        )
    else:
        print(f"  expectations: {'PASS' if result.passed else 'FAIL'}")
    for check in result.checks:
        print(f"    {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    if not args.no_report:
        paths = write_report(
            result.trace,
            result.summary,
            result.checks,
            Path(args.out) / sc.name,
            title=f"{sc.name}: bench session {result.session_id}",
            description=sc.description,
        )
        print(f"  report: {paths.html}  (plot: {paths.png})")
    if pc_behind and not result.passed:
        return 3
    return 0 if result.passed else 1
