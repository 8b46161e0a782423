"""The Kafka broker's jars: fetched once from Maven Central with `mvn`, then kept in a cache."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from syncctl.errors import BrokerError, SyncctlError

_COMPLETE_MARKER = ".complete"
_DOWNLOADED = re.compile(r"Downloaded from \S+: \S+/([^/\s]+) \(([^)]*)\)")


def kafka_config_dir() -> Path:
    """`config/kafka` of a source checkout, else the copy packaged into the wheel."""
    checkout = Path(__file__).resolve().parents[3] / "config" / "kafka"
    if (checkout / "pom.xml").is_file():
        return checkout
    return Path(str(resources.files("syncctl") / "_kafka_config"))


def kafka_version(config_dir: Path | None = None) -> str:
    pom = ((config_dir or kafka_config_dir()) / "pom.xml").read_text()
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    if not match:
        raise BrokerError("config/kafka/pom.xml has no <kafka.version> property")
    return match.group(1)


def _pom_digest(config_dir: Path) -> str:
    return hashlib.sha256((config_dir / "pom.xml").read_bytes()).hexdigest()


def cached_jars(lib_dir: Path, config_dir: Path | None = None) -> bool:
    """True when `lib_dir` holds a complete copy of the jars the current pom asks for."""
    marker = lib_dir / _COMPLETE_MARKER
    digest = _pom_digest(config_dir or kafka_config_dir())
    return marker.is_file() and marker.read_text().strip() == digest


def ensure_jars(
    lib_dir: Path,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> Path:
    """Return `lib_dir`, filling it from Maven Central first if it is missing or stale."""
    config_dir = kafka_config_dir()
    return fetch_jars(
        config_dir,
        lib_dir,
        f"Apache Kafka {kafka_version(config_dir)} jars (about 45 MB)",
        progress,
        BrokerError,
    )


def fetch_jars(
    pom_dir: Path,
    lib_dir: Path,
    what: str,
    progress: Callable[[str], None],
    error: type[SyncctlError],
    finish: Callable[[Path], None] | None = None,
) -> Path:
    """Fill `lib_dir` with the runtime dependencies of `pom_dir/pom.xml`, once per pom version.

    `finish(staging_dir)` may adjust the jars before the folder is published as complete.
    """
    if cached_jars(lib_dir, pom_dir):
        return lib_dir
    mvn = shutil.which("mvn")
    if mvn is None:
        raise error(
            f"no jars in {lib_dir} and no `mvn` to fetch them: install Maven "
            "(Debian/Ubuntu: apt-get install maven; macOS: brew install maven) and run again; "
            "it is needed only for the first start"
        )
    staging = lib_dir.with_name(lib_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    progress(f"Fetching {what} from Maven Central into {lib_dir} (one time)...")
    command = [
        mvn,
        "-B",
        "-f",
        str(pom_dir / "pom.xml"),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging.resolve()}",
    ]
    output: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            downloaded = _DOWNLOADED.search(line)
            if downloaded and downloaded.group(1).endswith(".jar"):
                progress(
                    f"  downloaded {downloaded.group(1)} ({downloaded.group(2).split(' at ')[0]})"
                )
    if proc.returncode != 0:
        tail = "".join(output[-15:])
        raise error(f"mvn could not fetch {what} (exit {proc.returncode}):\n{tail}")
    if finish is not None:
        finish(staging)
    jars = list(staging.glob("*.jar"))
    progress(f"  {len(jars)} jars ready")
    (staging / _COMPLETE_MARKER).write_text(_pom_digest(pom_dir))
    shutil.rmtree(lib_dir, ignore_errors=True)
    staging.rename(lib_dir)
    return lib_dir
