"""Settings come from CLI options, then SYNCCTL_* variables, then the TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncctl.errors import ConfigError
from syncctl.settings import load_settings


@pytest.fixture
def toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "syncctl.toml"
    path.write_text(
        '[kafka]\nbootstrap_servers = "from-toml:9092"\n'
        '[worker]\nstop_deadline = 30\ngroup_id = "toml-group"\n'
    )
    monkeypatch.setenv("SYNCCTL_CONFIG", str(path))
    return path


def test_the_toml_file_sets_values(toml_file: Path) -> None:
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == "from-toml:9092"
    assert settings.worker.stop_deadline == 30
    assert settings.topics.control == "syncjobs.control"


def test_environment_variables_override_the_toml_file(toml_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCCTL_KAFKA__BOOTSTRAP_SERVERS", "from-env:9092")
    monkeypatch.setenv("SYNCCTL_TOPICS__PARTITIONS", "3")
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == "from-env:9092"
    assert settings.topics.partitions == 3
    assert settings.worker.group_id == "toml-group"


def test_cli_options_override_both_and_unset_options_hide_nothing(
    toml_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCCTL_WORKER__GROUP_ID", "env-group")
    settings = load_settings(worker={"stop_deadline": 5.0, "group_id": None})
    assert settings.worker.stop_deadline == 5.0
    assert settings.worker.group_id == "env-group"


def test_a_bad_value_is_refused_with_the_setting_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCCTL_WORKER__STOP_DEADLINE", "-1")
    with pytest.raises(ConfigError, match="worker.stop_deadline"):
        load_settings()
