"""The worker and every syncctl producer must pick the partition Kafka's Java producer picks."""

from __future__ import annotations

import pytest

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
