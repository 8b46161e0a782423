"""The exactly-once stop worker: Kafka in, the pure state machine, Kafka out."""

from syncctl.worker.loop import Worker

__all__ = ["Worker"]
