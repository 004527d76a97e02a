"""Command fuzzing against the firmware's parser with the real controller:
nothing the host sends crashes the endpoint, and nothing moves the table
(motion needs the local hold-to-run action)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inversa.board.clock import VirtualClock
from inversa.control import states as S
from inversa.control.controller import Controller
from inversa.control.io import ControlInputs, ControlOutputs
from inversa.control.profile import beginner_profile
from inversa.events import EventLog
from inversa.link import messages as M
from inversa.link.endpoint import LinkEndpoint
from inversa.link.port import MemoryPort
from inversa.link.wire import encode_frame


def _rig():
    clock = VirtualClock()
    events = EventLog(64)
    ctrl = Controller(clock, events, beginner_profile())
    port = MemoryPort(16384, 4096)
    ep = LinkEndpoint(port, clock, events, ctrl, board="fuzz", bench=False)
    inp, out = ControlInputs(), ControlOutputs()
    # A healthy person at the loading position; nobody touches the buttons.
    inp.angle_cdeg = ctrl.profile.loading_cdeg
    inp.tilt_ok = True
    inp.hr_bpm = 70
    inp.hr_quality_pct = 95
    inp.hr_ok = True
    inp.estop_pressed = False
    inp.home_switch = True
    return clock, port, ctrl, ep, inp, out


def _period(clock, ep, ctrl, inp, out):
    ep.service(inp, out)
    ctrl.step(inp, out)
    clock.advance_ms(10)
    assert out.motor_cmd_cdps <= 0, "the table was driven deeper from the host"
    assert out.state not in (S.DESCENT, S.HOLD)


_cmd_types = st.sampled_from([*M.COMMANDS, M.MSG_HOST_HEARTBEAT]) | st.integers(0, 255)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(_cmd_types, st.integers(0, 0xFFFF), st.binary(max_size=60), st.booleans()),
        max_size=15,
    ),
    st.binary(max_size=300),
)
def test_fuzzed_commands_never_crash_or_move_the_table(cmds, garbage):
    clock, port, ctrl, ep, inp, out = _rig()
    for _ in range(150):  # self-test, settle at the loading position
        _period(clock, ep, ctrl, inp, out)
    for t, seq, payload, corrupt in cmds:
        wire = bytearray(encode_frame(t, seq, payload))
        if corrupt and len(wire) > 3:
            wire[len(wire) // 2] ^= 0x5A
        port.feed_rx(bytes(wire))
        port.feed_rx(garbage[: len(payload)])
        for _ in range(3):
            _period(clock, ep, ctrl, inp, out)
        port.take_tx()
    # Even a well-formed start is refused without the local action.
    port.feed_rx(encode_frame(M.CMD_START, 1) + encode_frame(M.MSG_HOST_HEARTBEAT, 2))
    for _ in range(500):
        _period(clock, ep, ctrl, inp, out)


def test_a_host_start_arms_but_needs_the_local_action():
    clock, port, ctrl, ep, inp, out = _rig()
    for _ in range(150):
        _period(clock, ep, ctrl, inp, out)
    for i in range(300):  # 3 s of host heartbeats and a start
        if i % 50 == 0:
            port.feed_rx(encode_frame(M.MSG_HOST_HEARTBEAT, 100 + i))
        if i == 10:
            port.feed_rx(encode_frame(M.CMD_START, 7))
        _period(clock, ep, ctrl, inp, out)
    from inversa_host.link.codec import ACK, StreamDecoder

    acks = [
        ACK.unpack(f.payload)
        for f in StreamDecoder().feed(port.take_tx())
        if f.msg_type == M.MSG_ACK
    ]
    assert acks and acks[0][:2] == (7, M.CMD_START)
