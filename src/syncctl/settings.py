"""Every setting of syncctl, from (highest first) CLI options, `SYNCCTL_*` variables, and a
TOML file.

Nested settings use `__` in variable names, e.g. `SYNCCTL_KAFKA__BOOTSTRAP_SERVERS`.
The TOML file is `config/syncctl.toml` under the working directory unless `SYNCCTL_CONFIG`
names another one.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from syncctl.contract import topics
from syncctl.errors import ConfigError

DEFAULT_CONFIG_FILE = Path("config/syncctl.toml")


class BrokerSettings(BaseModel):
    """The local single-node Kafka that `syncctl broker` runs."""

    data_dir: Path = Field(
        Path(".local/kafka/data"), description="Where the broker keeps its data."
    )
    lib_dir: Path = Field(
        Path(".local/kafka/lib"), description="Cache of the Kafka jars fetched from Maven Central."
    )
    port: int = Field(9092, ge=1, le=65535, description="Client port on 127.0.0.1.")
    heap: str = Field("512m", pattern=r"^\d+[kKmMgG]$", description="JVM maximum heap (-Xmx).")


class KafkaSettings(BaseModel):
    """How every syncctl client reaches Kafka, and proves who it is."""

    bootstrap_servers: str = Field("127.0.0.1:9092", description="host:port[,host:port...]")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How clients connect: SASL_SSL for SCRAM over TLS."
    )
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = Field(None, description="Never logged or printed.")
    ssl_ca_location: Path | None = Field(
        None, description="PEM file of the CA that signed the brokers' certificates."
    )
    ssl_certificate_location: Path | None = Field(
        None, description="Client certificate (mutual TLS)."
    )
    ssl_key_location: Path | None = Field(None, description="Client private key (mutual TLS).")
    ssl_key_password: SecretStr | None = None
    ssl_verify_hostname: bool = Field(
        True, description="Check that the broker's certificate names its host."
    )
    client_config: dict[str, str] = Field(
        default_factory=dict,
        description="Extra librdkafka properties for every client (they override the above).",
    )

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL_") and not (
            self.sasl_username and self.sasl_password
        ):
            raise ValueError(
                f"security_protocol {self.security_protocol} needs sasl_username and sasl_password"
            )
        return self


class TopicSettings(BaseModel):
    """Topic names, and how to create them when missing."""

    control: str = topics.CONTROL
    state: str = topics.STATE
    events: str = topics.EVENTS
    dlq: str = topics.DEAD_LETTERS
    partitions: int = Field(12, ge=1, description="Partitions of control and state when created.")
    replication_factor: int = Field(1, ge=1, description="Replication factor when created.")


class WorkerSettings(BaseModel):
    """The exactly-once stop worker."""

    group_id: str = Field("syncctl-worker", description="Consumer group shared by all workers.")
    instance_id: str = Field(
        default_factory=socket.gethostname,
        description="Stable name of this worker; its transactional.id is <group_id>-<instance_id>. "
        "Must differ between workers and stay the same across restarts of one worker.",
    )
    stop_deadline: float = Field(
        60.0,
        gt=0,
        le=31_536_000,
        description="Seconds an engine has to confirm a stop before it is forced (at most a year).",
    )
    stop_deadline_max: float = Field(
        600.0,
        gt=0,
        le=31_536_000,
        description="Seconds after the request beyond which a stop is forced even while the "
        "engine reports that its drain makes progress (each `draining` report moves the "
        "deadline to stop_deadline from then, up to this).",
    )
    batch_max: int = Field(
        2000,
        ge=1,
        description="Commit a transaction after this many messages (a backlog is worked off in "
        "big ones).",
    )
    commit_interval_ms: int = Field(
        100,
        ge=1,
        description="Commit at least this often (sooner when the input runs dry: "
        "docs/architecture.md, the loop).",
    )
    transaction_timeout_ms: int = Field(
        10_000, ge=1000, description="Broker aborts a transaction left open this long."
    )
    session_timeout_ms: int = Field(
        10_000,
        ge=1000,
        description="A worker that stopped heartbeating (killed, hung) loses its partitions "
        "after this; the broker refuses less than its group.min.session.timeout.ms (6 s unless "
        "lowered; `syncctl broker`: 1 s). Lower: faster takeover, more false ones under pauses.",
    )
    deadline_check_interval_ms: int = Field(250, ge=10)
    gc_freeze_interval_ms: int = Field(
        100,
        ge=0,
        description="Move long-lived objects (the store's records) out of the cyclic garbage "
        "collector's sight at most this often; 0: leave the collector as Python sets it up "
        "(docs/performance.md).",
    )
    history_limit: int = Field(256, ge=1, description="Command ids remembered per job.")
    ended_job_retention: float = Field(
        30 * 86_400.0,
        ge=0,
        description="Seconds an ended job's record (Snapshot cancelled, Completed, CDC Completed, "
        "Failed) is kept after it ended; then the worker removes it with a tombstone and a "
        "job_expired event, and its job id is free again. 0 keeps ended jobs for ever. Keep the "
        "events topic at least this long (docs/operations.md).",
    )
    shutdown_grace: float = Field(
        10.0,
        gt=0,
        description="Seconds SIGTERM/Ctrl-C allows to finish the open transaction and "
        "leave the group; past it the worker exits 1 and the next owner aborts what was left open.",
    )


class SigningSettings(BaseModel):
    """HMAC-signed commands (docs/security.md): who may stop a migration."""

    required: bool = Field(
        False, description="Workers refuse unsigned or badly signed commands (DLQ bad_signature)."
    )
    scope: Literal["operator", "all"] = Field(
        "operator",
        description="operator: create/terminate/complete_cdc must be signed; "
        "all: runner reports too.",
    )
    key_id: str | None = Field(None, description="Sign what this process sends with this key.")
    keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Key id -> secret (16+ characters); several during a rotation.",
    )

    @model_validator(mode="after")
    def _usable(self) -> SigningSettings:
        if self.key_id is not None and self.key_id not in self.keys:
            raise ValueError(f"signing.key_id {self.key_id!r} is not one of signing.keys")
        if self.required and not self.keys:
            raise ValueError("signing.required needs at least one key in signing.keys")
        short = [
            key_id for key_id, secret in self.keys.items() if len(secret.get_secret_value()) < 16
        ]
        if short:
            raise ValueError(f"signing keys must be at least 16 characters: {', '.join(short)}")
        return self

    def secrets(self) -> dict[str, str]:
        return {key_id: secret.get_secret_value() for key_id, secret in self.keys.items()}


class HttpSettings(BaseModel):
    """The worker's /healthz, /readyz and /metrics endpoints."""

    port: int | None = Field(
        None, ge=0, le=65535, description="Serve them on this port; off when unset."
    )
    host: str = Field("0.0.0.0", description="Address to listen on.")


class RunnerSettings(BaseModel):
    """The reference runner: a stand-in migration engine for demos and tests."""

    group_id: str = Field("syncctl-runner", description="Consumer group of the runners.")
    runner_id: str = Field("reference-runner", description="Sent as requested_by on reports.")
    rows_per_second: int = Field(5000, ge=1, description="Snapshot speed of each job.")
    tables_min: int = Field(3, ge=1)
    tables_max: int = Field(12, ge=1)
    snapshot_job_tables_min: int | None = Field(
        None, ge=1, description="Tables of a snapshot-mode job; unset: tables_min."
    )
    snapshot_job_tables_max: int | None = Field(
        None, ge=1, description="Tables of a snapshot-mode job; unset: tables_max."
    )
    rows_per_table_min: int = Field(2_000, ge=1)
    rows_per_table_max: int = Field(40_000, ge=1)
    cdc_events_per_second: int = Field(40, ge=0, description="Change events per second in CDC.")
    progress_interval: float = Field(1.0, gt=0, description="Seconds between progress reports.")
    start_delay: float = Field(0.5, ge=0, description="Seconds from creation to snapshot_started.")
    stop_delay: float = Field(2.0, ge=0, description="Seconds the engine takes to stop a job.")
    seed: int | None = Field(None, description="Seed for table sizes; random when unset.")


def _secret_from_file(values: Any, field: str) -> Any:
    """`<field>_file`: read the secret from a file (Docker or Kubernetes secrets), not a
    variable."""
    if not isinstance(values, dict) or not values.get(f"{field}_file"):
        return values
    if values.get(field):
        raise ValueError(f"give {field} or {field}_file, not both")
    path = Path(values[f"{field}_file"])
    try:
        secret = path.read_text().strip()
    except OSError as error:
        raise ValueError(f"cannot read {field}_file {path}: {error.strerror}") from None
    if not secret:
        raise ValueError(f"{field}_file {path} is empty")
    # The file is forgotten once read: settings are validated again after CLI overrides.
    return {**values, field: secret, f"{field}_file": None}


class SourceConnection(BaseModel):
    """A PostgreSQL database that jobs may copy from (Debezium connects with these)."""

    host: str = "127.0.0.1"
    port: int = Field(5432, ge=1, le=65535)
    database: str = Field(description="Database to read.")
    user: str = Field(
        description="A user with LOGIN and REPLICATION that owns (or may publish) the tables."
    )
    password: SecretStr = Field(description="Never logged, never in a Kafka message.")
    password_file: Path | None = Field(
        None, description="Read the password from this file instead."
    )
    connect_password: str | None = Field(
        None,
        description=(
            "What Kafka Connect gets instead of the password: a config provider reference such as "
            "${directory:/run/secrets:shop-password}, so that the password is not stored in "
            "Connect's config topic. The engine still connects with `password`."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _password_file(cls, values: Any) -> Any:
        return _secret_from_file(values, "password")


class DestinationConnection(BaseModel):
    """A MongoDB (or MongoDB-wire) server that jobs may copy into."""

    uri: SecretStr = Field(
        description="mongodb://[user:password@]host:port/ (may hold a password: never logged)."
    )
    uri_file: Path | None = Field(None, description="Read the URI from this file instead.")
    connect_uri: str | None = Field(
        None,
        description="What Kafka Connect gets instead of the URI: a config provider reference "
        "(see connect_password).",
    )
    document_id: Literal["key_document", "key_string"] = Field(
        "key_document",
        description=(
            "Each document's _id: key_document is the row's primary key as a document ({id: 1}), "
            "as the MongoDB connector's Debezium handler writes it; key_string is the key as a "
            'string ("1"; a composite key\'s values as a JSON array), which FerretDB can look up '
            "by index."
        ),
    )

    server: Literal["mongodb", "ferretdb"] = Field(
        "mongodb",
        description=(
            "What the destination is: mongodb gets the type map's BSON types; ferretdb (which "
            "cannot store Decimal128 or an array directly in an array) gets exact numbers as "
            "their text and such json values as their JSON text. docs/engine-connect.md."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _uri_file(cls, values: Any) -> Any:
        return _secret_from_file(values, "uri")


class EngineSettings(BaseModel):
    """The Kafka Connect engine (`syncctl runner --engine connect`): docs/engine-connect.md."""

    connect_url: str = Field(
        "http://127.0.0.1:8083",
        description="Kafka Connect's REST API: one worker's, or several of one cluster separated "
        "by commas (a call whose worker does not answer goes to the next).",
    )
    engine_id: str = Field(
        "connect-engine",
        # runner_id: its first name, still read.
        validation_alias=AliasChoices("engine_id", "runner_id"),
        description="Sent as requested_by on the engine's reports.",
    )
    group_id: str = Field(
        "syncctl-connect-engine", description="Consumer group of the engine's event reader."
    )
    instance_id: str = Field(
        default_factory=socket.gethostname,
        description="Stable name of this engine in its group (static membership: a restarted "
        "engine takes its jobs back at once). Must differ between engines of one group and stay "
        "the same across restarts of one engine.",
    )
    session_timeout: float = Field(
        10.0,
        ge=6,
        le=300,
        description="Seconds after which an engine that stopped answering (killed, cut off) "
        "loses its jobs to the other engines of its group.",
    )
    sources: dict[str, SourceConnection] = Field(
        default_factory=dict, description="Source connections by name."
    )
    destinations: dict[str, DestinationConnection] = Field(
        default_factory=dict, description="Destination connections by name."
    )
    poll_interval: float = Field(
        1.0, gt=0, description="Seconds between looks at Connect and the topics."
    )


Role = Literal["viewer", "operator"]


class ConsoleSettings(BaseModel):
    """The web console (`syncctl console`): who may see and stop jobs. docs/security.md#console."""

    host: str = Field(
        "127.0.0.1", description="Address to listen on; a non-loopback one needs authentication."
    )
    port: int = Field(8080, ge=1, le=65535, description="Port to serve on.")
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
        description="The URL browsers use (https://console.example.com/syncctl/); action requests "
        "must come from its origin. Default: http(s)://HOST:PORT/ for a loopback HOST.",
    )
    trusted_hosts: list[str] = Field(
        default_factory=list,
        description="Host names served besides public_url's "
        "(a request for any other Host gets 400).",
    )
    users_file: Path | None = Field(
        None,
        description="Built-in users: one `name:role:jobs:argon2-hash` per line "
        "(syncctl console add-user).",
    )
    proxy_user_header: str | None = Field(
        None,
        description="Trust this header (e.g. X-Forwarded-User) for the user name, "
        "from trusted_proxies only.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks of the authenticating reverse proxy.",
    )
    proxy_roles: dict[str, Role] = Field(
        default_factory=dict,
        description="Role of each proxy-authenticated user (others: proxy_default_role).",
    )
    proxy_default_role: Literal["viewer", "operator", "none"] = Field(
        "viewer",
        description="Role of a proxy-authenticated user not in proxy_roles; none refuses them.",
    )
    session_hours: float = Field(8.0, gt=0, le=24 * 30, description="A login lasts this long.")
    login_attempts: int = Field(
        5,
        ge=1,
        description="Failed logins allowed per user name and per client address in login_window.",
    )
    login_window: float = Field(
        300.0, gt=0, description="Seconds over which failed logins are counted."
    )
    tls_cert: Path | None = Field(
        None, description="Serve HTTPS with this PEM certificate (chain)."
    )
    tls_key: Path | None = Field(None, description="The certificate's PEM private key.")

    @model_validator(mode="after")
    def _coherent(self) -> ConsoleSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        if self.proxy_user_header and not self.trusted_proxies:
            raise ValueError("proxy_user_header needs trusted_proxies (the proxy's addresses)")
        return self

    @property
    def authenticates(self) -> bool:
        return self.users_file is not None or self.proxy_user_header is not None


class LogSettings(BaseModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto: readable on a terminal, JSON otherwise."
    )


def default_of(model: type[BaseModel], field: str) -> str:
    """A setting's default as help texts show it, read from the model (never copied by hand)."""
    value = model.model_fields[field].get_default(call_default_factory=False)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def config_file() -> Path:
    return Path(os.environ.get("SYNCCTL_CONFIG", DEFAULT_CONFIG_FILE))


class Settings(BaseSettings):
    """All of syncctl's settings; see docs/configuration in the README."""

    model_config = SettingsConfigDict(
        env_prefix="SYNCCTL_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    broker: BrokerSettings = BrokerSettings()
    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    worker: WorkerSettings = WorkerSettings()
    http: HttpSettings = HttpSettings()
    signing: SigningSettings = SigningSettings()
    runner: RunnerSettings = RunnerSettings()
    engine: EngineSettings = EngineSettings()
    console: ConsoleSettings = ConsoleSettings()
    log: LogSettings = LogSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file()))


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and the TOML file, with `overrides` (from the CLI) on top.

    Overrides are nested dicts, e.g. `{"broker": {"port": 9093}}`; `None` values are ignored so
    that CLI options left unset do not hide the environment.
    """
    try:
        merged = Settings().model_dump()
        _merge(merged, overrides)
        return Settings(**merged)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        raise ConfigError(
            f"invalid setting ({problems}); see config/syncctl.toml or SYNCCTL_* variables"
        ) from None


def _merge(target: dict[str, Any], overrides: dict[str, Any]) -> None:
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, dict):
            _merge(target.setdefault(key, {}), value)
        else:
            target[key] = value
