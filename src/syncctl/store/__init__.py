"""The Kafka-backed state store: job records per partition, with undo for aborted transactions."""

from syncctl.store.partition import PartitionState
from syncctl.store.restore import Restorer
from syncctl.store.store import StateStore

__all__ = ["PartitionState", "Restorer", "StateStore"]
