"""The one settings object: a TOML file for the whole project, then the environment.

Precedence: environment (`AIDMON_` prefix, `__` between nested keys, e.g.
`AIDMON_DETECTORS__TRANSIT_LOSS__LOSS_RATIO=0.05`) over the TOML file over defaults.
Built once in `main`, frozen, passed down. No other module reads `os.environ`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from agents.config import DetectorConfig
from schemas.exceptions import ConfigurationError


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
    tick_seconds: float = Field(default=1.0, gt=0, description="how often partitions' progress is broadcast")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AIDMON_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    broker: str = Field(default="kafka://127.0.0.1:9092", description="Kafka bootstrap, kafka://HOST:PORT[,HOST:PORT]")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    detectors: DetectorConfig = Field(default_factory=DetectorConfig)
    pseudonymisation: PseudonymisationSettings = Field(default_factory=PseudonymisationSettings)
    sanctions: SanctionsSettings = Field(default_factory=SanctionsSettings)

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
        """The settings as they may be logged: secrets hidden."""
        return self.model_dump(mode="json")


def load_settings(config: Path | None = None) -> Settings:
    """Read `config` (TOML) if given and the environment; errors name the offending key."""
    data: dict[str, Any] = {}
    if config is not None:
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError("--config", f"{config}: no such file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError("--config", f"{config}: not valid TOML ({exc})") from None
    try:
        return Settings(**data)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigurationError(key, f"{error['msg']}{more}") from None
