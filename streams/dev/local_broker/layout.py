"""Where the local broker's things are: the deploy files of the source checkout, the files of
a broker's data directory, and the one host every listener binds.

The other modules of the package take these names from here, so that the data directory's
layout (drawn in the package docstring) is written down once.
"""

from __future__ import annotations

from pathlib import Path

HOST = "127.0.0.1"
"""Every listener binds here, never on a public interface."""

DEPLOY_DIR = Path(__file__).resolve().parents[3] / "deploy" / "kafka"
"""deploy/kafka of the source checkout: the POM, the properties template, log4j.properties."""

PROPERTIES_FILE = "server.properties"
"""DATA_DIR/server.properties, written from deploy/kafka/server.properties.template."""

PID_FILE = "broker.pid"
"""DATA_DIR/broker.pid, the process id while the broker runs."""

OUT_FILE = "broker.out"
"""DATA_DIR/broker.out, the JVM's own standard output and error."""

LOG_FILE = "server.log"
"""DATA_DIR/server.log, the broker's log (deploy/kafka/log4j.properties)."""

LOG_DIRS = "logs"
"""DATA_DIR/logs/, the partitions and the cluster metadata log."""
