"""syncctl: stop long-running data-sync jobs over Apache Kafka, exactly once."""

from syncctl.client import SyncJobsClient

__all__ = ["SyncJobsClient"]
__version__ = "0.2.0"
