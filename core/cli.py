"""The ``salon`` command: serve, init, plugins, user, db.

Exit codes: 0 done; 1 failed; 2 usage or configuration error (the message names the
key and the fix).
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.request
from pathlib import Path
from typing import Any, NoReturn

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from . import __version__, db
from .auth import check_password, check_username, hash_password
from .errors import ConfigError, SalonError
from .models import User
from .plugins import PluginManager
from .settings import Settings, load_settings, write_private_file

EXIT_FAILED = 1
EXIT_USAGE = 2

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    envvar="SALON_CONFIG",
    help="Config file (default: config/salon.toml if present, else built-in defaults).",
)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def settings_or_exit(config_file: str | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config_file, overrides=overrides or None)
    except ConfigError as exc:
        fail(f"{exc.message}\nFix the config and run the command again.", EXIT_USAGE)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def plugin_migrations(settings: Settings) -> dict[str, Path]:
    """The migrations folders of the plugins SETTINGS enable."""
    manager = PluginManager()
    try:
        manager.load(settings)
    except ConfigError as exc:
        fail(exc.message, EXIT_USAGE)
    return manager.migrations()


class SalonGroup(click.Group):
    """The top-level group: the core's commands plus those of the enabled plugins
    (``salon_cli_commands``), found from ``$SALON_CONFIG`` or the shipped config only
    when a name is not the core's, so core commands never import a plugin."""

    _plugin_commands: dict[str, click.Command] | None = None

    def plugin_commands(self) -> dict[str, click.Command]:
        if self._plugin_commands is None:
            self._plugin_commands = {}
            settings = load_settings_quiet(None)
            if settings is not None:
                manager = PluginManager()
                try:
                    manager.load(settings)
                except ConfigError:
                    return self._plugin_commands  # `salon serve` reports it properly
                for _name, commands in manager.results_by_plugin("salon_cli_commands"):
                    for command in commands:
                        if command.name and command.name not in self.commands:
                            self._plugin_commands[command.name] = command
        return self._plugin_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name) or self.plugin_commands().get(cmd_name)


@click.group(cls=SalonGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="salon")
def main() -> None:
    """Salon: live audio rooms you host yourself, federated with other instances."""


@main.command()
@config_option
@click.option("--host", help="Address to listen on (default: server.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: server.port, 8000).")
def serve(config_file: str | None, host: str | None, port: int | None) -> None:
    """Apply migrations and serve the instance (web client, API, sockets)."""
    import uvicorn

    from .app import create_app

    overrides: dict[str, Any] = {}
    if host or port is not None:
        base = load_settings_quiet(config_file)
        server = base.server.model_dump() if base else {}
        server.update({k: v for k, v in (("host", host), ("port", port)) if v is not None})
        overrides["server"] = server
    settings = settings_or_exit(config_file, **overrides)
    configure_logging(settings.server.log_level)
    try:
        app = create_app(settings)
    except ConfigError as exc:
        fail(exc.message, EXIT_USAGE)
    click.echo(
        f"Salon {__version__}: {settings.instance.name} on "
        f"http://{settings.server.host}:{settings.server.port} (config: {settings.source})",
        err=True,
    )
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.server.log_level,
        proxy_headers=True,
        access_log=False,
        ws="websockets-sansio",
        ws_max_size=64 * 1024,  # clients send the room socket nothing that needs more
    )


def load_settings_quiet(config_file: str | None) -> Settings | None:
    try:
        return load_settings(config_file)
    except ConfigError:
        return None


CONFIG_TEMPLATE = """\
# Salon configuration, written by `salon init`. Every key is documented in README.md.
# Environment variables SALON_<SECTION>__<KEY> override any key.

[instance]
name = {name}
base_url = {base_url}
database_url = {database_url}
registration = "open"            # open | invite | closed
secret_key = {secret_key}        # env:NAME or file:PATH; never the secret itself
key_file = {key_file}

[server]
host = "127.0.0.1"
port = {port}

[plugins]
enabled = {enabled}
"""


def _toml_str(value: str) -> str:
    return json.dumps(value)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="My Salon", show_default=True, help="The instance's name.")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing config and keys.")
def init(directory: Path, name: str, base_url: str, port: int, force: bool) -> None:
    """Write a config, a session secret and the instance's key pair into DIRECTORY."""
    from .plugins import installed_plugins

    directory = directory.resolve()
    config = directory / "salon.toml"
    secret = directory / "secret.key"
    key = directory / "instance-key.pem"
    public = directory / "instance-key.pub.pem"
    existing = [p for p in (config, secret, key) if p.exists()]
    if existing and not force:
        fail(f"{existing[0]} already exists; use --force to overwrite", EXIT_USAGE)
    directory.mkdir(parents=True, exist_ok=True)
    text = CONFIG_TEMPLATE.format(
        name=_toml_str(name),
        base_url=_toml_str(base_url),
        database_url=_toml_str(f"sqlite:///{directory / 'salon.db'}"),
        secret_key=_toml_str(f"file:{secret}"),
        key_file=_toml_str(str(key)),
        port=port,
        enabled=json.dumps(sorted(installed_plugins())),
    )
    try:
        load_settings_from_text(text, directory)
    except ConfigError as exc:
        fail(exc.message, EXIT_USAGE)
    import secrets as _secrets

    config.write_text(text)
    write_private_file(secret, _secrets.token_urlsafe(48).encode())
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_private_file(
        key,
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    public.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    click.echo(f"wrote {config}, {secret}, {key} and {public}")
    click.echo(f"start it with: salon serve --config {config}")


def load_settings_from_text(text: str, directory: Path) -> Settings:
    probe = directory / ".salon-init-check.toml"
    directory.mkdir(parents=True, exist_ok=True)
    probe.write_text(text)
    try:
        return load_settings(probe)
    finally:
        probe.unlink()


@main.command("plugins")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(config_file: str | None, as_json: bool) -> None:
    """List installed plugins: enabled or not, and their state (or why they are off)."""
    settings = settings_or_exit(config_file)
    manager = PluginManager()
    try:
        manager.load(settings)
    except ConfigError as exc:
        fail(exc.message, EXIT_USAGE)
    live = _live_plugin_states(settings)
    rows = []
    for info in sorted(manager.plugins.values(), key=lambda i: i.name):
        if not info.enabled:
            state = "disabled (not in plugins.enabled)"
        elif info.state == "failed":
            state = f"failed: {info.reason}"
        elif live is not None and info.name in live:
            state = live[info.name]
        else:
            state = "enabled (starts with the server)"
        rows.append({"name": info.name, "version": info.version or "", "state": state})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no plugins installed")
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['version']:<8}  {r['state']}")
    if live is None:
        click.echo(f"(no server answered at {settings.instance.base_url}; states are from config)")


def _live_plugin_states(settings: Settings) -> dict[str, str] | None:
    """Ask the running instance (if any) which plugins are running."""
    url = f"{settings.instance.base_url}/api/plugins"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            data = json.load(response)
    except (OSError, ValueError):
        return None
    states = {}
    for p in data.get("plugins", []):
        states[p["name"]] = p["state"] + (f": {p['reason']}" if p.get("reason") else "")
    return states


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command("create")
@click.argument("name")
@config_option
@click.option("--admin", is_flag=True, help="Make the account an instance admin.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="SALON_NEW_PASSWORD",
    help="The password (prompted for when not given; or set SALON_NEW_PASSWORD).",
)
def user_create(name: str, config_file: str | None, admin: bool, password: str) -> None:
    """Create the account NAME."""
    settings = settings_or_exit(config_file)
    try:
        username = check_username(name.lower())
        check_password(password)
    except SalonError as exc:
        fail(exc.message, EXIT_USAGE)
    db.upgrade(settings.instance.database_url, plugins=plugin_migrations(settings))
    with db.sync_session(settings.instance.database_url) as session:
        if session.exec(select(User).where(User.username == username)).first():
            fail(f"a user named {username!r} already exists")
        session.add(
            User(
                username=username,
                display_name=username,
                password_hash=hash_password(password),
                is_admin=admin,
            )
        )
        try:
            session.commit()
        except IntegrityError:
            fail(f"a user named {username!r} already exists")
    click.echo(f"created {'admin ' if admin else ''}user {username}")


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@config_option
def db_upgrade(config_file: str | None) -> None:
    """Apply pending migrations (``salon serve`` also does this on start)."""
    settings = settings_or_exit(config_file)
    configure_logging("info")
    db.upgrade(settings.instance.database_url, plugins=plugin_migrations(settings))
    click.echo("database is up to date")


if __name__ == "__main__":  # pragma: no cover
    main()
