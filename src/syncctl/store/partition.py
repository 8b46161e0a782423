"""The job records of one partition, as its changelog says they are."""

from __future__ import annotations

import heapq
from datetime import datetime
from itertools import islice

from syncctl.contract import JobRecord, Status

# What a record's JSON holds when none of the fields that carry a deadline is set, one marker
# per field the contract declares: a record with all of them has no deadline to index, so
# restore keeps it as raw JSON, unparsed.
NO_DEADLINE_MARKERS = tuple(f'"{name}":null'.encode() for name in JobRecord.DEADLINE_FIELDS)
_STATUS_FIELD = b'"status":"'  # the record's only "status" key: nested models have none
_TERMINAL = frozenset(status.value for status in Status if status.terminal)
_ENDED_FIELDS = (b'"status_changed_at":"', b'"updated_at":"')  # what JobRecord.ended_at reads


def has_no_deadline(value: bytes) -> bool:
    """Whether a record's JSON has no field that carries a deadline set (no parsing: restore
    calls this for every changelog record)."""
    # A loop, not all(...): the generator would add about half as much again per record.
    for marker in NO_DEADLINE_MARKERS:  # noqa: SIM110
        if marker not in value:
            return False
    return True


def _status_of(record: JobRecord | bytes) -> str:
    # bytes first: isinstance against a pydantic model runs its metaclass's Python check.
    if not isinstance(record, bytes):
        return record.status.value
    start = record.find(_STATUS_FIELD) + len(_STATUS_FIELD)
    return record[start : record.find(b'"', start)].decode()


def _status_or_none(record: JobRecord | bytes | None) -> str | None:
    return None if record is None else _status_of(record)


def _ended_at_of(record: JobRecord | bytes) -> float | None:
    """JobRecord.ended_at as a POSIX time, read from the JSON without parsing it (restore calls
    this for every changelog record)."""
    if not isinstance(record, bytes):
        ended = record.ended_at
        return None if ended is None else ended.timestamp()
    if _status_of(record) not in _TERMINAL:
        return None
    for field in _ENDED_FIELDS:
        start = record.find(field)
        if start >= 0:
            start += len(field)
            return datetime.fromisoformat(
                record[start : record.find(b'"', start)].decode()
            ).timestamp()
    return None


class PartitionState:
    """Job records by job id.

    Kept by the job id's bytes (the changelog key) so that a restore stores each record without
    decoding anything: restored records stay raw JSON until first read, which keeps a restore of
    a large partition fast and small.
    """

    def __init__(
        self, partition: int, count_statuses: bool = False, index_endings: bool = False
    ) -> None:
        self.partition = partition
        self._records: dict[bytes, JobRecord | bytes] = {}
        self._deadlines: dict[bytes, datetime] = {}
        # The same deadlines in time order, for the timer: an entry whose job's deadline has since
        # changed or gone is dropped when met. (Walking every deadline at each timer turn cost a
        # tenth of a busy worker's time with 10,000 pending.)
        self._deadline_order: list[tuple[datetime, bytes]] = []
        # Ended jobs by when they ended, for retention (off when ended jobs are kept for ever):
        # a heap ordered by end time; an entry whose job has since changed is skipped when met.
        self._endings: dict[bytes, float] | None = {} if index_endings else None
        self._ending_order: list[tuple[float, bytes]] = []
        # Jobs by status, for the metrics. Off unless asked for: at restore it costs about as
        # much again as storing the records.
        self._statuses: dict[str, int] | None = {} if count_statuses else None

    def __len__(self) -> int:
        return len(self._records)

    def release(self, limit: int) -> int:
        """Forget up to `limit` records, newest first (for a partition that is gone)."""
        records = self._records
        count = min(limit, len(records))
        for _ in range(count):
            records.popitem()
        if not records:
            self._deadlines.clear()
            self._deadline_order.clear()
            self._ending_order.clear()
            if self._endings is not None:
                self._endings.clear()
        return count

    def get(self, job_id: str) -> JobRecord | None:
        key = job_id.encode()
        record = self._records.get(key)
        if isinstance(record, bytes):
            record = JobRecord.model_validate_json(record)
            self._records[key] = record
        return record

    def put(self, job_id: str, record: JobRecord | None) -> JobRecord | None:
        """Set the job's record (None deletes it); what it was before."""
        key = job_id.encode()
        previous = self._records.get(key)
        if isinstance(previous, bytes):  # not read since it was restored (the worker reads first)
            previous = JobRecord.model_validate_json(previous)
        self._put(key, record, previous)
        return previous

    def _put(
        self, key: bytes, record: JobRecord | None, previous: JobRecord | bytes | None
    ) -> None:
        if self._statuses is not None or self._endings is not None:
            before, after = _status_or_none(previous), _status_or_none(record)
            if self._statuses is not None and before != after:
                self._count(before, after)
            # Only ended jobs are indexed: a write that neither ends a job nor changes or removes
            # an ended one leaves the index as it is (most writes; ended_at costs a conversion).
            if self._endings is not None and (after in _TERMINAL or before in _TERMINAL):
                self._index_ending(key, record)
        if record is None:
            self._records.pop(key, None)
            self._deadlines.pop(key, None)
            return
        self._records[key] = record
        deadline = record.deadline_at
        if deadline is None:
            self._deadlines.pop(key, None)
        elif self._deadlines.get(key) != deadline:
            self._deadlines[key] = deadline
            heapq.heappush(self._deadline_order, (deadline, key))

    def restore(self, key: bytes, value: bytes | None) -> None:
        """Apply one changelog record (None is a tombstone)."""
        if value is None:
            self._put(key, None, self._records.get(key))
        elif has_no_deadline(value):
            if self._statuses is not None:
                self._count(_status_or_none(self._records.get(key)), _status_of(value))
            if self._endings is not None:
                self._index_ending(key, value)
            self._records[key] = value
            if self._deadlines:
                self._deadlines.pop(key, None)
        else:
            self._put(key, JobRecord.model_validate_json(value), self._records.get(key))

    def _index_ending(self, key: bytes, record: JobRecord | bytes | None) -> None:
        assert self._endings is not None
        ended = None if record is None else _ended_at_of(record)
        if ended is None:
            self._endings.pop(key, None)
        elif self._endings.get(key) != ended:
            self._endings[key] = ended
            heapq.heappush(self._ending_order, (ended, key))

    def ended_before(self, moment: datetime, limit: int) -> list[str]:
        """Up to `limit` jobs that ended before `moment`, those that ended first first. They
        leave the index: the caller removes them (an abort puts them back with their record)."""
        cutoff, found = moment.timestamp(), []
        order, endings = self._ending_order, self._endings or {}
        while order and order[0][0] <= cutoff and len(found) < limit:
            ended, key = heapq.heappop(order)
            if endings.get(key) == ended:
                del endings[key]
                found.append(key.decode())
        return found

    def ended_jobs(self) -> int:
        """Jobs that have ended (0 unless the state was made with `index_endings`)."""
        return len(self._endings or {})

    def _count(self, before: str | None, after: str | None) -> None:
        """A job's status went from `before` to `after` (None: no record)."""
        assert self._statuses is not None
        if before is not None:
            self._statuses[before] -= 1
            if not self._statuses[before]:
                del self._statuses[before]
        if after is not None:
            self._statuses[after] = self._statuses.get(after, 0) + 1

    def statuses(self) -> dict[str, int]:
        """Jobs by status (empty unless the state was made with `count_statuses`)."""
        return dict(self._statuses or {})

    def due(self, now: datetime) -> list[str]:
        """Jobs whose pending stop, pause or resume has passed its deadline, or whose scheduled
        command is due."""
        order, deadlines = self._deadline_order, self._deadlines
        due: dict[bytes, datetime] = {}
        while order and order[0][0] <= now:
            deadline, key = heapq.heappop(order)
            if deadlines.get(key) == deadline:
                due[key] = deadline
        # They stay in order until acting on them changes them: a transaction that aborts
        # before it acts (or an input that leaves the deadline as it was) finds them again.
        for key, deadline in due.items():
            heapq.heappush(order, (deadline, key))
        return [key.decode() for key in due]

    def pending_deadlines(self) -> int:
        """Jobs with a deadline: a stop, pause or resume waiting for the engine to confirm it, or
        a scheduled command."""
        return len(self._deadlines)

    def first_keys(self, limit: int) -> list[bytes]:
        """Up to `limit` job ids (as changelog keys), oldest record first."""
        return list(islice(self._records, limit))
