"""What an operator watches: health probes and Prometheus metrics."""

from syncctl.observability.http import OperationsServer
from syncctl.observability.metrics import StoreSnapshot, WorkerMetrics

__all__ = ["OperationsServer", "StoreSnapshot", "WorkerMetrics"]
