"""Link benchmark: host ingest rate and UART load at the default telemetry rate.

* ``host_ingest_fps``: frames per second the host decodes (StreamDecoder) and
  records (the logger's own record path into the SQLite store, WAL,
  synchronous=FULL, committed every 0.5 s), on one core.  Target >= 50,000.
* ``link_uart_load_pct``: bytes per second the board sends at the default
  telemetry rate (telemetry + heartbeats + events + handshake, a host holding
  the lease, a session running) as a share of a 115200-baud UART (8N1: 11,520
  bytes/s).  Target <= 40.
* ``endpoint_service_alloc_bytes`` / ``_us``: heap bytes and time per
  ``LinkEndpoint.service`` call inside the MicroPython VM (when Node is there).

Run: ``python bench/bench_link.py`` -> out/bench/link.json (bench/results/ with INVERSA_BENCH_REFERENCE=1)
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from inversa.link import messages as M
from inversa.link.wire import encode_frame
from inversa_host.link.codec import StreamDecoder
from inversa_host.link.fakeboard import FakeBoard
from inversa_host.recording.logger import Logger
from inversa_host.sessions.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from outdir import results_path

RESULTS = results_path("link.json")  # bench/results/ with --reference
UART_BYTES_PER_S = 115200 / 10  # 8N1: 10 bits per byte


def board_stream(seconds: float, telemetry_hz: int) -> tuple[bytes, int]:
    """Run the fake board with a host holding the lease; return (bytes sent, frames)."""
    b = FakeBoard(telemetry_hz=telemetry_hz)
    hb = encode_frame(M.MSG_HOST_HEARTBEAT, 1)
    out = []
    steps = int(seconds * 100)
    for i in range(steps):
        if i % 50 == 0:
            b.port.feed_rx(hb)
        if i == 300:
            b.ctrl.request_start()
        if i == steps // 2:
            b.ctrl.request_return()
        b.step()
        out.append(b.port.take_tx())
    data = b"".join(out)
    return data, b.endpoint.writer.sent


def uart_load(seconds: float = 120.0) -> dict[int, dict[str, float]]:
    res: dict[int, dict[str, float]] = {}
    for hz in (M.DEFAULT_TELEMETRY_HZ, M.MAX_TELEMETRY_HZ):
        data, frames = board_stream(seconds, hz)
        bps = len(data) / seconds
        res[hz] = {"bytes_per_s": bps, "frames": frames, "pct": 100 * bps / UART_BYTES_PER_S}
    return res


def ingest(total_frames: int = 300_000) -> dict[str, float]:
    data, _ = board_stream(120.0, M.MAX_TELEMETRY_HZ)
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        logger = Logger(store, "bench://")
        logger.session_id = store.begin_session("bench://")
        n = 0
        t0 = time.perf_counter()
        while n < total_frames:
            dec = StreamDecoder()  # a fresh stream per replay (no false seq gaps)
            for c in chunks:
                frames = dec.feed(c)
                logger._record(time.time(), frames)
                store.maybe_flush()
                n += len(frames)
        store.flush()
        dt = time.perf_counter() - t0
        rows = store.db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
        store.close()
    return {"frames": n, "seconds": dt, "fps": n / dt, "sample_rows": rows}


def vm_alloc() -> dict[str, float] | None:
    try:
        from inversa_host.vm import MicroPythonVM
        from inversa_host.vm.alloc import measure_alloc
    except ImportError:
        return None
    setup = """
from inversa.link.endpoint import LinkEndpoint
from inversa.link.port import MemoryPort
from inversa.link.wire import encode_frame
from inversa.link import messages as M
from inversa.events import EventLog
from inversa.compat import ticks_add
class C:
    def __init__(self): self.ms = 1000
    def ticks_ms(self): return self.ms
class O: pass
inp = O(); out = O()
for k in ('angle_cdeg','rate_cdps','tilt_faults','hr_bpm','hr_quality_pct'): setattr(inp, k, 100)
inp.tilt_ok = True; inp.hr_ok = True; inp.estop_pressed = False; inp.host_lease_ok = False
for k in ('state','target_angle_cdeg','motor_cmd_cdps','alarm_bits','alarm_priority','fault_bits','action','deepest_cdeg','inverted_ms'): setattr(out, k, 3)
out.motor_enable = True; out.brake_on = False
clk = C(); port = MemoryPort(8192, 512); ev = EventLog(16)
ep = LinkEndpoint(port, clk, ev, None, telemetry_hz=50)
hb = encode_frame(M.MSG_HOST_HEARTBEAT, 1)
def period():
    if port.tx_room() < 1000:
        port._tx_count = 0
    port.feed_rx(hb)
    ev.push(5, 2, 3, 2)
    ep.service(inp, out, 700, 900, 0)
    clk.ms += 10
for _ in range(20): period()
"""
    try:
        with MicroPythonVM() as vm:
            vm.install_firmware()
            r = measure_alloc(vm, setup, "period()", n=500)
    except Exception as e:  # no node / interpreter: report, do not fail
        print(f"(MicroPython VM not available: {e})")
        return None
    return {"bytes_per_call": r.bytes_per_call, "us_per_call_wasm": r.us_per_call}


def main() -> int:
    load = uart_load()
    ing = ingest()
    alloc = vm_alloc()
    d = load[M.DEFAULT_TELEMETRY_HZ]
    mx = load[M.MAX_TELEMETRY_HZ]
    result = {
        "host_ingest_fps": round(ing["fps"]),
        "host_ingest_target_fps": 50000,
        "link_uart_load_pct": round(d["pct"], 2),
        "link_uart_load_target_pct": 40,
        "default_telemetry_hz": M.DEFAULT_TELEMETRY_HZ,
        "link_bytes_per_s_default": round(d["bytes_per_s"], 1),
        "link_uart_load_pct_at_max_rate": round(mx["pct"], 2),
        "max_telemetry_hz": M.MAX_TELEMETRY_HZ,
        "ingest_frames": ing["frames"],
        "ingest_seconds": round(ing["seconds"], 3),
    }
    if alloc is not None:
        result["endpoint_service_alloc_bytes"] = alloc["bytes_per_call"]
        result["endpoint_service_us_wasm"] = round(alloc["us_per_call_wasm"], 1)
    rows = [
        ("host_ingest_fps (decode + store, 1 core)", f"{result['host_ingest_fps']:,}", ">= 50,000"),
        (
            f"link_uart_load_pct ({M.DEFAULT_TELEMETRY_HZ} Hz default)",
            f"{result['link_uart_load_pct']:.2f} % ({d['bytes_per_s']:.0f} B/s)",
            "<= 40",
        ),
        (
            f"link load at the max rate ({M.MAX_TELEMETRY_HZ} Hz)",
            f"{result['link_uart_load_pct_at_max_rate']:.2f} %",
            "(info)",
        ),
    ]
    if alloc is not None:
        rows.append(
            (
                "LinkEndpoint.service heap per call (MicroPython VM)",
                f"{alloc['bytes_per_call']:g} B",
                "0",
            )
        )
    w = max(len(r[0]) for r in rows)
    print(f"{'metric':<{w}}  {'measured':>28}  target")
    for name, val, target in rows:
        print(f"{name:<{w}}  {val:>28}  {target}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {RESULTS}")
    ok = ing["fps"] >= 50000 and d["pct"] <= 40 and (alloc is None or alloc["bytes_per_call"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
