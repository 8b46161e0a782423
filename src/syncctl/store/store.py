"""All partitions this worker owns. The open transaction's changes, and their undoing, are the
checkpoint's (worker/checkpoint.py)."""

from __future__ import annotations

from datetime import datetime

from syncctl.contract import JobRecord
from syncctl.store.partition import PartitionState


class StateStore:
    """Job records of the assigned partitions."""

    def __init__(self, count_statuses: bool = False, index_endings: bool = False) -> None:
        self._count_statuses = count_statuses
        self._index_endings = index_endings
        self._partitions: dict[int, PartitionState] = {}
        # Records of partitions that went, freed a slice at a time (`release`, once per turn of
        # the loop): 200,000 parsed records take ~0.5 s to free, a stall for every partition
        # left; 2,000 a turn took 4 ms (at most 26 ms).
        self._dropped: list[PartitionState] = []

    def add_partition(self, partition: int) -> PartitionState:
        state = PartitionState(partition, self._count_statuses, self._index_endings)
        self._partitions[partition] = state
        return state

    def drop_partition(self, partition: int) -> None:
        """The partition is gone at once; its records are freed by later `release` calls."""
        state = self._partitions.pop(partition, None)
        if state is not None and len(state):
            self._dropped.append(state)

    def release(self, limit: int = 2_000) -> int:
        """Free up to `limit` records of dropped partitions; how many were freed."""
        freed = 0
        while self._dropped and freed < limit:
            freed += self._dropped[-1].release(limit - freed)
            if not len(self._dropped[-1]):
                self._dropped.pop()
        return freed

    def partition(self, partition: int) -> PartitionState:
        return self._partitions[partition]

    def partitions(self) -> list[int]:
        return list(self._partitions)

    def get(self, partition: int, job_id: str) -> JobRecord | None:
        return self._partitions[partition].get(job_id)

    def put(self, partition: int, job_id: str, record: JobRecord | None) -> JobRecord | None:
        """Set the job's record (None deletes it); what it was before."""
        return self._partitions[partition].put(job_id, record)

    def put_back(self, partition: int, job_id: str, record: JobRecord | None) -> None:
        """Undo a `put` of an aborted transaction; a partition dropped meanwhile keeps none."""
        state = self._partitions.get(partition)
        if state is not None:
            state.put(job_id, record)

    def due(self, now: datetime, partitions: set[int]) -> list[tuple[int, str]]:
        return [
            (number, job_id)
            for number in partitions & self._partitions.keys()
            for job_id in self._partitions[number].due(now)
        ]

    def ended_before(
        self, moment: datetime, partitions: set[int], limit: int
    ) -> list[tuple[int, str]]:
        """Up to `limit` jobs of `partitions` that ended before `moment` (see
        PartitionState.ended_before)."""
        found: list[tuple[int, str]] = []
        for number in sorted(partitions & self._partitions.keys()):
            left = limit - len(found)
            if left <= 0:
                break
            found += [
                (number, job_id) for job_id in self._partitions[number].ended_before(moment, left)
            ]
        return found

    def statuses(self) -> dict[str, int]:
        """Jobs by status over every partition (empty unless made with `count_statuses`)."""
        total: dict[str, int] = {}
        for state in self._partitions.values():
            for status, count in state.statuses().items():
                total[status] = total.get(status, 0) + count
        return total

    def pending_deadlines(self) -> int:
        """Jobs with a deadline over every partition (PartitionState.pending_deadlines)."""
        return sum(state.pending_deadlines() for state in self._partitions.values())
