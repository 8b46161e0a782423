"""What the worker does with one control message, without Kafka: parse it, check its signature,
then dead-letter it, forward it to its key's partition, or apply it to the job's record; and
say what that writes. The loop hands it messages and a `Writes` (the Checkpoint)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from syncctl.contract import (
    CommandRejected,
    ControlMessage,
    Invalid,
    InvalidCode,
    parse_control_message,
)
from syncctl.contract.messages import OPERATOR_COMMAND_TYPES
from syncctl.contract.serialization import to_json
from syncctl.contract.signing import signature_problem
from syncctl.kafka.partitioning import partition_for
from syncctl.logging import get_logger
from syncctl.machine import (
    DeadlineReached,
    MachineInput,
    Outcome,
    RetentionReached,
    Rules,
    Transition,
    apply,
)
from syncctl.observability import WorkerMetrics
from syncctl.settings import Settings
from syncctl.store import StateStore
from syncctl.worker.dead_letters import dead_letter_headers

log = get_logger("syncctl.worker")
# Expiries are logged as one line per timer turn (handler.fire_deadlines), not one per job.
_QUIET_OUTCOMES = {Outcome.RECORDED, Outcome.DUPLICATE, Outcome.NOT_DUE, Outcome.EXPIRED}
# Ended jobs removed per timer turn (as many as a full batch of commands): a retention first
# turned on over a long history expires it in many transactions, none that outlives its timeout.
_EXPIRE_MAX = 2000


class ControlInput(Protocol):
    """A consumed control message (confluent_kafka.Message has these)."""

    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...
    def headers(self) -> list[tuple[str, bytes]] | None: ...
    def topic(self) -> str: ...
    def partition(self) -> int: ...
    def offset(self) -> int: ...
    def timestamp(self) -> tuple[int, int]: ...


class Writes(Protocol):
    """Where the outcome of a message goes: one transaction (worker.checkpoint.Checkpoint)."""

    def write_state(self, partition: int, job_id: str, record: Any) -> None:
        """Into the store now, into the changelog with the transaction."""

    def write_event(self, job_id: str, value: bytes) -> None: ...
    def write_dead_letter(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None: ...
    def forward(self, message: Any, partition: int) -> None: ...
    def consumed(self, partition: int, offset: int, produced_at: float | None = None) -> None: ...


class CommandHandler:
    def __init__(
        self, settings: Settings, store: StateStore, metrics: WorkerMetrics, partition_count: int
    ) -> None:
        worker, signing = settings.worker, settings.signing
        self._rules = Rules(
            stop_deadline=timedelta(seconds=worker.stop_deadline),
            # Never below the deadline itself, however the two were set.
            stop_deadline_max=timedelta(
                seconds=max(worker.stop_deadline, worker.stop_deadline_max)
            ),
            history_limit=worker.history_limit,
            retention=timedelta(seconds=worker.ended_job_retention)
            if worker.ended_job_retention
            else None,
        )
        self._signing_secrets = signing.secrets() if signing.required else None
        self._sign_all = signing.scope == "all"
        self._store = store
        self._metrics = metrics
        self._partition_count = partition_count
        self._warned_forwarding = False
        # Bound once, as logging is configured now, and asked once which levels it writes:
        # asking structlog's lazy proxy rebuilds a logger each time (more than applying a
        # command costs), and even the bound logger's answer cost 1 % of a command.
        self._logger = log.bind()
        self._logs_quiet = self._logger.is_enabled_for(logging.DEBUG)
        self._logs_commands = self._logger.is_enabled_for(logging.INFO)

    def handle(self, message: ControlInput, writes: Writes, now: datetime) -> None:
        """Process one message of a ready partition; it is consumed in `writes` whatever it held."""
        partition, key = message.partition(), message.key()
        parsed = parse_control_message(key, message.value())
        if self._signing_secrets is not None and not isinstance(parsed, Invalid):
            parsed = self._check_signature(message, parsed)
        if isinstance(parsed, Invalid):
            self._dead_letter(message, parsed, writes)
        elif (
            self._partition_count > 1
            and (home := partition_for(key, self._partition_count)) != partition
        ):
            # A valid message's key is its job id, and the job's record lives on the id's partition.
            self._forward(message, home, writes)
            writes.consumed(partition, message.offset())
            return  # its latency counts where it is applied
        else:
            self._apply_to_job(partition, parsed, now, writes)
        writes.consumed(partition, message.offset(), message.timestamp()[1] / 1000)

    def fire_deadlines(self, now: datetime, partitions: set[int], writes: Writes) -> None:
        """Act on every deadline that has passed in the ready partitions (a stop, pause or resume
        the engine did not confirm in time, a scheduled command that is due), and remove ended
        jobs whose retention period has passed, a bounded number per call."""
        for partition, job_id in self._store.due(now, partitions):
            self._apply_to_job(partition, DeadlineReached(job_id), now, writes)
        if self._rules.retention is None:
            return
        expired = self._store.ended_before(now - self._rules.retention, partitions, _EXPIRE_MAX)
        for partition, job_id in expired:
            self._apply_to_job(partition, RetentionReached(job_id), now, writes)
        if expired:
            self._logger.info(
                "ended jobs expired",
                jobs=len(expired),
                retention_seconds=self._rules.retention.total_seconds(),
            )

    def _apply_to_job(
        self, partition: int, message: MachineInput, now: datetime, writes: Writes
    ) -> None:
        job_id = message.job_id
        before = self._store.get(partition, job_id)
        transition = apply(before, message, now, self._rules)
        if transition.record is not before:
            writes.write_state(partition, job_id, transition.record)
        for event in transition.events:
            writes.write_event(job_id, to_json(event))
            # `type(...) is`: isinstance against a pydantic model runs its metaclass in Python.
            if type(event) is CommandRejected:
                self._metrics.rejected(event.code.value)
        self._metrics.command(message.type, transition.outcome.value)
        if self._logs_commands:
            self._log(partition, message, transition)

    def _dead_letter(self, message: ControlInput, invalid: Invalid, writes: Writes) -> None:
        self._metrics.dead_letter(invalid.code.value)
        writes.write_dead_letter(
            message.key(), message.value(), dead_letter_headers(message, invalid)
        )
        self._logger.warning(
            "invalid control message sent to the dead-letter topic",
            partition=message.partition(),
            offset=message.offset(),
            code=invalid.code.value,
            reason=invalid.message,
        )

    def _forward(self, message: ControlInput, home: int, writes: Writes) -> None:
        """A producer put this message on another partition than its key's: the job's record is
        not here, so applying it would answer for the wrong record. It moves, in this
        transaction."""
        writes.forward(message, home)
        self._metrics.forwarded(message.partition())
        if not self._warned_forwarding:
            self._warned_forwarding = True
            self._logger.warning(
                "control messages on the wrong partition for their key are forwarded to the right "
                "one; a producer is not using the Java-compatible partitioner (librdkafka: "
                "partitioner=murmur2_random)",
                partition=message.partition(),
                offset=message.offset(),
                to_partition=home,
            )

    def _check_signature(
        self, message: ControlInput, parsed: ControlMessage
    ) -> ControlMessage | Invalid:
        assert self._signing_secrets is not None
        if not self._sign_all and parsed.type not in OPERATOR_COMMAND_TYPES:
            return parsed
        problem = signature_problem(
            self._signing_secrets, message.headers(), message.key(), message.value() or b""
        )
        return parsed if problem is None else Invalid(InvalidCode.BAD_SIGNATURE, problem)

    def _log(self, partition: int, message: MachineInput, transition: Transition) -> None:
        quiet = transition.outcome in _QUIET_OUTCOMES
        if quiet and not self._logs_quiet:
            return  # building the line costs more than applying the command
        emit = self._logger.debug if quiet else self._logger.info
        command_id = getattr(message, "command_id", None)
        if command_id is None and transition.events:
            command_id = transition.events[0].command_id  # a deadline names the stop it ends
        emit(
            f"{message.type} {transition.outcome.value}",
            job_id=message.job_id,
            command_id=command_id,
            partition=partition,
            status=transition.record.status.value if transition.record else None,
            note=transition.note,
            rejected=next(
                (e.code.value for e in transition.events if isinstance(e, CommandRejected)), None
            ),
        )
