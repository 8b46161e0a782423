"""The worker's Prometheus series. docs/operations.md lists each one with example alerts.

What a transaction did (commands, rejections, dead letters, forwards) is counted when it
commits, in one increment per series: an aborted transaction's work is redone and counted
then, and the loop pays a dict update per message instead of a locked counter. Gauges that
describe the store (jobs by status, pending stops, consumer lag) are read at scrape time from a
snapshot the loop refreshes, so a scrape never walks the store from another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from syncctl.observability.histograms import BatchHistogram
from syncctl.settings import WorkerSettings

# Seconds: a command's outcome is usually visible within tens of milliseconds; a backlog shows
# in the upper buckets.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_RESTORE_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_GC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


_DEFAULT_BATCH_MAX: int = WorkerSettings.model_fields["batch_max"].default


def batch_buckets(batch_max: int) -> tuple[int, ...]:
    """1, 2, 5, 10, 25, 50, ... below `batch_max`, then `batch_max` itself: every batch size a
    worker can commit falls in a bucket of its own order of magnitude."""
    steps, scale = [], 1
    while True:
        for step in (1, 2, 5) if scale == 1 else (1, 2.5, 5):
            bucket = int(step * scale)
            if bucket >= batch_max:
                return (*steps, batch_max)
            steps.append(bucket)
        scale *= 10


@dataclass
class StoreSnapshot:
    """What the gauges report, as the loop last saw it."""

    jobs_by_status: Mapping[str, int] = field(default_factory=dict)
    # Jobs with a deadline: pending stops, pauses and resumes, scheduled commands.
    pending_deadlines: int = 0
    lag_by_partition: Mapping[int, int] = field(default_factory=dict)


class _StoreCollector(Collector):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot = StoreSnapshot()

    def update(self, snapshot: StoreSnapshot) -> None:
        with self._lock:
            self._snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            snapshot = self._snapshot
        jobs = GaugeMetricFamily(
            "syncctl_jobs", "Jobs in this worker's partitions, by status.", labels=["status"]
        )
        for status, count in sorted(snapshot.jobs_by_status.items()):
            jobs.add_metric([status], count)
        yield jobs
        yield GaugeMetricFamily(
            "syncctl_pending_deadlines",
            "Jobs with a deadline: a stop, pause or resume waiting for the engine's "
            "confirmation, or a scheduled command.",
            value=snapshot.pending_deadlines,
        )
        # The same figure under its first name, from before pauses and schedules; kept for the
        # dashboards that read it.
        yield GaugeMetricFamily(
            "syncctl_pending_stop_deadlines",
            "Deprecated: the same as syncctl_pending_deadlines.",
            value=snapshot.pending_deadlines,
        )
        lag = GaugeMetricFamily(
            "syncctl_consumer_lag_messages",
            "Control messages not yet processed, per assigned partition.",
            labels=["partition"],
        )
        for partition, messages in sorted(snapshot.lag_by_partition.items()):
            lag.add_metric([str(partition)], messages)
        yield lag


class WorkerMetrics:
    """Every series of one worker, in a registry of its own (so that tests can make several)."""

    def __init__(self, batch_max: int = _DEFAULT_BATCH_MAX) -> None:
        """`batch_max`: the worker's, so that the batch-size histogram reaches its largest batch."""
        self.registry = CollectorRegistry()
        registry = self.registry
        self._commands = Counter(
            "syncctl_commands",
            "Control messages applied, by type and result.",
            ["type", "result"],
            registry=registry,
        )
        self._rejections = Counter(
            "syncctl_rejections",
            "Commands rejected, by rejection code.",
            ["code"],
            registry=registry,
        )
        self._dead_letters = Counter(
            "syncctl_dead_letters",
            "Messages sent to the dead-letter topic, by code.",
            ["code"],
            registry=registry,
        )
        self._forwarded = Counter(
            "syncctl_forwarded_commands",
            "Control messages found on the wrong partition for their key and forwarded to the "
            "right one (a producer without partitioner=murmur2_random), by the partition read "
            "from.",
            ["partition"],
            registry=registry,
        )
        self._transactions = Counter(
            "syncctl_transactions", "Kafka transactions, by result.", ["result"], registry=registry
        )
        self.batch_size = Histogram(
            "syncctl_transaction_inputs",
            "Control messages per committed transaction.",
            buckets=batch_buckets(batch_max),
            registry=registry,
        )
        self.end_to_end_latency = BatchHistogram(
            "syncctl_end_to_end_latency_seconds",
            "From a control message's timestamp (when it was produced) to the commit that makes "
            "its outcome visible.",
            buckets=_LATENCY_BUCKETS,
        )
        self.processing_latency = BatchHistogram(
            "syncctl_processing_latency_seconds",
            "From the worker reading a control message to the commit that makes its outcome "
            "visible.",
            buckets=_LATENCY_BUCKETS,
        )
        registry.register(self.end_to_end_latency)
        registry.register(self.processing_latency)
        self.restore_duration = Histogram(
            "syncctl_restore_duration_seconds",
            "Time to restore one partition's state on assignment.",
            buckets=_RESTORE_BUCKETS,
            registry=registry,
        )
        self.gc_pause = Histogram(
            "syncctl_gc_pause_seconds",
            "Pauses of Python's cyclic garbage collector, by generation (2: a full collection).",
            ["generation"],
            buckets=_GC_BUCKETS,
            registry=registry,
        )
        self._store = _StoreCollector()
        registry.register(self._store)
        # Counts of the open transaction, by (series, labels), added to the series at commit.
        self._uncommitted: dict[tuple[Counter, tuple[str, ...]], int] = {}
        # Labelled children cached: looking one up costs more than incrementing it.
        self._children: dict[tuple[Counter, tuple[str, ...]], Counter] = {}

    def command(self, type_: str, result: str) -> None:
        self._count(self._commands, type_, result)

    def rejected(self, code: str) -> None:
        self._count(self._rejections, code)

    def dead_letter(self, code: str) -> None:
        self._count(self._dead_letters, code)

    def forwarded(self, from_partition: int) -> None:
        self._count(self._forwarded, str(from_partition))

    def _count(self, series: Counter, *labels: str) -> None:
        key = (series, labels)
        self._uncommitted[key] = self._uncommitted.get(key, 0) + 1

    def transaction(self, result: str, inputs: int = 0) -> None:
        """A transaction ended: `committed` adds what it counted, `aborted` forgets it."""
        self._transactions.labels(result).inc()
        if result == "committed":
            self.batch_size.observe(inputs)
            for key, count in self._uncommitted.items():
                child = self._children.get(key)
                if child is None:
                    series, labels = key
                    child = self._children[key] = series.labels(*labels)
                child.inc(count)
        self._uncommitted.clear()

    def latencies(self, end_to_end: Iterable[float], processing: Iterable[float]) -> None:
        self.end_to_end_latency.observe_many(end_to_end)
        self.processing_latency.observe_many(processing)

    def store(self, snapshot: StoreSnapshot) -> None:
        self._store.update(snapshot)
