"""The soak core's snapshot frames: decoded whole, damaged ones counted and skipped, never misread."""

from rtl.soc.soak import SNAPSHOT
from tb.protocol.soak_frames import FRAME_BYTES, SnapshotDecoder, encode


def values(k):
    return {name: (k * 1000 + i) for i, name in enumerate(SNAPSHOT)}


def test_frames_round_trip_in_pieces():
    stream = encode(values(1)) + encode(values(2))
    decoder = SnapshotDecoder()
    got = []
    for i in range(0, len(stream), 7):  # bytes arrive as the serial port delivers them
        got += decoder.feed(stream[i:i + 7])
    assert got == [values(1), values(2)] and decoder.damaged == 0


def test_a_damaged_frame_is_skipped_and_counted():
    bad = bytearray(encode(values(1)))
    bad[10] ^= 0x40  # one bit flipped in a counter: the checksum no longer holds
    decoder = SnapshotDecoder()
    got = decoder.feed(b"\x00\x13" + bytes(bad) + encode(values(2)))
    assert got == [values(2)] and decoder.damaged >= 2
    assert len(encode(values(3))) == FRAME_BYTES


def test_a_soak_is_judged_only_after_two_counter_records_within_its_bound():
    from tb.protocol.soak_frames import judgeable, run_cap

    assert not judgeable([{"passes": 0}, {"passes": 0}])
    assert not judgeable([{"passes": 0}, {"passes": 5}, {"passes": 5}])  # one record, seen twice
    assert judgeable([{"passes": 0}, {"passes": 5}, {"passes": 9}])
    assert run_cap(3, 810) == 42 and run_cap(600, 810) == 810 and run_cap(900, 810) == 900
