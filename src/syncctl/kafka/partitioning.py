"""Which partition a key belongs on: Kafka's Java partitioner (murmur2), computed here too.

Every client of the control topic must agree on the partition of a job id, because the job's
record lives on that partition number of the state topic. The Java client, Kafka Connect and
Kafka's console producer use murmur2; librdkafka does the same only with
`partitioner=murmur2_random` (its default, `consistent_random`, hashes with CRC32). syncctl's
producers set it, and the worker recomputes it to catch messages that other clients misplaced.
"""

from __future__ import annotations

from functools import lru_cache

# librdkafka's name for the Java-compatible partitioner (keys by murmur2, no key: random).
JAVA_COMPATIBLE_PARTITIONER = "murmur2_random"

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(key: bytes) -> int:
    """Kafka's `Utils.murmur2`, as an unsigned 32-bit value."""
    length = len(key)
    h = (_SEED ^ length) & _MASK
    whole = length & ~3
    for i in range(0, whole, 4):
        k = int.from_bytes(key[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        if tail == 3:
            h ^= key[whole + 2] << 16
        if tail >= 2:
            h ^= key[whole + 1] << 8
        h ^= key[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


@lru_cache(maxsize=65_536)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's Java producer (and librdkafka's murmur2_random) picks for `key`."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
