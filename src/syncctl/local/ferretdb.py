"""FerretDB: a MongoDB-wire server over SQLite, standing in for MongoDB where there is no Docker.

No MongoDB server comes from the package registries this project may use; FerretDB 1.24.2
(Apache-2.0) does, as Go source. `go install` gives a binary that panics at start (its version
file is empty in the module), so it is built from the module source with the version written,
once, and cached (about 2 minutes on 2 cores).

Two lines are patched in the build, both found running the MongoDB sink against it:
- its SQLite backend looks documents up by `_ferretdb_sjson->'$._id'` while its unique `_id`
  index is on `_ferretdb_sjson->"_id"`, so SQLite never uses the index and every upsert or
  delete by `_id` scans the whole collection (a 5,000-document load ran at 150 documents/s and
  fell as the collection grew; patched, about 8,000/s whatever the size);
- an `update` command closes each statement's query only when the whole command ends
  (`defer` in a loop), and each open query holds one of the database's 100 SQLite connections:
  one bulk write that replaces about 100 existing documents then waits for a connection forever.
  Each query is closed once its statement is done.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from syncctl.errors import ServerError
from syncctl.local.broker import free_port

FERRETDB_VERSION = "v1.24.2"
_MODULE = "github.com/FerretDB/FerretDB"
# Part of the cached binary's name: a change to the patch builds a new binary.
_PATCH_LEVEL = "syncctl2"
# (file, the text as published, the text built) for each patch.
_PATCHES = (
    (
        "internal/backends/sqlite/metadata/metadata.go",
        "IDColumn = DefaultColumn + \"->'$._id'\"",
        'IDColumn = DefaultColumn + `->"_id"`',
    ),
    (
        "internal/handler/msg_update.go",
        "\t\tdefer closer.Close()\n",
        "",
    ),
    (
        "internal/handler/msg_update.go",
        '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n',
        '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n'
        "\t\tcloser.Close()\n",
    ),
)


def ensure_ferretdb(
    cache_dir: Path = Path(".local/ferretdb"),
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> Path:
    """The cached FerretDB binary, built from the Go module source first when missing."""
    binary = cache_dir.resolve() / f"ferretdb-{FERRETDB_VERSION}-{_PATCH_LEVEL}"
    if binary.is_file():
        return binary
    go = shutil.which("go")
    if go is None:
        raise ServerError(
            f"no FerretDB binary at {binary} and no `go` to build it: install Go 1.22 or newer"
        )
    progress(
        f"Building FerretDB {FERRETDB_VERSION} from its Go module into {binary} "
        "(one time, about 2 minutes)..."
    )
    downloaded = _go(go, "mod", "download", "-json", f"{_MODULE}@{FERRETDB_VERSION}")
    source = Path(json.loads(downloaded)["Dir"])
    with tempfile.TemporaryDirectory(prefix="syncctl-ferretdb-build-") as work:
        # Outside any git checkout: the build stamps VCS details the version check then rejects.
        tree = Path(work) / "src"
        shutil.copytree(source, tree)
        for path in [tree, *tree.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        (tree / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
        for name, published, built in _PATCHES:
            _patch(tree / name, published, built)
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_suffix(".partial")
        _go(go, "build", "-o", str(partial), "./cmd/ferretdb", cwd=tree)
        partial.rename(binary)
    return binary


def _patch(path: Path, published: str, built: str) -> None:
    text = path.read_text()
    if text.count(published) != 1:
        raise ServerError(
            f"cannot patch FerretDB: {path.name} is not the file this patch was written for"
        )
    path.write_text(text.replace(published, built))


def _go(go: str, *arguments: str, cwd: Path | None = None) -> str:
    done = subprocess.run([go, *arguments], capture_output=True, text=True, cwd=cwd, timeout=900)
    if done.returncode != 0:
        raise ServerError(
            f"go {arguments[0]} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}"
        )
    return done.stdout


class LocalFerretDB:
    """A FerretDB server on 127.0.0.1 with its SQLite files in `data_dir`; `uri` connects to it."""

    def __init__(
        self,
        data_dir: Path | str | None = None,
        port: int = 0,
        cache_dir: Path = Path(".local/ferretdb"),
    ) -> None:
        self._temporary = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="syncctl-ferretdb-")).resolve()
        self.port = port or free_port()
        self._cache_dir = cache_dir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 30.0) -> LocalFerretDB:
        binary = ensure_ferretdb(self._cache_dir)
        (self.data_dir / "sqlite").mkdir(parents=True, exist_ok=True)  # must exist, URL ends in /
        with open(self.data_dir / "ferretdb.log", "ab") as log:
            # synchronous(OFF) under FerretDB's WAL journal: a process that dies (what the tests do
            # to it) loses nothing, only a machine that does; without it every write waits for the
            # disk (2.5x slower than NORMAL, itself 15% slower than OFF).
            self._process = subprocess.Popen(
                [
                    str(binary),
                    "--handler=sqlite",
                    f"--sqlite-url=file:{self.data_dir / 'sqlite'}/?_pragma=synchronous(OFF)",
                    f"--state-dir={self.data_dir}",
                    f"--listen-addr=127.0.0.1:{self.port}",
                    "--telemetry=disable",
                    "--debug-addr=-",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self._accepts_connections():
            if self._process.poll() is not None:
                tail = (
                    (self.data_dir / "ferretdb.log")
                    .read_text(errors="replace")
                    .strip()
                    .splitlines()[-3:]
                )
                raise ServerError(
                    f"FerretDB exited ({self._process.returncode}): {' | '.join(tail)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(
                    f"FerretDB did not listen on 127.0.0.1:{self.port} within {timeout:.0f} s"
                )
            time.sleep(0.05)
        return self

    def _accepts_connections(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL, keeping the data: `start()` brings the same server back."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)
        self._process = None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._process = None
        if self._temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalFerretDB:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
