"""Each telemetry frame is one period's snapshot: the angle, the controller's
state, its target and its motor command all from the same period (the link
sends after the controller and the actuators).  Before the split, a frame
carried this period's angle with the previous period's state and command.
Checked over a whole motorized descent, where the command changes each period."""

from __future__ import annotations

import tempfile

from inversa.link import messages as M
from inversa_host.link.codec import StreamDecoder, telemetry_dict
from inversa_world.session import SimSession


def test_every_telemetry_frame_is_one_periods_snapshot():
    spec = {
        "duration_ms": 60000,
        "host_connected": True,
        "telemetry_hz": 50,
        "events": [(1000, "press_start", {}), (20000, "hold_down", {})],
    }
    with tempfile.TemporaryDirectory() as tmp:
        s = SimSession(spec, tmp)
        dec = StreamDecoder()
        checked = moving = 0
        while not s.finished:
            s.step()
            frames = [f for f in dec.feed(s.take_tx()) if f.msg_type == M.MSG_TELEMETRY]
            if not frames:
                continue
            assert len(frames) == 1
            d = telemetry_dict(frames[0].payload)
            out = s.app.out
            inp = s.app.inp
            assert d["state"] == out.state
            assert d["motor_cmd_cdps"] == out.motor_cmd_cdps, (s.t_ms, d, out.motor_cmd_cdps)
            assert d["target_angle_cdeg"] == out.target_angle_cdeg
            assert d["angle_cdeg"] == inp.angle_cdeg
            checked += 1
            moving += out.motor_cmd_cdps != 0
    assert checked > 2000
    assert moving > 200, "the descent never commanded the motor"
