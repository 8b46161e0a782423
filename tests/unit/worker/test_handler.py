"""One control message through the command handler, without Kafka: what it writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from syncctl.contract import Mode, Status
from syncctl.contract.signing import signature_headers
from syncctl.kafka.partitioning import partition_for
from syncctl.observability import WorkerMetrics
from syncctl.settings import Settings, SigningSettings
from syncctl.store import StateStore
from syncctl.worker.handler import CommandHandler

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PARTITIONS = 4


class FakeMessage:
    def __init__(
        self,
        key: bytes | None,
        value: bytes | None,
        partition: int,
        offset: int = 10,
        headers: Any = None,
    ) -> None:
        self._key, self._value, self._partition, self._offset, self._headers = (
            key,
            value,
            partition,
            offset,
            headers,
        )

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> Any:
        return self._headers

    def topic(self) -> str:
        return "control"

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_795_000_000_000)


class Recorder:
    """The transaction's side, as the checkpoint does it: a record goes into the store at once."""

    def __init__(self, store: StateStore) -> None:
        self.writes: list[tuple[str, Any]] = []
        self._store = store

    def write_state(self, partition: int, job_id: str, record: Any) -> None:
        self._store.put(partition, job_id, record)
        self.writes.append(("state", (partition, job_id, record.status.value if record else None)))

    def write_event(self, job_id: str, value: bytes) -> None:
        self.writes.append(("event", json.loads(value)))

    def write_dead_letter(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        self.writes.append(("dead_letter", dict(headers)))

    def forward(self, message: Any, partition: int) -> None:
        self.writes.append(("forward", partition))

    def consumed(self, partition: int, offset: int, produced_at: float | None = None) -> None:
        self.writes.append(("consumed", (partition, offset)))


def handler(settings: Settings | None = None) -> tuple[CommandHandler, StateStore]:
    store = StateStore()
    for partition in range(PARTITIONS):
        store.add_partition(partition)
    return CommandHandler(settings or Settings(), store, WorkerMetrics(), PARTITIONS), store


def create(job_id: str, **extra: Any) -> FakeMessage:
    body = {
        "command_id": f"c-{job_id}",
        "type": "create",
        "job_id": job_id,
        "issued_at": NOW.isoformat(),
        "mode": "snapshot",
    }
    return FakeMessage(
        job_id.encode(),
        json.dumps({**body, **extra}).encode(),
        partition_for(job_id.encode(), PARTITIONS),
    )


def test_a_create_writes_the_record_and_its_event_and_consumes_the_message() -> None:
    commands, store = handler()
    message, writes = create("orders"), Recorder(store)
    commands.handle(message, writes, NOW)
    home = message.partition()
    kinds = [kind for kind, _ in writes.writes]
    assert kinds == ["state", "event", "consumed"]
    assert writes.writes[0][1] == (home, "orders", "NOT_STARTED")
    assert (
        writes.writes[1][1]["status"] == "NOT_STARTED"
        and writes.writes[1][1]["command_id"] == "c-orders"
    )
    assert writes.writes[2][1] == (home, 10)
    stored = store.get(home, "orders")
    assert stored is not None
    assert (stored.status, stored.mode) == (Status.NOT_STARTED, Mode.SNAPSHOT)


def test_a_malformed_message_goes_to_the_dead_letters_with_its_reason_and_is_consumed() -> None:
    commands, store = handler()
    writes = Recorder(store)
    commands.handle(FakeMessage(b"orders", b"{not json", 1), writes, NOW)
    (kind, headers), consumed = writes.writes
    assert kind == "dead_letter" and headers["syncctl.error.code"] == b"invalid_json"
    assert headers["syncctl.source.partition"] == b"1" and headers["syncctl.source.offset"] == b"10"
    assert consumed == ("consumed", (1, 10))


def test_a_message_on_the_wrong_partition_is_forwarded_to_its_keys_and_not_applied() -> None:
    commands, store = handler()
    message = create("orders")
    home = message.partition()
    elsewhere = (home + 1) % PARTITIONS
    wrong = FakeMessage(message.key(), message.value(), elsewhere)
    writes = Recorder(store)
    commands.handle(wrong, writes, NOW)
    assert writes.writes == [("forward", home), ("consumed", (elsewhere, 10))]
    assert store.get(home, "orders") is None


def test_with_signing_required_an_unsigned_stop_is_dead_lettered_and_a_signed_one_applied() -> None:
    secret = "s" * 32
    settings = Settings(signing=SigningSettings(required=True, keys={"k1": secret}, key_id="k1"))
    commands, store = handler(settings)
    unsigned, writes = create("orders"), Recorder(store)
    commands.handle(unsigned, writes, NOW)
    assert (
        writes.writes[0][0] == "dead_letter"
        and writes.writes[0][1]["syncctl.error.code"] == b"bad_signature"
    )

    headers = signature_headers("k1", secret, unsigned.key(), unsigned.value() or b"")
    signed = FakeMessage(unsigned.key(), unsigned.value(), unsigned.partition(), headers=headers)
    writes = Recorder(store)
    commands.handle(signed, writes, NOW)
    assert [kind for kind, _ in writes.writes] == ["state", "event", "consumed"]


def test_an_ended_job_is_removed_after_the_retention_period_and_its_id_is_free_again() -> None:
    settings = Settings.model_validate({"worker": {"ended_job_retention": 3600}})
    commands = CommandHandler(settings, StateStore(index_endings=True), WorkerMetrics(), PARTITIONS)
    store = commands._store
    for partition in range(PARTITIONS):
        store.add_partition(partition)
    message = create("orders")
    home = message.partition()
    writes = Recorder(store)
    commands.handle(message, writes, NOW)
    failed = FakeMessage(
        b"orders",
        json.dumps(
            {
                "command_id": "r-1",
                "type": "failed",
                "job_id": "orders",
                "issued_at": NOW.isoformat(),
                "error": "the source went away",
            }
        ).encode(),
        home,
    )
    commands.handle(failed, writes, NOW)
    assert store.get(home, "orders").status is Status.FAILED

    writes = Recorder(store)
    commands.fire_deadlines(NOW.replace(minute=59), set(range(PARTITIONS)), writes)
    assert writes.writes == []  # not yet: an hour after it ended
    commands.fire_deadlines(NOW.replace(hour=13), set(range(PARTITIONS)), writes)
    (state, tombstone), (event, expired) = writes.writes
    assert (state, tombstone) == ("state", (home, "orders", None))
    assert event == "event" and expired["type"] == "job_expired"
    assert (expired["status"], expired["retention_seconds"]) == ("FAILED", 3600.0)
    assert store.get(home, "orders") is None

    writes = Recorder(store)
    commands.handle(create("orders"), writes, NOW.replace(hour=14))
    assert writes.writes[0][1] == (home, "orders", "NOT_STARTED")  # a new job under that id
