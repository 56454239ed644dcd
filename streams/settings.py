"""The one settings object: a TOML file for the whole project, then the environment.

Precedence: environment (`AIDMON_` prefix, `__` between nested keys, e.g.
`AIDMON_DETECTORS__TRANSIT_LOSS__LOSS_RATIO=0.05`) over the TOML file over defaults.
Built once in `main`, frozen, passed down. No other module reads `os.environ`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from agents.config import DetectorConfig
from schemas.alerts import Severity, Typology
from schemas.exceptions import ConfigurationError
from streams.kafka.servers import check_broker


class PseudonymisationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    secret: SecretStr | None = Field(
        default=None,
        description="HMAC key turning raw beneficiary identifiers into tokens; at least 16 bytes",
    )


class SanctionsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: Path | None = Field(default=None, description="UN consolidated list XML to screen against")


class KafkaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    app_id: str = Field(
        default="aidmon", description="Faust app id: the consumer group and the prefix of internal topics"
    )
    partitions: int = Field(default=6, ge=1, description="partitions of aid.events.v1 and of the internal topics")
    idle_seconds: float = Field(
        default=10.0, gt=0, description="a partition quiet this long no longer holds back the event-time watermark"
    )
    tick_seconds: float = Field(
        default=0.1, gt=0, description="how often partitions' progress is broadcast (it paces the watermark)"
    )
    session_timeout_seconds: float = Field(
        default=10.0, ge=6, le=1800, description="how long the group waits for a worker that stopped answering "
        "(killed, or cut off) before its partitions go to the others or to its restart",
    )
    read_ahead_hours: float = Field(
        default=24.0, ge=0, description="how far in event time a partition of aid.events.v1 is read ahead of the "
        "slowest one with messages left before it waits (0: never); the state holds the retention plus this",
    )
    recovery_stall_seconds: float = Field(
        default=90.0, ge=5, description="a worker whose reading of its state back from the changelog has not moved "
        "this long, with records left and the broker answering, stops (exit status 3) for its supervisor to restart it",
    )
    max_outage_seconds: float = Field(
        default=900.0, ge=5, description="a worker whose broker has not answered this long exits (status 3) before "
        "the messages its Kafka producer holds for it expire (they would be lost): a restart processes again what "
        "was not acknowledged",
    )


Role = Literal["publisher", "monitor", "admin"]


def _unique_names(items: tuple[Any, ...]) -> tuple[Any, ...]:
    names = [item.name for item in items]
    if len(names) != len(set(names)):
        raise ValueError("each needs a name of its own")
    return items


def _not_empty(secret: SecretStr) -> SecretStr:
    if not secret.get_secret_value():
        raise ValueError("must not be empty: anyone could sign with an empty key")
    return secret


class TokenRecord(BaseModel):
    """One API bearer token, as `aidmon token create` stores it: never the token, its hash."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$", description="who, in audit records")
    role: Role
    source: str | None = Field(default=None, min_length=1, description="a publisher's CloudEvents source")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the token, hex")
    created_at: str | None = None

    @model_validator(mode="after")
    def _source_only_for_publishers(self) -> TokenRecord:
        if (self.role == "publisher") != (self.source is not None):
            raise ValueError("a publisher token needs a source; other roles take none")
        return self


class ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = Field(default=True, description="serve the HTTP API and /metrics on the worker")
    host: str = Field(default="127.0.0.1", description="address to listen on (0.0.0.0 in a container)")
    port: int = Field(default=6066, ge=1, le=65535)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="largest POST /events body")
    page_limit: int = Field(default=1000, ge=1, description="largest `limit` of GET /alerts")
    tokens: Annotated[tuple[TokenRecord, ...], AfterValidator(_unique_names)] = ()


class WebhookSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="a metrics label")
    url: AnyHttpUrl
    secret: Annotated[SecretStr, AfterValidator(_not_empty)] = Field(
        description="HMAC-SHA256 key of the signature header, 32 random characters or more; share it with the receiver")
    typologies: tuple[Typology, ...] = Field(default=(), description="empty: every typology")
    severities: tuple[Severity, ...] = Field(default=(), description="empty: every severity")


class WebhookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_attempts: int = Field(default=10, ge=1, description="tries before a delivery goes to the dead letters")
    first_retry_seconds: float = Field(default=1.0, gt=0, description="backoff before the second try; doubles")
    max_retry_seconds: float = Field(default=300.0, gt=0, description="longest backoff between tries")
    timeout_seconds: float = Field(default=10.0, gt=0, description="per try: connect, write and read")
    subscriptions: Annotated[tuple[WebhookSubscription, ...], AfterValidator(_unique_names)] = ()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AIDMON_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    broker: Annotated[str, AfterValidator(check_broker)] = Field(
        default="kafka://127.0.0.1:9092", description="Kafka bootstrap, kafka://HOST:PORT[,HOST:PORT]"
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    detectors: DetectorConfig = Field(default_factory=DetectorConfig)
    pseudonymisation: PseudonymisationSettings = Field(default_factory=PseudonymisationSettings)
    sanctions: SanctionsSettings = Field(default_factory=SanctionsSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the TOML file arrives as init arguments; the environment overrides it
        return (env_settings, init_settings)

    def redacted(self) -> dict[str, Any]:
        """The settings as they may be logged: secrets, token hashes and URL credentials hidden."""
        shown = self.model_dump(mode="json")
        for token in shown["api"]["tokens"]:
            token["sha256"] = "**********"
        for subscription in shown["webhooks"]["subscriptions"]:
            parts = urlsplit(subscription["url"])
            subscription["url"] = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        return shown


def read_config(config: Path) -> str:
    """The text of the settings file `config`, or a ConfigurationError naming `--config`."""
    try:
        return config.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError("--config", f"{config}: no such file") from None
    except UnicodeDecodeError:
        raise ConfigurationError("--config", f"{config}: not a TOML file (not UTF-8 text)") from None
    except OSError as exc:
        raise ConfigurationError("--config", f"{config}: cannot read it ({exc.strerror})") from None


def load_settings(config: Path | None = None) -> Settings:
    """Read `config` (TOML) if given and the environment; errors name the offending key."""
    data: dict[str, Any] = {}
    if config is not None:
        try:
            data = tomllib.loads(read_config(config))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError("--config", f"{config}: not valid TOML ({exc})") from None
    try:
        return Settings(**data)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = error["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
        raise ConfigurationError(key, f"{message}{more}") from None
