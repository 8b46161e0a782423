"""syncctl: stop long-running data-sync jobs over Apache Kafka, exactly once."""

from syncctl.client import SyncJobsClient
from syncctl.machine import allowed_commands
from syncctl.selection import Selector

__all__ = ["Selector", "SyncJobsClient", "allowed_commands"]
__version__ = "0.2.0"
