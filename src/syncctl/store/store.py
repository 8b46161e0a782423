"""All partitions this worker owns, and the undo log of the open transaction."""

from __future__ import annotations

from datetime import datetime

from syncctl.contract import JobRecord
from syncctl.store.partition import PartitionState


class StateStore:
    """Job records of the assigned partitions.

    Writes go straight into the partition state; the first write to a job in a transaction
    saves what was there before, so that `rollback()` after an aborted transaction puts the
    store back exactly where the changelog is.
    """

    def __init__(self, count_statuses: bool = False) -> None:
        self._count_statuses = count_statuses
        self._partitions: dict[int, PartitionState] = {}
        self._undo: dict[tuple[int, str], JobRecord | object | None] = {}

    def add_partition(self, partition: int) -> PartitionState:
        state = PartitionState(partition, self._count_statuses)
        self._partitions[partition] = state
        return state

    def drop_partition(self, partition: int) -> None:
        self._partitions.pop(partition, None)
        self._undo = {key: value for key, value in self._undo.items() if key[0] != partition}

    def partition(self, partition: int) -> PartitionState:
        return self._partitions[partition]

    def partitions(self) -> list[int]:
        return list(self._partitions)

    def get(self, partition: int, job_id: str) -> JobRecord | None:
        return self._partitions[partition].get(job_id)

    def put(self, partition: int, job_id: str, record: JobRecord | None) -> None:
        state = self._partitions[partition]
        key = (partition, job_id)
        if key not in self._undo:
            self._undo[key] = state.get(job_id)
        state.put(job_id, record)

    def commit(self) -> None:
        """The open transaction committed: its writes are now the changelog's."""
        self._undo.clear()

    def rollback(self) -> None:
        """The open transaction aborted: undo every write made in it."""
        for (partition, job_id), previous in self._undo.items():
            if partition in self._partitions:
                self._partitions[partition].put(job_id, previous)  # type: ignore[arg-type]
        self._undo.clear()

    def due(self, now: datetime, partitions: set[int]) -> list[tuple[int, str]]:
        return [
            (number, job_id)
            for number in partitions & self._partitions.keys()
            for job_id in self._partitions[number].due(now)
        ]

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
