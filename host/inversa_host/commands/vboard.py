"""``inversa vboard``: the firmware behind a socket:// serial URL.

The real firmware runs on a simulated machine, period by period, and its
link is served on a localhost TCP port: point ``inversa log``, ``monitor``,
``profile`` or ``bench`` at the printed ``socket://`` URL exactly as at a
board's serial port.  By default the board sits in the simulated world of
``inversa sim`` (table, person, heart, sensor fakes), paced in real time;
``--bench`` boots it in bench mode instead (sensors fed over the link by
``inversa bench``).  ``inversa deploy`` and ``inversa doctor`` work on it too:
asked for maintenance it reboots into MicroPython's REPL on the same URL, and
a reset boots what its flash then holds (``--empty``: a fresh board with
MicroPython only).  The buttons at the table are typed here: start, stop,
down, up, release, estop, unlatch, power, help.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from inversa_host.vboards.vboard import PANEL_ACTIONS, VBoardConfig, VirtualBoard

# Words typed at the virtual table -> panel actions.
CONSOLE_WORDS: dict[str, tuple[str, ...]] = {
    "start": ("press_start",),
    "stop": ("press_stop",),
    "down": ("hold_down",),
    "up": ("hold_up",),
    "release": ("release_down", "release_up"),
    "estop": ("press_estop",),
    "unlatch": ("release_estop",),
    "power": ("power_reset",),
}


RP2_TIME_SCALE = 40  # the emulated Pico: 5-30x slower than real time, and a margin


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vboard",
        help="serve the firmware (simulated board) on a socket:// URL for the host tools",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--scenario",
        default=None,
        help="a scenario file or library name: its person, table and timeline "
        "(default: an idle person on a motorized table, driven from the host)",
    )
    p.add_argument(
        "--tcp-port", type=int, default=0, help="TCP port to listen on (default: a free one)"
    )
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="virtual seconds per wall second (default 1; above ~3 a host's 0.5 s "
        "heartbeats no longer hold the 2 s lease)",
    )
    p.add_argument("--vm", action="store_true", help="run the firmware inside MicroPython")
    p.add_argument(
        "--board",
        choices=("rp2040",),
        default=None,
        help="run the firmware on an emulated board: rp2040 = stock MicroPython on an "
        "emulated Pico (rp2040js; 5-30x slower than real time; log, monitor and "
        f"profile work, deploy and doctor too with --time-scale {RP2_TIME_SCALE}, as printed)",
    )
    p.add_argument("--uf2", default=None, help="MicroPython RPI_PICO .uf2 (or $INVERSA_RP2_UF2)")
    p.add_argument("--bootrom", default=None, help="RP2040 boot ROM (or $INVERSA_RP2_BOOTROM)")
    p.add_argument(
        "--bench", action="store_true", help="boot in bench mode (sensors fed by `inversa bench`)"
    )
    p.add_argument("--table", choices=("motorized", "manual"), default="motorized")
    p.add_argument("--imu", choices=("mpu6050", "lsm6dsox"), default="mpu6050")
    p.add_argument("--hr", choices=("max30102", "none"), default="max30102")
    p.add_argument(
        "--empty",
        action="store_true",
        help="a fresh board: MicroPython flashed, no firmware (at its REPL until "
        "`inversa deploy` puts the firmware on it and resets it)",
    )
    p.add_argument(
        "--micropython",
        metavar="VERSION",
        default=None,
        help="the MicroPython release the board reports at its REPL, e.g. 1.18 "
        "(default: 1.29); `inversa deploy` must refuse an older one",
    )
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--no-console", action="store_true", help="do not read buttons from stdin")
    p.set_defaults(func=run)


def console_actions(line: str) -> tuple[str, ...] | None:
    """The panel actions a typed line asks for (None: not understood)."""
    word = line.strip().lower()
    if word in CONSOLE_WORDS:
        return CONSOLE_WORDS[word]
    if word in PANEL_ACTIONS:
        return (word,)
    return None


def _console(vb: VirtualBoard, stop: threading.Event) -> None:
    for line in sys.stdin:
        if stop.is_set():
            return
        word = line.strip().lower()
        if not word:
            continue
        if word in ("quit", "exit"):
            stop.set()
            return
        actions = console_actions(word)
        if actions is None:
            print(f"buttons: {', '.join(CONSOLE_WORDS)}, quit", flush=True)
            continue
        try:
            for a in actions:
                vb.press(a)
        except ValueError as e:
            print(f"  {e}", flush=True)
            continue
        print(f"  at the table: {'; '.join(PANEL_ACTIONS[a] for a in actions)}", flush=True)


def run(args: argparse.Namespace) -> int:
    from inversa_host.sim.scenario import ScenarioError, find_scenario, load_scenario

    if args.speed <= 0:
        print("error: --speed must be > 0", file=sys.stderr)
        return 2
    if args.bench and args.scenario is not None:
        print(
            "error: a bench-mode board has no world of its own: give the scenario to "
            "`inversa bench --port URL --scenario ...`",
            file=sys.stderr,
        )
        return 2
    if args.empty and (args.scenario is not None or args.bench):
        print(
            "error: an empty board runs no firmware yet: deploy it (`inversa deploy "
            "--port URL --board pico [--bench]`), and it boots what you deployed",
            file=sys.stderr,
        )
        return 2
    if args.micropython is not None:
        from inversa_host.vboards.repl import older_micropython

        try:
            older_micropython(args.micropython)
        except ValueError as e:
            print(f"error: --micropython: {e}", file=sys.stderr)
            return 2
    if args.board == "rp2040":
        from inversa_host.rp2emu.tools import rp2_missing

        if args.vm or args.bench or args.empty or args.micropython is not None:
            print(
                "error: --board rp2040 runs the deployed firmware on stock MicroPython: "
                "drop --vm, --bench, --empty and --micropython",
                file=sys.stderr,
            )
            return 2
        why = rp2_missing(args.uf2, args.bootrom)
        if why is not None:
            print(f"error: no emulated Pico: {why}", file=sys.stderr)
            return 2
    scenario = None
    if args.scenario is not None:
        try:
            scenario = load_scenario(find_scenario(args.scenario))
        except ScenarioError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    cfg = VBoardConfig(
        scenario=scenario,
        bench=args.bench,
        vm=args.vm,
        table=args.table,
        imu=args.imu,
        hr=args.hr,
        empty=args.empty,
        micropython=args.micropython,
        emulated=args.board,
        uf2=args.uf2,
        bootrom=args.bootrom,
    )
    try:
        vb = VirtualBoard(cfg, tcp_port=args.tcp_port, speed=args.speed)
    except OSError as e:
        print(f"error: cannot listen on port {args.tcp_port}: {e}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    what = "bench mode (sensors fed over the link)" if args.bench else "simulated table"
    if scenario is not None:
        what += f", scenario {scenario.name}"
    if args.empty:
        what = "an empty board (MicroPython only, no firmware: deploy it)"
    if args.micropython is not None:
        what += f", MicroPython {args.micropython}"
    where = "MicroPython VM" if args.vm else "CPython"
    if args.board == "rp2040":
        where = "stock MicroPython on an emulated Pico (rp2040js; slower than real time)"
    stop = threading.Event()
    if not args.empty and args.board is None:
        # the REPL's flash (the compiled firmware), ready before anyone asks
        # for maintenance: a deploy or doctor then finds the REPL at once
        print("preparing the board's flash (the compiled firmware) ...", flush=True)
        try:
            vb.app.prepare_maintenance(wait=True)
        except Exception as e:
            vb.stop()
            print(f"error: the virtual board's flash: {e}", file=sys.stderr)
            return 1
    with vb:
        print(f"Virtual board: firmware in {where}, {what}, {args.speed:g}x real time")
        print()
        print(f"    {vb.url}")
        print()
        print(f"  record it:   inversa log --port {vb.url}")
        if args.board is None:
            print(f"  deploy:      inversa deploy --port {vb.url} --board {cfg.board}")
            print(f"  check it:    inversa doctor --port {vb.url}")
        else:
            print(f"  profile:     inversa profile show --port {vb.url}")
            # the board runs 5-30x slower than real time: the tools' waits stretched
            ts = f"--time-scale {RP2_TIME_SCALE}"
            print(f"  deploy:      inversa deploy --port {vb.url} --board pico {ts}")
            print(f"  check it:    inversa doctor --port {vb.url} {ts}")
        if args.bench:
            print(f"  feed it:     inversa bench --port {vb.url} --scenario beginner")
        else:
            print(f"  watch it:    inversa monitor --port {vb.url}")
        for note in cfg.notes:
            print(f"  note: {note}")
        if not args.no_console:
            print(f"  buttons at the table (type + Enter): {', '.join(CONSOLE_WORDS)}, quit")
            threading.Thread(target=_console, args=(vb, stop), daemon=True).start()
        print("  Ctrl-C stops it.", flush=True)
        end = None if args.duration is None else time.monotonic() + args.duration
        connected = False
        dropped = (0, 0)
        at_repl = vb.at_repl
        if at_repl:
            print("board: at MicroPython's REPL (no firmware on its flash)", flush=True)
        while not stop.is_set() and (end is None or time.monotonic() < end):
            stop.wait(0.2)
            if vb.error is not None:
                print(f"error: the firmware thread stopped: {vb.error!r}", file=sys.stderr)
                return 1
            if vb.at_repl != at_repl:
                at_repl = vb.at_repl
                if at_repl:
                    print("board: rebooted into maintenance (MicroPython's REPL)", flush=True)
                else:
                    print(f"board: reset: the firmware runs ({vb.app.cfg.board})", flush=True)
            if vb.app.boot_error:
                print(f"board: reset: stays at the REPL: {vb.app.boot_error}", flush=True)
                vb.app.boot_error = ""
            if vb.connected != connected:
                connected = vb.connected
                print("host connected" if connected else "host disconnected", flush=True)
            drops = (vb.app.rx_dropped, vb.app.tx_dropped)
            if drops != dropped:
                dropped = drops
                print(
                    f"link: the board's USB buffer dropped {drops[0]} bytes from the host "
                    f"and {drops[1]} bytes to it (not read in time)",
                    flush=True,
                )
    return 0
