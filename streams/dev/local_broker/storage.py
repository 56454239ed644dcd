"""A broker's configuration and storage: DATA_DIR/server.properties from the template, a new
cluster id, formatting the KRaft storage, and the logging options every java command takes."""

from __future__ import annotations

import base64
import logging
import subprocess
import uuid
from pathlib import Path

from schemas.exceptions import BrokerError
from streams.dev.local_broker.jars import require_java
from streams.dev.local_broker.layout import DEPLOY_DIR, LOG_DIRS, PROPERTIES_FILE
from streams.dev.local_broker.processes import tail_text

log = logging.getLogger(__name__)

FORMAT_TIMEOUT = 120.0
STORAGE_TOOL = "kafka.tools.StorageTool"


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes in unpadded base64url (22 characters).

    Like Kafka's `Uuid.randomUuid()`, an id starting with '-' is drawn again, since
    command lines would take it for an option.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):
            return text


def write_server_properties(
    data_dir: Path, port: int, controller_port: int, *, deploy_dir: Path = DEPLOY_DIR
) -> Path:
    """Write DATA_DIR/server.properties from the template for these ports; return its path."""
    template = deploy_dir / "server.properties.template"
    if not template.is_file():
        raise BrokerError(f"{template} is missing: the local broker runs from a source checkout of aidmon")
    try:
        text = template.read_text(encoding="utf-8").format(
            port=port, controller_port=controller_port, data_dir=data_dir.as_posix()
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise BrokerError(f"{template}: unknown or malformed placeholder {exc}") from exc
    path = data_dir / PROPERTIES_FILE
    path.write_text(text, encoding="utf-8")
    return path


def is_formatted(data_dir: Path) -> bool:
    """True when the storage of DATA_DIR has been formatted (it holds a meta.properties)."""
    return (data_dir / LOG_DIRS / "meta.properties").is_file()


def format_storage(data_dir: Path, classpath: Path, *, deploy_dir: Path = DEPLOY_DIR) -> str:
    """Format the KRaft storage of DATA_DIR with a new cluster id, and return the id.

    The quorum is static (controller.quorum.voters), so the storage tool runs without
    `--standalone`.
    """
    cluster_id = new_cluster_id()
    command = [
        require_java(), "-Xmx256m", *log_options(data_dir, deploy_dir), "-cp", f"{classpath}/*",
        STORAGE_TOOL, "format", "-t", cluster_id, "-c", str(data_dir / PROPERTIES_FILE),
    ]
    try:
        result = subprocess.run(  # noqa: S603 - our own command line, no shell
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=FORMAT_TIMEOUT, check=False, cwd=data_dir,
        )
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(f"formatting the storage of {data_dir} took more than {FORMAT_TIMEOUT:.0f} s") from exc
    if result.returncode != 0 or not is_formatted(data_dir):
        raise BrokerError(
            f"formatting the broker storage in {data_dir} failed (exit status {result.returncode}):\n"
            + tail_text(result.stdout)
        )
    log.info("formatted %s (cluster id %s)", data_dir / LOG_DIRS, cluster_id)
    return cluster_id


def log_options(data_dir: Path, deploy_dir: Path) -> list[str]:
    """The JVM options that send the broker's log4j output to DATA_DIR/server.log."""
    log4j = deploy_dir / "log4j.properties"
    if not log4j.is_file():
        raise BrokerError(f"{log4j} is missing: the local broker runs from a source checkout of aidmon")
    return [f"-Dkafka.logs.dir={data_dir}", f"-Dlog4j.configuration={log4j.resolve().as_uri()}"]
