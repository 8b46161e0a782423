"""The local 3-node cluster keeps committed data when a node dies, and starts from the CLI."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from tests.integration.harness import wait_until
from tests.integration.test_local_broker import consume_all

from syncctl.local import LocalKafkaCluster, free_port

REPO = Path(__file__).resolve().parents[2]
LIB_DIR = REPO / ".local" / "kafka" / "lib"


def commit(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"tx-{uuid.uuid4()}"})
    producer.init_transactions(60)
    producer.begin_transaction()
    for value in values:
        producer.produce(topic, value=value)
    producer.commit_transaction(60)


def test_killing_a_node_loses_no_committed_record_and_writes_go_on() -> None:
    with LocalKafkaCluster(3, lib_dir=LIB_DIR) as cluster:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers})
        admin.create_topics([NewTopic("replicated", 3)])["replicated"].result(60)
        found = {}

        def described() -> bool:
            # Right after creation a node may answer before it has the new topic's metadata.
            topic = admin.list_topics("replicated", timeout=30).topics["replicated"]
            found.update(topic.partitions)
            return len(topic.partitions) == 3 and all(
                p.leader >= 0 for p in topic.partitions.values()
            )

        wait_until(described, 60, "metadata of the new topic on every partition")
        assert all(len(p.replicas) == 3 for p in found.values())
        commit(cluster.bootstrap_servers, "replicated", [b"before-1", b"before-2"])

        leader = found[0].leader
        cluster.node(leader).kill()
        commit(cluster.bootstrap_servers, "replicated", [b"while-one-is-down"])

        values = consume_all(cluster.bootstrap_servers, "replicated", expected=3)
        assert sorted(values) == [b"before-1", b"before-2", b"while-one-is-down"]
        cluster.node(leader).start()
        cluster.wait_until_complete()


def test_broker_cli_starts_a_three_node_cluster_and_stops_it_cleanly(tmp_path: Path) -> None:
    port = free_port()
    broker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncctl",
            "broker",
            "--nodes",
            "3",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "cluster"),
            "--lib-dir",
            str(LIB_DIR),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert broker.stdout is not None
        line = broker.stdout.readline()
        addresses = ",".join(f"127.0.0.1:{port + 2 * n}" for n in range(3))
        assert line.startswith(f"Kafka 4.4.0 ready on {addresses} (3 nodes"), line
        brokers = AdminClient({"bootstrap.servers": addresses}).list_topics(timeout=30).brokers
        assert sorted(brokers) == [1, 2, 3]
    finally:
        broker.send_signal(signal.SIGTERM)
        assert broker.wait(120) == 0
