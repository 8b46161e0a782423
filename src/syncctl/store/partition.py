"""The job records of one partition, as its changelog says they are."""

from __future__ import annotations

from datetime import datetime

from syncctl.contract import JobRecord

# A record with no pending stop has this in its JSON; such records need no parsing at restore.
_NO_PENDING_STOP = b'"stop":null'


class PartitionState:
    """Job records by job id. Restored records stay raw bytes until first read, which keeps a
    restore of a large partition fast and small."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self._records: dict[str, JobRecord | bytes] = {}
        self._deadlines: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._records)

    def get(self, job_id: str) -> JobRecord | None:
        record = self._records.get(job_id)
        if isinstance(record, bytes):
            record = JobRecord.model_validate_json(record)
            self._records[job_id] = record
        return record

    def put(self, job_id: str, record: JobRecord | None) -> None:
        if record is None:
            self._records.pop(job_id, None)
            self._deadlines.pop(job_id, None)
            return
        self._records[job_id] = record
        if record.stop is not None:
            self._deadlines[job_id] = record.stop.deadline_at
        else:
            self._deadlines.pop(job_id, None)

    def restore(self, key: bytes, value: bytes | None) -> None:
        """Apply one changelog record (None is a tombstone)."""
        job_id = key.decode()
        if value is None or _NO_PENDING_STOP in value:
            self._deadlines.pop(job_id, None)
            if value is None:
                self._records.pop(job_id, None)
            else:
                self._records[job_id] = value
        else:
            self.put(job_id, JobRecord.model_validate_json(value))

    def due(self, now: datetime) -> list[str]:
        """Jobs whose pending stop has passed its deadline."""
        return [job_id for job_id, deadline in self._deadlines.items() if deadline <= now]

    def pending_stops(self) -> int:
        return len(self._deadlines)

    def job_ids(self) -> list[str]:
        return list(self._records)
