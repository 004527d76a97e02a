"""Where the emulated Pico's firmware image and boot ROM come from.

Neither is part of this repository.  They are looked up, in order:

1. the paths given explicitly (``--uf2`` / ``--bootrom`` options);
2. the environment: ``INVERSA_RP2_UF2`` and ``INVERSA_RP2_BOOTROM``;
3. ``../shared/tools/micropython-rp2/`` next to the checkout (this project's CI).

Usage::

    uf2, bootrom = find_rp2_tools()          # Rp2Unavailable says where to get them
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from inversa_host.vm import repo_root

ENV_UF2 = "INVERSA_RP2_UF2"
ENV_BOOTROM = "INVERSA_RP2_BOOTROM"
UF2_NAME = "RPI_PICO.uf2"
BOOTROM_NAME = "bootrom.bin"

HOW_TO_GET = f"""\
The emulated Pico needs two files that are not part of this repository:
  * a MicroPython 1.29 firmware for the Raspberry Pi Pico (RPI_PICO, .uf2): the
    official download, https://micropython.org/download/RPI_PICO/ ;
  * the RP2040 boot ROM (raw 16 KiB, B1/B2), built from
    https://github.com/raspberrypi/pico-bootrom (or dumped from a Pico).
Point the tools at them with --uf2 FILE --bootrom FILE, or set
  {ENV_UF2}=/path/to/{UF2_NAME} {ENV_BOOTROM}=/path/to/{BOOTROM_NAME}
(this project's CI finds both in ../shared/tools/micropython-rp2/)."""


class Rp2Unavailable(RuntimeError):
    """Node, rp2040js, the firmware image or the boot ROM is missing."""


def shared_tools_dir() -> Path:
    return repo_root().parent / "shared" / "tools" / "micropython-rp2"


def _pick(explicit: str | os.PathLike[str] | None, env: str, name: str) -> Path:
    if explicit:
        p = Path(explicit)
        where = "given"
    elif os.environ.get(env):
        p = Path(os.environ[env])
        where = f"${env}"
    else:
        p = shared_tools_dir() / name
        where = "default"
    if not p.is_file():
        raise Rp2Unavailable(f"{name}: not found ({where}: {p}).\n{HOW_TO_GET}")
    return p


def find_rp2_tools(
    uf2: str | os.PathLike[str] | None = None, bootrom: str | os.PathLike[str] | None = None
) -> tuple[Path, Path]:
    """(firmware .uf2, boot ROM), or Rp2Unavailable saying where to get them."""
    return _pick(uf2, ENV_UF2, UF2_NAME), _pick(bootrom, ENV_BOOTROM, BOOTROM_NAME)


def node_and_rp2040js() -> str:
    """The node executable; Rp2Unavailable if it or rp2040js is missing."""
    node = shutil.which("node")
    if node is None:
        raise Rp2Unavailable("node is not on PATH; install Node.js 20 (apt-get install nodejs)")
    if not (repo_root() / "node_modules" / "rp2040js" / "package.json").is_file():
        raise Rp2Unavailable("rp2040js is not installed; run `make setup` (npm ci)")
    return node


def rp2_missing(
    uf2: str | os.PathLike[str] | None = None, bootrom: str | os.PathLike[str] | None = None
) -> str | None:
    """Why the emulated Pico cannot run here (what to install or point at), or None."""
    try:
        node_and_rp2040js()
        find_rp2_tools(uf2, bootrom)
    except Rp2Unavailable as e:
        return str(e)
    return None
