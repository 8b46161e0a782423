"""A real single-node Apache Kafka (KRaft: broker and controller in one JVM) on 127.0.0.1.

Used by `syncctl broker`, by the test suite and by the benchmarks. The jars come from Maven
Central once (see `jars.py`); storage is formatted once per data dir; the broker runs as a child
process that is stopped with SIGTERM so that its data survives a restart.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from string import Template
from types import TracebackType

from confluent_kafka.admin import AdminClient

from syncctl.errors import BrokerError
from syncctl.local.jars import ensure_jars, kafka_config_dir, kafka_version
from syncctl.local.security import LocalSecurity

_MARKER = "syncctl-broker.json"
_MIN_JAVA = 17


def find_java() -> str:
    """Path of a `java` of version 17 or newer (JAVA_HOME first), or a BrokerError saying what
    to install."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    install_hint = (
        f"install a Java {_MIN_JAVA}+ runtime (Debian/Ubuntu: apt-get install "
        "openjdk-17-jre-headless; macOS: brew install openjdk@17) and make sure `java` is on "
        "PATH or JAVA_HOME is set"
    )
    if not java or not Path(java).exists():
        raise BrokerError(f"no `java` found: {install_hint}")
    result = subprocess.run([java, "-version"], capture_output=True, text=True)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        raise BrokerError(f"could not tell the version of {java}: {install_hint}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8" style versions
        major = int(match.group(2))
    if major < _MIN_JAVA:
        raise BrokerError(
            f"{java} is Java {major}, Kafka 4 needs {_MIN_JAVA} or newer: {install_hint}"
        )
    return java


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # Kafka binds with SO_REUSEADDR, so a port held only by TIME_WAIT sockets is usable.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def render_properties(node_dir: Path, **values: object) -> Path:
    """Write `node_dir/server.properties` from the template in config/kafka."""
    template = Template((kafka_config_dir() / "server.properties.template").read_text())
    node_dir.mkdir(parents=True, exist_ok=True)
    path = node_dir / "server.properties"
    values = {"listener": "PLAINTEXT", "security": "", **values}
    path.write_text(template.substitute(log_dirs=node_dir / "kraft", **values))
    return path


def spawn_broker(
    java: str, lib: Path, heap: str, properties: Path, log_dir: Path
) -> subprocess.Popen[bytes]:
    """Start one Kafka node (a JVM) in its own session, its output in `log_dir`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [
        java,
        f"-Xmx{heap}",
        "-Xms64m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={log_dir}",
        f"-Dlog4j2.configurationFile={kafka_config_dir() / 'log4j2.properties'}",
        "-cp",
        f"{lib}/*",
        "kafka.Kafka",
        str(properties),
    ]
    with open(log_dir / "stdout.log", "ab") as stdout:
        return subprocess.Popen(
            command, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True
        )


def new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _read_properties(path: Path) -> dict[str, str]:
    props = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            props[key.strip()] = value.strip()
    return props


class LocalKafka:
    """A local Kafka broker; use as a context manager or call `start()` / `stop()`.

    `port=0` picks a free port; `data_dir=None` uses a fresh temporary directory that is removed
    on `stop()`. Restarting on the same `data_dir` keeps every committed record. `secure=True`
    serves SASL_SSL (SCRAM-SHA-512 over TLS) instead of PLAINTEXT: see `security`; with
    `authorizer=True` as well, ACLs are enforced (users other than admin need them).
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        port: int = 0,
        lib_dir: Path | str = Path(".local/kafka/lib"),
        heap: str = "512m",
        fresh: bool = False,
        progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
        secure: bool = False,
        authorizer: bool = False,
    ) -> None:
        self._temporary = data_dir is None
        if data_dir is None:
            import tempfile

            data_dir = tempfile.mkdtemp(prefix="syncctl-kafka-")
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.lib_dir = Path(lib_dir).resolve()
        self.heap = heap
        self.fresh = fresh
        self.secure = secure
        self.authorizer = authorizer
        self.version = kafka_version()
        self._progress = progress
        self._process: subprocess.Popen[bytes] | None = None

    # -- public surface -------------------------------------------------------------------
    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def security(self) -> LocalSecurity | None:
        """The CA, certificate and SCRAM users of a secure broker (generated on first start)."""
        return LocalSecurity(self.data_dir / "security") if self.secure else None

    def client_config(self, user: str = "admin") -> dict[str, str]:
        """librdkafka properties for a client of this broker (as `user` when it is secure)."""
        security = self.security
        extra = security.client_config(user) if security else {}
        return {"bootstrap.servers": self.bootstrap_servers, **extra}

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "server.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 90.0) -> LocalKafka:
        """Start the broker and return once a client can fetch metadata from it."""
        java = find_java()
        if self.fresh:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.fresh = False
        controller_port = self._controller_port()
        for port, what in ((self.port, "client"), (controller_port, "controller")):
            if not port_is_free(port):
                raise BrokerError(
                    f"port {port} on 127.0.0.1 ({what} port) is already in use: stop whatever "
                    "holds it or choose another with --port"
                )
        lib = ensure_jars(self.lib_dir, self._progress)
        if self.secure:
            LocalSecurity.ensure(self.data_dir / "security")
        properties = self._render_properties(controller_port)
        self._format_once(java, lib, properties, controller_port)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._process = spawn_broker(java, lib, self.heap, properties, self.log_file.parent)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def terminate(self) -> None:
        """Ask the broker to shut down (SIGTERM) without waiting; `wait()` or `stop()` then reap
        it."""
        if self.running():
            assert self._process is not None
            self._process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker cleanly (SIGTERM, then SIGKILL after `timeout`)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def wait(self) -> int:
        """Block until the broker process exits; return its exit code."""
        assert self._process is not None
        return self._process.wait()

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------
    def _marker(self) -> dict[str, object] | None:
        path = self.data_dir / _MARKER
        return json.loads(path.read_text()) if path.is_file() else None

    def _controller_port(self) -> int:
        # The controller's address is written into the metadata log at format time, so a data
        # dir keeps the controller port it was formatted with.
        marker = self._marker()
        if marker is not None:
            return int(marker["controller_port"])  # type: ignore[arg-type]
        return self.port + 1 if port_is_free(self.port + 1) else free_port()

    def _render_properties(self, controller_port: int) -> Path:
        security = self.security
        return render_properties(
            self.data_dir,
            node_id=1,
            port=self.port,
            controller_port=controller_port,
            quorum=f"127.0.0.1:{controller_port}",
            replication_factor=1,
            min_isr=1,
            listener="SASL_SSL" if security else "PLAINTEXT",
            security=security.broker_properties(self.authorizer) if security else "",
        )

    def _format_once(self, java: str, lib: Path, properties: Path, controller_port: int) -> None:
        marker = self._marker()
        for meta in (
            self.data_dir / "meta.properties",
            self.data_dir / "kraft" / "meta.properties",
        ):
            if not meta.is_file():
                continue
            found = _read_properties(meta)
            if marker is None or found.get("cluster.id") != marker["cluster_id"]:
                raise BrokerError(
                    f"{self.data_dir} was formatted by another Kafka cluster "
                    f"(cluster.id={found.get('cluster.id')}, node.id={found.get('node.id')}): "
                    "choose another --data-dir, or pass --fresh to wipe it"
                )
        if marker is not None:
            if bool(marker.get("secure", False)) != self.secure:
                formatted = "with" if marker.get("secure") else "without"
                raise BrokerError(
                    f"{self.data_dir} was formatted {formatted} --secure (its users live in the "
                    "metadata log): start it the same way, or pass --fresh to wipe it"
                )
            return
        cluster_id = new_cluster_id()
        security = self.security
        result = subprocess.run(
            [
                java,
                "-cp",
                f"{lib}/*",
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",
                "-c",
                str(properties),
                "--standalone",
                *(security.scram_arguments() if security else []),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BrokerError(f"could not format {self.data_dir}:\n{result.stdout}{result.stderr}")
        (self.data_dir / _MARKER).write_text(
            json.dumps(
                {
                    "cluster_id": cluster_id,
                    "controller_port": controller_port,
                    "secure": self.secure,
                }
            )
        )

    def _wait_ready(self, timeout: float) -> None:
        def still_starting() -> None:
            if not self.running():
                tail = self.log_file.read_text()[-3000:] if self.log_file.exists() else ""
                raise BrokerError(
                    f"Kafka exited while starting; last lines of {self.log_file}:\n{tail}"
                )

        if not wait_for_broker(
            self.bootstrap_servers, timeout, still_starting, self.client_config()
        ):
            raise BrokerError(
                f"Kafka did not become ready within {timeout:.0f} s; see {self.log_file}"
            )


def wait_for_broker(
    bootstrap_servers: str,
    timeout: float,
    check: Callable[[], None] = lambda: None,
    client_config: dict[str, str] | None = None,
) -> bool:
    """True once a client can fetch metadata listing a broker; False after `timeout` seconds.

    `check` runs between attempts and may raise to give up early (e.g. the process died).
    """
    admin = AdminClient(
        {"bootstrap.servers": bootstrap_servers, **(client_config or {}), "log_level": 0}
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check()
        try:
            if admin.list_topics(timeout=2).brokers:
                return True
        except Exception:  # not ready yet; any client error means "retry"
            pass
        time.sleep(0.2)
    return False
