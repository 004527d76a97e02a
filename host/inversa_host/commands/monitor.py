"""``inversa monitor``: a live view of a board, or of a session being recorded.

``--port`` talks to the board directly; ``--db`` follows the newest session
in the store while ``inversa log`` records it (a serial port has one reader).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import deque
from pathlib import Path

from inversa.link import messages as M
from inversa.link.message_names import TELEMETRY_FIELDS
from inversa_host.link.client import LinkClient, LinkError, closed_at_once
from inversa_host.link.cliopts import add_port
from inversa_host.link.codec import EVENT, TELEMETRY
from inversa_host.link.names import (
    action_name,
    bit_names,
    event_text,
    priority_name,
    state_name,
)
from inversa_host.link.ports import resolve
from inversa_host.link.silence import other_protocol
from inversa_host.sessions.store import Store, no_store, warn_damaged

_T = {name: i for i, name in enumerate(TELEMETRY_FIELDS)}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help="live view of a board or of a recording session")
    add_port(p)
    p.add_argument("--db", default=None, help="follow the newest session in this store instead")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--interval", type=float, default=0.2, help="refresh period (s)")
    p.add_argument(
        "--handshake-timeout",
        type=float,
        default=5.0,
        help="give up when no board answers within this many seconds (default 5)",
    )
    p.set_defaults(func=run)


def angle_bar(angle_cdeg: int, width: int = 40) -> str:
    """-90..+90 deg as a bar; '|' marks horizontal."""
    pos = round((max(-9000, min(9000, angle_cdeg)) + 9000) * (width - 1) / 18000)
    mid = (width - 1) // 2
    cells = ["-"] * width
    cells[mid] = "|"
    cells[pos] = "#"
    return "head-up [" + "".join(cells) + "] head-down"


def render(
    values: tuple[int, ...] | None, events: list[str], counters: dict[str, int], link: str
) -> str:
    lines = [f"Inversa monitor  ({link})"]
    if values is None:
        lines.append("waiting for telemetry ...")
    else:
        v = {k: values[i] for k, i in _T.items()}
        io = v["io_bits"]
        lines += [
            f"state    {state_name(v['state']):<12} action {action_name(v['action'])}",
            f"angle    {v['angle_cdeg'] / 100:+7.2f} deg   target {v['target_angle_cdeg'] / 100:+7.2f} deg"
            f"   deepest {v['deepest_cdeg'] / 100:+7.2f} deg",
            f"         {angle_bar(v['angle_cdeg'])}",
            f"rate     {v['rate_cdps'] / 100:+6.2f} deg/s   motor {v['motor_cmd_cdps'] / 100:+6.2f} deg/s"
            f"   {'ENABLED' if io & M.IO_MOTOR_ENABLE else 'off'}   brake {'on' if io & M.IO_BRAKE_ON else 'off'}",
            "heart    "
            + (
                f"{v['hr_bpm']} bpm  quality {v['hr_quality_pct']}%"
                if v["hr_bpm"]
                else "-- (no pulse)"
            )
            + ("" if io & M.IO_HR_OK else "  [not valid]"),
            f"inverted {v['inverted_ms'] / 1000:.1f} s",
            "alarms   "
            + (
                f"{priority_name(min(3, v['alarm_priority'])).upper()}: "
                + ", ".join(bit_names(v["alarm_bits"], "alarm"))
                if v["alarm_bits"]
                else "none"
            ),
            "faults   " + (", ".join(bit_names(v["fault_bits"], "fault")) or "none"),
            f"sensors  tilt {'ok' if io & M.IO_TILT_OK else 'FAILED'}   e-stop "
            f"{'PRESSED' if io & M.IO_ESTOP else 'released'}   host lease {'ok' if io & M.IO_HOST_LEASE else 'no'}",
            f"loop     {v['loop_us']} us (max {v['loop_max_us']})  overruns {v['overruns']}",
            f"board    dropped {v['tx_drops']} frames to send (port full), "
            f"{v['rx_errors']} bad frames or dropped bytes received, "
            f"{v['events_dropped']} events overwritten",
        ]
    line = (
        f"link     frames {counters.get('frames', 0)}  lost {counters.get('lost_frames', 0)}"
        f"  crc errors {counters.get('crc_errors', 0)}"
    )
    for key, label in (
        ("framing_errors", "framing errors"),
        ("discarded_bytes", "bytes discarded"),
    ):
        if key in counters:
            line += f"  {label} {counters[key]}"
    lines.append(line)
    lines.append("events:")
    lines += [f"  {e}" for e in events[-6:]] or ["  (none)"]
    return "\n".join(lines)


def _show(text: str, tty: bool) -> None:
    if tty:
        sys.stdout.write("\x1b[H\x1b[2J" + text + "\n")
    else:
        sys.stdout.write(text + "\n\n")
    sys.stdout.flush()


def _follow_db(args: argparse.Namespace, tty: bool) -> int:
    if not Path(args.db).exists():
        print(f"error: {no_store(args.db)}", file=sys.stderr)
        return 1
    end = None if args.duration is None else time.monotonic() + args.duration
    with Store(args.db, readonly=True) as store:
        sid = store.latest_session_id()
        if sid is None:
            print("no sessions recorded yet", file=sys.stderr)
            return 1
        last = None
        while end is None or time.monotonic() < end:
            after = last["rowid"] if last else 0
            for row in store.samples(sid, after_rowid=after, whole_only=True):
                last = row
            values = tuple(last[k] for k in TELEMETRY_FIELDS) if last else None
            evs = [
                event_text(e["kind"], e["code"], e["value"])
                for e in store.events(sid, whole_only=True)
                if e["source"] == "board"
            ]
            s = store.session(sid)
            _show(render(values, evs, s.counters, f"session {sid} in {args.db}"), tty)
            time.sleep(args.interval)
        warn_damaged(store)
    return 0


def run(args: argparse.Namespace) -> int:
    tty = sys.stdout.isatty()
    if args.db:
        return _follow_db(args, tty)
    try:
        client = LinkClient.open(resolve(args.port), args.baud)
    except Exception as e:
        print(f"cannot open the board: {e}", file=sys.stderr)
        return 1
    end = None if args.duration is None else time.monotonic() + args.duration
    values: tuple[int, ...] | None = None
    events: deque[str] = deque(maxlen=20)
    next_draw = 0.0
    answer_by = time.monotonic() + args.handshake_timeout
    with client:
        try:
            while end is None or time.monotonic() < end:
                if values is None and client.hello is None and time.monotonic() > answer_by:
                    d = client.decoder
                    why = other_protocol(d)
                    if why is not None:
                        print(f"no handshake on {args.port}: {why}", file=sys.stderr)
                        return 1
                    print(
                        f"no board answered on {args.port} within {args.handshake_timeout:g} s "
                        f"(received {d.bytes} bytes, no handshake or telemetry): is this the "
                        "board's port, and is it running the Inversa firmware?",
                        file=sys.stderr,
                    )
                    return 1
                for f in client.poll(0.05):
                    if f.msg_type == M.MSG_TELEMETRY and len(f.payload) >= TELEMETRY.size:
                        values = TELEMETRY.unpack_from(f.payload, 0)
                    elif f.msg_type == M.MSG_EVENT and len(f.payload) >= EVENT.size:
                        _, kind, code, value = EVENT.unpack_from(f.payload, 0)
                        events.append(event_text(kind, code, value))
                if time.monotonic() >= next_draw:
                    next_draw = time.monotonic() + args.interval
                    d = client.decoder
                    counters = {
                        "frames": d.frames,
                        "lost_frames": d.lost_frames,
                        "crc_errors": d.crc_errors,
                        "framing_errors": d.framing_errors + d.too_long,
                        "discarded_bytes": d.discarded_bytes,
                    }
                    _show(render(values, list(events), counters, args.port), tty)
        except LinkError as e:
            if client.bytes_in == 0:
                print(f"error: {closed_at_once(args.port, e)}", file=sys.stderr)
            else:
                print(f"link lost: {e}", file=sys.stderr)
            return 1
    return 0
