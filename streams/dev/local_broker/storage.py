"""A broker's configuration and storage: DATA_DIR/server.properties from the template (package
data) and DATA_DIR/log4j.properties, a new cluster id, formatting the KRaft storage, and the
logging options every java command takes."""

from __future__ import annotations

import base64
import logging
import subprocess
import uuid
from importlib.resources.abc import Traversable
from pathlib import Path

from schemas.exceptions import BrokerError
from streams.dev.local_broker.jars import require_java
from streams.dev.local_broker.layout import (
    BROKER_FILES,
    LOG_CONFIG_FILE,
    LOG_DIRS,
    PROPERTIES_FILE,
    read_broker_file,
)
from streams.dev.local_broker.processes import tail_text

log = logging.getLogger(__name__)

FORMAT_TIMEOUT = 120.0
STORAGE_TOOL = "kafka.tools.StorageTool"
TEMPLATE_FILE = "server.properties.template"


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
    data_dir: Path, port: int, controller_port: int, *, broker_files: Traversable = BROKER_FILES
) -> Path:
    """Write DATA_DIR/server.properties from the template for these ports, and
    DATA_DIR/log4j.properties (the broker's logging); return the properties' path."""
    template = read_broker_file(TEMPLATE_FILE, broker_files)
    try:
        text = template.format(port=port, controller_port=controller_port, data_dir=data_dir.as_posix())
    except (KeyError, IndexError, ValueError) as exc:
        raise BrokerError(f"{TEMPLATE_FILE}: unknown or malformed placeholder {exc}") from exc
    (data_dir / LOG_CONFIG_FILE).write_text(read_broker_file(LOG_CONFIG_FILE, broker_files), encoding="utf-8")
    path = data_dir / PROPERTIES_FILE
    path.write_text(text, encoding="utf-8")
    return path


def is_formatted(data_dir: Path) -> bool:
    """True when the storage of DATA_DIR has been formatted (it holds a meta.properties)."""
    return (data_dir / LOG_DIRS / "meta.properties").is_file()


def format_storage(data_dir: Path, classpath: Path) -> str:
    """Format the KRaft storage of DATA_DIR with a new cluster id, and return the id.

    The quorum is static (controller.quorum.voters), so the storage tool runs without
    `--standalone`.
    """
    cluster_id = new_cluster_id()
    command = [
        require_java(), "-Xmx256m", *log_options(data_dir), "-cp", f"{classpath}/*",
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


def log_options(data_dir: Path) -> list[str]:
    """The JVM options that send the broker's log4j output to DATA_DIR/server.log, configured by
    the DATA_DIR/log4j.properties that `write_server_properties` wrote."""
    log4j = data_dir / LOG_CONFIG_FILE
    if not log4j.is_file():
        raise BrokerError(f"{log4j} is missing: write_server_properties writes it before the broker starts")
    return [f"-Dkafka.logs.dir={data_dir}", f"-Dlog4j.configuration={log4j.resolve().as_uri()}"]
