"""What `aidmon demo` shows: each alert as it is raised, one line, and a running count.

    AlertPrinter    numbers each alert version (`render_alert`: new or update), counts them
                    and their typologies, and prints a progress line every `STATUS_SECONDS`
    AlertFollower   a thread reading the alerts topic from the beginning (the live demo)
    ReplayedAlerts  the file `Replay` writes its alerts to, printing them instead (offline)
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import IO, Any

from streams.dev.simulator import Simulation
from streams.kafka.consumer import alerts_of, render_alert
from streams.kafka.servers import bootstrap_servers
from streams.kafka.topics import ALERTS

STATUS_SECONDS = 10.0


class AlertPrinter:
    """Prints alert lines and progress lines to `out`, one writer at a time."""

    def __init__(self, out: IO[str], simulation: Simulation) -> None:
        self.out, self.simulation = out, simulation
        self.seen: set[str] = set()
        self.typologies: Counter[str] = Counter()  # alerts (not versions) by typology
        self.versions = 0
        self.first_alert_at: float | None = None  # time.monotonic() of the first alert shown
        self._lock = threading.Lock()
        self._status_at = time.monotonic()
        self._shown: tuple[int, int, bool] | None = None  # what the last progress line said

    def begin(self) -> None:
        """The next progress line is due `STATUS_SECONDS` from now."""
        self._status_at = time.monotonic()

    def alert(self, alert: dict[str, Any]) -> None:
        with self._lock:
            if str(alert.get("alert_id")) not in self.seen:
                self.typologies[str(alert.get("typology"))] += 1
            self.versions += 1
            self.first_alert_at = self.first_alert_at or time.monotonic()
            self._print(f"#{self.versions:<4} {render_alert(alert, self.seen)}")

    def summary(self) -> str:
        kinds = ", ".join(f"{name} {count}" for name, count in sorted(self.typologies.items())) or "none yet"
        return (f"{counted(len(self.seen), 'alert')} of {counted(len(self.typologies), 'typology', 'typologies')} "
                f"({kinds}); {counted(self.versions, 'version')}")

    def status(self, force: bool = False) -> None:
        """A progress line, if `STATUS_SECONDS` have passed since the last one and something changed
        (or `force`)."""
        now = time.monotonic()
        if not force and now - self._status_at < STATUS_SECONDS:
            return
        with self._lock:
            self._status_at = now
            shown = (self.simulation.sent, self.versions, self.simulation.finished)
            if shown == self._shown and not force:
                return
            self._shown = shown
            reached = self.simulation.event_time
            when = reached.strftime("%Y-%m-%d %H:%M") if reached else "-"
            ended = ", the stream is over" if self.simulation.finished else ""
            self._print(f"--- event time {when} UTC: {counted(self.simulation.sent, 'event')} sent{ended}; "
                        f"{self.summary()}")

    def _print(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


def counted(number: int, one: str, many: str | None = None) -> str:
    """"1 alert", "2 alerts"."""
    return f"{number} {one if number == 1 else many or one + 's'}"


def with_status(lines: Iterable[bytes], printer: AlertPrinter) -> Iterator[bytes]:
    """The lines, with a progress line printed between them every `STATUS_SECONDS` from now."""
    printer.begin()
    for line in lines:
        printer.status()
        yield line


class AlertFollower(threading.Thread):
    """Reads the alerts topic from the beginning and prints every alert, until `stop()`."""

    def __init__(self, broker: str, printer: AlertPrinter) -> None:
        super().__init__(name="aidmon-demo-alerts", daemon=True)
        self.broker, self.printer = broker, printer
        self.stopping = threading.Event()
        self.failure: str | None = None

    def run(self) -> None:
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(ALERTS, bootstrap_servers=bootstrap_servers(self.broker), group_id=None,
                                 auto_offset_reset="earliest", enable_auto_commit=False, client_id="aidmon-demo")
        try:
            while not self.stopping.is_set():
                for records in consumer.poll(timeout_ms=250).values():
                    for alert in alerts_of(records):
                        self.printer.alert(alert)
        except Exception as exc:  # the demo says so in one line at the end
            self.failure = f"{type(exc).__name__}: {exc}"
        finally:
            consumer.close(autocommit=False)

    def stop(self, timeout: float = 3.0) -> None:
        self.stopping.set()
        self.join(timeout)


class ReplayedAlerts(io.StringIO):
    """Where `Replay` writes its alerts (one JSON object a line): each is printed as it comes."""

    def __init__(self, printer: AlertPrinter) -> None:
        super().__init__()
        self.printer = printer

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.printer.alert(json.loads(line))
        return len(text)
