"""docker-compose.yml stays true to the commands the tests run (no Docker engine here)."""

from __future__ import annotations

import os
import re

import pytest
import yaml

from streams.cli.main import build_parser
from streams.settings import Settings
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


# --- the monitoring services (a `docker compose config`-style check, read as YAML) ---

SERVICES = {"kafka", "topics", "worker", "demo", "prometheus", "alertmanager", "grafana"}
PUBLISHED = {"kafka": 9094, "worker": 6066, "prometheus": 9090, "alertmanager": 9093, "grafana": 3000}


def _yaml(*parts: str) -> dict:
    return yaml.safe_load(ROOT.joinpath(*parts).read_text(encoding="utf-8"))


def _binds(service: dict) -> list[tuple[str, str, str]]:
    """(host path, container path, mode) of each bind mount ("./host:/container[:mode]")."""
    binds = []
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        if source.startswith("."):
            binds.append((source, target, mode[0] if mode else "rw"))
    return binds


def _bind_target(service: dict, source: str) -> str:
    return next(target for host, target, _ in _binds(service) if host == source)


def test_every_service_is_there() -> None:
    """The live path, the demo and the three monitoring services, and nothing else."""
    assert set(_compose()["services"]) == SERVICES


def test_images_are_pinned() -> None:
    """Every image names a version, never `latest`."""
    for name, service in _compose()["services"].items():
        if "image" in service:
            _, _, tag = service["image"].rpartition(":")
            assert tag and tag != "latest" and "/" not in tag, name


def test_ports_are_published_on_loopback_only() -> None:
    """Each service a person or the CLI reaches is on 127.0.0.1 of the host, at its own port."""
    services = _compose()["services"]
    for name, service in services.items():
        expected = [f"127.0.0.1:{PUBLISHED[name]}:{PUBLISHED[name]}"] if name in PUBLISHED else []
        assert service.get("ports", []) == expected, name


def test_bind_mounts_exist_in_the_repository() -> None:
    """Configuration is mounted read-only from folders of the repository; only the demo writes (./out)."""
    for name, service in _compose()["services"].items():
        for source, _, mode in _binds(service):
            if mode == "ro":
                assert (ROOT / source).is_dir(), f"{name}: {source}"
            else:
                assert (name, source) == ("demo", "./out"), f"{name} mounts {source} writable"


def test_the_worker_serves_its_api_where_it_is_scraped_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's environment is valid settings: its API listens on all interfaces at the
    port Prometheus scrapes, and the healthcheck asks that port."""
    worker = _compose()["services"]["worker"]
    for name in [name for name in os.environ if name.startswith("AIDMON_")]:
        monkeypatch.delenv(name)
    for name, value in worker["environment"].items():
        monkeypatch.setenv(name, "s" * 32 if value.startswith("${") else value)
    api = Settings().api
    assert (api.host, api.port) == ("0.0.0.0", PUBLISHED["worker"])  # noqa: S104 (inside the container, on purpose)
    assert f"http://127.0.0.1:{api.port}/healthz" in " ".join(worker["healthcheck"]["test"])


def test_prometheus_scrapes_the_worker_and_alerts_alertmanager() -> None:
    """The scrape target is the worker service at its API port; alerts go to the alertmanager service."""
    services = _compose()["services"]
    config = _yaml("deploy", "prometheus", "prometheus.yml")
    [job] = [job for job in config["scrape_configs"] if job["job_name"] == "aidmon-worker"]
    [targets] = [static["targets"] for static in job["static_configs"]]
    assert targets == [f"worker:{services['worker']['environment']['AIDMON_API__PORT']}"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    [alertmanagers] = [static["targets"] for static in config["alerting"]["alertmanagers"][0]["static_configs"]]
    assert alertmanagers == [f"alertmanager:{PUBLISHED['alertmanager']}"]


def test_prometheus_and_alertmanager_read_the_mounted_files() -> None:
    """Each --config.file lies in the folder mounted from deploy/, and so do Prometheus's rule files."""
    services = _compose()["services"]
    for name, file in (("prometheus", "prometheus.yml"), ("alertmanager", "alertmanager.yml")):
        mounted = _bind_target(services[name], f"./deploy/{name}")
        assert f"--config.file={mounted}/{file}" in services[name]["command"], name
        assert (ROOT / "deploy" / name / file).is_file()
    for rule_file in _yaml("deploy", "prometheus", "prometheus.yml")["rule_files"]:
        assert (ROOT / "deploy" / "prometheus" / rule_file).is_file(), rule_file


def test_grafana_mounts_its_provisioning_and_dashboards() -> None:
    """Grafana reads the provisioning folder where it looks for it, the dashboards where the
    provider points, and its datasource is the prometheus service."""
    grafana = _compose()["services"]["grafana"]
    assert _bind_target(grafana, "./deploy/grafana/provisioning") == "/etc/grafana/provisioning"
    dashboards = _bind_target(grafana, "./deploy/grafana/dashboards")
    [provider] = _yaml("deploy", "grafana", "provisioning", "dashboards", "aidmon.yml")["providers"]
    assert provider["options"]["path"] == dashboards
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(dashboards + "/")
    assert (ROOT / "deploy" / "grafana" / "dashboards" / home.removeprefix(dashboards + "/")).is_file()
    [datasource] = _yaml("deploy", "grafana", "provisioning", "datasources", "prometheus.yml")["datasources"]
    assert datasource["url"] == f"http://prometheus:{PUBLISHED['prometheus']}"


def test_the_workers_config_file_is_valid_settings() -> None:
    """The settings file mounted into the worker loads, and holds no secret or token."""
    from streams.settings import load_settings

    service = _compose()["services"]["worker"]
    config = service["command"][service["command"].index("--config") + 1]
    mount = next(v for v in service["volumes"] if v.startswith("./") and config.startswith(v.split(":")[1]))
    host = ROOT / mount.split(":")[0] / config.removeprefix(mount.split(":")[1]).lstrip("/")
    settings = load_settings(host)
    assert settings.pseudonymisation.secret is None and settings.api.tokens == ()
