"""What every engine shares: the interface the CLI runs, following the events topic, and
sending reports (docs/runner-protocol.md). The reference runner (`syncctl.runner`) and the
Kafka Connect engine (`syncctl.connect`) are its two implementations."""

from syncctl.engine.events import follow_events, status_change
from syncctl.engine.protocol import Engine
from syncctl.engine.reports import Reporter

__all__ = ["Engine", "Reporter", "follow_events", "status_change"]
