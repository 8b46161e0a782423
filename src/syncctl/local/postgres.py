"""A throwaway PostgreSQL server with logical decoding on, for Debezium, on 127.0.0.1.

Debian's `postgresql` package puts its server programs off PATH, under
/usr/lib/postgresql/<version>/bin. PostgreSQL refuses to run as root, so when this process is
root the server runs as the package's `postgres` user, in a data directory it owns.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from syncctl.errors import ServerError
from syncctl.local.broker import free_port

_SERVER_USER = "postgres"  # created by Debian's postgresql package


def find_postgres_bin() -> Path:
    """The folder of `initdb` and `pg_ctl`: the newest Debian install, else the one on PATH."""
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    if installed:
        return installed[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ServerError(
        "PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
        "apt-get install postgresql (macOS: brew install postgresql@15)"
    )


class LocalPostgres:
    """A PostgreSQL server for one test session or demo; `with LocalPostgres() as pg: pg.dsn()`.

    Its superuser is `postgres` with a generated password (TCP, SCRAM). `wal_level=logical`, so
    Debezium can create replication slots and publications.
    """

    def __init__(self, data_dir: Path | str | None = None, port: int = 0) -> None:
        self._temporary = data_dir is None
        self.base_dir = Path(data_dir or tempfile.mkdtemp(prefix="syncctl-postgres-")).resolve()
        self.port = port or free_port()
        self.password = secrets.token_urlsafe(16)
        self._bin = find_postgres_bin()

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    def dsn(
        self, database: str = "postgres", user: str = "postgres", password: str | None = None
    ) -> str:
        """A libpq connection string (psycopg takes it as is)."""
        secret = self.password if password is None and user == "postgres" else password
        return f"host=127.0.0.1 port={self.port} dbname={database} user={user} password={secret}"

    def start(self) -> LocalPostgres:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._give_to_server_user(self.base_dir)
        password_file = self.base_dir / "superuser-password"
        password_file.write_text(self.password + "\n")
        self._give_to_server_user(password_file)
        password_file.chmod(0o600)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        password_file.unlink()
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.data_dir}'\n"
                "wal_level = logical\nmax_replication_slots = 20\nmax_wal_senders = 20\n"
                # A throwaway server: durability is not what it is for.
                "fsync = off\nfull_page_writes = off\n"
            )
        (self.data_dir / "pg_hba.conf").write_text(
            "local all all trust\nlocal replication all trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
            "host replication all 127.0.0.1/32 scram-sha-256\n"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.base_dir / "postgres.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def restart(self) -> None:
        """A fast shutdown (sessions cut, as an operator's restart does) and a start again.

        A fast shutdown waits for each walsender to hand its WAL to its replication client; a
        client that is gone or stuck (a killed Connect worker's Debezium task) can hold it up
        to wal_sender_timeout. After 30 s the operator's next step is taken: an immediate stop
        (crash recovery at start), then a start."""
        log = str(self.base_dir / "postgres.log")
        data = str(self.data_dir)
        try:
            self._run("pg_ctl", "-D", data, "-l", log, "-m", "fast", "-w", "-t", "30", "restart")
        except ServerError:
            self._run("pg_ctl", "-D", data, "-m", "immediate", "-w", "-t", "60", "stop")
            self._run("pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "start")

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop", check=False)
        if self._temporary:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, program: str, *arguments: str, check: bool = True) -> None:
        command = [str(self._bin / program), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", _SERVER_USER, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=self.base_dir, timeout=120
        )
        if check and done.returncode != 0:
            log = self.base_dir / "postgres.log"
            detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            if log.exists():
                detail += log.read_text().strip().splitlines()[-3:]
            raise ServerError(
                f"PostgreSQL {program} failed (exit {done.returncode}): {' | '.join(detail)}"
            )

    def _give_to_server_user(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        try:
            user = pwd.getpwnam(_SERVER_USER)
        except KeyError:
            raise ServerError(
                "PostgreSQL refuses to run as root and there is no "
                f"{_SERVER_USER!r} user to run it as: "
                "install Debian's postgresql package (it creates the user), or run as another user"
            ) from None
        os.chown(path, user.pw_uid, user.pw_gid)
