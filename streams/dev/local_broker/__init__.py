"""A local single-node Apache Kafka broker (KRaft), started from the broker's own jars.

No Docker and no tarball: Maven resolves the broker's classpath from Maven Central once
(`config/pom.xml`, cached in `~/.cache/aidmon/kafka-3.9.1/` by default), and `java`
runs `kafka.Kafka` in the background on 127.0.0.1, as broker and controller in one
process. Everything a broker needs lives in its data directory:

    DATA_DIR/server.properties   written from config/server.properties.template
    DATA_DIR/log4j.properties    copied from config/log4j.properties
    DATA_DIR/logs/               the partitions and the cluster metadata log
    DATA_DIR/server.log          the broker's log
    DATA_DIR/broker.out          the JVM's own standard output and error
    DATA_DIR/broker.pid          the process id while it runs

`start_broker` returns once the broker answers a real metadata request, and
`stop_broker` stops it. The CLI and the integration tests call these two; for a shell,
`python -m streams.dev.local_broker start DATA_DIR` and `python -m streams.dev.local_broker stop DATA_DIR`.
Failures raise `schemas.exceptions.BrokerError`, whose message says what to do.

    control.py     start_broker, stop_broker, running_broker, port_is_free
    jars.py        the classpath Maven resolves once, and the Java check
    storage.py     server.properties, the cluster id, formatting the storage
    probe.py       waiting until the broker answers metadata
    processes.py   pids, signals, waiting for exit, the tails of the broker's logs
    layout.py      the config files, the data dir's file names, the host
    config/        pom.xml, server.properties.template, log4j.properties: package data, read
                   with importlib.resources, so an installed wheel runs the broker too
                   (deploy/kafka of the checkout links here)
    __main__.py    python -m streams.dev.local_broker start|stop DATA_DIR

Paths and ports are arguments: nothing here reads the environment.
"""

from streams.dev.local_broker.control import port_is_free, running_broker, start_broker, stop_broker
from streams.dev.local_broker.layout import PID_FILE
from streams.dev.local_broker.processes import broker_log_tail

__all__ = ["PID_FILE", "broker_log_tail", "port_is_free", "running_broker", "start_broker", "stop_broker"]
