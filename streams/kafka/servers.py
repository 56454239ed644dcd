"""A broker setting's bootstrap servers: `kafka://h1:9092,h2:9092` split into servers, each
into its host and port.

It imports nothing of the project, so that the settings can check the broker address when
they are read (`check_broker`): a bad port is then one line naming the setting and exit
status 2, like every bad setting, not a traceback where a client first reads it.
"""

from __future__ import annotations

DEFAULT_PORT = 9092


def bootstrap_servers(broker: str) -> list[str]:
    """`kafka://h1:9092,h2:9092` (or without the scheme, or with it before each server) ->
    ["h1:9092", "h2:9092"]."""
    return [h.strip().removeprefix("kafka://") for h in broker.split(",") if h.strip()]


def address(server: str) -> tuple[str, int]:
    """("host", port) of "host:port" or "[v6 address]:port" (the port defaults to 9092); a
    ValueError for a port that is not a number from 1 to 65535 in ASCII digits (str.isdigit
    also holds for '²', which int() refuses)."""
    host, colon, port = server.rpartition(":")
    if not colon or (host.count(":") and not host.endswith("]")):
        return server.strip("[]"), DEFAULT_PORT  # no port, or a bare IPv6 address
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{server!r}: the port must be a number from 1 to 65535, as in kafka://HOST:9092")
    return host.strip("[]"), int(port)


def check_broker(broker: str) -> str:
    """`broker` itself when it has no scheme but kafka:// and each of its servers has a usable
    port (or none); else ValueError."""
    for server in bootstrap_servers(broker):
        scheme, separator, _ = server.partition("://")
        if separator:
            raise ValueError(f"{server!r}: a Kafka broker's address is kafka://HOST:PORT, not {scheme}://")
        address(server)
    return broker
