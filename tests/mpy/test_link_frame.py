# Frames: round trips, and a receiver that survives garbage, REPL text,
# truncated and over-long frames, resyncing at the next delimiter.
import struct

from inversa.link import messages as M
from inversa.link.cobs import decode as cobs_decode
from inversa.link.frame import FrameReader, FrameWriter
from inversa.link.port import MemoryPort
from inversa.link.wire import encode_frame, parse_body
from mpyunit import assert_no_alloc, raises


def _read_all(data, reader=None):
    r = reader or FrameReader()
    got = []
    i = 0
    while i < len(data):
        i = r.feed(data, i, len(data))
        if r.ready:
            got.append((r.msg_type, r.seq, r.flags, bytes(r.body[5 : 5 + r.payload_len])))
    return r, got


def test_encode_then_read_round_trip():
    payload = bytes([0, 1, 2, 0, 0, 255, 0])
    wire = encode_frame(M.CMD_SET_PROFILE, 513, payload)
    assert wire[-1] == 0 and 0 not in wire[:-1]
    r, got = _read_all(wire)
    assert got == [(M.CMD_SET_PROFILE, 513, 0, payload)]
    assert r.errors() == 0 and r.version == M.PROTOCOL_VERSION


def test_parse_body_of_an_unstuffed_frame():
    wire = encode_frame(M.MSG_ACK, 7, b"\x01\x02\x03\x04", flags=M.FLAG_BENCH)
    v, t, f, seq, payload = parse_body(cobs_decode(wire[:-1]))
    assert (v, t, f, seq, bytes(payload)) == (1, M.MSG_ACK, M.FLAG_BENCH, 7, b"\x01\x02\x03\x04")
    assert parse_body(b"\x01\x05\x00") is None


def test_every_payload_size_round_trips():
    for n in (0, 1, 100, 240):
        payload = bytes([(i * 13) & 0xFF for i in range(n)])
        _, got = _read_all(encode_frame(0x21, n, payload))
        assert got == [(0x21, n, 0, payload)]
    raises(ValueError, encode_frame, 0x21, 0, bytes(241))


def test_garbage_and_repl_text_are_skipped_and_counted():
    good = encode_frame(M.CMD_INFO, 1)
    junk = b"MicroPython v1.29.0 on 2025-01-01; Raspberry Pi Pico\r\n>>> \x03\x04"
    r, got = _read_all(b"\x00" + junk + b"\x00" + good + junk + b"\x00" + good)
    assert [g[1] for g in got] == [1, 1]
    assert r.crc_errors + r.framing_errors + r.too_short >= 2


def test_truncated_frame_then_good_frame():
    good = encode_frame(M.CMD_START, 9, b"\x10\x20\x30")
    cut = good[:-4] + b"\x00"  # unplugged mid-frame
    r, got = _read_all(cut + good)
    assert [g[1] for g in got] == [9]
    assert r.errors() == 1


def test_corrupted_byte_is_caught_by_crc():
    good = bytearray(encode_frame(M.CMD_START, 9, b"\x10\x20\x30"))
    for i in range(len(good) - 1):
        bad = bytearray(good)
        bad[i] ^= 0x40
        if bad[i] == 0:
            continue
        _r, got = _read_all(bytes(bad))
        assert got == [], i


def test_over_long_input_is_dropped_until_the_next_delimiter():
    r, got = _read_all(b"\x00" + b"\x41" * 600 + b"\x00" + encode_frame(M.CMD_INFO, 3))
    assert r.too_long == 1
    assert [g[1] for g in got] == [3]


def test_frames_split_byte_by_byte():
    stream = encode_frame(M.CMD_INFO, 1) + encode_frame(M.CMD_RETURN, 2, b"\x00\x00")
    r = FrameReader()
    seqs = []
    for b in stream:
        one = bytes([b])
        r.feed(one, 0, 1)
        if r.ready:
            seqs.append(r.seq)
    assert seqs == [1, 2]


def test_writer_sends_frames_the_reader_accepts_and_counts_seq():
    port = MemoryPort(256, 16)
    w = FrameWriter(port, M.FLAG_BENCH)
    struct.pack_into(M.ACK_FMT, w.body, 5, 77, M.CMD_START, 6)
    assert w.send(M.MSG_ACK, M.ACK_LEN)
    assert w.send(M.MSG_ACK, M.ACK_LEN)
    _, got = _read_all(port.take_tx())
    assert [(g[0], g[1], g[2]) for g in got] == [(M.MSG_ACK, 0, 1), (M.MSG_ACK, 1, 1)]
    assert struct.unpack(M.ACK_FMT, got[0][3]) == (77, M.CMD_START, 6)


def test_writer_drops_when_the_port_is_full_and_does_not_skip_seq():
    port = MemoryPort(40, 16)
    w = FrameWriter(port)
    ok = 0
    for _ in range(5):
        if w.send(M.MSG_HEARTBEAT, M.HEARTBEAT_LEN):
            ok += 1
    assert ok == 2 and w.dropped == 3 and w.seq == 2
    port.take_tx()
    assert w.send(M.MSG_HEARTBEAT, M.HEARTBEAT_LEN)


def test_writer_and_reader_do_not_allocate():
    port = MemoryPort(4096, 16)
    w = FrameWriter(port)
    r = FrameReader()
    wire = bytearray(encode_frame(M.MSG_HOST_HEARTBEAT, 5))
    n = len(wire)

    def send():
        w.send(M.MSG_TELEMETRY, M.TELEMETRY_LEN)
        if port.tx_room() < 200:
            port._tx_count = 0

    def receive():
        r.feed(wire, 0, n)

    receive()
    assert r.ready and r.msg_type == M.MSG_HOST_HEARTBEAT
    assert_no_alloc(send)
    assert_no_alloc(receive)
    assert r.frames > 0 and r.errors() == 0
