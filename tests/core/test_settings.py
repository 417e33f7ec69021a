"""Settings: the TOML file, SALON_* overrides, errors that name the key, and secrets."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from salon.core.errors import ConfigError
from salon.core.settings import (
    InstanceSettings,
    ServerSettings,
    Settings,
    config_path,
    load_settings,
    resolve_secret,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "salon.toml"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SALON_* variable from the caller's shell, and a working directory without
    config/salon.toml, so each test sees only what it sets."""
    for name in list(os.environ):
        if name.upper().startswith("SALON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


# -- where settings come from ------------------------------------------------------


def test_embedded_defaults_equal_the_shipped_config() -> None:
    defaults = load_settings()
    shipped = load_settings(SHIPPED)
    assert defaults.source == "embedded defaults"
    assert shipped.source == str(SHIPPED)
    assert shipped.model_dump() == defaults.model_dump()


def test_shipped_config_writes_out_every_key() -> None:
    """The shipped file is the defaults written out, not a subset that falls back on them."""
    data = tomllib.loads(SHIPPED.read_text())
    assert set(data) == set(Settings.model_fields)
    assert set(data["instance"]) == set(InstanceSettings.model_fields)
    assert set(data["server"]) == set(ServerSettings.model_fields)
    assert "enabled" in data["plugins"]


def test_config_path_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    explicit = write(tmp_path / "explicit.toml", "")
    from_env = write(tmp_path / "from-env.toml", "")
    assert config_path() is None
    (tmp_path / "config").mkdir()
    default = write(tmp_path / "config" / "salon.toml", "")
    assert config_path() == Path("config/salon.toml")
    assert config_path().resolve() == default.resolve()  # type: ignore[union-attr]
    monkeypatch.setenv("SALON_CONFIG", str(from_env))
    assert config_path() == from_env
    assert config_path(explicit) == explicit


def test_config_named_by_salon_config_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path / "mine.toml", '[instance]\nname = "Named by SALON_CONFIG"\n')
    monkeypatch.setenv("SALON_CONFIG", str(path))
    settings = load_settings()
    assert settings.instance.name == "Named by SALON_CONFIG"
    assert settings.source == str(path)


def test_missing_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nowhere.toml")
    bad = write(tmp_path / "bad.toml", "[instance\nname = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad)


# -- environment overrides ---------------------------------------------------------


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(
        tmp_path / "salon.toml",
        '[instance]\nname = "From the file"\nregistration = "invite"\n[server]\nport = 8123\n',
    )
    monkeypatch.setenv("SALON_INSTANCE__NAME", "From the environment")
    monkeypatch.setenv("SALON_SERVER__PORT", "9321")
    settings = load_settings(path)
    assert settings.instance.name == "From the environment"
    assert settings.server.port == 9321
    assert settings.instance.registration == "invite"  # untouched keys keep the file's value


def test_environment_reaches_plugin_sections(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "salon.toml",
        '[plugins]\nenabled = ["hello"]\n[plugins.hello]\ngreeting = "hi"\nrepeat = 2\n',
    )
    monkeypatch.setenv("SALON_PLUGINS__HELLO__GREETING", "hola")
    monkeypatch.setenv("SALON_PLUGINS__OTHER__LEVEL", "3")
    monkeypatch.setenv("SALON_PLUGINS__ENABLED", '["hello", "other"]')
    settings = load_settings(path)
    assert settings.plugins.enabled == ["hello", "other"]
    assert settings.plugins.section("hello") == {"greeting": "hola", "repeat": 2}
    assert settings.plugins.section("other") == {"level": "3"}
    assert settings.plugins.section("absent") == {}


def test_malformed_environment_value_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SALON_PLUGINS__ENABLED", "hello")  # a list must be JSON
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "plugins" in caught.value.message
    assert "SALON_" in caught.value.message


def test_environment_with_an_unknown_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALON_INSTANCE__NMAE", "typo")
    with pytest.raises(ConfigError, match=r"instance\.nmae: unknown key"):
        load_settings()


# -- errors name the key --------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[instance]\nnmae = "x"\n', "instance.nmae"),
        ("[server]\nprot = 1\n", "server.prot"),
        ('[instanse]\nname = "x"\n', "instanse"),
        ("debug = true\n", "debug"),
    ],
)
def test_unknown_key_is_named(tmp_path: Path, toml: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path / "salon.toml", toml))
    assert f"  {key}: unknown key" in caught.value.message
    assert str(tmp_path / "salon.toml") in caught.value.message


@pytest.mark.parametrize(
    ("toml", "key", "expects"),
    [
        ('[instance]\nregistration = "maybe"\n', "instance.registration", "'open', 'invite'"),
        ('[instance]\nbase_url = "example.org"\n', "instance.base_url", "http://"),
        ('[instance]\ndatabase_url = "mysql://x/y"\n', "instance.database_url", "sqlite:///"),
        ('[instance]\nname = ""\n', "instance.name", "at least 1"),
        ("[instance]\nmax_body_bytes = 10\n", "instance.max_body_bytes", "1024"),
        ("[server]\nport = 70000\n", "server.port", "65535"),
        ('[server]\nport = "eighty"\n', "server.port", "integer"),
        ('[server]\nlog_level = "loud"\n', "server.log_level", "'debug'"),
        ('[plugins]\nenabled = "clubs"\n', "plugins.enabled", "list"),
    ],
)
def test_bad_value_is_named(tmp_path: Path, toml: str, key: str, expects: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path / "salon.toml", toml))
    (line,) = [line for line in caught.value.message.splitlines() if line.strip().startswith(key)]
    assert expects in line


def test_plugin_section_must_be_a_table(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path / "salon.toml", "[plugins]\nhello = 3\n"))
    with pytest.raises(ConfigError) as caught:
        settings.plugins.section("hello")
    assert caught.value.field == "plugins.hello"


# -- secrets ---------------------------------------------------------------------------


def test_literal_secret_in_config_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "salon.toml", '[instance]\nsecret_key = "hunter2hunter2"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "instance.secret_key" in caught.value.message
    assert "env:NAME or file:PATH" in caught.value.message
    assert "hunter2" not in caught.value.message  # the refusal does not echo the secret


def test_env_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "plugins.payments_stripe.secret_key"
    monkeypatch.setenv("SALON_TEST_STRIPE_KEY", "sk_test_123")
    assert resolve_secret("env:SALON_TEST_STRIPE_KEY", key) == "sk_test_123"
    monkeypatch.delenv("SALON_TEST_STRIPE_KEY")
    with pytest.raises(ConfigError) as caught:
        resolve_secret("env:SALON_TEST_STRIPE_KEY", key)
    assert caught.value.field == key
    assert key in caught.value.message
    assert "SALON_TEST_STRIPE_KEY" in caught.value.message


def test_file_secret(tmp_path: Path) -> None:
    existing = write(tmp_path / "webhook.secret", "whsec_abc\n")
    assert resolve_secret(f"file:{existing}", "plugins.x.webhook_secret") == "whsec_abc"

    missing = tmp_path / "keys" / "session.key"
    with pytest.raises(ConfigError) as caught:
        resolve_secret(f"file:{missing}", "instance.secret_key")
    assert caught.value.field == "instance.secret_key"
    assert not missing.exists()

    old_umask = os.umask(0o022)  # what would leave a plainly written file world-readable
    try:
        created = resolve_secret(f"file:{missing}", "instance.secret_key", create=True)
    finally:
        os.umask(old_umask)
    assert mode(missing) == 0o600
    assert len(created) >= 32
    assert resolve_secret(f"file:{missing}", "instance.secret_key", create=True) == created


def test_secret_reference_must_be_env_or_file() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_secret("sk_live_literal", "plugins.payments_stripe.secret_key")
    assert caught.value.field == "plugins.payments_stripe.secret_key"
    assert "env:NAME or file:PATH" in caught.value.message
