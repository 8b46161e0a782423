"""A Kafka Connect worker (distributed mode) on 127.0.0.1, from Maven Central jars, with the
Debezium PostgreSQL connector and the MongoDB sink connector as plugins. No Docker.

Two adjustments make the published jars work together, both applied once when the plugin
folders are filled:
- Debezium 3.6.1 calls `org.apache.kafka.common.utils.Sanitizer`, which Kafka 4.4 moved; its
  plugin folder gets a jar with only that class, cut from kafka-clients 4.3.0 (the Kafka that
  Debezium 3.6.1 was built against).
- The MongoDB connector's jar declares no ServiceLoader entries; a small jar adds them, so the
  worker can find plugins by `plugin.discovery=service_load` instead of scanning every class.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import httpx

from syncctl.errors import ServerError
from syncctl.local.broker import find_java, free_port, port_is_free
from syncctl.local.jars import fetch_jars
from syncctl.local.transforms import ensure_transforms

DEBEZIUM_POSTGRES = "io.debezium.connector.postgresql.PostgresConnector"
MONGODB_SINK = "com.mongodb.kafka.connect.MongoSinkConnector"
_SANITIZER = "org/apache/kafka/common/utils/Sanitizer.class"


def connect_config_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "config" / "connect"


def _sanitizer_shim(plugin_dir: Path) -> None:
    donor = next(plugin_dir.glob("kafka-clients-*.jar"))
    with zipfile.ZipFile(donor) as jar:
        compiled = jar.read(_SANITIZER)
    # A whole kafka-clients in the plugin folder would shadow the worker's and re-register its
    # config providers as plugins: keep the one class only.
    with zipfile.ZipFile(plugin_dir / "kafka-sanitizer-shim.jar", "w") as shim:
        shim.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        shim.writestr(_SANITIZER, compiled)
    donor.unlink()


def _mongodb_service_entries(plugin_dir: Path) -> None:
    with zipfile.ZipFile(plugin_dir / "mongo-kafka-connect-services.jar", "w") as services:
        services.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        services.writestr(
            "META-INF/services/org.apache.kafka.connect.sink.SinkConnector", MONGODB_SINK + "\n"
        )
        services.writestr(
            "META-INF/services/org.apache.kafka.connect.source.SourceConnector",
            "com.mongodb.kafka.connect.MongoSourceConnector\n",
        )


def ensure_connect_jars(
    cache_dir: Path = Path(".local/connect"),
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> tuple[Path, Path]:
    """(the worker's lib folder, plugin.path), fetched from Maven Central once."""
    config = connect_config_dir()
    lib = fetch_jars(
        config / "runtime", cache_dir / "lib", "Kafka Connect 4.4.0", progress, ServerError
    )
    plugins = cache_dir / "plugins"
    fetch_jars(
        config / "debezium-postgres",
        plugins / "debezium-postgres",
        "the Debezium PostgreSQL connector 3.6.1.Final",
        progress,
        ServerError,
        _sanitizer_shim,
    )
    fetch_jars(
        config / "mongodb",
        plugins / "mongodb",
        "the MongoDB Kafka connector 2.0.1",
        progress,
        ServerError,
        _mongodb_service_entries,
    )
    ensure_transforms(config / "transforms", lib, plugins / "syncctl-transforms")
    return lib, plugins


_PROVIDERS = "org.apache.kafka.common.config.provider"


class LocalConnect:
    """A Kafka Connect worker for `bootstrap_servers`; `url` is its REST API once started."""

    def __init__(
        self,
        bootstrap_servers: str,
        data_dir: Path | str | None = None,
        port: int = 0,
        cache_dir: Path = Path(".local/connect"),
        heap: str = "512m",
        group_id: str = "syncctl-connect",
        host: str = "127.0.0.1",
        rebalance_delay: float = 5.0,
        progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self._temporary = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="syncctl-connect-")).resolve()
        self.port = port or free_port()
        self.cache_dir = cache_dir.resolve()
        self.heap = heap
        self.group_id = group_id
        self.host = host
        self.rebalance_delay = rebalance_delay
        self._progress = progress
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "connect.log"

    def start(self, timeout: float = 180.0) -> LocalConnect:
        if not port_is_free(self.port):
            raise ServerError(f"port {self.port} on 127.0.0.1 is taken: choose another with --port")
        lib, plugins = ensure_connect_jars(self.cache_dir, self._progress)
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        properties = self.data_dir / "worker.properties"
        properties.write_text(
            "\n".join(
                [
                    f"bootstrap.servers={self.bootstrap_servers}",
                    f"group.id={self.group_id}",
                    f"config.storage.topic={self.group_id}-configs",
                    f"offset.storage.topic={self.group_id}-offsets",
                    f"status.storage.topic={self.group_id}-status",
                    "config.storage.replication.factor=1",
                    "offset.storage.replication.factor=1",
                    "status.storage.replication.factor=1",
                    "offset.storage.partitions=1",
                    "status.storage.partitions=1",
                    "key.converter=org.apache.kafka.connect.json.JsonConverter",
                    "value.converter=org.apache.kafka.connect.json.JsonConverter",
                    f"plugin.path={plugins}",
                    "plugin.discovery=service_load",
                    f"listeners=http://{self.host}:{self.port}",
                    "rest.advertised.host.name="
                    f"{socket.gethostname() if self.host == '0.0.0.0' else self.host}",
                    f"rest.advertised.port={self.port}",
                    # Source offsets reach Kafka within 0.2 s (a restarted worker replays
                    # little), and sinks commit theirs as often: that is how the engine sees a
                    # drain end.
                    "offset.flush.interval.ms=200",
                    # A worker that leaves its group (killed: after its 10 s session) has its
                    # tasks moved to the others after this delay (Connect's default waits 5
                    # minutes for it to come back, longer than any stop's deadline).
                    f"scheduled.rebalance.max.delay.ms={int(self.rebalance_delay * 1000)}",
                    # Connector configs may hold ${directory:DIR:FILE}, ${file:PATH:KEY} or
                    # ${env:NAME} instead of secrets (the engine's connect_password and
                    # connect_uri).
                    "config.providers=directory,file,env",
                    f"config.providers.directory.class={_PROVIDERS}.DirectoryConfigProvider",
                    f"config.providers.file.class={_PROVIDERS}.FileConfigProvider",
                    f"config.providers.env.class={_PROVIDERS}.EnvVarConfigProvider",
                    "",
                ]
            )
        )
        command = [
            find_java(),
            f"-Xmx{self.heap}",
            "-Xms128m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={logs}",
            f"-Dlog4j2.configurationFile={connect_config_dir() / 'log4j2.properties'}",
            "-cp",
            f"{lib.resolve()}/*",
            "org.apache.kafka.connect.cli.ConnectDistributed",
            str(properties),
        ]
        with open(logs / "stdout.log", "ab") as stdout:
            self._process = subprocess.Popen(
                command, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready(timeout)
        return self

    def plugins(self) -> set[str]:
        response = httpx.get(f"{self.url}/connector-plugins", timeout=5)
        response.raise_for_status()
        return {plugin["class"] for plugin in response.json()}

    def _wait_ready(self, timeout: float) -> None:
        """Ready: the REST API answers and lists both connectors (a worker answers before it
        has joined its group; creating connectors then fails)."""
        deadline = time.monotonic() + timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ServerError(
                    f"Kafka Connect exited ({self._process.returncode}); see {self.log_file}"
                )
            try:
                if {DEBEZIUM_POSTGRES, MONGODB_SINK} <= self.plugins() and httpx.get(
                    f"{self.url}/connectors", timeout=5
                ).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(
                    f"Kafka Connect was not ready on {self.url} within {timeout:.0f} s; "
                    f"see {self.log_file}"
                )
            time.sleep(0.5)

    def wait(self) -> int:
        """Block until the worker exits; its exit code."""
        assert self._process is not None
        return self._process.wait()

    def terminate(self) -> None:
        """Ask the worker to stop (it leaves its group and stops its connectors' tasks)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, keeping its data dir and port: `start()` brings the same worker back."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)
        self._process = None

    def stop(self, timeout: float = 30.0) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        self._process = None
        if self._temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalConnect:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
