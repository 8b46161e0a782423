"""A Prometheus histogram that takes a batch of observations at a time.

prometheus_client's `Histogram.observe` takes a lock and walks the buckets for every value;
the worker observes two latencies per command, all of them when a transaction commits. This
one counts a batch into local buckets and adds them under one lock; it is exposed exactly as a
`Histogram` would be (`_bucket`, `_count`, `_sum`).
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class BatchHistogram(Collector):
    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self._name = name
        self._documentation = documentation
        self._bounds = sorted(float(bound) for bound in buckets)
        self._lock = threading.Lock()
        self._counts = [0] * (len(self._bounds) + 1)  # the last one is +Inf
        self._sum = 0.0

    def observe_many(self, values: Iterable[float]) -> None:
        # Sorted once (in C), then counted per bucket by bisection: a bisect per bound instead of
        # a turn of a Python loop per value (two values per command).
        ordered = sorted(values)
        below, counts = 0, [0] * len(self._counts)
        for bucket, bound in enumerate(self._bounds):
            upto = bisect_right(ordered, bound, below)  # le: a value equal to a bound is in it
            counts[bucket], below = upto - below, upto
        counts[-1] = len(ordered) - below
        total = sum(ordered)
        with self._lock:
            self._counts = [mine + new for mine, new in zip(self._counts, counts, strict=True)]
            self._sum += total

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative, buckets = 0, []
        for bound, count in zip([*self._bounds, float("inf")], counts, strict=True):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))
        yield HistogramMetricFamily(
            self._name, self._documentation, buckets=buckets, sum_value=total
        )
