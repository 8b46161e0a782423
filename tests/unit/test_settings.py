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


def test_environment_variables_override_the_toml_file(
    toml_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    with pytest.raises(ConfigError, match=r"worker\.stop_deadline"):
        load_settings()


def test_engine_secrets_can_come_from_files_as_docker_and_kubernetes_mount_them(
    toml_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shop-password").write_text("s3cret-from-a-file\n")
    (tmp_path / "archive-uri").write_text("mongodb://copier:pw@mongo:27017/\n")
    toml_file.write_text(
        '[engine.sources.shop]\ndatabase = "shop"\nuser = "engine"\n'
        f'password_file = "{tmp_path / "shop-password"}"\n'
    )
    monkeypatch.setenv(
        "SYNCCTL_ENGINE__DESTINATIONS__ARCHIVE__URI_FILE", str(tmp_path / "archive-uri")
    )
    engine = load_settings().engine
    assert engine.sources["shop"].password.get_secret_value() == "s3cret-from-a-file"
    assert (
        engine.destinations["archive"].uri.get_secret_value() == "mongodb://copier:pw@mongo:27017/"
    )
    assert "s3cret" not in repr(engine)


@pytest.mark.parametrize(
    ("source", "said"),
    [
        (
            {"PASSWORD_FILE": "/nonexistent/password"},
            "cannot read password_file /nonexistent/password",
        ),
        ({"PASSWORD_FILE": "{empty}"}, "is empty"),
        (
            {"PASSWORD_FILE": "{empty}", "PASSWORD": "also-given"},
            "give password or password_file, not both",
        ),
    ],
)
def test_a_secrets_file_that_cannot_be_used_is_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: dict[str, str], said: str
) -> None:
    (tmp_path / "empty").write_text("")
    monkeypatch.setenv("SYNCCTL_ENGINE__SOURCES__SHOP__DATABASE", "shop")
    monkeypatch.setenv("SYNCCTL_ENGINE__SOURCES__SHOP__USER", "engine")
    for key, value in source.items():
        monkeypatch.setenv(
            f"SYNCCTL_ENGINE__SOURCES__SHOP__{key}",
            value.replace("{empty}", str(tmp_path / "empty")),
        )
    with pytest.raises(ConfigError, match=r"engine\.sources\.shop") as refused:
        load_settings()
    assert said in str(refused.value)


def test_the_engines_id_is_engine_id_and_its_first_name_is_still_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().engine.engine_id == "connect-engine"
    monkeypatch.setenv("SYNCCTL_ENGINE__RUNNER_ID", "old-name")
    assert load_settings().engine.engine_id == "old-name"
    monkeypatch.setenv("SYNCCTL_ENGINE__ENGINE_ID", "engine-7")
    monkeypatch.delenv("SYNCCTL_ENGINE__RUNNER_ID")
    assert load_settings().engine.engine_id == "engine-7"
