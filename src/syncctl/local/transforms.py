"""syncctl's own Kafka Connect transforms, compiled from `config/connect/transforms` into a
plugin folder once (and again whenever their source changes).

`io.syncctl.connect.DropUnavailableValues` keeps Debezium's placeholder for an unchanged TOASTed
value out of the destination (docs/engine-connect.md#toasted-values); `KeyToStringId` makes any
primary key a string _id. A Kafka Connect of your own needs the jar this writes on its
`plugin.path`.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import zipfile
from pathlib import Path

from syncctl.errors import ServerError
from syncctl.local.broker import find_java

JAR_NAME = "syncctl-connect-transforms.jar"
_SERVICES = "META-INF/services/org.apache.kafka.connect.transforms.Transformation"


def ensure_transforms(source_dir: Path, lib: Path, plugin_dir: Path) -> Path:
    """The transforms' jar in `plugin_dir`, compiled against Connect's jars in `lib`."""
    sources = sorted(source_dir.rglob("*.java"))
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()
    jar, stamp = plugin_dir / JAR_NAME, plugin_dir / ".source-sha256"
    if jar.exists() and stamp.exists() and stamp.read_text() == digest:
        return jar
    java = find_java()
    javac = Path(java).resolve().with_name("javac")
    if not javac.exists():
        raise ServerError(
            f"no javac beside {java}: syncctl's Connect transforms are compiled once "
            "(Debian/Ubuntu: apt-get install openjdk-17-jdk-headless)"
        )
    classpath = ":".join(str(path) for path in sorted(lib.glob("*.jar")))
    plugin_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as classes:
        compiled = subprocess.run(
            [str(javac), "--release", "17", "-cp", classpath, "-d", classes, *map(str, sources)],
            capture_output=True,
            text=True,
        )
        if compiled.returncode != 0:
            raise ServerError(f"compiling syncctl's Connect transforms failed:\n{compiled.stderr}")
        compiled_classes = sorted(Path(classes).rglob("*.class"))
        # Every top-level class is a transform, found by the worker's ServiceLoader discovery.
        transforms = [
            path.relative_to(classes).with_suffix("").as_posix().replace("/", ".")
            for path in compiled_classes
            if "$" not in path.name
        ]
        partial = plugin_dir / f".{JAR_NAME}.tmp"
        with zipfile.ZipFile(partial, "w") as archive:
            archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
            archive.writestr(_SERVICES, "".join(f"{name}\n" for name in transforms))
            for path in compiled_classes:
                archive.write(path, path.relative_to(classes).as_posix())
        partial.replace(jar)
    stamp.write_text(digest)
    return jar
