"""The broker's classpath: its jars, resolved by Maven from config/pom.xml (package data) once
and cached, and the check that Java is there to run them."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from importlib.resources import as_file
from importlib.resources.abc import Traversable
from pathlib import Path

from schemas.exceptions import BrokerError
from streams.dev.local_broker.layout import BROKER_FILES
from streams.dev.local_broker.processes import tail_text

log = logging.getLogger(__name__)

KAFKA_VERSION = "3.9.1"
"""The broker release, as pinned in config/pom.xml."""

MAVEN_TIMEOUT = 900.0

_REQUIRED_JARS = (f"kafka_2.13-{KAFKA_VERSION}.jar", "slf4j-reload4j-1.7.36.jar")
_COMPLETE_MARKER = ".complete"


def default_cache_dir() -> Path:
    """Where the broker's jars are cached: ~/.cache/aidmon/kafka-3.9.1/."""
    return Path.home() / ".cache" / "aidmon" / f"kafka-{KAFKA_VERSION}"


def broker_classpath(cache_dir: Path | None = None, *, broker_files: Traversable = BROKER_FILES) -> Path:
    """The directory holding the broker's jars (use it as `-cp 'DIR/*'`), resolving it once.

    The first call runs Maven on `broker_files/pom.xml` (the package's config/), which copies the runtime classpath
    of kafka_2.13 and its logging backend from Maven Central (or the local Maven
    repository) into a temporary sibling of `cache_dir`, then renames it into place, so
    that an interrupted or concurrent run never leaves a half-filled cache. Later calls
    find the jars there and return at once.
    """
    cache_dir = (cache_dir if cache_dir is not None else default_cache_dir()).expanduser().resolve()
    if _is_complete(cache_dir):
        return cache_dir
    _remove_incomplete_cache(cache_dir)
    pom = broker_files.joinpath("pom.xml")
    if not pom.is_file():
        raise BrokerError(f"{pom} is missing: reinstall aidmon (the POM is package data of streams.dev.local_broker)")
    require_java()
    mvn = _require_maven()

    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = cache_dir.parent / f".{cache_dir.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    log.info("resolving the Kafka %s broker's jars with Maven (once) into %s", KAFKA_VERSION, cache_dir)
    started = time.monotonic()
    with as_file(pom) as pom_path:  # a real file for Maven, wherever the package is installed
        _copy_dependencies(mvn, pom_path, staging)
    _move_into_place(staging, cache_dir)
    log.info("broker jars resolved in %.1f s", time.monotonic() - started)
    return cache_dir


def require_java() -> str:
    """The path of `java`; BrokerError says how to install it when it is not on PATH."""
    java = shutil.which("java")
    if java is None:
        raise BrokerError(
            "java is not on PATH: install a Java runtime, 17 recommended (11 or newer), "
            "e.g. `apt-get install openjdk-17-jre-headless`; the local Kafka broker runs on it"
        )
    return java


def _is_complete(cache_dir: Path) -> bool:
    return (cache_dir / _COMPLETE_MARKER).is_file() and all((cache_dir / n).is_file() for n in _REQUIRED_JARS)


def _remove_incomplete_cache(cache_dir: Path) -> None:
    """Remove a cache of ours left incomplete (jars only); refuse to touch anything else."""
    if not cache_dir.exists():
        return
    if not cache_dir.is_dir() or any(p.suffix != ".jar" for p in cache_dir.iterdir()):
        raise BrokerError(
            f"{cache_dir} exists but is not a cache of the Kafka broker's jars: "
            "remove it or choose another cache dir"
        )
    shutil.rmtree(cache_dir)  # an incomplete cache of ours (jars only): resolve again


def _require_maven() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            "Maven (mvn) is not on PATH: install Apache Maven 3.6 or newer (e.g. `apt-get install maven`); "
            "it resolves the Kafka broker's jars from Maven Central once"
        )
    return mvn


def _copy_dependencies(mvn: str, pom: Path, staging: Path) -> None:
    """Have Maven copy the runtime classpath into `staging` and mark it complete; on failure
    remove `staging` and raise BrokerError with the end of Maven's output."""
    command = [
        mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies",
        "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
    ]
    try:
        result = subprocess.run(  # noqa: S603 - our own command line, no shell
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=MAVEN_TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(
            f"Maven did not finish resolving the Kafka broker's jars within {MAVEN_TIMEOUT:.0f} s:\n"
            + tail_text(exc.output or b"")
        ) from exc
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(
            f"Maven failed (exit status {result.returncode}) resolving the Kafka broker's jars "
            f"({' '.join(command[1:])}); is Maven Central reachable? Its output ends with:\n"
            + tail_text(result.stdout)
        )
    missing = [name for name in _REQUIRED_JARS if not (staging / name).is_file()]
    if missing:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(f"Maven ran but {', '.join(missing)} did not arrive in {staging}")
    (staging / _COMPLETE_MARKER).write_text(f"kafka {KAFKA_VERSION}\n", encoding="utf-8")


def _move_into_place(staging: Path, cache_dir: Path) -> None:
    """Rename the filled `staging` to `cache_dir`; if another process got there first, keep its cache."""
    try:
        staging.rename(cache_dir)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process filled the cache first
        if not _is_complete(cache_dir):
            raise
