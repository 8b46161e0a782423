"""docker-compose.yml gives a user a Kafka 4 broker with a healthcheck and the syncctl worker."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from syncctl.cli.demo import DEMO_TABLES
from syncctl.console.access import PublicAddress, check_exposure
from syncctl.console.users import UserDirectory
from syncctl.settings import ConsoleSettings

REPO = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_runs_a_kafka_4_kraft_broker_with_a_healthcheck() -> None:
    kafka = compose()["services"]["kafka"]
    image, _, tag = kafka["image"].partition(":")
    assert image == "apache/kafka" and tag.startswith("4.")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["healthcheck"]["test"]


def test_compose_worker_is_built_from_the_repo_and_waits_for_a_healthy_broker() -> None:
    worker = compose()["services"]["worker"]
    assert (
        REPO / worker["build"]["context"] / worker["build"].get("dockerfile", "Dockerfile")
    ).is_file()
    assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert worker["environment"]["SYNCCTL_KAFKA__BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_compose_runs_the_same_demo_as_make_run() -> None:
    services = compose()["services"]
    assert services["runner"]["command"][0] == "runner"
    assert services["demo-jobs"]["command"] == ["demo", "--create-jobs-only"]
    assert services["console"]["command"][0] == "console"
    assert "127.0.0.1:8080:8080" in services["console"]["ports"]
    for name in ("worker", "runner", "console", "demo-jobs"):
        assert services[name]["environment"]["SYNCCTL_KAFKA__BOOTSTRAP_SERVERS"] == "kafka:9092"
    runner_env = services["runner"]["environment"]
    assert {k: v for k, v in runner_env.items() if k.startswith("SYNCCTL_RUNNER__")} == DEMO_TABLES


def test_the_compose_console_listens_on_the_network_only_behind_its_login() -> None:
    document = compose()
    console = document["services"]["console"]
    command = console["command"]
    settings = ConsoleSettings(
        host=command[command.index("--host") + 1],
        users_file=Path(command[command.index("--users-file") + 1]),
        public_url=command[command.index("--public-url") + 1],
    )
    check_exposure(settings)  # would raise for 0.0.0.0 without a login
    assert PublicAddress.of(settings).origins == {"http://127.0.0.1:8080"}
    assert console["secrets"] == ["console-users"]
    users_file = REPO / document["secrets"]["console-users"]["file"]
    demo = UserDirectory(users_file).check_password("demo", "syncctl-demo")
    assert demo is not None and demo.role == "operator", "the documented compose login must work"


def _compose_commands() -> list[list[str]]:
    """Every Compose installed here: Debian's docker-compose (1.29) and the v2 plugin."""
    found = []
    if legacy := shutil.which("docker-compose"):
        found.append([legacy])
    docker = shutil.which("docker")
    plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True)
    if plugin and plugin.returncode == 0:
        found.append([docker, "compose"])
    return found


@pytest.mark.parametrize("compose_file", ["docker-compose.yml", "docker-compose.connect.yml"])
def test_compose_files_are_valid_for_every_installed_compose(compose_file: str) -> None:
    commands = _compose_commands()
    if not commands and os.environ.get("SYNCCTL_COMPOSE_REQUIRED") != "1":
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    assert commands, "CI installs Debian's docker-compose: it must be on PATH"
    for command in commands:
        result = subprocess.run(
            [*command, "-f", compose_file, "config", "--quiet"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{' '.join(command)}: {result.stderr}"


def test_the_connect_stack_runs_kafka_worker_and_console_exactly_as_the_demo_does() -> None:
    """The connect file carries its own copies (Compose 1.29 cannot extend them): no drift."""
    demo = compose()
    connect = yaml.safe_load((REPO / "docker-compose.connect.yml").read_text())
    for name in ("kafka", "worker", "console"):
        assert connect["services"][name] == demo["services"][name], name
    assert connect["secrets"]["console-users"] == demo["secrets"]["console-users"]


def test_the_connect_compose_file_runs_the_real_engine_and_no_simulated_runner() -> None:
    services = yaml.safe_load((REPO / "docker-compose.connect.yml").read_text())["services"]
    assert "runner" not in services, "the reference runner would race the engine for the same jobs"
    assert services["engine"]["command"][:3] == ["runner", "--engine", "connect"]
    assert (REPO / services["connect"]["build"]["dockerfile"]).is_file()
    assert "wal_level=logical" in services["postgres"]["command"]
    mounted = services["postgres"]["volumes"][0].split(":")[0]
    assert (REPO / mounted).is_file(), mounted


def test_the_connect_compose_file_keeps_the_source_password_out_of_variables_and_ports() -> None:
    compose_file = yaml.safe_load((REPO / "docker-compose.connect.yml").read_text())
    services = compose_file["services"]
    engine_env = services["engine"]["environment"]
    assert "SYNCCTL_ENGINE__SOURCES__SHOP__PASSWORD" not in engine_env
    assert (
        engine_env["SYNCCTL_ENGINE__SOURCES__SHOP__PASSWORD_FILE"] == "/run/secrets/shop-password"
    )
    assert (
        services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"]
        == "/run/secrets/shop-password"
    )
    assert (REPO / compose_file["secrets"]["shop-password"]["file"]).is_file()
    assert "ports" not in services["connect"], "Kafka Connect's REST API has no authentication"
    # Connect resolves the password from the same secret: its config topic holds only a reference.
    assert (
        engine_env["SYNCCTL_ENGINE__SOURCES__SHOP__CONNECT_PASSWORD"]
        == "$${directory:/run/secrets:shop-password}"
    )
    assert "shop-password" in services["connect"]["secrets"]
