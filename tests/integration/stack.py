"""A running deployment for the API, webhook and Prometheus tests: a broker of its own,
the topics, a worker with its HTTP API, tokens made by `aidmon token create`, the shared
sample published and processed, and a webhook receiver that comes up only after the
worker has had to retry."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from streams.outputs.webhooks import SIGNATURE_HEADER, verify
from tests.integration.conftest import running_broker
from tests.integration.live import (
    AIDMON,
    SECRET,
    aidmon,
    free_port,
    start_worker,
    stop,
    wait_caught_up,
    wait_ready,
)
from tests.paths import SAMPLE, require

APP_ID = "stack"
WEBHOOK_SECRET = "webhook-test-secret-0123456789"  # noqa: S105 - a test fixture, not a credential
PUBLISHER_SOURCE = "/agencies/wfp/mli"


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """A webhook receiver over real HTTP, checking each signature as a subscriber would."""

    port: int
    deliveries: list[Delivery] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                header = self.headers.get(SIGNATURE_HEADER, "")
                ok = verify(WEBHOOK_SECRET.encode(), header, body, time.time())
                receiver.deliveries.append(Delivery(dict(self.headers.items()), body, ok))
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def alert_ids(self) -> set[str]:
        return {json.loads(d.body)["alert_id"] for d in self.deliveries if d.verified}


@dataclass
class Stack:
    broker: str
    url: str
    tokens: dict[str, str]  # role -> token
    worker: subprocess.Popen[bytes]
    log: Path
    config: Path
    folder: Path
    receiver: Receiver

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: str | None = "monitor", **params: Any) -> httpx.Response:
        headers = self.auth(role) if role else {}
        return httpx.get(f"{self.url}{path}", headers=headers, params=params, timeout=30)

    def post(self, path: str, role: str | None, **kwargs: Any) -> httpx.Response:
        headers = {**(self.auth(role) if role else {}), **kwargs.pop("headers", {})}
        return httpx.post(f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def all_alerts(self, **filters: Any) -> list[dict[str, Any]]:
        """Every page of GET /alerts, followed by its cursors."""
        found: list[dict[str, Any]] = []
        params = {"limit": 13, **filters}
        while True:
            page = self.get("/alerts", **params)
            assert page.status_code == 200, page.text
            body = page.json()
            found += body["alerts"]
            if body["next"] is None:
                return found
            params["cursor"] = body["next"]


def write_stack_config(path: Path, receiver_port: int) -> Path:
    path.write_text(
        f'[pseudonymisation]\nsecret = "{SECRET}"\n'
        f'[kafka]\napp_id = "{APP_ID}"\npartitions = 4\nidle_seconds = 2.0\ntick_seconds = 0.5\n'
        "[webhooks]\nfirst_retry_seconds = 0.2\nmax_retry_seconds = 1.0\nmax_attempts = 10000\n"
        "timeout_seconds = 5.0\n"
        f'[[webhooks.subscriptions]]\nname = "monitors"\nurl = "http://127.0.0.1:{receiver_port}/hook"\n'
        f'secret = "{WEBHOOK_SECRET}"\n',
        encoding="utf-8",
    )
    return path


def create_token(config: Path, role: str, *extra: str) -> str:
    made = subprocess.run(
        [str(AIDMON), "token", "create", "--config", str(config), "--role", role, "--name", role, *extra],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return made.stdout.strip().splitlines()[-1]


def metric_value(url: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples with these labels, from /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}(\{{(.*)\}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(2) or "") for k, v in labels.items()):
            total += float(match.group(3))
    return total


@contextmanager
def running_stack(folder: Path) -> Iterator[Stack]:
    receiver = Receiver(free_port())
    with running_broker(folder / "kafka", "the stack's") as bootstrap:
        broker = f"kafka://{bootstrap}"
        config = write_stack_config(folder / "aidmon.toml", receiver.port)
        tokens = {
            "admin": create_token(config, "admin"),
            "monitor": create_token(config, "monitor"),
            "publisher": create_token(config, "publisher", "--source", PUBLISHER_SOURCE),
        }
        aidmon(broker, "topics", "create", "--config", str(config))
        port = free_port()
        log = folder / "worker.log"
        worker = start_worker(broker, config, require(SAMPLE / "sanctions.xml"), folder / "w", log, port, "INFO")
        url = f"http://127.0.0.1:{port}"
        stack = Stack(broker, url, tokens, worker, log, config, folder, receiver)
        try:
            wait_ready(url, worker)
            aidmon(broker, "publish", str(require(SAMPLE / "events.jsonl")), "--config", str(config))
            wait_caught_up(broker, APP_ID)
            _await_retries(url)
            receiver.start()  # only now: the deliveries so far had to be retried
            yield stack
        finally:
            stop(worker)
            receiver.stop()


def _await_retries(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while metric_value(url, "aidmon_webhook_deliveries_total", outcome="retried") < 1:
        assert time.monotonic() < deadline, "the worker never retried a webhook delivery"
        time.sleep(0.5)
