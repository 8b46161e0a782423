"""A local multi-node Kafka cluster (KRaft, every node broker and controller) on loopback.

For failure tests: topics get three replicas with two in sync by default, so any one node can
be killed, paused or restarted without losing a committed write.
"""

from __future__ import annotations

import base64
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from syncctl.errors import BrokerError
from syncctl.local.broker import (
    find_java,
    free_port,
    new_cluster_id,
    port_is_free,
    render_properties,
    spawn_broker,
    wait_for_broker,
)
from syncctl.local.jars import ensure_jars, kafka_version

_MARKER = "syncctl-cluster.json"


def _directory_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass
class ClusterNode:
    """One JVM of the cluster; kill, pause and restart it to make trouble."""

    node_id: int
    port: int
    controller_port: int
    directory_id: str
    data_dir: Path
    _start: Callable[[ClusterNode], subprocess.Popen[bytes]] = field(repr=False)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "server.log"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if not self.running():
            self.process = self._start(self)

    def kill(self) -> None:
        """SIGKILL: a crash, with no clean shutdown."""
        if self.process is not None and self.running():
            self.process.kill()
            self.process.wait()

    def pause(self) -> None:
        """SIGSTOP: the node hangs (as in a long GC pause or a frozen VM) but keeps its sockets."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is not None and self.running():
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


class LocalKafkaCluster:
    """`nodes` Kafka nodes on 127.0.0.1; use as a context manager or `start()` / `stop()`."""

    def __init__(
        self,
        nodes: int = 3,
        data_dir: Path | str | None = None,
        port: int = 0,
        lib_dir: Path | str = Path(".local/kafka/lib"),
        heap: str = "384m",
        fresh: bool = False,
        min_insync_replicas: int | None = None,
        progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    ) -> None:
        if nodes < 2:
            raise BrokerError("a cluster has at least 2 nodes; use LocalKafka for one")
        self._temporary = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="syncctl-cluster-")).resolve()
        if fresh:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        self.lib_dir = Path(lib_dir).resolve()
        self.heap = heap
        self.replication_factor = min(3, nodes)
        self.min_isr = min_insync_replicas or max(1, self.replication_factor - 1)
        self.version = kafka_version()
        self._progress = progress
        self._java = ""
        self._lib = self.lib_dir
        self.nodes = self._plan(nodes, port)

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.address for node in self.nodes)

    def node(self, node_id: int) -> ClusterNode:
        return self.nodes[node_id - 1]

    def start(self, timeout: float = 120.0) -> LocalKafkaCluster:
        self._java = find_java()
        for node in self.nodes:
            for port in (node.port, node.controller_port):
                if not port_is_free(port):
                    raise BrokerError(
                        f"port {port} on 127.0.0.1 is already in use: choose another with --port"
                    )
        self._lib = ensure_jars(self.lib_dir, self._progress)
        self._format_once()
        for node in self.nodes:
            node.start()
        try:
            self.wait_until_complete(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_until_complete(self, timeout: float = 120.0) -> None:
        """Return once every node is registered and serving."""
        from confluent_kafka.admin import AdminClient

        def check() -> None:
            for node in self.nodes:
                if node.process is not None and node.process.poll() is not None:
                    raise BrokerError(f"Kafka node {node.node_id} exited; see {node.log_file}")

        if not wait_for_broker(self.bootstrap_servers, timeout, check):
            raise BrokerError(f"the cluster did not become ready within {timeout:.0f} s")
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        import time

        deadline = time.monotonic() + timeout
        while len(admin.list_topics(timeout=5).brokers) < len(self.nodes):
            check()
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"not every node of the cluster registered within {timeout:.0f} s"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        if self._temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalKafkaCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------
    def _plan(self, count: int, port: int) -> list[ClusterNode]:
        marker = self.data_dir / _MARKER
        if marker.is_file():
            saved = json.loads(marker.read_text())["nodes"]
            if len(saved) != count:
                raise BrokerError(
                    f"{self.data_dir} holds a {len(saved)}-node cluster; "
                    f"use --nodes {len(saved)} or --fresh"
                )
            specs = [(n["port"], n["controller_port"], n["directory_id"]) for n in saved]
        elif port:
            specs = [(port + 2 * i, port + 2 * i + 1, _directory_id()) for i in range(count)]
        else:
            specs = [(free_port(), free_port(), _directory_id()) for _ in range(count)]
        return [
            ClusterNode(i + 1, p, c, d, self.data_dir / f"node-{i + 1}", self._spawn)
            for i, (p, c, d) in enumerate(specs)
        ]

    def _quorum(self) -> str:
        return ",".join(f"127.0.0.1:{node.controller_port}" for node in self.nodes)

    def _properties(self, node: ClusterNode) -> Path:
        return render_properties(
            node.data_dir,
            node_id=node.node_id,
            port=node.port,
            controller_port=node.controller_port,
            quorum=self._quorum(),
            replication_factor=self.replication_factor,
            min_isr=self.min_isr,
        )

    def _spawn(self, node: ClusterNode) -> subprocess.Popen[bytes]:
        return spawn_broker(
            self._java, self._lib, self.heap, self._properties(node), node.log_file.parent
        )

    def _format_once(self) -> None:
        marker = self.data_dir / _MARKER
        if marker.is_file():
            return
        cluster_id = new_cluster_id()
        voters = ",".join(
            f"{node.node_id}@127.0.0.1:{node.controller_port}:{node.directory_id}"
            for node in self.nodes
        )
        for node in self.nodes:
            result = subprocess.run(
                [
                    self._java,
                    "-cp",
                    f"{self._lib}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    f"--cluster-id={cluster_id}",
                    "-c",
                    str(self._properties(node)),
                    f"--initial-controllers={voters}",
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise BrokerError(
                    f"could not format node {node.node_id}:\n{result.stdout}{result.stderr}"
                )
        marker.write_text(
            json.dumps(
                {
                    "cluster_id": cluster_id,
                    "nodes": [
                        {
                            "port": n.port,
                            "controller_port": n.controller_port,
                            "directory_id": n.directory_id,
                        }
                        for n in self.nodes
                    ],
                }
            )
        )
