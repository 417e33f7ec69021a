"""``salon moderation ...``: remote instance blocks from the command line.

The command writes to the database (and the audit log) directly; the running server
reads blocks from there on every federation check, and tells federation to cut ties
with a domain blocked here the first time it is asked about it.
"""

from __future__ import annotations

import click
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from salon.core import db
from salon.core.cli import config_option, fail, plugin_migrations, settings_or_exit
from salon.core.errors import ConfigError

from . import audit
from .instance_blocks import normalise_domain
from .models import AuditEntry, InstanceBlock
from .settings import ModerationSettings


def _prepare(config_file: str | None) -> tuple[str, ModerationSettings]:
    settings = settings_or_exit(config_file)
    try:
        section = ModerationSettings.model_validate(settings.plugins.section("moderation"))
    except (ConfigError, ValueError) as exc:
        fail(f"invalid [plugins.moderation]: {exc}", 2)
    url = settings.instance.database_url
    db.upgrade(url, plugins=plugin_migrations(settings))
    return url, section


def _domain(value: str) -> str:
    try:
        return normalise_domain(value)
    except ValueError as exc:
        fail(str(exc), 2)
    raise AssertionError("unreachable")


def _audit(action: str, domain: str, reason: str) -> AuditEntry:
    return AuditEntry(action=action, target=domain, reason=reason, details='{"via": "cli"}')


@click.group("moderation")
def moderation() -> None:
    """Moderation: blocked remote instances."""


@moderation.command("block-instance")
@click.argument("domain")
@click.option("--reason", default="", help="Why (recorded in the audit log).")
@config_option
def block_instance(domain: str, reason: str, config_file: str | None) -> None:
    """Block the remote instance DOMAIN (and its subdomains) from federating."""
    domain = _domain(domain)
    url, section = _prepare(config_file)
    if domain in section.blocked_instances:
        fail(f"{domain} is already blocked in the config file")
    with db.sync_session(url) as session:
        session.add(InstanceBlock(domain=domain, reason=reason))
        session.add(_audit(audit.INSTANCE_BLOCKED, domain, reason))
        try:
            session.commit()
        except IntegrityError:
            fail(f"{domain} is already blocked")
    click.echo(f"blocked {domain}")


@moderation.command("unblock-instance")
@click.argument("domain")
@click.option("--reason", default="", help="Why (recorded in the audit log).")
@config_option
def unblock_instance(domain: str, reason: str, config_file: str | None) -> None:
    """Let the remote instance DOMAIN federate again."""
    domain = _domain(domain)
    url, section = _prepare(config_file)
    if domain in section.blocked_instances:
        fail(f"{domain} is blocked in the config file; remove it there")
    with db.sync_session(url) as session:
        row = session.exec(select(InstanceBlock).where(InstanceBlock.domain == domain)).first()
        if row is None:
            fail(f"{domain} is not blocked")
        session.delete(row)
        session.add(_audit(audit.INSTANCE_UNBLOCKED, domain, reason))
        session.commit()
    click.echo(f"unblocked {domain}")


@moderation.command("list-instances")
@config_option
def list_instances(config_file: str | None) -> None:
    """List blocked remote instances: DOMAIN, where it is blocked, and why."""
    url, section = _prepare(config_file)
    for domain in section.blocked_instances:
        click.echo(f"{domain}\tconfig\t")
    with db.sync_session(url) as session:
        for row in session.exec(select(InstanceBlock).order_by(InstanceBlock.domain)).all():
            click.echo(f"{row.domain}\tconsole\t{row.reason}")
