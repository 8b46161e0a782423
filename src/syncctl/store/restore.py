"""Rebuild the state of newly assigned partitions from the compacted changelog."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from syncctl.errors import ConfigError
from syncctl.kafka.errors import check_consumer_error
from syncctl.kafka.partitioning import partition_for
from syncctl.kafka.reading import end_offsets, look_up, take, unread, watermark_reader
from syncctl.logging import get_logger
from syncctl.store.partition import PartitionState

log = get_logger(__name__)
# Records per restored partition whose placement is checked. After the topic's partition count
# changed, most of the oldest records sit on the wrong partition, so a sample of the oldest finds
# it at once; checking every record would add ~2 us each to a restore.
_PLACEMENT_SAMPLE = 1_000


@dataclass
class _Restoring:
    state: PartitionState
    end_offset: int
    started: float = field(default_factory=time.monotonic)
    records: int = 0


class Restorer:
    """Reads state partitions from the beginning to the end offset taken when they were assigned
    (kafka/reading.py says how that end is found and when it counts as reached)."""

    def __init__(
        self,
        consumer_config: dict[str, Any],
        state_topic: str,
        on_restored: Callable[[int, float], None] | None = None,
        partition_count: int | None = None,
    ) -> None:
        self._on_restored = on_restored
        self._partition_count = partition_count
        self._consumer = Consumer(consumer_config)
        self._watermarks_reader = watermark_reader(consumer_config)
        self._topic = state_topic
        self._restoring: dict[int, _Restoring] = {}
        self._looked_up = False

    @property
    def busy(self) -> bool:
        return bool(self._restoring)

    def start(self, states: list[PartitionState], timeout: float = 30.0) -> list[int]:
        """Begin restoring; return the partitions that were empty and are ready at once."""
        ready, assign = [], []
        ends = end_offsets(
            self._watermarks_reader, self._topic, [s.partition for s in states], timeout
        )
        for state in states:
            low, high = ends[state.partition]
            if high <= low:
                ready.append(state.partition)
                continue
            self._restoring[state.partition] = _Restoring(state, high)
            assign.append(TopicPartition(self._topic, state.partition, OFFSET_BEGINNING))
        if assign:
            if not self._looked_up:
                look_up(self._consumer, self._topic)
                self._looked_up = True
            self._consumer.incremental_assign(assign)
        return ready

    def cancel(self, partitions: list[int]) -> None:
        stopping = [p for p in partitions if self._restoring.pop(p, None) is not None]
        if stopping:
            self._consumer.incremental_unassign([TopicPartition(self._topic, p) for p in stopping])

    def step(self, max_messages: int = 10_000, timeout: float = 0.05) -> list[int]:
        """Read what is available; return the partitions whose restore finished."""
        if not self._restoring:
            return []
        for message in take(self._consumer, max_messages, timeout):
            error = message.error()
            if error is not None:
                check_consumer_error(error, log, "state topic", partition=message.partition())
                continue
            restoring = self._restoring.get(message.partition())
            if restoring is not None:
                restoring.state.restore(message.key(), message.value())
                restoring.records += 1
        return self._finished()

    def _finished(self) -> list[int]:
        ends = {partition: restoring.end_offset for partition, restoring in self._restoring.items()}
        done = sorted(ends.keys() - unread(self._consumer, self._topic, ends))
        for partition in done:
            restoring = self._restoring[partition]
            self._check_placement(restoring.state)
            seconds = time.monotonic() - restoring.started
            log.info(
                "partition restored",
                partition=partition,
                jobs=len(restoring.state),
                changelog_records=restoring.records,
                end_offset=restoring.end_offset,
                seconds=round(seconds, 3),
            )
            if self._on_restored is not None:
                self._on_restored(partition, seconds)
        self.cancel(done)
        return done

    def _check_placement(self, state: PartitionState) -> None:
        """Refuse state whose jobs belong on other partitions: commands for them would never
        reach these records, and a second record of the same job could be created elsewhere."""
        if not self._partition_count or self._partition_count == 1:
            return
        for key in state.first_keys(_PLACEMENT_SAMPLE):
            home = partition_for(key, self._partition_count)
            if home != state.partition:
                raise ConfigError(
                    f"partition {state.partition} of {self._topic} holds job "
                    f"{key.decode(errors='replace')!r}, whose id belongs on partition {home} of "
                    f"{self._partition_count}: the partition count changed since this state was "
                    "written, or it was written by a producer with another partitioner. Stop "
                    "every worker and run `syncctl relocate-state` (docs/operations.md, 'Changing "
                    "the partition count')."
                )

    def close(self) -> None:
        self._consumer.close()
        self._watermarks_reader.close()
