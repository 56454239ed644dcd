"""docker-compose.yml stays true to the commands the tests run (no Docker engine here)."""

from __future__ import annotations

import re

import yaml

from streams.cli import build_parser
from tests.paths import ROOT


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_services_and_their_order() -> None:
    """Kafka, then the topics, then the worker, with the dependencies that order them."""
    services = _compose()["services"]
    assert {"kafka", "topics", "worker"} <= set(services)
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_the_broker_is_the_version_the_tests_run() -> None:
    """The compose image and the Maven-resolved broker of the tests are one Kafka version."""
    image = _compose()["services"]["kafka"]["image"]
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    version = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert version is not None and image == f"apache/kafka:{version.group(1)}"


def test_commands_are_real_aidmon_commands() -> None:
    """Each service's command parses with the aidmon command line."""
    parser = build_parser()
    for name in ("topics", "worker"):
        service = _compose()["services"][name]
        args = parser.parse_args(service["command"])
        assert callable(args.run), name
        assert service["environment"]["AIDMON_BROKER"] == "kafka://kafka:9092"
