"""The emulated Pico's filesystem: exactly what ``inversa deploy`` copies.

``deploy_files`` is the deploy's own image (``deploy.build_image``: the
``.mpy`` files under ``/inversa``, ``main.py``) plus ``/board.json`` as deploy
writes it, plus any extra files (the profile, the calibration).
``littlefs_image`` lays them out with MicroPython's rp2 settings.

Usage::

    files = deploy_files("pico", cfg, extra={"/profile.bin": data})
    img = littlefs_image(files)          # bytes for flash offset 0xA0000
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from inversa.board.config import BoardConfig

# MicroPython rp2, BOARD=RPI_PICO: 1408 KiB at flash offset 0xA0000, 4 KiB
# erase blocks; _boot.py mounts it with vfs.VfsLfs2(bdev, progsize=256).
FS_BLOCK_SIZE = 4096
FS_BLOCK_COUNT = 352
FS_PROG_SIZE = 256
FS_READ_SIZE = 32
FS_LOOKAHEAD = 32


def deploy_files(
    board: str,
    cfg: BoardConfig,
    extra: dict[str, bytes] | None = None,
    debug_lines: bool = False,
) -> dict[str, bytes]:
    """{board path: bytes}: what `inversa deploy --board BOARD` leaves on the
    board (``debug_lines``: `--debug-lines`)."""
    from inversa_host.boardtools.deploy import CONFIG_PATH, build_image, config_json

    with tempfile.TemporaryDirectory() as tmp:
        files = build_image(board, Path(tmp), debug_lines=debug_lines)
    files[CONFIG_PATH] = config_json(cfg)
    if extra:
        files.update(extra)
    return files


def littlefs_image(files: dict[str, bytes]) -> bytes:
    """A littlefs v2 image of ``files`` that MicroPython's rp2 port mounts."""
    from littlefs import LittleFS

    fs = LittleFS(
        block_size=FS_BLOCK_SIZE,
        block_count=FS_BLOCK_COUNT,
        prog_size=FS_PROG_SIZE,
        read_size=FS_READ_SIZE,
        lookahead_size=FS_LOOKAHEAD,
    )
    made: set[str] = set()
    for path in sorted(files):
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/" + "/".join(parts[:i])
            if d not in made:
                fs.makedirs(d, exist_ok=True)
                made.add(d)
        with fs.open(path, "wb") as f:
            f.write(files[path])
    return bytes(fs.context.buffer)
