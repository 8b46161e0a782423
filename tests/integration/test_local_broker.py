"""The local Kafka broker behaves as a real Kafka: round trips, transactions, restarts, errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from syncctl.local import free_port

REPO = Path(__file__).resolve().parents[2]
LIB_DIR = REPO / ".local" / "kafka" / "lib"


def consume_all(
    bootstrap: str, topic: str, expected: int, isolation: str = "read_committed"
) -> list[bytes]:
    """Read `topic` from the start until `expected` values arrived or the topic is drained."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": isolation,
        }
    )
    consumer.subscribe([topic])
    values: list[bytes] = []
    idle_polls = 0
    try:
        while len(values) < expected or idle_polls < 3:
            message = consumer.poll(1.0)
            if message is None:
                idle_polls += 1
                if idle_polls > 15:
                    break
                continue
            if message.error():
                raise KafkaException(message.error())
            idle_polls = 0
            values.append(message.value())
    finally:
        consumer.close()
    return values


def test_produce_and_consume_round_trip(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic()
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    sent = [f"message-{i}".encode() for i in range(50)]
    for value in sent:
        producer.produce(topic, value=value, key=b"k")
    assert producer.flush(30) == 0

    assert consume_all(kafka_bootstrap, topic, expected=len(sent)) == sent


def test_read_committed_sees_committed_transactions_and_never_aborted_ones(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic()
    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "transactional.id": f"tx-{uuid.uuid4().hex}"}
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, value=b"aborted-1")
    producer.produce(topic, value=b"aborted-2")
    producer.flush(30)
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, value=b"committed")
    producer.commit_transaction(30)

    assert consume_all(kafka_bootstrap, topic, expected=1) == [b"committed"]
    # The aborted records are really in the log: a read_uncommitted consumer sees them.
    assert consume_all(kafka_bootstrap, topic, expected=3, isolation="read_uncommitted") == [
        b"aborted-1",
        b"aborted-2",
        b"committed",
    ]


def start_broker_cli(data_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncctl",
            "broker",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--lib-dir",
            str(LIB_DIR),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()  # the CLI prints exactly one line once clients can connect
    assert "ready on" in line, (
        f"no ready line; stderr: {process.stderr.read() if process.stderr else ''}"
    )
    return line


def stop_with_sigterm(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(60)


def test_broker_cli_keeps_committed_data_across_a_clean_restart(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    broker = start_broker_cli(data_dir, port)
    try:
        line = wait_ready_line(broker)
        assert line.strip() == (
            f"Kafka 4.4.0 ready on 127.0.0.1:{port} "
            f"(data: {data_dir}, log: {data_dir / 'logs' / 'server.log'})"
        )
        bootstrap = f"127.0.0.1:{port}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("kept", 1, 1)])["kept"].result(30)
        producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "restart-test"})
        producer.init_transactions(30)
        producer.begin_transaction()
        producer.produce("kept", value=b"before-restart")
        producer.commit_transaction(30)
    finally:
        exit_code = stop_with_sigterm(broker)
    assert exit_code == 0

    broker = start_broker_cli(data_dir, port)
    try:
        wait_ready_line(broker)
        assert consume_all(f"127.0.0.1:{port}", "kept", expected=1) == [b"before-restart"]
    finally:
        assert stop_with_sigterm(broker) == 0


def test_broker_cli_on_a_taken_port_exits_2_and_names_the_port(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "syncctl",
                "broker",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "data"),
                "--lib-dir",
                str(LIB_DIR),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_broker_cli_refuses_a_data_dir_of_another_cluster(tmp_path: Path) -> None:
    data_dir = tmp_path / "foreign"
    data_dir.mkdir()
    (data_dir / "meta.properties").write_text("version=1\ncluster.id=someone-elses\nnode.id=3\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "syncctl",
            "broker",
            "--port",
            str(free_port()),
            "--data-dir",
            str(data_dir),
            "--lib-dir",
            str(LIB_DIR),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "formatted by another Kafka cluster" in result.stderr and "--fresh" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("java_home", ["/nonexistent-jdk"])
def test_broker_cli_without_java_says_what_to_install(tmp_path: Path, java_home: str) -> None:
    env = {**os.environ, "JAVA_HOME": java_home}
    result = subprocess.run(
        [sys.executable, "-m", "syncctl", "broker", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no `java` found" in result.stderr and "openjdk-17" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_cluster_id_that_starts_with_a_dash_still_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Random ids are URL-safe base64, so one in 32 starts with "-"; the formatter must not
    # take it for an option.
    from syncctl.local import broker as local_broker

    monkeypatch.setattr(local_broker, "new_cluster_id", lambda: "-dashFirstClusterId00w")
    with local_broker.LocalKafka(data_dir=tmp_path / "data", lib_dir=LIB_DIR) as kafka:
        assert (
            AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
            .list_topics(timeout=10)
            .brokers
        )
