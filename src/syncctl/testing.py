"""Helpers for tests and benchmarks that need a real Kafka broker."""

from syncctl.kafka.local_broker import LocalKafka, free_port, wait_for_broker

__all__ = ["LocalKafka", "free_port", "wait_for_broker"]
