"""The console's built-in users: a file of argon2 password hashes, one user per line.

    # name:role:jobs:hash
    alice:operator:*:$argon2id$v=19$m=65536,t=3,p=4$...
    bob:viewer:*:$argon2id$...
    carol:operator:billing-,crm-:$argon2id$...

`jobs` is `*` (every job) or comma-separated job id prefixes: the jobs this user may stop (a
viewer stops none either way). `syncctl console add-user` writes the file; the console reads it
again when it changes, so adding a user needs no restart.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from syncctl.errors import ConfigError
from syncctl.logging import get_logger
from syncctl.settings import Role

log = get_logger(__name__)
USER_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
ROLES: tuple[Role, ...] = ("viewer", "operator")
_HASHER = PasswordHasher()
# Verified when the user does not exist, so that an unknown name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("syncctl: no such user")


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    job_prefixes: tuple[str, ...] = ()  # empty: every job
    password_hash: str = ""

    def line(self) -> str:
        jobs = ",".join(self.job_prefixes) or "*"
        return f"{self.name}:{self.role}:{jobs}:{self.password_hash}"


def parse_line(line: str, where: str) -> User | None:
    """One line of the file; None for blank lines and comments."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = text.split(":", 3)
    if len(parts) != 4:
        raise ConfigError(f"{where}: expected name:role:jobs:hash")
    name, role, jobs, password_hash = parts
    if not USER_NAME.match(name):
        raise ConfigError(f"{where}: user name {name!r} must be 1-64 of A-Z a-z 0-9 . _ @ -")
    if role not in ROLES:
        raise ConfigError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
    if not password_hash.startswith("$argon2"):
        raise ConfigError(
            f"{where}: the password hash must be argon2 (syncctl console add-user writes one)"
        )
    prefixes = () if jobs == "*" else tuple(prefix for prefix in jobs.split(",") if prefix)
    return User(name, role, prefixes, password_hash)  # type: ignore[arg-type]


def read_users(path: Path) -> dict[str, User]:
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise ConfigError(
            f"cannot read the console's users file {path}: {error.strerror}"
        ) from None
    users: dict[str, User] = {}
    for number, line in enumerate(lines, 1):
        user = parse_line(line, f"{path}:{number}")
        if user is not None:
            users[user.name] = user
    return users


def add_user(
    path: Path, name: str, role: Role, password: str, job_prefixes: tuple[str, ...] = ()
) -> bool:
    """Add `name` or replace its line; True if it replaced one. The file is private (0600)."""
    if not USER_NAME.match(name):
        raise ConfigError(f"user name {name!r} must be 1-64 of A-Z a-z 0-9 . _ @ -")
    if len(password) < 8:
        raise ConfigError("the password must have at least 8 characters")
    if any(":" in prefix or "," in prefix for prefix in job_prefixes):
        raise ConfigError("job prefixes cannot contain ':' or ','")
    user = User(name, role, job_prefixes, _HASHER.hash(password))
    existing = (
        path.read_text().splitlines()
        if path.exists()
        else ["# syncctl console users: name:role:jobs:hash"]
    )
    kept = [line for line in existing if not line.startswith(f"{name}:")]
    replaced = len(kept) != len(existing)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as output:
        output.write("\n".join([*kept, user.line()]) + "\n")
    os.replace(partial, path)
    return replaced


class UserDirectory:
    """The users file, read again whenever it changes on disk."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._users: dict[str, User] = {}
        self._refresh()  # a broken file stops the console at start, not at the first login

    def __len__(self) -> int:
        return len(self._refresh())

    def check_password(self, name: str, password: str) -> User | None:
        """The user if `password` is theirs; slow on purpose (argon2), whether or not they exist."""
        user = self._refresh().get(name)
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return user

    def get(self, name: str) -> User | None:
        return self._refresh().get(name)

    def _refresh(self) -> dict[str, User]:
        with self._lock:
            try:
                stat = self._path.stat()
                seen = (stat.st_mtime_ns, stat.st_size)
            except OSError:
                seen = None
            if seen != self._seen or self._seen is None:
                try:
                    self._users = read_users(self._path)
                except ConfigError:
                    if self._seen is None:
                        raise
                    # A half-edited file must not lock everybody out: keep the users it had.
                    log.error(
                        "console users file unreadable; keeping the previous users",
                        path=str(self._path),
                    )
                    return self._users
                self._seen = seen
            return self._users
