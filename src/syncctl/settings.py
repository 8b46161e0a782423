"""Every setting of syncctl, from (highest first) CLI options, `SYNCCTL_*` variables, and a TOML file.

Nested settings use `__` in variable names, e.g. `SYNCCTL_KAFKA__BOOTSTRAP_SERVERS`.
The TOML file is `config/syncctl.toml` under the working directory unless `SYNCCTL_CONFIG`
names another one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("config/syncctl.toml")


class BrokerSettings(BaseModel):
    """The local single-node Kafka that `syncctl broker` runs."""

    data_dir: Path = Field(Path(".local/kafka/data"), description="Where the broker keeps its data.")
    lib_dir: Path = Field(
        Path(".local/kafka/lib"), description="Cache of the Kafka jars fetched from Maven Central."
    )
    port: int = Field(9092, ge=1, le=65535, description="Client port on 127.0.0.1.")
    heap: str = Field("512m", pattern=r"^\d+[kKmMgG]$", description="JVM maximum heap (-Xmx).")


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
    base = Settings()
    merged = base.model_dump()
    _merge(merged, overrides)
    return Settings(**merged)


def _merge(target: dict[str, Any], overrides: dict[str, Any]) -> None:
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, dict):
            _merge(target.setdefault(key, {}), value)
        else:
            target[key] = value
