"""The project's one exception root.

    AidmonError
    ├── InvalidEvent          an event breaks the contract (reason, detail)
    ├── InvalidAlert          a message of the alerts topic is not an alert (detail)
    └── ConfigurationError    a setting or input file is unusable (key, problem)
        └── SanctionsListError   the sanctions list cannot be read (path, problem)

Messages tell the operator what to do; the attributes carry the data.
"""

from __future__ import annotations


class AidmonError(Exception):
    """Root of every error this project raises on purpose."""


class InvalidEvent(AidmonError):
    """An event that does not follow the contract; it is rejected and kept whole."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class InvalidAlert(AidmonError):
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

