"""Every job of the fleet in a small footprint, and the pages of History over it.

A job is kept as its latest record's raw JSON (parsed again only for the rows a page shows)
plus an `Entry` of the fields History sorts and filters by. Order: newest change first (the
status change, or the last update of a record that has none), ties broken by job id. Filters
are the CLI's `Selector`; each of its terms has an index (a set of job ids per value), and the
job ids are kept sorted for the prefix search.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sortedcontainers import SortedList

from syncctl.contract import JobRecord, Mode, Stage, Status
from syncctl.selection import Selector, asked_by

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Key = tuple[int, str]  # (-change time in microseconds, job id): ascending = newest first
_TERMS = ("status", "mode", "stage", "asked_by", "source")
_STRINGS: dict[str, str] = {}  # one copy of each user and source name


def _shared(text: str | None) -> str | None:
    return None if text is None else _STRINGS.setdefault(text, text)


# A record as the worker writes it: the preset dictionary that lets zlib store a record of
# an ended job in about a quarter of its JSON (ended jobs are most of a large fleet, and change
# no more).
_ZDICT = JobRecord(
    job_id="orders-0000000",
    mode=Mode.CONTINUOUS,
    spec={"source": "shop", "tables": ["public.orders"], "destination": "archive",
          "database": "orders"},
    status=Status.CDC_COMPLETED,
    stages={"snapshot": "COMPLETED", "cdc": "COMPLETED"},
    stats={"tables_total": 4, "tables_done": 4, "rows_migrated": 49380, "events_seen": 97714},
    created_at=_EPOCH,
    created_by="alice",
    updated_at=_EPOCH,
    status_changed_at=_EPOCH,
    last_requested_by="alice",
    engine_temp_data_cleaned=True,
    applied_command_ids=("c46d41c5-1743-3f3e-c3e6-0e09e043b6e9",),
).model_dump_json().encode()  # fmt: skip
_WBITS = -11  # a 2 KiB window: the dictionary and a record fit


def pack(raw: bytes) -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, _WBITS, 2, zlib.Z_DEFAULT_STRATEGY, _ZDICT)
    return packer.compress(raw) + packer.flush()


def unpack(packed: bytes) -> bytes:
    unpacker = zlib.decompressobj(_WBITS, _ZDICT)
    return unpacker.decompress(packed) + unpacker.flush()


class Entry:
    """What History needs of a job without parsing it: its sort key, filter fields, raw JSON
    (compressed once the job has ended)."""

    __slots__ = ("asked_by", "job_id", "key", "mode", "packed", "raw", "source", "stage", "status")

    def __init__(self, record: JobRecord, raw: bytes) -> None:
        changed = record.status_changed_at or record.updated_at
        self.job_id = record.job_id
        self.key: Key = (-((changed - _EPOCH) // _MICROSECOND), record.job_id)
        self.status: Status = record.status
        self.mode: Mode = record.mode
        self.stage: Stage = record.stage
        self.asked_by = _shared(asked_by(record))
        self.source = _shared(record.spec.source if record.spec else None)
        self.packed = record.status.terminal
        self.raw = pack(raw) if self.packed else raw

    def record(self) -> JobRecord:
        return JobRecord.model_validate_json(unpack(self.raw) if self.packed else self.raw)

    def term(self, name: str) -> object:
        return getattr(self, name)


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def matches(selector: Selector | None, entry: Entry) -> bool:
    """`Selector.matches` on an entry (the same answer as on its record)."""
    if selector is None:
        return True
    return (
        (not selector.statuses or entry.status in selector.statuses)
        and (selector.mode is None or entry.mode is selector.mode)
        and (selector.stage is None or entry.stage is selector.stage)
        and (selector.prefix is None or entry.job_id.startswith(selector.prefix))
        and (selector.source is None or entry.source == selector.source)
        and (selector.asked_by is None or entry.asked_by == selector.asked_by)
    )


def encode_cursor(key: Key) -> str:
    """An opaque page cursor: the change time and job id of a row."""
    text = f"{key[0]}~{key[1]}".encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode_cursor(cursor: str) -> Key | None:
    """The key a cursor names, or None if it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        time, _, job_id = text.partition("~")
        return (int(time), job_id) if job_id else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class Page:
    """Rows of History: `entries` in order, the `start` (0-based rank of the first) of `total`."""

    entries: list[Entry]
    total: int
    start: int

    @property
    def has_newer(self) -> bool:
        return self.start > 0

    @property
    def has_older(self) -> bool:
        return self.start + len(self.entries) < self.total

    @property
    def first_cursor(self) -> str | None:
        return encode_cursor(self.entries[0].key) if self.entries else None

    @property
    def last_cursor(self) -> str | None:
        return encode_cursor(self.entries[-1].key) if self.entries else None


class JobIndex:
    """The latest entry of every job, in History's order, with an index per filter term.

    Not thread-safe: the feed calls it under its lock."""

    def __init__(self) -> None:
        self._jobs: dict[str, Entry] = {}
        self._order: SortedList = SortedList()
        self._ids: SortedList = SortedList()
        self._by: dict[str, dict[object, set[str]]] = {term: {} for term in _TERMS}

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, job_id: str) -> Entry | None:
        return self._jobs.get(job_id)

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    def put(self, entry: Entry) -> Entry | None:
        """Add or replace a job's entry; return the one it replaced."""
        old = self._jobs.get(entry.job_id)
        if old is not None:
            self._unindex(old)
        else:
            self._ids.add(entry.job_id)
        self._jobs[entry.job_id] = entry
        self._order.add(entry.key)
        for term in _TERMS:
            self._by[term].setdefault(entry.term(term), set()).add(entry.job_id)
        return old

    def remove(self, job_id: str) -> Entry | None:
        old = self._jobs.pop(job_id, None)
        if old is not None:
            self._unindex(old)
            self._ids.remove(job_id)
        return old

    def _unindex(self, entry: Entry) -> None:
        self._order.remove(entry.key)
        for term in _TERMS:
            groups = self._by[term]
            value = entry.term(term)
            ids = groups[value]
            ids.discard(entry.job_id)
            if not ids:
                del groups[value]

    def values(self, term: str) -> list[str]:
        """The values a term has in the fleet now (for the filter form's suggestions)."""
        return sorted(str(value) for value in self._by[term] if value is not None)

    # -- queries -----------------------------------------------------------------------------
    def matching(self, selector: Selector | None) -> set[str] | None:
        """The ids of the jobs the selector matches; None means every job."""
        if selector is None:
            return None
        candidates: list[set[str] | Iterable[str]] = []
        sizes: list[int] = []
        if selector.statuses:
            groups = [self._by["status"].get(status, set()) for status in selector.statuses]
            candidates.append(set().union(*groups) if len(groups) > 1 else groups[0])
            sizes.append(sum(map(len, groups)))
        for term in ("mode", "stage", "asked_by", "source"):
            value = getattr(selector, term)
            if value is not None:
                group = self._by[term].get(value, set())
                candidates.append(group)
                sizes.append(len(group))
        if selector.prefix is not None:
            low, high = self._prefix_range(selector.prefix)
            candidates.append(self._ids.islice(low, high))
            sizes.append(high - low)
        smallest = min(range(len(candidates)), key=sizes.__getitem__)
        if len(candidates) == 1 and isinstance(candidates[0], set):
            return candidates[0]  # read only: the callers do not change it
        found = set(candidates[smallest])
        for number, candidate in enumerate(candidates):
            if number != smallest and found:
                found = found.intersection(candidate)
        return found

    def _prefix_range(self, prefix: str) -> tuple[int, int]:
        low = self._ids.bisect_left(prefix)
        # Job ids are letters, digits and '-': every id with the prefix sorts before prefix+DEL.
        return low, self._ids.bisect_left(prefix + "\x7f")

    def count(self, selector: Selector | None) -> int:
        found = self.matching(selector)
        return len(self._jobs) if found is None else len(found)

    def page(
        self,
        selector: Selector | None = None,
        *,
        after: Key | None = None,
        before: Key | None = None,
        limit: int = 50,
    ) -> Page:
        """`limit` rows after the `after` row (older), or before the `before` row (newer); with
        neither, the newest. A `before` page with fewer than `limit` rows is the first page."""
        found = self.matching(selector)
        total = len(self._jobs) if found is None else len(found)
        if before is not None:
            keys = self._take(found, before, limit, newer=True)
            if len(keys) < limit:
                return self.page(selector, limit=limit)
        else:
            keys = self._take(found, after, limit, newer=False)
        entries = [self._jobs[key[1]] for key in keys]
        if after is None and before is None:
            start = 0  # the first page
        else:
            start = self._rank(found, keys[0]) if keys else total
        return Page(entries, total, start)

    def _take(self, found: set[str] | None, cursor: Key | None, limit: int, newer: bool) -> list:
        """Up to `limit` keys next to the cursor, in History's order."""
        if found is not None and not found:
            return []
        if found is None or len(found) * len(found) > limit * len(self._jobs):
            # Many match: walk History's order from the cursor (about limit * all / matching
            # steps), unless that turns out longer than sorting the matches.
            budget = 1000 + (len(found) if found is not None else 0)
            walked = self._walk(found, cursor, limit, newer, budget)
            if walked is not None:
                return walked
        assert found is not None
        keys = (self._jobs[job_id].key for job_id in found)
        if cursor is None:
            return heapq.nsmallest(limit, keys)
        if newer:
            return sorted(heapq.nlargest(limit, (key for key in keys if key < cursor)))
        return heapq.nsmallest(limit, (key for key in keys if key > cursor))

    def _walk(
        self, found: set[str] | None, cursor: Key | None, limit: int, newer: bool, budget: int
    ) -> list | None:
        if cursor is None:
            steps: Iterator[Key] = iter(self._order)
        elif newer:
            steps = self._order.irange(maximum=cursor, inclusive=(True, False), reverse=True)
        else:
            steps = self._order.irange(minimum=cursor, inclusive=(False, True))
        keys: list[Key] = []
        for step, key in enumerate(steps):
            if step >= budget and found is not None:
                return None
            if found is None or key[1] in found:
                keys.append(key)
                if len(keys) == limit:
                    break
        return keys[::-1] if newer else keys

    def _rank(self, found: set[str] | None, key: Key) -> int:
        """How many matching jobs come before `key` in History's order."""
        if found is None:
            return self._order.bisect_left(key)
        jobs = self._jobs
        return sum(1 for job_id in found if jobs[job_id].key < key)
