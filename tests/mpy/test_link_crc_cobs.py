# The link's CRC and COBS: pinned check values and published vectors, so the
# board and the host can never drift to a different "CRC-16" or stuffing.
from inversa.crc import CHECK_VALUE, crc16, crc16_table
from inversa.link import cobs
from mpyunit import IS_MICROPYTHON, assert_no_alloc


def test_crc_check_value_is_ccitt_false():
    data = b"123456789"
    assert CHECK_VALUE == 0x29B1
    assert crc16_table(data, 0, len(data)) == 0x29B1
    assert crc16(data, 0, len(data)) == 0x29B1


def test_crc_is_not_the_other_crc16s():
    data = b"123456789"
    c = crc16(data, 0, len(data))
    assert c != 0x6F91  # CRC-16/MCRF4XX
    assert c != 0x31C3  # CRC-16/XMODEM
    assert c != 0xBB3D  # CRC-16/ARC


def test_crc_of_nothing_is_the_init_value():
    assert crc16(b"", 0, 0) == 0xFFFF
    assert crc16_table(b"", 0, 0) == 0xFFFF


def test_crc_continues_over_pieces_and_ranges():
    data = bytearray(b"xx123456789yy")
    first = crc16(data, 2, 6)
    assert crc16(data, 6, 11, first) == 0x29B1
    assert crc16_table(data, 2, 11) == 0x29B1


def test_crc_table_and_fast_path_agree():
    data = bytearray([i & 0xFF for i in range(768)])
    for end in (1, 7, 100, 768):
        assert crc16(data, 0, end) == crc16_table(data, 0, end)


def test_crc_detects_single_bit_flips():
    data = bytearray(b"\x01\x02\x00\x00\x10\x20\x30\x40")
    good = crc16_table(data, 0, len(data))
    for i in range(len(data)):
        for bit in range(8):
            data[i] ^= 1 << bit
            assert crc16_table(data, 0, len(data)) != good
            data[i] ^= 1 << bit


def test_crc_table_does_not_allocate():
    buf = bytearray(48)
    out = [0]

    def step():
        out[0] = crc16_table(buf, 0, 48)

    assert_no_alloc(step)
    if IS_MICROPYTHON:
        from inversa import crc

        # the board uses the table, or its viper twin (test_link_native.py)
        assert crc16 is crc16_table or crc.NATIVE
        assert_no_alloc(lambda: crc16(buf, 0, 48))


def _enc(data):
    dst = bytearray(cobs.max_encoded_len(len(data)))
    m = cobs.encode_into(data, 0, len(data), dst, 0)
    return bytes(dst[:m])


# Vectors from the COBS paper (Cheshire & Baker 1999) as listed on Wikipedia.
VECTORS = [
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x00\x11\x00", b"\x01\x02\x11\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255))),
    (bytes(range(0, 255)), b"\x01\xff" + bytes(range(1, 255))),
    (bytes(range(1, 256)), b"\xff" + bytes(range(1, 255)) + b"\x02\xff"),
    (bytes(range(2, 256)) + b"\x00", b"\xff" + bytes(range(2, 256)) + b"\x01\x01"),
    (bytes(range(3, 256)) + b"\x00\x01", b"\xfe" + bytes(range(3, 256)) + b"\x02\x01"),
]


def test_cobs_known_vectors():
    for raw, stuffed in VECTORS:
        assert _enc(raw) == stuffed, raw
        assert cobs.decode(stuffed) == raw, raw


def test_cobs_output_never_contains_zero_and_round_trips():
    for n in (0, 1, 2, 253, 254, 255, 300, 600):
        for fill in (0, 1, 0x55):
            raw = bytes([(i * 7 + fill) & 0xFF if fill else 0 for i in range(n)])
            st = _enc(raw)
            assert 0 not in st
            assert len(st) <= cobs.max_encoded_len(n)
            assert cobs.decode(st) == raw


def test_cobs_rejects_malformed():
    assert cobs.decode(b"\x05\x11\x22") is None  # block runs past the end
    assert cobs.decode(b"\x02\x00\x01") is None  # a zero inside a frame


def test_cobs_encode_does_not_allocate():
    src = bytearray(b"\x01\x00\x02\x03\x00" * 10)
    dst = bytearray(cobs.max_encoded_len(len(src)))
    n = len(src)

    def step():
        cobs.encode_into(src, 0, n, dst, 0)

    assert_no_alloc(step)
