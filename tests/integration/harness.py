"""Drive a real `syncctl worker` process and read what users of the topics would read."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from syncctl.contract import JobRecord
from syncctl.errors import ConfigError
from syncctl.kafka.groups import group_members
from syncctl.local import LocalKafka, free_port
from syncctl.settings import KafkaSettings, TopicSettings


@dataclass(frozen=True)
class Topics:
    control: str
    state: str
    events: str
    dlq: str

    @classmethod
    def unique(cls, make_name: Callable[[str], str]) -> Topics:
        base = make_name("syncjobs")
        return cls(f"{base}.control", f"{base}.state", f"{base}.events", f"{base}.control.dlq")

    def settings(self) -> TopicSettings:
        """The same names as syncctl's settings, for a `SyncJobsClient` on this test's topics."""
        return TopicSettings(
            control=self.control, state=self.state, events=self.events, dlq=self.dlq
        )

    def env(self) -> dict[str, str]:
        return {
            "SYNCCTL_TOPICS__CONTROL": self.control,
            "SYNCCTL_TOPICS__STATE": self.state,
            "SYNCCTL_TOPICS__EVENTS": self.events,
            "SYNCCTL_TOPICS__DLQ": self.dlq,
        }


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class SyncctlProcess:
    """`python -m syncctl ARGS` as a child process, with its JSON log lines collected."""

    def __init__(self, arguments: list[str], env: dict[str, str]) -> None:
        self.arguments = arguments
        self.env = {
            **os.environ,
            "SYNCCTL_LOG__FORMAT": "json",
            "SYNCCTL_LOG__LEVEL": "DEBUG",
            **env,
        }
        self.logs: list[dict[str, Any]] = []
        self.raw_stderr: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> SyncctlProcess:
        self.logs.clear()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "syncctl", *self.arguments],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._collector = threading.Thread(target=self._collect, args=(self.process,), daemon=True)
        self._collector.start()
        return self

    def finish_reading(self, timeout: float = 5.0) -> None:
        """After the process has exited: wait until its last lines are in `logs`."""
        collector = getattr(self, "_collector", None)
        if collector is not None:
            collector.join(timeout)

    def _collect(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.raw_stderr.append(line)
            if line.startswith("{"):
                self.logs.append(json.loads(line))

    def wait_for_log(self, event: str, timeout: float = 60) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.arguments[0]} exited ({self.process.returncode}): "
                    f"{''.join(self.raw_stderr[-20:])}"
                )
            found[:] = [entry for entry in list(self.logs) if entry.get("event") == event]
            return bool(found)

        wait_until(seen, timeout, f"{self.arguments[0]} log {event!r}")
        return found[0]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(30)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


def wait_until_consuming(
    admin_config: dict[str, str], group_id: str, process: SyncctlProcess, timeout: float = 60
) -> None:
    """A runner or an engine is ready once its consumer group has a member with partitions."""
    admin = AdminClient(admin_config)

    def consuming() -> bool:
        assert process.process is not None and process.process.poll() is None, "".join(
            process.raw_stderr[-20:]
        )
        try:
            return bool(group_members(admin, group_id, timeout=5))
        except ConfigError:
            return False

    wait_until(
        consuming, timeout, f"{process.arguments[0]} to consume as group {group_id}", interval=0.2
    )


def readyz(http_port: int) -> dict[str, Any]:
    """A worker's /readyz answer ({} while it does not answer)."""
    url = f"http://127.0.0.1:{http_port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as refused:
        return dict(json.loads(refused.read()))
    except OSError:
        return {}


def processing(http_port: int) -> bool:
    """Ready with partitions: right after the topics are created the group may first assign
    none (the metadata has no partitions yet), which /readyz calls a standby."""
    answer = readyz(http_port)
    return answer.get("status") == "ready" and bool(answer.get("partitions"))


def syncctl_env(bootstrap: str, topics: Topics) -> dict[str, str]:
    return {**topics.env(), "SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": bootstrap}


class ConsoleProcess(SyncctlProcess):
    """`syncctl console` on a free port, ready once its /healthz answers 200."""

    def __init__(
        self, bootstrap: str, topics: Topics, options: list[str], env: dict[str, str]
    ) -> None:
        self.port = free_port()
        self.scheme = "https" if "--tls-cert" in options else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        super().__init__(
            ["console", "--port", str(self.port), *options],
            {**syncctl_env(bootstrap, topics), **env},
        )

    def start(self, ssl_context: ssl.SSLContext | None = None) -> ConsoleProcess:
        super().start()

        def ready() -> bool:
            assert self.process is not None and self.process.poll() is None, "".join(
                self.raw_stderr
            )
            try:
                with urllib.request.urlopen(
                    f"{self.url}/healthz", timeout=2, context=ssl_context
                ) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(ready, 60, "the console to serve")
        return self

    def audit(self) -> list[dict[str, Any]]:
        """The console's audit log lines (logins and action attempts)."""
        return [
            entry
            for entry in list(self.logs)
            if entry.get("event") in ("console login", "console action")
        ]


class WorkerProcess(SyncctlProcess):
    """`syncctl worker` with test-friendly timeouts."""

    def __init__(
        self,
        bootstrap: str,
        topics: Topics,
        group_id: str,
        instance_id: str = "w1",
        env: dict[str, str] | None = None,
        **settings: Any,
    ) -> None:
        self.http_port = http_port = free_port()
        super().__init__(
            ["worker"],
            {
                **syncctl_env(bootstrap, topics),
                "SYNCCTL_WORKER__GROUP_ID": group_id,
                "SYNCCTL_HTTP__PORT": str(http_port),
                "SYNCCTL_HTTP__HOST": "127.0.0.1",
                "SYNCCTL_WORKER__INSTANCE_ID": instance_id,
                "SYNCCTL_WORKER__SESSION_TIMEOUT_MS": "6000",
                "SYNCCTL_WORKER__TRANSACTION_TIMEOUT_MS": "5000",
                **{f"SYNCCTL_WORKER__{key.upper()}": str(value) for key, value in settings.items()},
                **(env or {}),
            },
        )

    def start(self, wait_ready: bool = True) -> WorkerProcess:
        """Start it; unless told otherwise, until its /readyz says every partition is restored."""
        super().start()
        if wait_ready:
            wait_until(self._processing, 60, "the worker's /readyz to report partitions")
        return self

    def _processing(self) -> bool:
        self._require_alive()
        return processing(self.http_port)

    def readyz(self) -> dict[str, Any]:
        """The worker's /readyz answer ({} while it does not answer)."""
        self._require_alive()
        return readyz(self.http_port)

    def _require_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"worker exited ({self.process.returncode}): {''.join(self.raw_stderr[-20:])}"
            )


class ControlProducer:
    """What an operator's tool or a runner does: JSON commands keyed by job id."""

    def __init__(self, bootstrap: str, topic: str, partitioner: str | None = None) -> None:
        """`partitioner`: librdkafka's name; its default, consistent_random, is not the
        contract's."""
        self.topic = topic
        chosen = {} if partitioner is None else {"partitioner": partitioner}
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 1, **chosen}
        )

    def send(self, job_id: str, type_: str, command_id: str | None = None, **fields: Any) -> str:
        command_id = command_id or uuid.uuid4().hex
        message = {
            "command_id": command_id,
            "type": type_,
            "job_id": job_id,
            "issued_at": datetime.now(UTC).isoformat(),
            **fields,
        }
        self.send_raw(job_id.encode(), json.dumps(message).encode())
        return command_id

    def send_raw(
        self, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> None:
        kwargs = {} if partition is None else {"partition": partition}
        self._producer.produce(self.topic, key=key, value=value, **kwargs)

    def flush(self) -> None:
        assert self._producer.flush(30) == 0


class TopicReader:
    """A read_committed reader of every partition of a topic from the beginning."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._bootstrap = bootstrap
        self._consumer: Consumer | None = None
        self.records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
        self.record_partitions: list[int] = []  # the partition of each of `records`

    def _ensure(self) -> Consumer:
        if self._consumer is None:
            wait_until(lambda: self._partitions() > 0, 30, f"topic {self.topic}")
            self._consumer = Consumer(
                {
                    "bootstrap.servers": self._bootstrap,
                    "group.id": f"reader-{uuid.uuid4().hex}",
                    "isolation.level": "read_committed",
                    "enable.auto.commit": False,
                }
            )
            self._consumer.assign(
                [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(self._partitions())]
            )
        return self._consumer

    def _partitions(self) -> int:
        metadata = AdminClient({"bootstrap.servers": self._bootstrap}).list_topics(
            self.topic, timeout=10
        )
        topic = metadata.topics.get(self.topic)
        return 0 if topic is None or topic.error else len(topic.partitions)

    def read_available(self, timeout: float = 0.05) -> None:
        consumer = self._ensure()
        for message in consumer.consume(10_000, timeout):
            if message.error():
                raise KafkaException(message.error())
            self.records.append((message.key(), message.value(), list(message.headers() or [])))
            self.record_partitions.append(message.partition())

    def read_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        def done() -> bool:
            self.read_available()
            return condition()

        wait_until(done, timeout, what, interval=0)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()


class EventReader(TopicReader):
    """The events topic as a user's read_committed consumer sees it."""

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(value) for _, value, _ in self.records if value is not None]

    def for_command(self, command_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("command_id") == command_id]

    def for_job(self, job_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["job_id"] == job_id]

    def wait_for_command(
        self, command_id: str, timeout: float = 30, count: int = 1
    ) -> list[dict[str, Any]]:
        self.read_until(
            lambda: len(self.for_command(command_id)) >= count, timeout, f"events of {command_id}"
        )
        return self.for_command(command_id)


def messages_in(bootstrap: str, topic: str) -> int:
    """How many offsets a topic's partitions hold (0 when nothing was ever written)."""
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": f"count-{uuid.uuid4().hex}"})
    try:
        partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        )
    finally:
        reader.close()


def latest_records(reader: TopicReader) -> dict[str, JobRecord | None]:
    """The state store as the compacted changelog says it is: the last value per key."""
    latest: dict[str, JobRecord | None] = {}
    for key, value, _ in reader.records:
        assert key is not None
        latest[key.decode()] = JobRecord.model_validate_json(value) if value is not None else None
    return latest


def require_postgres() -> None:
    """Skip unless PostgreSQL's server is installed; in CI (SYNCCTL_ENGINE_REQUIRED) fail
    instead."""
    import pytest

    from syncctl.errors import ServerError
    from syncctl.local.postgres import find_postgres_bin

    try:
        find_postgres_bin()
    except ServerError as error:
        if os.environ.get("SYNCCTL_ENGINE_REQUIRED"):
            pytest.fail(f"{error} (SYNCCTL_ENGINE_REQUIRED is set: CI installs it)")
        pytest.skip(str(error))


def secure_kafka_settings(kafka: LocalKafka, user: str) -> KafkaSettings:
    """How a client connects to a `LocalKafka(secure=True)` as `user` (SASL_SSL, SCRAM)."""
    security = kafka.security
    assert security is not None
    return KafkaSettings(
        bootstrap_servers=kafka.bootstrap_servers,
        security_protocol="SASL_SSL",
        sasl_username=user,
        sasl_password=security.password(user),
        ssl_ca_location=security.ca_file,
    )
