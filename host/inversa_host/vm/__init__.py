"""Run MicroPython code on the PC: the WebAssembly port of MicroPython under Node.

The firmware, its tests, the allocation probe and the simulator's ``--vm`` mode
all go through :class:`MicroPythonVM`.  One VM is one Node process holding one
interpreter; requests are JSON lines (see ``runner.mjs``).

Usage::

    with MicroPythonVM() as vm:
        vm.install_firmware()
        print(vm.exec("import inversa; print(inversa.VERSION)"))
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

from inversa_host.closing import Closing

__all__ = [
    "MicroPythonError",
    "MicroPythonVM",
    "VMUnavailable",
    "firmware_dir",
    "mpylib_dir",
    "repo_root",
]

_PKG = "@micropython/micropython-webassembly-pyscript"
_HERE = Path(__file__).resolve().parent


class VMUnavailable(RuntimeError):
    """Node or the npm MicroPython package is missing."""


class MicroPythonError(RuntimeError):
    """Code raised inside MicroPython; ``traceback`` holds MicroPython's own text."""

    def __init__(self, traceback: str, out: str = "") -> None:
        super().__init__(traceback)
        self.traceback = traceback
        self.out = out


def repo_root() -> Path:
    """The checkout this package runs from (editable install)."""
    return _HERE.parents[2]


def firmware_dir() -> Path:
    """The directory that becomes the board's filesystem root."""
    return repo_root() / "firmware"


def mpylib_dir() -> Path:
    """Stand-ins for board-only modules (``machine``) used inside the VM."""
    return _HERE / "mpylib"


def _find_interpreter() -> Path:
    env = os.environ.get("INVERSA_MPY_MJS")
    if env:
        return Path(env)
    for base in (repo_root(), Path.cwd(), *Path.cwd().parents):
        cand = base / "node_modules" / _PKG / "micropython.mjs"
        if cand.is_file():
            return cand
    raise VMUnavailable(
        f"the npm package {_PKG} is not installed; run `make setup` (it runs `npm ci`)"
    )


class MicroPythonVM(Closing):
    """One MicroPython interpreter in a Node child process."""

    def __init__(self, heap_bytes: int = 4 * 1024 * 1024, raw_output: bool = False) -> None:
        node = shutil.which("node")
        if node is None:
            raise VMUnavailable("node is not on PATH; install Node.js 20 (apt-get install nodejs)")
        env = dict(os.environ)
        env["INVERSA_MPY_MJS"] = str(_find_interpreter())
        env["INVERSA_MPY_HEAP"] = str(heap_bytes)
        # raw_output keeps MicroPython's output byte for byte (the REPL ops
        # need it: prompts have no newline); exec() returns the same text.
        if raw_output:
            env["INVERSA_MPY_RAW_OUT"] = "1"
        self._proc = subprocess.Popen(
            [node, str(_HERE / "runner.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
        )
        hello = self._read()
        if not hello.get("ok"):
            raise VMUnavailable(f"MicroPython did not start: {hello}")

    # -- protocol ---------------------------------------------------------
    def _read(self) -> dict:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            err = self._proc.stderr.read() if self._proc.stderr else ""
            raise VMUnavailable(f"the MicroPython process ended unexpectedly: {err.strip()}")
        return json.loads(line)

    def _request(self, **req: object) -> dict:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(req) + "\n")
        self._proc.stdin.flush()
        return self._read()

    # -- public -----------------------------------------------------------
    def exec(self, code: str) -> str:
        """Run ``code``; return what it printed; raise MicroPythonError on an exception."""
        rep = self._request(op="exec", code=code)
        if not rep["ok"]:
            raise MicroPythonError(rep.get("error", ""), rep.get("out", ""))
        return str(rep["out"])

    def write_file(self, path: str, data: str | bytes) -> None:
        if isinstance(data, bytes):
            rep = self._request(op="write", path=path, b64=base64.b64encode(data).decode())
        else:
            rep = self._request(op="write", path=path, data=data)
        if not rep["ok"]:
            raise MicroPythonError(rep.get("error", ""))

    def put_tree(self, src: Path, dest: str) -> int:
        """Copy every ``.py`` file below ``src`` to ``dest`` in the VM; return the count."""
        count = 0
        for f in sorted(src.rglob("*.py")):
            if "__pycache__" in f.parts:
                continue
            rel = f.relative_to(src).as_posix()
            self.write_file(f"{dest.rstrip('/')}/{rel}", f.read_text(encoding="utf-8"))
            count += 1
        return count

    def install_firmware(self, with_mpylib: bool = True) -> None:
        """Put the firmware at ``/lib`` (as on a board) and the ``machine`` stand-in."""
        self.put_tree(firmware_dir() / "inversa", "/lib/inversa")
        if with_mpylib:
            self.put_tree(mpylib_dir(), "/lib")

    # -- REPL (virtual board; needs raw_output=True) ------------------------
    def repl_init(self, hook: str = "") -> bytes:
        """Start the REPL (after a simulated soft reset running ``hook``); return its banner."""
        rep = self._request(op="repl_init", hook=hook)
        if not rep["ok"]:
            raise MicroPythonError(rep.get("error", ""))
        return base64.b64decode(rep["b64"])

    def repl_input(self, data: bytes) -> tuple[bytes, int, bool]:
        """Type ``data`` at the REPL: (output bytes, soft resets, hard reset requested)."""
        rep = self._request(op="repl_input", b64=base64.b64encode(data).decode())
        if not rep["ok"]:
            raise MicroPythonError(rep.get("error", ""))
        return base64.b64decode(rep["b64"]), int(rep["soft_resets"]), bool(rep["hard_reset"])

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._request(op="quit")
            except (OSError, VMUnavailable, ValueError):
                pass
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
