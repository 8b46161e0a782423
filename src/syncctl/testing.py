"""Helpers for tests and benchmarks that need a real Kafka broker."""

from syncctl.local.broker import LocalKafka, free_port, wait_for_broker
from syncctl.local.cluster import ClusterNode, LocalKafkaCluster

__all__ = ["ClusterNode", "LocalKafka", "LocalKafkaCluster", "free_port", "wait_for_broker"]
