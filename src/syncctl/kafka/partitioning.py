"""Which partition a key belongs on: Kafka's Java partitioner (murmur2), computed here too.

Every client of the control topic must agree on the partition of a job id, because the job's
record lives on that partition number of the state topic. The Java client, Kafka Connect and
Kafka's console producer use murmur2; librdkafka does the same only with
`partitioner=murmur2_random` (its default, `consistent_random`, hashes with CRC32). syncctl's
producers set it, and the worker recomputes it to catch messages that other clients misplaced.
"""

from __future__ import annotations

from murmurhash2 import murmurhash2

# librdkafka's name for the Java-compatible partitioner (keys by murmur2, no key: random).
JAVA_COMPATIBLE_PARTITIONER = "murmur2_random"

# Kafka's Utils.murmur2 is MurmurHash2 (32-bit) with this seed. The worker hashes every control
# message's key to catch misplaced ones: in C it costs ~0.1 µs, in Python it cost 1-3 µs (a
# tenth of a command's CPU for a uuid-sized id).
_KAFKA_SEED = 0x9747B28C


def murmur2(key: bytes) -> int:
    """Kafka's `Utils.murmur2`, as an unsigned 32-bit value."""
    return murmurhash2(key, _KAFKA_SEED)


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's Java producer (and librdkafka's murmur2_random) picks for `key`."""
    return (murmurhash2(key, _KAFKA_SEED) & 0x7FFFFFFF) % partitions
