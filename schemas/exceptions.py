"""The project's one exception root: everything aidmon raises on purpose is an `AidmonError`.

    AidmonError
    ├── InvalidEventError      an event breaks the contract (reason, detail): rejected, kept whole
    ├── InvalidAlertError      a message of the alerts topic is not an alert (detail)
    ├── ConfigurationError     a setting or input file is unusable (key, problem)
    │   └── SanctionsListError    the sanctions list cannot be read (path, problem)
    ├── BrokerError            the local Kafka broker cannot be set up, started or stopped
    ├── WorkerError            the worker met a message of its own topics it cannot read
    ├── DetectionProcessError  the worker's detection process failed on a request
    │   └── DetectionGoneError    the detection process has ended: the worker stops
    ├── SinkClosedError        an alert was handed to an output that has been closed
    └── ApiError               an HTTP answer other than success (status, error, detail, headers)
        ├── BodyError             a POST body that cannot be read as events (400)
        └── BadCursorError        a page cursor the API did not make (400)

Messages tell the operator what to do; the attributes carry the data. (Validators inside
pydantic models raise `ValueError`, as pydantic asks; it turns them into the
`InvalidEventError` or `ConfigurationError` of the caller.)
"""

from __future__ import annotations

from collections.abc import Mapping


class AidmonError(Exception):
    """Root of every error this project raises on purpose."""


class InvalidEventError(AidmonError):
    """An event that does not follow the contract; it is rejected and kept whole."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class InvalidAlertError(AidmonError):
    """A message of the alerts topic that is not an alert; fix its producer (nothing was sent)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"not an alert: {detail}")
        self.detail = detail


class ConfigurationError(AidmonError):
    """A setting is missing or wrong; `key` names it (dotted, as in the TOML file)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"setting {key}: {problem}")
        self.key = key
        self.problem = problem


class SanctionsListError(ConfigurationError):
    """The sanctions list file cannot be used; fix or replace the file and start again."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__("sanctions", f"{path}: {problem}")
        self.path = path


class BrokerError(AidmonError):
    """The local broker (`aidmon broker`) cannot be set up, started or stopped; the message
    says why and what to do (install Java or Maven, free a port, read the broker's log)."""


class WorkerError(AidmonError):
    """A message on one of the worker's own topics that it cannot read: a bug or a foreign
    producer on an internal topic; the message is dead-lettered with its position."""


class DetectionProcessError(AidmonError):
    """The worker's detection process (`streams.worker.detection`) could not serve a request
    (its error, as the process logged it); the lanes message is skipped, the worker goes on."""


class DetectionGoneError(DetectionProcessError):
    """The worker's detection process has ended (its exit status): the worker stops, and
    what it did not acknowledge is processed again after a restart."""


class SinkClosedError(AidmonError):
    """An alert was handed to an output after it was closed (the worker is stopping)."""


class ApiError(AidmonError):
    """An answer other than success: HTTP `status`, a short `error` code, a `detail` for the caller."""

    def __init__(self, status: int, error: str, detail: object, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = dict(headers or {})


class BodyError(ApiError):
    """A POST body that cannot be read as events as a whole (400)."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, "bad_request", detail)
        self.detail: str = detail


class BadCursorError(ApiError):
    """A `cursor` that is not one this API made: use the `next` value of a previous page (400)."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, "bad_request", detail)
