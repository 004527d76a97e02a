"""inversa deploy: the copy plan, the config choice, and end to end against the
virtual board (MicroPython VM behind socket://, mpremote's raw REPL)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inversa import VERSION
from inversa_host.boardtools import deploy as D
from inversa_host.boardtools.deploy import (
    DeployError,
    choose_config,
    deploy,
    parent_dirs,
    plan_copy,
)
from inversa_host.boardtools.mpybuild import empty_package
from inversa_host.link.fakeboard import FakeBoard
from inversa_host.vboards.repl import ReplBoard, VirtualHardware


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def test_plan_copies_only_changed_and_finds_stale_files():
    image = {"/inversa/a.mpy": b"A", "/inversa/b.mpy": b"B", "/main.py": b"M"}
    on_board = {
        "/inversa/a.mpy": sha(b"A"),  # same
        "/inversa/b.mpy": sha(b"old"),  # changed
        "/inversa/gone.py": sha(b"x"),  # stale: would shadow a .mpy
        "/lib/inversa/a.mpy": sha(b"A"),  # an earlier deploy's place: stale
        "/lib/other.py": sha(b"y"),  # not firmware: never removed
        "/board.json": sha(b"{}"),  # not firmware: never removed
    }
    copy, same, stale = plan_copy(image, on_board)
    assert copy == ["/inversa/b.mpy", "/main.py"]
    assert same == ["/inversa/a.mpy"]
    assert stale == ["/inversa/gone.py", "/lib/inversa/a.mpy"]


def test_board_without_hashlib_gets_everything_copied():
    image = {"/inversa/a.mpy": b"A"}
    copy, same, _ = plan_copy(image, {"/inversa/a.mpy": "-"})
    assert copy == ["/inversa/a.mpy"] and same == []


def test_parent_dirs_are_created_top_down():
    dirs = parent_dirs(["/lib/inversa/board/x.mpy", "/lib/inversa/y.mpy", "/main.py"])
    assert dirs == ["/lib", "/lib/inversa", "/lib/inversa/board"]


def test_a_board_with_the_package_frozen_in_gets_no_mpy_files():
    # the package at the root comes before '.frozen' on sys.path: copied
    # .mpy files would be imported instead of the frozen package
    text = "micropython 1.29.0 1542\nflash 4096 100000\nfrozen %s\n"
    assert D.parse_system(text % 1).frozen
    assert not D.parse_system(text % 0).frozen
    image = {"/inversa/a.mpy": b"A", "/inversa/board/b.mpy": b"B", "/main.py": b"M"}
    kept = D.without_package(image)
    assert kept == {"/main.py": b"M"}
    on_board = {"/inversa/a.mpy": sha(b"A"), "/lib/inversa/b.mpy": sha(b"B")}
    copy, _, stale = plan_copy(kept, on_board)
    assert copy == ["/main.py"]
    assert stale == ["/inversa/a.mpy", "/lib/inversa/b.mpy"]


def test_parse_hashes_ignores_noise():
    text = "junk\n/lib/inversa/a.mpy 00ff\n/board.json abc\n  \n"
    assert D.parse_hashes(text) == {"/lib/inversa/a.mpy": "00ff", "/board.json": "abc"}


def test_config_choice():
    # explicit settings win over the board's own config
    cfg = choose_config("pico", {"motor": "none", "hr": "none"}, '{"board": "pico"}')
    assert cfg.motor == "none" and cfg.imu == "mpu6050" and cfg.board == "pico"
    # the board's valid config for the same board is kept
    own = '{"board": "esp32", "imu": "lsm6dsox", "hr": "pulse_adc", "motor": "relay"}'
    cfg = choose_config("esp32", None, own)
    assert cfg.imu == "lsm6dsox" and cfg.motor == "relay"
    # a config for another board, or a corrupt one, gives the reference hardware
    assert choose_config("pico", None, own).imu == "mpu6050"
    assert choose_config("pico", None, "{nonsense").motor == "hbridge"
    # bad explicit settings are refused with the firmware's own message
    with pytest.raises(ValueError, match="stepper"):
        choose_config("pico", {"motor": "stepper"}, None)


def test_a_setting_given_at_deploy_changes_only_that_setting() -> None:
    # Found deploying to the emulated Pico: `inversa deploy --no-buzzer` on a
    # board set up with a brake wrote brake: false (the flags started from the
    # reference hardware, not from the board's own config).
    own = '{"board": "pico", "imu": "lsm6dsox", "hr": "max30102", "motor": "hbridge", "brake": true, "buzzer": true}'
    cfg = choose_config("pico", {"buzzer": False}, own)
    assert cfg.buzzer is False and cfg.brake is True and cfg.imu == "lsm6dsox"
    # a whole config file replaces the board's: what it leaves out is the reference's
    cfg = choose_config("pico", {"imu": "mpu6050", "buzzer": False}, own, whole=True)
    assert cfg.brake is False and cfg.imu == "mpu6050"
    # no config on the board (or another board's): the flags on the reference hardware
    assert choose_config("pico", {"buzzer": False}, None).brake is False


def test_build_image_layout_and_architecture(tmp_path, monkeypatch):
    seen = []
    real = D.compile_tree

    def spy(root, out, arch, sources=None, **kw):
        seen.append(arch)
        # the deploy folds the constants, names each file by its board path,
        # drops the line numbers (-O3) and shortens the private names
        assert kw == {"inline": True, "board_dir": "", "optimize": 3, "short_names": True}
        return real(root, out, arch, sources, **kw)

    monkeypatch.setattr(D, "compile_tree", spy)
    fw = tmp_path / "fw"
    (fw / "inversa" / "board").mkdir(parents=True)
    (fw / "inversa" / "__init__.py").write_text("VERSION = '1'\n")
    (fw / "inversa" / "board" / "x.py").write_text("X = 1\n")
    (fw / "main.py").write_text("import inversa\n")
    image = D.build_image("esp32", tmp_path / "out", fw)
    assert seen == ["xtensawin"]
    assert sorted(image) == ["/inversa/__init__.mpy", "/inversa/board/x.mpy", "/main.py"]
    assert image["/main.py"] == b"import inversa\n"  # main.py stays source
    assert image["/inversa/__init__.mpy"][:2] == b"M\x06"  # .mpy v6 bytecode
    D.build_image("pico2", tmp_path / "out2", fw)
    assert seen[-1] == "armv7emsp"


def test_debug_lines_keeps_the_line_numbers(tmp_path, monkeypatch):
    seen = []
    real = D.compile_tree

    def spy(root, out, arch, sources=None, **kw):
        seen.append((kw["optimize"], kw["short_names"]))
        return real(root, out, arch, sources, **kw)

    monkeypatch.setattr(D, "compile_tree", spy)
    fw = tmp_path / "fw"
    (fw / "inversa").mkdir(parents=True)
    body = "def f(x):\n    y = x + 1\n    return 1 // (y - y)\n"
    (fw / "inversa" / "__init__.py").write_text(body)
    lean = D.build_image("pico", tmp_path / "a", fw)["/inversa/__init__.mpy"]
    full = D.build_image("pico", tmp_path / "b", fw, debug_lines=True)["/inversa/__init__.mpy"]
    assert seen == [(3, True), (0, False)]  # --debug-lines keeps the names too
    assert len(lean) < len(full)  # the line-number table


def test_board_build_traceback_names_file_and_function_not_the_line(tmp_path):
    """What README says a traceback from a deployed board looks like, in the
    32-bit MicroPython (the same bytecode as the board's)."""
    import os
    import subprocess

    from unix32_harness import Unix32Unavailable, interpreter

    from inversa_host.boardtools.mpybuild import BOARD_OPTIMIZE, compile_tree

    try:
        exe = interpreter()
    except Unix32Unavailable as e:
        pytest.skip(str(e))
    src = tmp_path / "src"
    src.mkdir()
    (src / "m.py").write_text(
        "def f(x):\n    y = x + 1\n    return g(y)\n\n\ndef g(y):\n    return 1 // (y - y)\n"
    )
    tb = {}
    for opt in (BOARD_OPTIMIZE, 0):
        lib = tmp_path / f"lib{opt}"
        # at the root as deployed: the file name is the module's __file__
        assert all(r.ok for r in compile_tree(src, lib, "x86", board_dir="", optimize=opt))
        p = subprocess.run(
            [str(exe), "-c", "import m; m.f(1)"],
            capture_output=True,
            text=True,
            env=dict(os.environ, MICROPYPATH=str(lib)),
            timeout=30,
            check=False,
        )
        tb[opt] = p.stdout + p.stderr
    assert 'File "m.mpy", line 1, in f' in tb[BOARD_OPTIMIZE]
    assert 'File "m.mpy", line 1, in g' in tb[BOARD_OPTIMIZE]
    assert 'File "m.mpy", line 3, in f' in tb[0]  # --debug-lines
    assert 'File "m.mpy", line 7, in g' in tb[0]
    assert "ZeroDivisionError" in tb[BOARD_OPTIMIZE]


def test_build_image_reports_compile_errors(tmp_path):
    fw = tmp_path / "fw"
    (fw / "inversa").mkdir(parents=True)
    (fw / "inversa" / "bad.py").write_text("def f(:\n")
    with pytest.raises(DeployError, match=r"bad\.py"):
        D.build_image("pico", tmp_path / "out", fw)


def test_unknown_board_refused_before_connecting():
    def no_connect(url: str):
        raise AssertionError("must not connect")

    with pytest.raises(DeployError, match="pico2"):
        deploy("socket://x:1", "uno", session_factory=no_connect)


# -- end to end against the virtual board --------------------------------


def _app(vb: ReplBoard) -> FakeBoard:
    # After the hard reset the board runs its application: a CPython firmware
    # rig serving the link, naming the board its deployed config names.
    rig = FakeBoard()
    rig.endpoint.board = json.loads(vb.read_file("/board.json"))["board"]
    return rig


_SNAPSHOT: list[Path] = []


def deploy_snapshot(*args, **kw):
    """deploy() from a frozen copy of the firmware (the tree may change meanwhile)."""
    return deploy(*args, firmware_root=_SNAPSHOT[0], **kw)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    snap = tmp_path_factory.mktemp("fw") / "firmware"
    shutil.copytree(D.firmware_dir(), snap, ignore=shutil.ignore_patterns("__pycache__"))
    _SNAPSHOT[:] = [snap]
    vb = ReplBoard(hardware=VirtualHardware.healthy("pico"), app=_app).start()
    logs: list[str] = []
    report = deploy_snapshot(vb.url, "pico", None, log=logs.append)
    yield vb, report, logs
    vb.close()


def test_first_deploy_copies_everything_and_confirms_the_handshake(deployed):
    vb, report, logs = deployed
    # every module but the packages with nothing to run (namespace packages on the board)
    n_modules = len([p for p in (_SNAPSHOT[0] / "inversa").rglob("*.py") if not empty_package(p)])
    assert len([p for p in report.copied if p.startswith("/inversa/")]) == n_modules
    assert report.unchanged == [] and report.config_written
    assert report.board_version == VERSION
    assert report.link is not None and report.link.status == "ok", report.link
    assert report.link.fw_version == VERSION and report.link.board == "pico"
    assert "reset" in logs and vb.hard_resets == 1
    on_board = json.loads(vb.read_file("/board.json"))
    assert on_board["board"] == "pico" and on_board["imu"] == "mpu6050"
    # the modules on the board are compiled bytecode
    mpy = vb.read_file("/inversa/board/config.mpy")
    assert mpy[:2] == b"M\x06"


def test_second_deploy_copies_nothing_and_removes_stale_files(deployed):
    vb, _, _ = deployed
    vb.stop_app()
    vb.exec("f = open('/inversa/stale_module.py', 'w'); f.write('X = 1'); f.close()")
    report = deploy_snapshot(vb.url, "pico", None, log=lambda s: None)
    assert report.copied == []
    assert report.removed == ["/inversa/stale_module.py"]
    assert not report.config_written  # same config: not rewritten
    assert report.link is not None and report.link.status == "ok"
    assert "stale_module.py" not in vb.exec("import os; print(os.listdir('/inversa'))")


def test_a_dry_run_says_what_would_change_and_writes_nothing(deployed):
    # `inversa deploy --dry-run` (a new user looked for it: there was none)
    vb, _, _ = deployed
    vb.stop_app()
    vb.exec("f = open('/inversa/compat.mpy', 'wb'); f.write(b'garbage'); f.close()")
    vb.exec("f = open('/inversa/stale_module.py', 'w'); f.write('X = 1'); f.close()")
    config = vb.read_file("/board.json")
    resets = vb.hard_resets
    logs: list[str] = []
    report = deploy_snapshot(vb.url, "pico", {"imu": "lsm6dsox"}, dry_run=True, log=logs.append)
    assert report.dry_run and report.copied == ["/inversa/compat.mpy"]
    assert report.removed == ["/inversa/stale_module.py"] and report.config_written
    assert "would copy /inversa/compat.mpy" in " ".join(logs), logs
    text = report.summary()
    assert "dry run" in text and "would copy 1" in text and "nothing was written" in text, text
    assert vb.read_file("/inversa/compat.mpy") == b"garbage"  # nothing written ...
    assert vb.read_file("/board.json") == config
    assert "stale_module.py" in vb.exec("import os; print(os.listdir('/inversa'))")
    assert vb.hard_resets == resets + 1  # ... and the board runs its firmware again
    vb.stop_app()
    vb.exec("import os; os.remove('/inversa/stale_module.py')")
    report = deploy_snapshot(vb.url, "pico", None, confirm=False, log=lambda s: None)
    assert report.copied == ["/inversa/compat.mpy"]  # the real deploy repairs it


def test_deploy_dry_run_reaches_the_deploy(monkeypatch):
    from inversa_host.cli import main

    seen = {}

    def fake(*args, **kw):
        seen.update(kw)
        return D.DeployReport("pico", "armv6m", dry_run=True)

    monkeypatch.setattr(D, "deploy", fake)
    assert main(["deploy", "--port", "loop://", "--board", "pico", "--dry-run"]) == 0
    assert seen["dry_run"] is True


def test_the_system_check_finds_no_frozen_package_and_keeps_sys_path(deployed):
    vb, _, _ = deployed
    vb.stop_app()
    before = vb.exec("import sys; print(sys.path)")
    assert not D.parse_system(vb.exec(D._SYSTEM_SCRIPT)).frozen
    assert vb.exec("import sys; print(sys.path)") == before


def test_changed_config_is_written_and_changed_module_copied(deployed):
    vb, _, _ = deployed
    vb.stop_app()
    vb.exec("f = open('/inversa/compat.mpy', 'wb'); f.write(b'garbage'); f.close()")
    report = deploy_snapshot(vb.url, "pico", {"brake": True}, confirm=False, log=lambda s: None)
    assert report.copied == ["/inversa/compat.mpy"]
    assert report.config_written and report.link is None
    assert json.loads(vb.read_file("/board.json"))["brake"] is True


def test_handshake_from_another_board_fails_the_deploy(deployed):
    vb, _, _ = deployed
    vb.stop_app()
    # the config says esp32 but the board is told it is a pico: the running
    # firmware then names esp32 and the handshake check must catch it
    vb.exec("f = open('/board.json', 'w'); f.write('{\"board\": \"esp32\"}'); f.close()")

    def liar(vb2: ReplBoard) -> FakeBoard:
        rig = FakeBoard()
        rig.endpoint.board = "esp32"
        return rig

    vb.app = liar
    try:
        report = deploy_snapshot(vb.url, "pico", None, log=lambda s: None)
    finally:
        vb.app = _app
    assert report.link is not None and report.link.status == "failed"
    assert "expected 'pico'" in report.link.detail and not report.ok


def test_virtual_board_cannot_be_detected_so_board_is_required(deployed):
    vb, _, _ = deployed
    vb.stop_app()
    with pytest.raises(DeployError, match="--board"):
        deploy_snapshot(vb.url, None, None, log=lambda s: None)


def test_no_application_after_reset_means_failed_confirmation(deployed):
    vb, _, _ = deployed
    vb.stop_app()
    vb.app = None
    try:
        report = deploy_snapshot(vb.url, "pico", None, confirm_timeout_s=1.0, log=lambda s: None)
    finally:
        vb.app = _app
    assert report.link is not None and report.link.status == "failed"
    assert "no handshake" in report.link.detail and not report.ok


def test_unreachable_port_says_what_to_check():
    with pytest.raises(DeployError, match="cannot open"):
        deploy("socket://127.0.0.1:9", "pico", None, log=lambda s: None)


def test_mpremote_itself_can_cp_exec_and_ls_on_the_virtual_board(tmp_path):
    src = tmp_path / "hello.py"
    src.write_text("GREETING = 'hi from the virtual board'\n")
    with ReplBoard() as vb:

        def mpremote(*args: str) -> str:
            proc = subprocess.run(
                [sys.executable, "-m", "mpremote", "connect", vb.url, *args],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert proc.returncode == 0, proc.stderr
            return proc.stdout

        mpremote("cp", str(src), ":hello.py")
        assert "hello.py" in mpremote("fs", "ls", ":")
        assert "Up to date" in mpremote("cp", str(src), ":hello.py")  # hash compare
        out = mpremote("exec", "import hello; print(hello.GREETING)")
        assert "hi from the virtual board" in out
        assert vb.read_file("/hello.py") == src.read_bytes()


def test_cli_debug_lines_reaches_the_build(monkeypatch):
    from inversa_host.cli import main

    seen = []

    def fake_deploy(*args, **kw):
        seen.append(kw["debug_lines"])
        raise DeployError("stop here")

    monkeypatch.setattr(D, "deploy", fake_deploy)
    for extra, want in (([], False), (["--debug-lines"], True)):
        assert main(["deploy", "--port", "socket://127.0.0.1:9", "--board", "pico", *extra]) == 1
        assert seen[-1] is want


def test_every_board_has_the_hosts_facts_and_the_board_table_keeps_none_of_them():
    # (issue 10 item 4: title, chip and mpy-cross architecture live on the
    # host, not in the board's heap as interned names)
    from inversa.board.boards import BOARDS
    from inversa_host.boardtools.mpybuild import BOARD_CHIPS, board_arch

    assert sorted(BOARD_CHIPS) == sorted(BOARDS)
    assert board_arch("pico") == "armv6m" and board_arch("esp32") == "xtensawin"
    for d in BOARDS.values():
        assert not {"title", "mcu", "arch"} & set(d), d
    with pytest.raises(ValueError, match="known boards"):
        board_arch("arduino")


def test_a_board_build_leaves_out_the_packages_with_nothing_to_run(tmp_path):
    # (issue 10 item 4: MicroPython imports such a directory as a namespace
    # package; each file left out is one interned file name less)
    image = D.build_image("pico", tmp_path)
    assert "/inversa/__init__.mpy" in image  # VERSION
    assert "/inversa/control/controller.mpy" in image
    for pkg in ("board", "drivers", "sense", "control", "link"):
        assert f"/inversa/{pkg}/__init__.mpy" not in image, pkg
