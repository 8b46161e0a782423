"""The worker's Prometheus series. docs/operations.md lists each one with example alerts.

Counters and histograms are updated by the worker's loop as it goes; gauges that describe the
store (jobs by status, pending stops, consumer lag) are read at scrape time from a snapshot the
loop refreshes, so a scrape never walks the store from another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from syncctl.settings import WorkerSettings

# Seconds: a command's outcome is usually visible within tens of milliseconds; a backlog shows
# in the upper buckets.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_RESTORE_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


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
    pending_stops: int = 0
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
            "syncctl_pending_stop_deadlines",
            "Stops waiting for the engine's confirmation (each has a deadline).",
            value=snapshot.pending_stops,
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
        self.forwarded = Counter(
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
        self.end_to_end_latency = Histogram(
            "syncctl_end_to_end_latency_seconds",
            "From a control message's timestamp (when it was produced) to the commit that makes "
            "its outcome visible.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.processing_latency = Histogram(
            "syncctl_processing_latency_seconds",
            "From the worker reading a control message to the commit that makes its outcome "
            "visible.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.restore_duration = Histogram(
            "syncctl_restore_duration_seconds",
            "Time to restore one partition's state on assignment.",
            buckets=_RESTORE_BUCKETS,
            registry=registry,
        )
        self._store = _StoreCollector()
        registry.register(self._store)
        # Labelled children cached: looking one up costs more than incrementing it.
        self._command_children: dict[tuple[str, str], Counter] = {}

    def command(self, type_: str, result: str) -> None:
        child = self._command_children.get((type_, result))
        if child is None:
            child = self._command_children[(type_, result)] = self._commands.labels(type_, result)
        child.inc()

    def rejected(self, code: str) -> None:
        self._rejections.labels(code).inc()

    def dead_letter(self, code: str) -> None:
        self._dead_letters.labels(code).inc()

    def transaction(self, result: str, inputs: int = 0) -> None:
        self._transactions.labels(result).inc()
        if result == "committed":
            self.batch_size.observe(inputs)

    def latencies(self, end_to_end: Iterable[float], processing: Iterable[float]) -> None:
        for seconds in end_to_end:
            self.end_to_end_latency.observe(seconds)
        for seconds in processing:
            self.processing_latency.observe(seconds)

    def store(self, snapshot: StoreSnapshot) -> None:
        self._store.update(snapshot)
