"""DoctorCheck a connected board: firmware, config, sensors, e-stop loop, limits, calibration.

The doctor stops the running firmware (raw REPL), runs a probe on the board
that uses the deployed firmware's own config and board-building code, then
resets the board.  Every check that does not pass says what to check.
Run it with the table empty and at its loading position.

Usage::

    checks = doctor("/dev/ttyACM0")
    for c in checks:
        print(c.line())
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inversa import VERSION
from inversa.board.boards import ACTIVE_LEVEL, get_board
from inversa.chip_names import MPU6050_CHIPS
from inversa_host.boardtools.deploy import (
    BoardSession,
    DeployError,
    MpremoteSession,
    confirm_link,
    open_board,
    scaled_factory,
)

# Identity registers from the datasheets: kind -> (register, expected value).
ID_REGISTERS = {
    "mpu6050": (0x75, 0x68),  # WHO_AM_I
    "lsm6dsox": (0x0F, 0x6C),  # WHO_AM_I
    "max30102": (0xFF, 0x15),  # PART_ID
}
# The parts each driver accepts, by the ID it reads (the MPU-6050 driver
# takes the MPU-6500 class too: inversa.drivers.mpu6050.CHIP_IDS), named as
# `doctor` reports them.
ID_PARTS = {
    "mpu6050": MPU6050_CHIPS,
    "lsm6dsox": {0x6C: "LSM6DSOX"},
    "max30102": {0x15: "MAX30102"},
}
_MARK = "@@DOCTOR "
CALIBRATION_PATH = "/calibration.bin"  # inversa.sense.calibration's file on the board

_PROBE = """
import json
r = {}
try:
    import inversa
    r["version"] = inversa.VERSION
except ImportError as e:
    r["version"] = None
cfg = None
try:
    from inversa.board.config import KEY_NAMES, load_config
    cfg = load_config("/board.json")
    r["config"] = {k: getattr(cfg, k) for k in KEY_NAMES}
except ImportError as e:
    r["config_error"] = "firmware missing: " + str(e)
except ValueError as e:
    r["config_error"] = str(e)
if cfg is not None:
    from inversa.board.build import build_board, scan_i2c
    b = build_board(cfg)
    r["scan"] = scan_i2c(b)
    ids = {}
    for kind, addr, reg in ((cfg.imu, cfg.imu_addr, %(imu_reg)r), (cfg.hr, cfg.hr_addr, %(hr_reg)r)):
        if addr is None or reg is None:
            continue
        try:
            ids[kind] = b.i2c.readfrom_mem(addr, reg, 1)[0]
        except OSError:
            ids[kind] = None
    r["ids"] = ids
    r["inputs"] = dict((k, b.inputs[k].value()) for k in b.inputs)
    try:
        from inversa.sense.calibration import Calibration
        import os
        try:
            os.stat(%(cal_path)r)
            present = True
        except OSError:
            present = False
        c = Calibration.load(%(cal_path)r)
        if c is not None:
            r["calibration"] = "ok: %%d position(s), zero %%d cdeg" %% (c.positions, c.zero_cdeg)
        elif present:
            r["calibration"] = "%(cal_path)s is corrupt (format or CRC)"
        else:
            r["calibration"] = "not calibrated: no %(cal_path)s"
    except ImportError:
        r["calibration"] = None
print(%(mark)r + json.dumps(r))
"""


@dataclass(frozen=True)
class DoctorCheck:
    name: str
    status: str  # "ok", "warn", "fail", "skip"
    detail: str
    hint: str = ""

    def line(self) -> str:
        text = f"[{self.status.upper():4}] {self.name}: {self.detail}"
        if self.hint:
            text += f"\n       check: {self.hint}"
        return text


def probe_script(imu: str | None = None, hr: str | None = None) -> str:
    """The probe, given the sensor kinds (their ID registers)."""
    imu_reg = ID_REGISTERS[imu][0] if imu in ID_REGISTERS else None
    hr_reg = ID_REGISTERS[hr][0] if hr in ID_REGISTERS else None
    return _PROBE % {
        "imu_reg": imu_reg,
        "hr_reg": hr_reg,
        "mark": _MARK,
        "cal_path": CALIBRATION_PATH,
    }


def parse_probe(out: str) -> dict[str, Any]:
    for line in out.splitlines():
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK) :])
    raise DeployError(f"the board's probe printed no result: {out.strip()[:300]}")


def _gpio(board: str, signal: str) -> str:
    return f"GPIO{get_board(board)['pins'][signal]}"


def evaluate(r: dict[str, Any]) -> list[DoctorCheck]:
    """Turn the probe's findings into checks, each with what to check."""
    checks: list[DoctorCheck] = []
    v = r.get("version")
    if v is None:
        checks.append(
            DoctorCheck(
                "firmware", "fail", "no Inversa firmware on the board", "run `inversa deploy`"
            )
        )
        return checks
    if v != VERSION:
        checks.append(
            DoctorCheck(
                "firmware",
                "warn",
                f"version {v}, this host has {VERSION}",
                "run `inversa deploy` to bring the board up to date",
            )
        )
    else:
        checks.append(DoctorCheck("firmware", "ok", f"version {v}"))
    if "config" not in r:
        checks.append(
            DoctorCheck(
                "config",
                "fail",
                r.get("config_error", "no config"),
                "write /board.json with `inversa deploy --board ...` (see hardware/README.md)",
            )
        )
        return checks
    cfg = r["config"]
    board = cfg["board"]
    checks.append(
        DoctorCheck(
            "config",
            "ok",
            f"{board}, IMU {cfg['imu']}, HR {cfg['hr']}, motor {cfg['motor']}, "
            f"brake {'yes' if cfg['brake'] else 'no'}",
        )
    )
    bus, sda, scl = get_board(board)["i2c"]
    bus_text = f"I2C{bus} SDA GPIO{sda} / SCL GPIO{scl}"
    scan = r.get("scan", [])
    ids = r.get("ids", {})
    sensors = [("IMU", cfg["imu"], cfg["imu_addr"])]
    if cfg.get("hr_addr") is not None:
        sensors.append(("heart-rate sensor", cfg["hr"], cfg["hr_addr"]))
    for label, kind, addr in sensors:
        name = f"{label} {kind}"
        if cfg.get("bench"):
            checks.append(DoctorCheck(name, "skip", "bench mode: fed over the link"))
            continue
        if addr not in scan:
            found = ", ".join(f"0x{a:02x}" for a in scan) or "nothing"
            checks.append(
                DoctorCheck(
                    name,
                    "fail",
                    f"no answer at 0x{addr:02x} (bus scan found {found})",
                    f"3V3 and GND at the sensor, SDA/SCL not swapped ({bus_text}), "
                    "pull-ups fitted, cable under 1 m or a bus extender",
                )
            )
            continue
        reg = ID_REGISTERS.get(kind, (None, None))[0]
        parts = ID_PARTS.get(kind, {})
        got = ids.get(kind)
        if reg is None:
            checks.append(DoctorCheck(name, "ok", f"answers at 0x{addr:02x}"))
        elif got not in parts:
            got_text = "a read error" if got is None else f"0x{got:02x}"
            want = ", ".join(f"0x{v:02x} {n}" for v, n in parts.items())
            checks.append(
                DoctorCheck(
                    name,
                    "fail",
                    f"ID register 0x{reg:02x} gave {got_text}, expected {want}",
                    "the part fitted is not the one configured (a clone or a different "
                    "chip at the same address): fit the listed part or fix 'imu'/'hr' "
                    "in /board.json",
                )
            )
        else:  # the part found, by name: a look-alike chip is said so
            checks.append(DoctorCheck(name, "ok", f"{parts[got]} (ID 0x{got:02x}) at 0x{addr:02x}"))
    if cfg["hr"] == "pulse_adc":
        checks.append(DoctorCheck("heart-rate sensor pulse_adc", "skip", "analog: no ID to read"))

    inputs = r.get("inputs", {})
    a, b = inputs.get("estop_a"), inputs.get("estop_b")
    pins_ab = f"{_gpio(board, 'estop_a')}/{_gpio(board, 'estop_b')}"
    if a == 0 and b == 0:
        checks.append(DoctorCheck("e-stop loop", "ok", "both channels closed (released)"))
    elif a == 1 and b == 1:
        checks.append(
            DoctorCheck(
                "e-stop loop",
                "fail",
                "both channels open: e-stop pressed or its cable unplugged",
                f"release the e-stop (twist to unlatch); else the e-stop cable and "
                f"the NC blocks 2 and 3 ({pins_ab})",
            )
        )
    else:
        open_ch = "A" if a == 1 else "B"
        checks.append(
            DoctorCheck(
                "e-stop loop",
                "fail",
                f"channels disagree (A={a}, B={b}): channel {open_ch} is open",
                f"a broken wire or a failed contact block on channel {open_ch} "
                f"({pins_ab}); the firmware treats this as pressed",
            )
        )
    if cfg["motor"] != "none":
        fb = inputs.get("contactor_fb")
        if fb == 0:
            checks.append(DoctorCheck("motor contactor", "ok", "energised (motor power available)"))
        else:
            checks.append(
                DoctorCheck(
                    "motor contactor",
                    "warn" if a == 1 or b == 1 else "fail",
                    "de-energised: no motor power",
                    "press RESET after releasing the e-stop; if it stays off: the "
                    "contactor coil supply, the overtravel switch, e-stop NC block 1, "
                    f"the auxiliary contact wire ({_gpio(board, 'contactor_fb')})",
                )
            )
    home, end = inputs.get("home_sw"), inputs.get("end_sw")
    if home == 1 and end == 1:
        checks.append(
            DoctorCheck(
                "limit switches",
                "fail",
                "home and end both open: the table cannot be at both",
                "the limit-switch cable and its common GND "
                f"({_gpio(board, 'home_sw')}, {_gpio(board, 'end_sw')})",
            )
        )
    elif end == 1:
        checks.append(
            DoctorCheck(
                "limit switches",
                "fail",
                "end (deepest) switch open with the table at rest",
                "bring the table to its loading position; else the end switch, its NC "
                f"contact and wire ({_gpio(board, 'end_sw')})",
            )
        )
    elif home == 0:
        checks.append(
            DoctorCheck(
                "limit switches",
                "warn",
                "not on the home switch: the doctor expects the loading position",
                "move the table to its loading position; if it is there, adjust the "
                f"home switch cam or check its wire ({_gpio(board, 'home_sw')})",
            )
        )
    else:
        checks.append(
            DoctorCheck(
                "limit switches",
                "ok",
                "on the home switch; the end switch not tripped (its NC contact closed)",
            )
        )
    stuck = [
        n
        for n in ("btn_up", "btn_down", "btn_start", "btn_stop")
        if inputs.get(n) == ACTIVE_LEVEL[n]
    ]
    if stuck:
        checks.append(
            DoctorCheck(
                "buttons",
                "fail",
                "reading pressed/open at rest: " + ", ".join(stuck),
                "release them; else a pinched pendant cable (UP/DOWN/START are NO: "
                "reading pressed means a short to GND) or STOP's NC contact ("
                + ", ".join(_gpio(board, n) for n in stuck)
                + ")",
            )
        )
    else:
        checks.append(DoctorCheck("buttons", "ok", "all released"))
    if inputs.get("power_ok") == 1:
        checks.append(
            DoctorCheck(
                "supply",
                "warn",
                "running on battery (or the DC-OK wire is open)",
                f"mains and the PSU's DC-OK output ({_gpio(board, 'power_ok')})",
            )
        )
    else:
        checks.append(DoctorCheck("supply", "ok", "mains present"))
    cal = r.get("calibration")
    if cal is None:
        checks.append(
            DoctorCheck(
                "IMU calibration",
                "skip",
                "this firmware has no inversa.sense.calibration module",
            )
        )
    elif cal == "ok" or (isinstance(cal, str) and cal.startswith("ok")):
        checks.append(DoctorCheck("IMU calibration", "ok", cal))
    else:
        checks.append(
            DoctorCheck(
                "IMU calibration",
                "fail",
                str(cal),
                "calibrate with the table horizontal (docs/SENSING.md); the firmware "
                "refuses to move deeper without it",
            )
        )
    return checks


def doctor(
    url: str,
    *,
    reset: bool = True,
    handshake: bool = False,
    session_factory: Callable[[str], BoardSession] = MpremoteSession,
    log: Callable[[str], None] = lambda s: None,
    maintenance: bool = True,
    confirm_timeout_s: float = 10.0,
    time_scale: float = 1.0,
) -> list[DoctorCheck]:
    """Run every check on the board at ``url`` (running firmware is asked
    to reboot into maintenance first, as for deploy).  ``time_scale``
    multiplies every wait (a board slower than real time)."""
    session = open_board(
        url, scaled_factory(session_factory, time_scale), log, maintenance, time_scale=time_scale
    )
    try:
        cfg_kinds = session.exec(
            "try:\n import json\n c = json.load(open('/board.json'))\n"
            " print(c.get('imu', ''), c.get('hr', ''))\nexcept Exception:\n print('- -')"
        ).split()
        imu, hr = [*cfg_kinds, "-", "-"][:2]
        findings = parse_probe(session.exec(probe_script(imu, hr)))
        if reset:
            session.reset()
    finally:
        session.close()
    checks = evaluate(findings)
    if handshake and reset and "config" in findings:
        link = confirm_link(url, findings["config"]["board"], confirm_timeout_s * time_scale)
        status = {"ok": "ok", "skipped": "skip"}.get(link.status, "fail")
        checks.append(
            DoctorCheck(
                "link handshake",
                status,
                link.detail,
                ""
                if status != "fail"
                else "the firmware does not start: read the boot error "
                "with `mpremote connect PORT repl`",
            )
        )
    return checks
