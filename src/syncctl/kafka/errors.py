"""What a Kafka error means for the code that got it: ask again, abort the transaction, or stop.

Every client in syncctl sorts librdkafka's errors with these, so that the same error gets the
same answer wherever it happens (the worker's consumers, its producer, the readers).
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, KafkaException

from syncctl.errors import SyncctlError


class FatalKafkaError(SyncctlError):
    """Retrying cannot help: the worker was fenced by a newer instance, the client failed, or
    Kafka refuses this user. Commands exit with code 1 and the message."""

    exit_code = 1


class AbortableKafkaError(Exception):
    """The transaction failed in a way that abort-and-retry fixes."""


# Answers that mean "ask again in a moment": a topic created a moment ago, leadership moving.
_NOT_YET = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}


def kafka_error(error: BaseException | KafkaError) -> KafkaError | None:
    """The KafkaError inside `error`, if there is one."""
    if isinstance(error, KafkaError):
        return error
    inner = error.args[0] if isinstance(error, KafkaException) and error.args else None
    return inner if isinstance(inner, KafkaError) else None


def retriable(error: BaseException | KafkaError) -> bool:
    """librdkafka says the same call may succeed if made again."""
    found = kafka_error(error)
    return found is not None and found.retriable()


def not_yet(error: BaseException | KafkaError) -> bool:
    """Retriable, or one of the answers a broker gives while topics or leaders settle."""
    found = kafka_error(error)
    return found is not None and (found.retriable() or found.code() in _NOT_YET)


# Errors a consumer cannot recover from by retrying: the worker stops, and says why.
_UNRECOVERABLE_FOR_CONSUMERS = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError._AUTHENTICATION,
}


def check_consumer_error(error: KafkaError, log: Any, reading: str, **context: object) -> None:
    """One policy for every consumer's in-band errors (a message whose error() is set).

    End of partition: nothing. A fatal client error or a refused authorization: raise
    FatalKafkaError, since retrying cannot help. Anything else (a broker restarting, a leader
    moving, a timeout) heals by itself: log it and go on reading.
    """
    if error.code() == KafkaError._PARTITION_EOF:
        return
    if error.fatal() or error.code() in _UNRECOVERABLE_FOR_CONSUMERS:
        raise FatalKafkaError(f"reading the {reading}: {error.str()}")
    log.warning("consumer error", reading=reading, error=error.str(), **context)


def transaction_failure(error: KafkaException) -> FatalKafkaError | AbortableKafkaError:
    """What a failed transactional call means: abort and redo it, or stop writing."""
    found = kafka_error(error)
    if found is None or found.fatal():
        return FatalKafkaError(found.str() if found else str(error))
    # After an abortable failure (e.g. ILLEGAL_GENERATION during a rebalance) librdkafka
    # answers the next produce with _STATE, flagged neither fatal nor abortable: aborting is
    # still what recovers, and abort_transaction() reports it as fatal if it cannot.
    if found.txn_requires_abort() or found.code() == KafkaError._STATE:
        return AbortableKafkaError(found.str())
    return FatalKafkaError(found.str())
