"""Host decoding: every message round-trips through the board's encoder and the
host's StreamDecoder; random and corrupted bytes never crash it nor yield a
frame that was not sent."""

from __future__ import annotations

import binascii
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from inversa.crc import crc16, crc16_table
from inversa.link import messages as M
from inversa.link.frame import FrameReader
from inversa.link.wire import encode_frame
from inversa_host.link.codec import (
    ACK,
    EVENT,
    HEARTBEAT,
    TELEMETRY,
    Frame,
    StreamDecoder,
    parse_hello,
    telemetry_dict,
)
from inversa_host.link.fakeboard import FakeBoard


def test_crc_check_value_on_the_host():
    # The host's fast path is binascii.crc_hqx: it must be the same CRC.
    assert crc16(b"123456789", 0, 9) == 0x29B1
    assert binascii.crc_hqx(b"123456789", 0xFFFF) == 0x29B1


@given(st.binary(max_size=300))
def test_crc_fast_path_equals_the_board_table(data):
    assert crc16(data, 0, len(data)) == crc16_table(data, 0, len(data))


def _board_frames(steps: int = 300) -> list[Frame]:
    b = FakeBoard()
    b.port.feed_rx(encode_frame(M.MSG_HOST_HEARTBEAT, 1))
    b.port.feed_rx(encode_frame(M.CMD_GET_PROFILE, 2))
    b.port.feed_rx(encode_frame(M.CMD_START, 3))
    data = b""
    for _ in range(steps):
        b.step()
        data += b.port.take_tx()
    d = StreamDecoder()
    frames = d.feed(data)
    assert d.errors() == 0 and d.lost_frames == 0
    return frames


def test_every_board_message_round_trips():
    frames = _board_frames()
    kinds = {f.msg_type for f in frames}
    assert {
        M.MSG_HELLO,
        M.MSG_TELEMETRY,
        M.MSG_EVENT,
        M.MSG_HEARTBEAT,
        M.MSG_ACK,
        M.MSG_PROFILE,
    } <= kinds
    hello = parse_hello(next(f.payload for f in frames if f.msg_type == M.MSG_HELLO))
    assert hello.board == "fakeboard" and hello.uid == b"FAKE0001".hex()
    assert hello.protocol == M.PROTOCOL_VERSION and hello.telemetry_hz == M.DEFAULT_TELEMETRY_HZ
    assert hello.limits == {"max_angle_cdeg": 9000, "max_rate_cdps": 600}
    tele = [telemetry_dict(f.payload) for f in frames if f.msg_type == M.MSG_TELEMETRY]
    assert tele[0]["angle_cdeg"] == -6000 and tele[0]["hr_bpm"] == 68
    assert tele[-1]["angle_cdeg"] > tele[0]["angle_cdeg"]  # the start command moved the stand-in
    acks = [ACK.unpack(f.payload) for f in frames if f.msg_type == M.MSG_ACK]
    assert acks == [(2, M.CMD_GET_PROFILE, 0), (3, M.CMD_START, 0)]
    prof = next(f.payload for f in frames if f.msg_type == M.MSG_PROFILE)
    assert prof[2:] == b"\x01\x00\xb8\x0b"
    assert struct.unpack("<H", prof[:2])[0] == crc16(prof[2:], 0, 4)
    for f in frames:
        if f.msg_type == M.MSG_EVENT:
            assert len(EVENT.unpack(f.payload)) == 4
        if f.msg_type == M.MSG_HEARTBEAT:
            assert len(HEARTBEAT.unpack(f.payload)) == 3
    assert TELEMETRY.size == M.TELEMETRY_LEN


def test_host_commands_round_trip_through_the_board_reader():
    cmds = [(t, b"") for t in M.COMMANDS] + [(M.CMD_SET_TELEMETRY_RATE, b"\x05")]
    wire = b"".join(b"\x00" + encode_frame(t, i, p) for i, (t, p) in enumerate(cmds))
    r = FrameReader()
    got = []
    i = 0
    while i < len(wire):
        i = r.feed(wire, i, len(wire))
        if r.ready:
            got.append((r.msg_type, bytes(r.body[5 : 5 + r.payload_len])))
    assert got == cmds and r.errors() == 0


def test_sequence_gaps_are_counted():
    frames = [encode_frame(M.MSG_HEARTBEAT, s, bytes(6)) for s in (0, 1, 2, 5, 6, 0xFFFF, 0, 1)]
    d = StreamDecoder()
    out = d.feed(b"".join(frames))
    assert len(out) == 8
    # 2->5 loses 2 frames; 6->65535 is backwards-looking (> half the range): a reset.
    assert d.lost_frames == 2 and d.gap_events == 1 and d.seq_resets == 1


def test_a_reboot_hello_with_seq_zero_is_not_a_gap():
    d = StreamDecoder()
    d.feed(encode_frame(M.MSG_HEARTBEAT, 100, bytes(6)))
    d.feed(encode_frame(M.MSG_HELLO, 0, bytes(20)))
    assert d.lost_frames == 0 and d.seq_resets == 1


def test_other_protocol_versions_are_refused_and_counted():
    d = StreamDecoder()
    assert d.feed(encode_frame(M.MSG_HEARTBEAT, 1, bytes(6), version=9)) == []
    assert d.version_errors == 1 and d.foreign_version == 9


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash_the_decoders(data):
    d = StreamDecoder()
    frames = d.feed(data)
    for f in frames:  # a random frame that passes CRC must at least re-encode exactly
        assert f.msg_type >= 0 and 0 <= f.seq <= 0xFFFF
    r = FrameReader()
    i = 0
    while i < len(data):
        i = r.feed(data, i, len(data))


_frames = st.lists(
    st.tuples(st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=60)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(_frames, st.data())
def test_corrupted_streams_yield_only_frames_that_were_sent(specs, data):
    wire = bytearray(b"".join(encode_frame(t, s, p) for t, s, p in specs))
    for _ in range(data.draw(st.integers(0, 4))):
        pos = data.draw(st.integers(0, len(wire) - 1))
        action = data.draw(st.sampled_from(["flip", "drop", "insert"]))
        if action == "flip":
            wire[pos] ^= data.draw(st.integers(1, 255))
        elif action == "drop":
            del wire[pos]
        else:
            wire.insert(pos, data.draw(st.integers(0, 255)))
    sent = {(t, s, p) for t, s, p in specs}
    d = StreamDecoder()
    for f in d.feed(bytes(wire)):
        assert (f.msg_type, f.seq, bytes(f.payload)) in sent


@settings(max_examples=100, deadline=None)
@given(_frames, st.lists(st.integers(1, 50), max_size=20))
def test_split_points_do_not_matter(specs, cuts):
    wire = b"".join(encode_frame(t, s, p) for t, s, p in specs)
    whole = StreamDecoder().feed(wire)
    d = StreamDecoder()
    got = []
    pos = 0
    for c in cuts:
        got += d.feed(wire[pos : pos + c])
        pos += c
    got += d.feed(wire[pos:])
    assert got == whole
    assert [(f.msg_type, f.seq, bytes(f.payload)) for f in whole] == [
        (t, s, p) for t, s, p in specs
    ]
