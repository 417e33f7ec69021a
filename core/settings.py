"""Typed settings: the TOML config file, overridden by ``SALON_<SECTION>__<KEY>`` variables.

The file is ``--config PATH``, else ``$SALON_CONFIG``, else ``config/salon.toml`` in the
working directory if it exists, else the embedded defaults below (which equal the shipped
``config/salon.toml``; a test keeps them equal). Unknown keys and bad values raise
:class:`~salon.core.errors.ConfigError` naming the key and what it expects.

Secrets are never written in the config itself: a secret setting holds ``env:NAME``
(read from the environment) or ``file:PATH`` (read from a file).
"""

from __future__ import annotations

import os
import secrets as _secrets
import tomllib
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from .errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/salon.toml")


class InstanceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("My Salon", min_length=1, max_length=100)
    base_url: str = "http://127.0.0.1:8000"
    database_url: str = "sqlite:///./salon.db"
    registration: Literal["open", "invite", "closed"] = "open"
    secret_key: str = Field(
        "file:./salon-secret.key",
        description="signs session cookies; env:NAME or file:PATH (a missing file is created)",
    )
    key_file: str = Field(
        "./salon-instance-key.pem", description="the instance's RSA private key (PEM)"
    )
    max_body_bytes: int = Field(1_000_000, ge=1024)
    cookie_secure: bool = False
    leave_grace_seconds: float = Field(
        30.0, ge=0, le=3600, description="a member whose room socket closed leaves after this"
    )

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_secret_ref(cls, value: str) -> str:
        if not value.startswith(("env:", "file:")):
            raise ValueError("must be env:NAME or file:PATH; secrets never go in the config")
        return value


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"


def bundled_plugins() -> list[str]:
    """The plugins Salon's own distribution declares (its ``salon.plugins`` entry points):
    the embedded default of ``plugins.enabled``, without the core naming any of them."""
    return sorted(
        ep.name
        for ep in entry_points(group="salon.plugins")
        if ep.dist is not None and ep.dist.name == "salon"
    )


class PluginsSettings(BaseModel):
    """``enabled`` names the plugins to run; ``[plugins.NAME]`` tables hold their settings,
    validated by each plugin's own model once plugins are loaded."""

    model_config = ConfigDict(extra="allow")

    enabled: list[str] = Field(default_factory=lambda: bundled_plugins())

    def section(self, name: str) -> dict[str, Any]:
        value = (self.model_extra or {}).get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(
                f"plugins.{name}: expected a table of settings, got {value!r}",
                field=f"plugins.{name}",
            )
        return value

    def sections(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SALON_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    instance: InstanceSettings = Field(default_factory=InstanceSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    plugins: PluginsSettings = Field(default_factory=PluginsSettings)

    # Where the settings came from, for messages; not a config key.
    _source: str = "embedded defaults"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _CURRENT_TOML.get("path")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def source(self) -> str:
        return self._source


# pydantic-settings builds sources from class state; this carries the chosen file to
# settings_customise_sources for the duration of one load_settings() call.
_CURRENT_TOML: dict[str, Path | None] = {}


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read, following the documented order, or None for defaults."""
    if explicit:
        return Path(explicit)
    if os.environ.get("SALON_CONFIG"):
        return Path(os.environ["SALON_CONFIG"])
    if DEFAULT_CONFIG_PATH.is_file():
        return DEFAULT_CONFIG_PATH
    return None


def load_settings(
    path: str | os.PathLike[str] | None = None, *, overrides: dict[str, Any] | None = None
) -> Settings:
    """Read and validate the settings; raise ConfigError naming the bad key."""
    chosen = config_path(path)
    if chosen is not None:
        if not chosen.is_file():
            raise ConfigError(f"config file {chosen} does not exist", field="--config")
        try:
            with chosen.open("rb") as fh:
                tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{chosen} is not valid TOML: {exc}") from None
    _CURRENT_TOML["path"] = chosen
    try:
        settings = Settings(**(overrides or {}))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, chosen)) from None
    except SettingsError as exc:
        # A SALON_* variable that is not valid JSON where a list or table is expected.
        raise ConfigError(
            f"{exc}: check the SALON_* environment variables; lists and tables take JSON, "
            "e.g. SALON_PLUGINS__ENABLED='[\"clubs\"]'"
        ) from None
    finally:
        _CURRENT_TOML.pop("path", None)
    settings._source = str(chosen) if chosen else "embedded defaults"
    return settings


def describe_validation_error(exc: ValidationError, source: Path | None, prefix: str = "") -> str:
    """One line per problem: the dotted key, what is wrong and what it expects."""
    where = str(source) if source else "the settings"
    lines = [f"invalid configuration in {where}:"]
    for error in exc.errors():
        key = prefix + ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key; check its spelling (see config/salon.toml)")
        else:
            # A secret written into the config by mistake must not reach logs or terminals.
            given = "<hidden>" if "secret" in key else repr(error.get("input"))
            lines.append(f"  {key}: {error['msg']} (got {given})")
    return "\n".join(lines)


def resolve_secret(reference: str, key: str, *, create: bool = False) -> str:
    """Read an ``env:NAME`` or ``file:PATH`` secret; with CREATE, a missing file is
    generated (for the session-signing key on first start)."""
    kind, _, name = reference.partition(":")
    if kind == "env":
        value = os.environ.get(name)
        if not value:
            raise ConfigError(
                f"{key}: environment variable {name} is not set; set it or point {key} "
                "at file:PATH",
                field=key,
            )
        return value
    if kind == "file":
        path = Path(name)
        if not path.exists():
            if not create:
                raise ConfigError(f"{key}: secret file {path} does not exist", field=key)
            write_private_file(path, _secrets.token_urlsafe(48).encode())
        return path.read_text().strip()
    raise ConfigError(f"{key}: expected env:NAME or file:PATH, got {reference!r}", field=key)


def write_private_file(path: Path, data: bytes) -> None:
    """Write DATA to PATH readable by its owner only (mode 0600), never briefly
    readable by others: the mode is set before anything is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
        fh.write(data)
