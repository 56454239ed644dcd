"""Where the local broker's things are: its configuration files (package data), the files of
a broker's data directory, and the one host every listener binds.

The other modules of the package take these names from here, so that the data directory's
layout (drawn in the package docstring) is written down once.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

from schemas.exceptions import BrokerError

HOST = "127.0.0.1"
"""Every listener binds here, never on a public interface."""

BROKER_FILES: Traversable = files("streams.dev.local_broker").joinpath("config")
"""The package's config/ folder (package data, so an installed wheel has it too): the POM,
the properties template, log4j.properties. deploy/kafka of the checkout links to it."""

PROPERTIES_FILE = "server.properties"
"""DATA_DIR/server.properties, written from config/server.properties.template."""

PID_FILE = "broker.pid"
"""DATA_DIR/broker.pid, the process id while the broker runs."""

OUT_FILE = "broker.out"
"""DATA_DIR/broker.out, the JVM's own standard output and error."""

LOG_FILE = "server.log"
"""DATA_DIR/server.log, the broker's log."""

LOG_CONFIG_FILE = "log4j.properties"
"""DATA_DIR/log4j.properties, copied from config/log4j.properties at every start."""

LOG_DIRS = "logs"
"""DATA_DIR/logs/, the partitions and the cluster metadata log."""


def read_broker_file(name: str, source: Traversable = BROKER_FILES) -> str:
    """The text of one of the broker's configuration files (`source`: the package's config/)."""
    try:
        return source.joinpath(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise BrokerError(
            f"the local broker's {name} is missing from {source} ({exc.strerror or exc}): "
            "reinstall aidmon (the file is package data of streams.dev.local_broker)"
        ) from exc
