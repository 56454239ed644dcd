"""What every entry point builds from the settings: the pseudonymiser (on the live path,
only from a configured secret), the sanctions names, the monitor, and the garbage
collector's tuning for a long run."""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agents.monitor import Monitor
from agents.names import ListedName
from schemas.exceptions import ConfigurationError
from schemas.privacy import Pseudonymiser
from streams.sanctions import load_sanctions
from streams.settings import Settings

log = logging.getLogger("aidmon")

RANDOM_KEY_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def make_pseudonymiser(settings: Settings) -> Pseudonymiser:
    """The deployment's pseudonymiser; without a secret (replay only), a random key for this run."""
    secret = settings.pseudonymisation.secret
    if secret is None:
        log.warning(
            "no pseudonymisation secret configured: raw beneficiary identifiers get tokens that "
            "differ from run to run; set [pseudonymisation] secret or AIDMON_PSEUDONYMISATION__SECRET"
        )
        return Pseudonymiser(secrets.token_bytes(32))
    return Pseudonymiser(secret.get_secret_value().encode("utf-8"))


def require_pseudonymiser(settings: Settings) -> Pseudonymiser:
    """The deployment's pseudonymiser for the live path (worker, publish, POST /events), which
    refuses a random key: tokens would differ between workers and restarts."""
    if settings.pseudonymisation.secret is None:
        raise ConfigurationError(
            "pseudonymisation.secret",
            "not set, and the worker and publish need it (without it a beneficiary's token changes between "
            "workers and restarts); set [pseudonymisation] secret in the config or AIDMON_PSEUDONYMISATION__SECRET "
            f"to the deployment's secret, the same on every worker and publisher (make one with: {RANDOM_KEY_COMMAND})",
        )
    return make_pseudonymiser(settings)


def sanctions_names(settings: Settings, sanctions_path: Path | None) -> list[ListedName] | None:
    """The names of the list given on the command line or in the config, if any."""
    path = sanctions_path or settings.sanctions.path
    if path is None:
        log.warning("no sanctions list given (--sanctions): sanctioned_party screening is off")
        return None
    names = load_sanctions(path)
    log.info("sanctions list %s: %d names and aliases", path, len(names))
    return names


def make_monitor(settings: Settings, sanctions_path: Path | None) -> Monitor:
    return Monitor(settings.detectors, sanctions=sanctions_names(settings, sanctions_path))


def tune_garbage_collector() -> None:
    """The monitor's state is many small, long-lived objects and almost no cycles: move
    what start-up built out of the collector's sight and collect the young generation
    less often (a third less time on a long replay)."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


FULL_COLLECTION_SECONDS = 60.0


async def collect_cycles(every_seconds: float = FULL_COLLECTION_SECONDS) -> None:
    """A full collection every `every_seconds`, for ever (a task of the worker's main
    process). With the thresholds above the oldest generation is hardly ever collected,
    and the main process makes reference cycles (Faust's and the Kafka clients' objects)
    that hold fetched and sent batches: over a season of four quarters it grew about 40 MiB
    a quarter. A full collection there takes 10 to 15 ms (the first freed 15 MiB); with
    one a minute, the worker's memory over four quarters went from 1.33 to 1.21 times that
    over one (BENCHMARKS.md)."""
    while True:
        await asyncio.sleep(every_seconds)
        gc.collect()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off while a replay runs, on again after (if it was). The
    monitor's state, the events and the rejects make no reference cycles (a replay of each
    benchmark stream with the collector off left no cyclic garbage), so reference counting
    frees all of it, and the collector would only walk the growing state again and again
    (a tenth of a replay's time with the thresholds above). What the replay made is frozen
    before the collector is on again, or its first collection would walk all of it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
