"""The console's users file: what `add-user` writes, and who it lets in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncctl.console.users import UserDirectory, add_user, read_users
from syncctl.errors import ConfigError


def test_add_user_writes_a_private_file_that_checks_passwords(tmp_path: Path) -> None:
    path = tmp_path / "users"
    assert add_user(path, "alice", "operator", "correct horse") is False
    assert add_user(path, "bob", "viewer", "battery staple") is False
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert "correct horse" not in path.read_text()

    users = UserDirectory(path)
    assert users.check_password("alice", "correct horse") == users.get("alice")
    assert users.check_password("alice", "battery staple") is None
    assert users.check_password("nobody", "correct horse") is None
    assert users.get("bob") is not None and users.get("bob").role == "viewer"  # type: ignore[union-attr]


def test_adding_an_existing_user_replaces_it_and_the_console_sees_it_without_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "users"
    add_user(path, "alice", "viewer", "first password")
    users = UserDirectory(path)
    assert add_user(path, "alice", "operator", "second password", ("billing-",)) is True

    alice = users.check_password("alice", "second password")
    assert alice is not None and alice.role == "operator" and alice.job_prefixes == ("billing-",)
    assert users.check_password("alice", "first password") is None
    assert len(read_users(path)) == 1


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("alice:operator:*", "expected name:role:jobs:hash"),
        ("al ice:operator:*:$argon2id$x", "user name 'al ice'"),
        ("alice:admin:*:$argon2id$x", "role 'admin' is not one of viewer, operator"),
        ("alice:operator:*:plaintext", "must be argon2"),
    ],
)
def test_a_bad_line_names_the_file_line_and_problem(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = tmp_path / "users"
    path.write_text(f"# users\n{line}\n")
    with pytest.raises(ConfigError, match=f"{path}:2: .*") as error:
        read_users(path)
    assert problem in str(error.value)


def test_a_file_broken_while_running_keeps_the_users_it_had(tmp_path: Path) -> None:
    path = tmp_path / "users"
    add_user(path, "alice", "operator", "correct horse")
    users = UserDirectory(path)
    path.write_text("alice:oper")  # half-written by an editor
    assert users.check_password("alice", "correct horse") is not None


def test_add_user_refuses_short_passwords_and_odd_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 8"):
        add_user(tmp_path / "users", "alice", "operator", "short")
    with pytest.raises(ConfigError, match="user name"):
        add_user(tmp_path / "users", "alice:admin", "operator", "long enough")
    assert not (tmp_path / "users").exists()
