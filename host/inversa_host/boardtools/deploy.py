"""Put the firmware on a board: compile, copy what changed, configure, reset, confirm.

Steps (each reported):

1. compile every firmware module with mpy-cross for the board's architecture
   (``main.py``/``boot.py`` stay source);
2. connect to the board's raw REPL with mpremote (this stops a running
   application: never deploy with a person on the table);
3. hash the files already on the board (sha256, on the board) and copy only
   those that differ; remove stale files under ``/inversa`` (a stale
   ``.py`` would shadow the new ``.mpy``) and an earlier deploy's
   ``/lib/inversa``;
4. write ``/board.json`` (validated by the firmware's own config code) when
   it changed;
5. check on the board that the deployed firmware imports, reports the
   expected version and accepts the config;
6. hard-reset the board and confirm over the link: the handshake must report
   the same firmware version and board, and the profile checksum it announces
   must match the profile the board sends.

Board filesystem layout: ``/main.py``, ``/boot.py`` (if the firmware has
them), ``/inversa/**.mpy``, ``/board.json``.  The package sits at the
filesystem's root, found through ``sys.path``'s ``''`` (rp2 and esp32:
``['', '.frozen', '/lib']``; the board's working directory is ``/``): each
module's file name (its ``__file__``, the ``.mpy``'s source name, one
interned name) is then ``inversa/app.mpy``, 5 characters shorter than under
``/lib`` (-384 B of live heap on the emulated Pico, issue 10 item 4).

Usage::

    report = deploy("/dev/ttyACM0", board="pico", config={"imu": "mpu6050", ...})
    print(report.summary())
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from inversa import VERSION
from inversa.board.boards import board_names
from inversa.board.config import CONFIG_PATH, KEY_NAMES, BoardConfig, validate
from inversa_host.boardtools.mpybuild import BOARD_OPTIMIZE, board_arch, compile_tree
from inversa_host.link.ports import BadPortURL, bad_option, check_url
from inversa_host.vm import firmware_dir

LIB_DIR = "/inversa"
OLD_LIB_DIR = "/lib/inversa"  # where deploys before 1 Dec 2026 put the package
SOURCE_FILES = ("main.py", "boot.py")  # run by name on the board: stay source

# Hardware named when neither --config nor a valid config on the board says
# otherwise: the reference build in hardware/README.md.
DEFAULT_HARDWARE = {"imu": "mpu6050", "hr": "max30102", "motor": "hbridge"}

# Runs on the board: "<path> <sha256 hex>" per file under the given roots.
_HASH_SCRIPT = """
import os
try:
    import hashlib, binascii
except ImportError:
    hashlib = None
def __h(p):
    if hashlib is None:
        return "-"
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(512)
            if not b:
                break
            h.update(b)
    return binascii.hexlify(h.digest()).decode()
def __walk(d):
    try:
        entries = list(os.ilistdir(d))
    except OSError:
        return
    for e in entries:
        p = d + "/" + e[0]
        if e[1] & 0x4000:
            __walk(p)
        else:
            print(p, __h(p))
for d in %r:
    __walk(d)
for p in %r:
    try:
        os.stat(p)
    except OSError:
        continue
    print(p, __h(p))
"""

_MKDIRS_SCRIPT = """
import os
for d in %r:
    try:
        os.mkdir(d)
    except OSError:
        pass
"""

_VERIFY_SCRIPT = """
import sys
for k in list(sys.modules):
    if k.startswith("inversa"):
        del sys.modules[k]
import inversa
print("version", inversa.VERSION)
from inversa.board.config import load_config
try:
    cfg = load_config(%r)
    print("config ok", cfg.board)
except ValueError as e:
    print("config error", e)
"""

_DETECT_SCRIPT = "import sys\nprint(getattr(sys.implementation, '_machine', ''))"

# The board's MicroPython and its flash, read before anything is written.
_SYSTEM_SCRIPT = """
import sys, os
i = sys.implementation
print("micropython", ".".join(str(x) for x in i.version[:3]), getattr(i, "_mpy", -1))
try:
    s = os.statvfs("/")
    print("flash", s[0], s[0] * s[4])
except Exception:
    print("flash 0 -1")
# the package frozen into the firmware (tools/freeze/manifest.py)? sys.path's
# '' comes before '.frozen': copied .mpy files would be imported instead
p = list(sys.path)
sys.path.clear()
sys.path.append(".frozen")
sys.modules.pop("inversa", None)
try:
    import inversa
    print("frozen 1")
except ImportError:
    print("frozen 0")
sys.path.clear()
sys.path.extend(p)
sys.modules.pop("inversa", None)
"""

_SIZES_SCRIPT = """
import os
for p in %r:
    try:
        print(p, os.stat(p)[6])
    except OSError:
        pass
"""

# The firmware is built and tested with this MicroPython (README, hardware/README.md).
MIN_MICROPYTHON = (1, 29)

# Written first when anything changes and replaced by the real main.py last:
# a deploy interrupted in between (cable, power) leaves a board that says so
# and runs no half-old, half-new firmware.
DEPLOY_GUARD = "inversa-deploy-incomplete"
GUARD_MAIN = (
    f"# {DEPLOY_GUARD}: written by `inversa deploy` before it changes any file and\n"
    "# replaced by the real main.py when everything else is in place.\n"
    'print("inversa: a deploy was interrupted: the firmware on this board is '
    'incomplete and does not run; run `inversa deploy` again")\n'
).encode()


class DeployError(RuntimeError):
    """Deploying stopped; the message says what to check."""


class BoardSession(Protocol):
    """The raw-REPL operations deploy and doctor need (mpremote underneath)."""

    def exec(self, code: str) -> str: ...
    def write_file(self, path: str, data: bytes) -> None: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...


class MpremoteSession:
    """A board's raw REPL through mpremote's transport (serial, socket://, rfc2217://)."""

    def __init__(self, url: str, time_scale: float = 1.0) -> None:
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport

        self._error = TransportError
        # mpremote's own waits (whole seconds, as it types them), stretched
        self._wait_s = max(10, round(10 * time_scale))
        try:
            check_url(url)
            self.t = SerialTransport(url, baudrate=115200)
        except BadPortURL as e:
            raise DeployError(str(e)) from None
        except KeyError:  # pyserial: an ?option of the URL it does not know
            raise DeployError(str(bad_option(url))) from None
        except TransportError as e:
            if url.startswith(("socket://", "rfc2217://")):  # no cable to check
                hint = "check that a board is served there (`inversa vboard` prints its URL)"
            else:
                hint = (
                    "check the cable and that no other program (a serial monitor, "
                    "`inversa log`) holds the port"
                )
            raise DeployError(f"cannot open {url}: {e}; {hint}") from e
        try:
            # mpremote prints the bytes it read when no raw REPL answers
            with contextlib.redirect_stdout(io.StringIO()):
                self.t.enter_raw_repl(soft_reset=True, timeout_overall=self._wait_s)
        except (TransportError, OSError) as e:  # OSError: the port went away (a reboot)
            self.t.close()
            raise DeployError(
                f"no MicroPython REPL on {url}: {e}; is MicroPython flashed "
                "(see hardware/README.md) and the application interruptible?"
            ) from e

    def exec(self, code: str) -> str:
        try:
            out, err = self.t.exec_raw(code, timeout=self._wait_s)
        except self._error as e:
            raise DeployError(f"the board raised: {e}") from e
        if err:
            raise DeployError(f"the board raised: {err.decode('utf-8', 'replace')}")
        return out.decode("utf-8", "replace")

    def write_file(self, path: str, data: bytes) -> None:
        try:
            self.t.fs_writefile(path, data, chunk_size=1024)
        except self._error as e:
            raise DeployError(f"writing {path} failed: {e}") from e

    def reset(self) -> None:
        """Hard reset; the connection is gone afterwards."""
        # Typed at the raw REPL's prompt, with no raw-paste handshake to wait
        # for: a slow board (the emulated Pico) missed mpremote's, and the
        # reset never ran.  The board drops the line as it resets.
        try:
            ser = self.t.serial
            ser.write(b"import machine\nmachine.reset()\n\x04")
            getattr(ser, "flush", lambda: None)()  # out before the close (a socket has no buffer)
        except Exception:
            pass
        self.close()

    def close(self) -> None:
        try:
            self.t.close()
        except Exception:
            pass


@dataclass
class LinkCheck:
    status: str  # "ok", "failed" or "skipped"
    detail: str
    fw_version: str = ""
    board: str = ""
    profile_crc: int | None = None


@dataclass
class DeployReport:
    board: str
    arch: str
    copied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    config_written: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    board_version: str = ""
    link: LinkCheck | None = None
    dry_run: bool = False  # copied / removed / config_written: what a deploy would do

    @property
    def ok(self) -> bool:
        return self.link is None or self.link.status != "failed"

    def summary(self) -> str:
        if self.dry_run:
            return "\n".join(
                [
                    f"dry run, board {self.board} ({self.arch}): would copy "
                    f"{len(self.copied)}, {len(self.unchanged)} unchanged, would remove "
                    f"{len(self.removed)} stale",
                    f"config {CONFIG_PATH}: "
                    f"{'would be written' if self.config_written else 'unchanged'} "
                    + json.dumps(self.config, sort_keys=True),
                    "nothing was written; the board was reset into its firmware as it was",
                ]
                + ([f"link handshake: {self.link.status}: {self.link.detail}"] if self.link else [])
            )
        lines = [
            f"board {self.board} ({self.arch}): {len(self.copied)} copied, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} stale removed",
            f"config {CONFIG_PATH}: {'written' if self.config_written else 'unchanged'} "
            + json.dumps(self.config, sort_keys=True),
            f"on the board: firmware {self.board_version} imports and accepts the config",
        ]
        if self.link is not None:
            lines.append(f"link handshake: {self.link.status}: {self.link.detail}")
        return "\n".join(lines)


def build_image(
    board: str, out_dir: Path, root: Path | None = None, debug_lines: bool = False
) -> dict[str, bytes]:
    """Compile the firmware for ``board``: {board path: bytes}.  Without
    ``debug_lines`` the ``.mpy`` files carry no line numbers (``-O3``)."""
    arch = board_arch(board)
    root = root or firmware_dir()
    # constants folded, files named by their board path, no line numbers (mpybuild)
    results = compile_tree(
        root,
        out_dir,
        arch,
        inline=True,
        board_dir="",  # at the root: named inversa/... as its __file__
        optimize=0 if debug_lines else BOARD_OPTIMIZE,
        short_names=not debug_lines,  # --debug-lines keeps the names too
    )
    bad = [r for r in results if not r.ok]
    if bad:
        raise DeployError(
            "mpy-cross failed: " + "; ".join(f"{r.source.name}: {r.error}" for r in bad)
        )
    image: dict[str, bytes] = {}
    for r in results:
        assert r.output is not None
        rel = r.output.relative_to(out_dir).as_posix()
        image["/" + rel] = r.output.read_bytes()
    for name in SOURCE_FILES:
        src = root / name
        if src.is_file():
            image["/" + name] = src.read_bytes()
    return image


def parse_hashes(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        parts = line.strip().split(" ")
        if len(parts) == 2 and parts[0].startswith("/"):
            out[parts[0]] = parts[1]
    return out


def plan_copy(
    image: dict[str, bytes], on_board: dict[str, str]
) -> tuple[list[str], list[str], list[str]]:
    """(to copy, unchanged, stale) given the image and the board's hashes."""
    copy, same = [], []
    for path in sorted(image):
        if on_board.get(path) == hashlib.sha256(image[path]).hexdigest():
            same.append(path)
        else:
            copy.append(path)
    stale = sorted(
        p for p in on_board if p.startswith((LIB_DIR + "/", OLD_LIB_DIR + "/")) and p not in image
    )
    return copy, same, stale


def parent_dirs(paths: list[str]) -> list[str]:
    dirs: set[str] = set()
    for p in paths:
        parts = p.split("/")[1:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/" + "/".join(parts[:i]))
    return sorted(dirs, key=lambda d: (d.count("/"), d))


def detect_board(session: BoardSession) -> str | None:
    """Board name from MicroPython's machine string, None if not recognised."""
    text = session.exec(_DETECT_SCRIPT).strip().lower()
    if "rp2350" in text:
        return "pico2"
    if "rp2040" in text:
        return "pico"
    if "esp32" in text and "s2" not in text and "s3" not in text and "c3" not in text:
        return "esp32"
    return None


@dataclass(frozen=True)
class BoardSystem:
    """What the board's MicroPython says of itself and its flash."""

    version: tuple[int, ...]
    mpy: int  # sys.implementation._mpy; -1: none (MicroPython before 1.19)
    block: int
    free: int  # bytes free on the flash; -1: unknown
    frozen: bool = False  # the inversa package is frozen into the firmware

    @property
    def version_text(self) -> str:
        return ".".join(str(x) for x in self.version)


def parse_system(text: str) -> BoardSystem:
    version: tuple[int, ...] = ()
    mpy, block, free = -1, 0, -1
    frozen = False
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "micropython":
            try:
                version = tuple(int(x) for x in parts[1].split("."))
                mpy = int(parts[2])
            except ValueError:
                pass
        elif len(parts) == 3 and parts[0] == "flash":
            try:
                block, free = int(parts[1]), int(parts[2])
            except ValueError:
                pass
        elif parts == ["frozen", "1"]:
            frozen = True
    if not version:
        raise DeployError(f"the board did not say which MicroPython it runs: {text.strip()[:200]}")
    return BoardSystem(version, mpy, block, free, frozen)


def without_package(image: dict[str, bytes]) -> dict[str, bytes]:
    """The image for a board whose firmware has the package frozen in: no
    ``.mpy`` files (at the root they would be imported instead of it; those
    already there are stale), only ``main.py``."""
    return {p: b for p, b in image.items() if not p.startswith(LIB_DIR + "/")}


def image_mpy(image: dict[str, bytes]) -> tuple[int, int, int]:
    """(.mpy version, sub-version, architecture) the image's files need;
    sub-version and architecture are 0 for bytecode only (any board of that
    .mpy version loads it)."""
    heads = {data[:3] for path, data in image.items() if path.endswith(".mpy")}
    if not heads:
        return (0, 0, 0)
    version = max(h[1] for h in heads)
    flags = max(h[2] for h in heads)
    return (version, flags & 3, flags >> 2)


def check_micropython(system: BoardSystem, image: dict[str, bytes], board: str) -> None:
    """Refuse, before writing anything, a board whose MicroPython cannot load
    the compiled firmware (or is older than the one it is built for)."""
    need = ".".join(str(x) for x in MIN_MICROPYTHON)
    fix = (
        f"flash MicroPython {need} or newer for the {board} first (hardware/README.md "
        "section 6: Flash MicroPython), then deploy again; nothing was written, the board "
        "keeps what it has"
    )
    version, sub, arch = image_mpy(image)
    have = system.version_text
    if system.mpy < 0:
        raise DeployError(
            f"the board runs MicroPython {have}, which loads no .mpy version {version} "
            f"(this firmware's compiled files): {fix}"
        )
    board_version = system.mpy & 0xFF
    if version and board_version != version:
        raise DeployError(
            f"the board runs MicroPython {have} (.mpy version {board_version}); this "
            f"firmware's compiled files are .mpy version {version}: {fix}"
        )
    if arch and ((system.mpy >> 10) != arch or ((system.mpy >> 8) & 3) != sub):
        raise DeployError(
            f"the board runs MicroPython {have} (.mpy {board_version}.{(system.mpy >> 8) & 3}, "
            f"architecture {system.mpy >> 10}); the firmware's native code needs "
            f".mpy {version}.{sub} for architecture {arch}: {fix}"
        )
    if system.version[:2] < MIN_MICROPYTHON:
        raise DeployError(f"the board runs MicroPython {have}; the firmware needs {need}: {fix}")


def flash_needed(sizes_new: list[int], sizes_old: list[int], block: int) -> tuple[int, int]:
    """(bytes the new files take, bytes the replaced/removed ones free), in
    whole flash blocks (a small file still takes a block)."""
    b = max(block, 1)

    def blocks(n: int) -> int:
        return -(-max(n, 1) // b) * b

    return sum(blocks(n) for n in sizes_new), sum(blocks(n) for n in sizes_old)


def config_dict(cfg: BoardConfig) -> dict[str, Any]:
    """The config's settings by key (host-side: the board never needs it)."""
    return {key: getattr(cfg, key) for key in KEY_NAMES}


def config_json(cfg: BoardConfig) -> bytes:
    return (json.dumps(config_dict(cfg), sort_keys=True, indent=1) + "\n").encode()


def choose_config(
    board: str,
    overrides: dict[str, Any] | None,
    on_board_text: str | None,
    whole: bool = False,
) -> BoardConfig:
    """The config to write.  ``whole`` (a config file was given): the
    reference hardware with ``overrides`` on top.  Otherwise the settings in
    ``overrides`` change the board's own valid config for this board (a
    deploy with ``--no-buzzer`` keeps the brake the board was set up with;
    it used to start from the reference hardware and dropped it), or the
    reference hardware where the board has none."""
    values = dict(DEFAULT_HARDWARE, board=board)
    where = "deploy config"
    if on_board_text and not whole:
        try:
            own = json.loads(on_board_text)
            if isinstance(own, dict) and own.get("board") == board:
                validate(own, CONFIG_PATH + " on the board")
                values = dict(own)
                where = CONFIG_PATH + " on the board"
        except ValueError:
            pass  # replaced by the reference hardware's
    if overrides:
        values.update(overrides)
        values["board"] = board
        where = "deploy config"
    return validate(values, where)


def confirm_link(url: str, expect_board: str, timeout_s: float = 10.0) -> LinkCheck:
    """The handshake after reset: same version and board, a consistent profile CRC.

    All use of the link client is here, so a change in it touches one function."""
    try:
        from inversa_host.link.client import LinkClient, LinkError
    except ImportError:
        return LinkCheck("skipped", "no link client")
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            with LinkClient.open(url) as link:
                hello = link.info(timeout=0.5, retries=2)
                crc, _data = link.get_profile()
        except LinkError as e:
            last = str(e)
            time.sleep(0.3)  # the board is still booting / enumerating
            continue
        problems = []
        if hello.fw_version != VERSION:
            problems.append(f"firmware {hello.fw_version}, expected {VERSION}")
        if hello.board != expect_board:
            problems.append(f"board {hello.board!r}, expected {expect_board!r}")
        if hello.profile_crc != crc:
            problems.append(
                f"handshake profile CRC 0x{hello.profile_crc:04x} but the profile "
                f"sent has 0x{crc:04x}"
            )
        detail = (
            f"firmware {hello.fw_version}, board {hello.board}, "
            f"profile CRC 0x{hello.profile_crc:04x}"
        )
        if problems:
            return LinkCheck(
                "failed",
                "; ".join(problems),
                hello.fw_version,
                hello.board,
                hello.profile_crc,
            )
        return LinkCheck("ok", detail, hello.fw_version, hello.board, hello.profile_crc)
    return LinkCheck(
        "failed",
        f"no handshake within {timeout_s:.0f} s ({last}); the firmware did not start: "
        "connect with `mpremote connect PORT repl` and read the boot error",
    )


MAINTENANCE_REBOOT_S = 30.0  # at most, for the board to come back at its REPL after the reset


def enter_maintenance(
    url: str,
    log: Callable[[str], None],
    timeout_s: float = 0.5,
    settle_s: float = 15.0,
    time_scale: float = 1.0,
) -> bool:
    """Ask running firmware to reboot into maintenance (the REPL, no control
    loop): once the loop runs, Ctrl-C is off and the watchdog cannot be
    stopped, so this is how deploy and doctor get in.  True if the board
    agreed; False if no firmware answered (a fresh board: the REPL is there).
    Refused in a session: nobody is interrupted on the table.  A board still
    in its boot self-test is waited for (up to ``settle_s``).  Every wait is multiplied
    by ``time_scale`` (a board slower than real time)."""
    timeout_s *= time_scale
    settle_s *= time_scale
    from inversa import reasons
    from inversa.control.states import DONE, IDLE, SELFTEST
    from inversa.link import messages as M
    from inversa.link.message_names import TELEMETRY_FIELDS
    from inversa_host.link.client import LinkClient, LinkError
    from inversa_host.link.codec import TELEMETRY
    from inversa_host.link.names import state_name

    state_i = TELEMETRY_FIELDS.index("state")
    said = False
    deadline = time.monotonic() + settle_s
    try:
        with LinkClient.open(url) as client:
            while True:
                result = client.command(M.CMD_MAINTENANCE, timeout=timeout_s, retries=1)
                if result.reason != reasons.WRONG_STATE:
                    break
                state = None
                for f in client.poll(0.2 * time_scale):
                    if f.msg_type == M.MSG_TELEMETRY:
                        state = TELEMETRY.unpack_from(f.payload, 0)[state_i]
                if state is None:
                    for f in client.poll(0.5 * time_scale):
                        if f.msg_type == M.MSG_TELEMETRY:
                            state = TELEMETRY.unpack_from(f.payload, 0)[state_i]
                # Still in the self-test, or it ended since the refusal: ask again.
                if state not in (SELFTEST, IDLE, DONE) or time.monotonic() > deadline:
                    what = "" if state is None else f" (the board is in {state_name(state)})"
                    raise DeployError(
                        f"the board refused maintenance: {result.text}{what}; finish or end "
                        "the session (table idle at the loading position), or hold STOP "
                        "while powering the board on"
                    )
                if state == SELFTEST and not said:
                    log("the board is in its boot self-test: waiting")
                    said = True
    except (LinkError, OSError, ValueError):
        return False
    if result.reason is None or result.reason == reasons.UNKNOWN_COMMAND:
        return False  # no firmware of ours (or an older one) on the link
    if not result.ok:
        raise DeployError(
            f"the board refused maintenance: {result.text}; finish or end the session "
            "(table idle at the loading position), or hold STOP while powering the board on"
        )
    log("the board is rebooting into maintenance (control loop stopped, outputs safe)")
    return True


def scaled_factory(
    factory: Callable[..., BoardSession], time_scale: float
) -> Callable[[str], BoardSession]:
    """The session factory with ``time_scale`` passed on where it takes one
    (MpremoteSession does; the tests' fakes need not)."""
    if time_scale == 1.0:
        return factory
    return lambda url: factory(url, time_scale=time_scale)


def check_time_scale(value: float) -> float:
    """``--time-scale``: 1 (a real board) to 1000; ValueError says what to give."""
    if not 1.0 <= value <= 1000.0:
        raise ValueError(
            f"--time-scale {value:g}: give 1 for a real board, or how many times slower "
            "than real time the board runs (1-1000; `inversa vboard --board rp2040` "
            "prints the value to use)"
        )
    return value


def open_board(
    url: str,
    session_factory: Callable[[str], BoardSession],
    log: Callable[[str], None],
    maintenance: bool = True,
    reboot_s: float = MAINTENANCE_REBOOT_S,
    time_scale: float = 1.0,
) -> BoardSession:
    """The board's raw REPL: running firmware is first asked to reboot into
    maintenance, then the REPL is waited for (the port re-enumerates, the
    firmware finishes its acknowledgement) up to ``reboot_s`` (times
    ``time_scale``, as every wait here)."""
    reboot_s *= time_scale
    if not (maintenance and enter_maintenance(url, log, time_scale=time_scale)):
        return session_factory(url)

    deadline = time.monotonic() + reboot_s
    while True:
        try:
            # mpremote prints what it read when the raw REPL is not there yet
            # (the firmware's frames while it reboots): not the person's business
            with contextlib.redirect_stdout(io.StringIO()):
                return session_factory(url)
        except DeployError as e:
            if time.monotonic() > deadline:
                raise DeployError(
                    f"the board agreed to reboot into maintenance but its REPL did not "
                    f"answer within {reboot_s:.0f} s ({e}); power-cycle it holding STOP"
                ) from e
            time.sleep(0.3)  # poll: the port is coming back


def deploy(
    url: str,
    board: str | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    confirm: bool = True,
    confirm_timeout_s: float = 10.0,
    session_factory: Callable[[str], BoardSession] = MpremoteSession,
    log: Callable[[str], None] = print,
    firmware_root: Path | None = None,
    maintenance: bool = True,
    time_scale: float = 1.0,
    whole_config: bool = False,
    debug_lines: bool = False,
    dry_run: bool = False,
) -> DeployReport:
    """Deploy the firmware in this checkout to the board at ``url``.
    ``time_scale`` multiplies every wait (a board slower than real time, such
    as the emulated Pico); ``session_factory(url, time_scale)`` opens the REPL.
    ``overrides`` change the board's own config, or, with ``whole_config``
    (a config file), replace it (see choose_config).  ``debug_lines`` keeps
    the line numbers in the ``.mpy`` files (tracebacks; ~8 KB more heap).
    ``dry_run``: every check (the board, its MicroPython, the room on its
    flash) and what would be copied, removed and written, then a reset into
    the firmware as it was: nothing is written."""
    if board is not None and board not in board_names():
        raise DeployError(f"unknown board {board!r}; choose one of {', '.join(board_names())}")
    session = open_board(
        url, scaled_factory(session_factory, time_scale), log, maintenance, time_scale=time_scale
    )
    try:
        if board is None:
            board = detect_board(session)
            if board is None:
                raise DeployError(
                    "could not tell which board this is; pass --board " + "|".join(board_names())
                )
            log(f"detected board: {board}")
        arch = board_arch(board)
        with tempfile.TemporaryDirectory() as tmp:
            opt = "" if debug_lines else f" -O{BOARD_OPTIMIZE}"
            log(f"compiling the firmware with mpy-cross -march={arch}{opt}")
            image = build_image(board, Path(tmp), firmware_root, debug_lines)
        report = DeployReport(board, arch)
        system = parse_system(session.exec(_SYSTEM_SCRIPT))
        check_micropython(system, image, board)
        log(f"the board runs MicroPython {system.version_text}")
        if system.frozen:
            log("its firmware has the inversa package frozen in: no .mpy files copied")
            image = without_package(image)

        on_board = parse_hashes(
            session.exec(
                _HASH_SCRIPT
                % ((LIB_DIR, OLD_LIB_DIR), (*(f"/{n}" for n in SOURCE_FILES), CONFIG_PATH))
            )
        )
        current_cfg = None
        if CONFIG_PATH in on_board:
            current_cfg = session.exec(f"print(open({CONFIG_PATH!r}).read())").strip()
        cfg = choose_config(board, overrides, current_cfg, whole_config)
        image_cfg = config_json(cfg)
        report.config = config_dict(cfg)

        copy, same, stale = plan_copy(image, on_board)
        report.unchanged = same
        write_cfg = on_board.get(CONFIG_PATH) != hashlib.sha256(image_cfg).hexdigest()
        guarded = bool(copy or stale)
        main = "/main.py"
        if guarded and main not in image:
            raise DeployError("the firmware has no main.py: nothing to boot")
        # Room on the flash, before anything is written.
        replaced = [p for p in copy if p in on_board] + stale
        if write_cfg and CONFIG_PATH in on_board:
            replaced.append(CONFIG_PATH)
        old_sizes = parse_hashes(session.exec(_SIZES_SCRIPT % (replaced,))) if replaced else {}
        new_sizes = [len(image[p]) for p in copy] + ([len(image_cfg)] if write_cfg else [])
        if guarded:
            new_sizes.append(len(GUARD_MAIN))
        need, freed = flash_needed(
            new_sizes, [int(v) for v in old_sizes.values() if v.isdigit()], system.block
        )
        if system.free >= 0 and need > system.free + freed - 2 * max(system.block, 1):
            raise DeployError(
                f"not enough room on the board's flash: {system.free} bytes free, the new "
                f"files need {need - freed} more (and two blocks spare); remove files "
                "you put there yourself (`mpremote connect PORT fs ls`, `fs rm`), then "
                "deploy again; nothing was written"
            )
        if dry_run:
            for path in copy:
                log(f"would copy {path} ({len(image[path])} bytes)")
            for path in stale:
                log(f"would remove stale {path}")
            if write_cfg:
                log(f"would write {CONFIG_PATH}")
            report.dry_run = True
            report.copied, report.removed, report.config_written = copy, stale, write_cfg
            log("reset (nothing written)")
            session.reset()
            return report
        if guarded:
            # main.py first becomes a placeholder that runs nothing: until the
            # last step a board reset mid-way says the deploy was interrupted.
            log(f"write {main} placeholder (the real one goes last)")
            session.write_file(main, GUARD_MAIN)
        session.exec(_MKDIRS_SCRIPT % (parent_dirs(copy),))
        for path in copy:
            if path == main:
                continue
            log(f"copy {path} ({len(image[path])} bytes)")
            session.write_file(path, image[path])
        report.copied = copy
        for path in stale:
            log(f"remove stale {path}")
            session.exec(f"import os\nos.remove({path!r})")
        report.removed = stale
        if write_cfg:
            log(f"write {CONFIG_PATH}")
            session.write_file(CONFIG_PATH, image_cfg)
            report.config_written = True

        out = session.exec(_VERIFY_SCRIPT % (CONFIG_PATH,))
        version = ""
        for line in out.splitlines():
            if line.startswith("version "):
                version = line[len("version ") :].strip()
            elif line.startswith("config error"):
                raise DeployError(f"the board refuses its config: {line[len('config error') :]}")
        if version != VERSION:
            raise DeployError(
                f"the board's firmware reports version {version!r}, expected {VERSION!r}: "
                f"the copy did not take; board said: {out.strip()[:300]}"
            )
        report.board_version = version
        if guarded:
            log(f"write {main} ({len(image[main])} bytes): the deploy is complete")
            session.write_file(main, image[main])
        log("reset")
        session.reset()
    finally:
        session.close()
    if confirm:
        log("waiting for the handshake over the link")
        report.link = confirm_link(url, board, confirm_timeout_s * time_scale)
    return report
