"""Exceptions that end a command with a message meant for a person, not a traceback."""


class SyncctlError(Exception):
    """An error whose message tells the user what went wrong and what to do about it."""

    exit_code = 2


class BrokerError(SyncctlError):
    """The local Kafka broker could not be prepared, started or stopped."""


class ConfigError(SyncctlError):
    """Settings or topics are not as syncctl needs them."""


class KafkaUnavailable(SyncctlError):
    """No Kafka broker answered at the configured address."""


class InvalidCommand(SyncctlError):
    """A command the client refuses to send because the worker could only dead-letter it."""


class OutcomeTimeout(SyncctlError):
    """The worker did not answer a command within the time the caller allowed."""


class ServerError(SyncctlError):
    """A local server (PostgreSQL, FerretDB, Kafka Connect) could not be prepared or started."""
