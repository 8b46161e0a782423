"""Producing when librdkafka's local queue may be full."""

from __future__ import annotations

from typing import Any, Protocol


class Producing(Protocol):
    def produce(self, topic: str, *args: Any, **kwargs: Any) -> None: ...
    def poll(self, timeout: float) -> int: ...


def produce_with_room(producer: Producing, topic: str, **kwargs: Any) -> None:
    """`producer.produce(topic, **kwargs)`, waiting while the local queue is full: each poll
    lets librdkafka deliver some of it (and serve delivery reports) before the next try."""
    while True:
        try:
            producer.produce(topic, **kwargs)
            return
        except BufferError:
            producer.poll(0.05)
