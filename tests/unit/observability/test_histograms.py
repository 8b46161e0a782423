"""The batch histogram is exposed exactly as prometheus_client's own Histogram."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram

from syncctl.observability.histograms import BatchHistogram

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
seconds = st.floats(min_value=0, max_value=100, allow_nan=False) | st.sampled_from(BUCKETS)


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


@given(st.lists(st.lists(seconds, max_size=20), max_size=5))
def test_batches_are_counted_as_one_observation_each_would_be(batches: list[list[float]]) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    batch = BatchHistogram("latency_seconds", "Latency.", BUCKETS)
    ours.register(batch)
    reference = Histogram("latency_seconds", "Latency.", buckets=BUCKETS, registry=theirs)
    for values in batches:
        batch.observe_many(values)
        for value in values:
            reference.observe(value)
    mine, expected = samples(ours), samples(theirs)
    sums = ("latency_seconds_sum", ())
    assert mine.pop(sums) == pytest.approx(expected.pop(sums))
    assert mine == expected
