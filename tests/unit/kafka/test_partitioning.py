"""The worker and every syncctl producer must pick the partition Kafka's Java producer picks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncctl.kafka.partitioning import murmur2, partition_for

# Kafka's own vectors for Utils.murmur2 (clients' UtilsTest), as signed Java ints.
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def _signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


@pytest.mark.parametrize(("key", "expected"), sorted(JAVA_MURMUR2.items()))
def test_murmur2_matches_kafkas_java_implementation(key: bytes, expected: int) -> None:
    assert _signed(murmur2(key)) == expected


def test_partition_is_the_java_producers_choice() -> None:
    # DefaultPartitioner: toPositive(murmur2(key)) % numPartitions.
    for key, hashed in JAVA_MURMUR2.items():
        for partitions in (1, 3, 12, 100):
            assert partition_for(key, partitions) == (hashed & 0x7FFFFFFF) % partitions


def _java_murmur2(key: bytes) -> int:
    """Utils.murmur2 transcribed from Kafka's Java source, unsigned: the reference for keys the
    vectors above do not cover (every length modulo 4, any byte)."""
    seed, m, mask = 0x9747B28C, 0x5BD1E995, 0xFFFFFFFF
    length = len(key)
    h = (seed ^ length) & mask
    whole = length & ~3
    for i in range(0, whole, 4):
        k = int.from_bytes(key[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail = length & 3
    if tail:
        if tail == 3:
            h ^= key[whole + 2] << 16
        if tail >= 2:
            h ^= key[whole + 1] << 8
        h ^= key[whole]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    return h ^ (h >> 15)


@given(st.binary(max_size=200))
def test_murmur2_equals_the_java_transcription_for_any_key(key: bytes) -> None:
    assert murmur2(key) == _java_murmur2(key)
    assert partition_for(key, 12) == (_java_murmur2(key) & 0x7FFFFFFF) % 12
