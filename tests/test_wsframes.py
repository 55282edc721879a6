"""The runtime's frame reader: whole messages out of any split of the bytes, limits, violations."""

from __future__ import annotations

import random
import struct

import pytest

from qqgate.io_shell._wsframes import BINARY, CLOSE, PING, TEXT, FrameError, FrameReader, parse_close


def frame(op: int, payload: bytes, fin: bool = True, mask: bool = False, rsv: int = 0) -> bytes:
    n = len(payload)
    b0 = (0x80 if fin else 0) | rsv | op
    b1 = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, b1 | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, b1 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, b1 | 127, n)
    return head + (b"\0\0\0\0" if mask else b"") + payload


def feed_all(reader: FrameReader, data: bytes, rng: random.Random) -> list[tuple[int, str | bytes]]:
    out: list[tuple[int, str | bytes]] = []
    i = 0
    while i < len(data):
        step = rng.randint(1, 300)
        out += reader.feed(data[i:i + step])
        i += step
    return out


def test_messages_come_out_whole_however_the_bytes_are_split() -> None:
    texts = ['{"op":11}', "é" * 70_000, "x" * 200]
    wire = (frame(TEXT, texts[0].encode()) + frame(PING, b"p") + frame(TEXT, texts[1].encode())
            + frame(TEXT, b'{"op":0', fin=False) + frame(PING, b"q") + frame(0, b',"d":1', fin=False)
            + frame(0, b"}") + frame(BINARY, b"\x00\xff") + frame(CLOSE, struct.pack("!H", 4009) + b"bye")
            + frame(TEXT, texts[2].encode()))
    for seed in range(20):
        out = feed_all(FrameReader(1 << 20, 16), wire, random.Random(seed))
        assert out == [(TEXT, texts[0]), (PING, b"p"), (TEXT, texts[1]), (PING, b"q"), (TEXT, '{"op":0,"d":1}'),
                       (BINARY, b"\x00\xff"), (CLOSE, struct.pack("!H", 4009) + b"bye"), (TEXT, texts[2])]
    assert parse_close(struct.pack("!H", 4009) + b"bye") == (4009, "bye") and parse_close(b"") == (None, "")


def test_a_message_too_big_is_refused_from_its_header_before_its_payload() -> None:
    reader = FrameReader(1024, 16)
    with pytest.raises(FrameError) as huge:
        reader.feed(struct.pack("!BBQ", 0x81, 127, 100_000_000))  # the header alone: nothing else read
    assert huge.value.code == 1009 and "100000000" in huge.value.reason


def test_a_message_that_never_ends_is_refused_by_size_or_by_fragment_count() -> None:
    by_size = FrameReader(1024, 1000)
    by_size.feed(frame(TEXT, b"a" * 600, fin=False))
    with pytest.raises(FrameError) as big:
        by_size.feed(frame(0, b"a" * 600, fin=False))
    assert big.value.code == 1009
    by_count = FrameReader(1 << 20, 8)
    by_count.feed(frame(TEXT, b"a", fin=False) + frame(0, b"a", fin=False) * 7)
    with pytest.raises(FrameError) as many:
        by_count.feed(frame(0, b"", fin=False))
    assert many.value.code == 1009 and "8 fragments" in many.value.reason


@pytest.mark.parametrize("wire,code", [
    (frame(TEXT, b"\xff\xfe"), 1007),                            # not UTF-8
    (frame(TEXT, b"x", mask=True), 1002),                        # a server never masks
    (frame(TEXT, b"x", rsv=0x40), 1002),                         # no extension was negotiated
    (frame(3, b"x"), 1002),                                      # reserved opcode
    (frame(CLOSE, struct.pack("!H", 4009) + b"r" * 200), 1002),  # control frame over 125 bytes
    (frame(PING, b"x", fin=False), 1002),                        # fragmented control frame
    (frame(0, b"x"), 1002),                                      # continuation of nothing
    (frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"), 1002),    # new message inside one
])
def test_protocol_violations_have_their_close_code(wire: bytes, code: int) -> None:
    with pytest.raises(FrameError) as error:
        FrameReader(1 << 20, 16).feed(wire)
    assert error.value.code == code
