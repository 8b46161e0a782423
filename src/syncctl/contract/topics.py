"""The contract's topics, by their default names ([topics] in the settings can rename them)."""

CONTROL = "syncjobs.control"
STATE = "syncjobs.state"
EVENTS = "syncjobs.events"
DEAD_LETTERS = "syncjobs.control.dlq"
