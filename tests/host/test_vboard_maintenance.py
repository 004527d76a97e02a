"""deploy and doctor against `inversa vboard`, repeatedly (issue 13, items 8
and 9): the firmware board reboots into MicroPython's REPL when asked for
maintenance, a reset boots what its flash then holds; a board whose
MicroPython is too old, or whose flash is too small, is refused before
anything is written; an interrupted deploy leaves a board that says so.

Every wait is on a condition, bounded (no fixed sleeps)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from inversa_host.boardtools.deploy import (
    DeployError,
    MpremoteSession,
    check_micropython,
    deploy,
    flash_needed,
    parse_system,
)
from inversa_host.cli import main
from inversa_host.vboards.repl import ReplBoard, VirtualHardware, older_micropython
from inversa_host.vboards.vboard import VBoardConfig, VirtualBoard


class VBoardProcess:
    """`inversa vboard ...` in its own process, as in a second terminal."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inversa_host.cli", "vboard", "--no-console", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self.wait_for("socket://").strip()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")  # ended

    def wait_for(self, text: str, timeout_s: float = 240.0) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"`inversa vboard` never printed {text!r}"
            line = self.lines.get(timeout=left)
            if not line:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"`inversa vboard` ended: {err}")
            if text in line:
                return line

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def vboard_cli(request: pytest.FixtureRequest) -> Iterator[VBoardProcess]:
    vb = VBoardProcess(*getattr(request, "param", ()))
    try:
        yield vb
    finally:
        vb.close()


def test_deploy_twice_then_doctor_through_inversa_vboard(
    vboard_cli: VBoardProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    url = vboard_cli.url
    # --timeout: a bound on the handshake (a loaded PC builds the rig slowly)
    assert main(["deploy", "--port", url, "--board", "pico", "--timeout", "120"]) == 0
    out = capsys.readouterr().out
    assert "rebooting into maintenance" in out and "link handshake: ok" in out
    vboard_cli.wait_for("rebooted into maintenance")
    vboard_cli.wait_for("the firmware runs")
    # again: the board came back running the firmware, and goes back in
    assert (
        main(["deploy", "--port", url, "--board", "pico", "--motor", "none", "--timeout", "120"])
        == 0
    )
    out = capsys.readouterr().out
    assert "write /board.json" in out and "link handshake: ok" in out
    # a doctor after a deploy: the manual table's board, every check shown
    code = main(["doctor", "--port", url, "--handshake", "--timeout", "120"])
    out = capsys.readouterr().out
    assert "[OK  ] firmware: version" in out
    assert "motor none" in out and "[OK  ] e-stop loop" in out
    assert "[OK  ] link handshake" in out
    assert code in (0, 1)
    assert vboard_cli.proc.poll() is None  # the board's process is alive


@pytest.mark.parametrize("vboard_cli", [("--empty",)], indirect=True)
def test_doctor_on_an_empty_board_says_deploy_and_the_board_lives_on(
    vboard_cli: VBoardProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    vboard_cli.wait_for("at MicroPython's REPL")
    for _ in range(2):  # the board survives the doctor's reset: again
        assert main(["doctor", "--port", vboard_cli.url]) == 1
        out = capsys.readouterr().out
        assert "[FAIL] firmware: no Inversa firmware on the board" in out
        assert "run `inversa deploy`" in out
        vboard_cli.wait_for("stays at the REPL: no /main.py")
    assert vboard_cli.proc.poll() is None


def _board_files(vb: VirtualBoard) -> list[str]:
    return json.loads(
        vb.app.chip.exec(
            "import os, json\n"
            "def w(d):\n"
            " out = []\n"
            " for e in os.ilistdir(d):\n"
            "  p = (d.rstrip('/') + '/' + e[0])\n"
            "  out += w(p) if e[1] & 0x4000 else [p]\n"
            " return out\n"
            "print(json.dumps(sorted(p for p in w('/') if not p.startswith(('/lib/machine', '/tmp')))))"
        )
    )


@pytest.mark.parametrize("version", ["1.18", "1.22"])
def test_deploy_refuses_an_older_micropython_and_writes_nothing(version: str) -> None:
    with VirtualBoard(VBoardConfig(empty=True, micropython=version)) as vb:
        before = _board_files(vb)
        with pytest.raises(DeployError) as e:
            deploy(vb.url, "pico", None, log=lambda s: None, confirm=False)
        assert f"MicroPython {version}" in str(e.value)
        assert "flash MicroPython 1.29 or newer" in str(e.value)
        assert "nothing was written" in str(e.value)
        assert _board_files(vb) == before
        assert vb.error is None


def test_deploy_refuses_a_full_flash_and_writes_nothing() -> None:
    hw = VirtualHardware.healthy("pico")
    hw.flash_free = 9 * 4096  # the firmware takes ~230 kB in whole 4 kB blocks
    with ReplBoard(hardware=hw) as rb:
        with pytest.raises(DeployError, match=r"not enough room.*36864 bytes free"):
            deploy(rb.url, "pico", None, log=lambda s: None, confirm=False, maintenance=False)
        assert "main.py" not in rb.exec("import os; print(os.listdir('/'))")
        assert "inversa" not in rb.exec("import os; print(os.listdir('/'))")


class _CableCut(MpremoteSession):
    """The USB cable is pulled after a few files."""

    writes = 0

    def write_file(self, path: str, data: bytes) -> None:
        if _CableCut.writes >= 3:
            raise DeployError(f"writing {path} failed: the cable was pulled")
        _CableCut.writes += 1
        super().write_file(path, data)


def test_an_interrupted_deploy_leaves_a_board_that_says_so() -> None:
    _CableCut.writes = 0
    with VirtualBoard(VBoardConfig(empty=True)) as vb:
        with pytest.raises(DeployError, match="cable was pulled"):
            deploy(vb.url, "pico", None, log=lambda s: None, session_factory=_CableCut)
        assert b"inversa-deploy-incomplete" in vb.app.chip.read_file("/main.py")
        vb.press("power_reset")
        deadline = time.monotonic() + 10
        while "interrupted" not in vb.app.boot_error:
            assert time.monotonic() < deadline, vb.app.boot_error
            time.sleep(0.05)
        assert vb.at_repl and vb.app.rig is None  # no half-old, half-new firmware runs


def test_micropython_checks_read_what_the_board_says() -> None:
    image = {"/inversa/a.mpy": b"M\x06\x00\x1f", "/main.py": b""}
    ok = parse_system(f"micropython 1.29.0 {6 | 3 << 8 | 4 << 10}\nflash 4096 1000000\n")
    check_micropython(ok, image, "pico")
    assert ok.free == 1000000 and ok.block == 4096
    for text, words in (
        ("micropython 1.18.0 -1\n", "loads no .mpy version 6"),
        ("micropython 1.30.0 7\n", ".mpy version 7"),
        ("micropython 1.22.2 518\n", "needs 1.29"),
    ):
        with pytest.raises(DeployError, match=words):
            check_micropython(parse_system(text), image, "pico")
    native = {"/inversa/a.mpy": bytes([77, 6, (4 << 2) | 3, 31])}  # armv6m, 6.3
    check_micropython(ok, native, "pico")
    with pytest.raises(DeployError, match="architecture"):
        check_micropython(parse_system("micropython 1.29.0 774\n"), native, "pico")
    with pytest.raises(DeployError, match="did not say"):
        parse_system("Traceback ...")
    assert older_micropython("1.18") == ((1, 18, 0), None)
    assert older_micropython("1.23.0")[1] == 6 | 3 << 8 | 4 << 10
    assert flash_needed([1, 4096, 4097], [10], 4096) == (4096 * 4, 4096)
