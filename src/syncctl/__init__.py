"""syncctl: stop long-running data-sync jobs over Apache Kafka, exactly once."""

__version__ = "0.1.0"
