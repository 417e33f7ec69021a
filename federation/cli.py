"""``salon keys rotate`` and ``salon federation queue|block|unblock|blocks`` and
``peer|unpeer|peers``.

They work on the database directly (the server need not run); a running server's
delivery workers pick up what they queue within ``poll_seconds``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime

import click
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from salon.core import db
from salon.core.cli import EXIT_USAGE, config_option, fail, plugin_migrations, settings_or_exit
from salon.core.models import User
from salon.core.plugins import PluginManager, await_me_maybe
from salon.core.settings import Settings

from . import keys
from .activities import AS_CONTEXT, PUBLIC, build_actor, person_document
from .models import (
    FederationBlock,
    FederationDelivery,
    FederationFollow,
    FederationKey,
    FederationPeer,
    FederationRemoteActor,
)
from .service import INSTANCE_USERNAME, host_matches, host_of
from .settings import FederationSettings


def _open(config_file: str | None) -> tuple[Settings, FederationSettings, Session]:
    settings = settings_or_exit(config_file)
    if "federation" not in settings.plugins.enabled:
        fail("federation is not in plugins.enabled", EXIT_USAGE)
    fed_settings = FederationSettings.model_validate(settings.plugins.section("federation"))
    db.upgrade(settings.instance.database_url, plugins=plugin_migrations(settings))
    return settings, fed_settings, db.sync_session(settings.instance.database_url)


@click.group("keys")
def keys_group() -> None:
    """Federation signing keys."""


@keys_group.command("rotate")
@click.argument("username", required=False)
@click.option("--instance", "instance_actor", is_flag=True, help="Rotate the instance actor's key.")
@click.option("--actor", "actor_name", help="Rotate the key of a plugin's actor (a club).")
@config_option
def rotate(
    username: str | None, instance_actor: bool, actor_name: str | None, config_file: str | None
) -> None:
    """Rotate USERNAME's key (or the instance actor's, or a plugin actor's): the old key
    keeps verifying for key_rotation_grace_seconds, and followers are sent an Update
    with the new key."""
    if [bool(username), instance_actor, bool(actor_name)].count(True) != 1:
        fail("name a user, or pass --instance or --actor NAME", EXIT_USAGE)
    settings, fed_settings, session = _open(config_file)
    base = settings.instance.base_url
    grace = fed_settings.key_rotation_grace_seconds
    with session:
        if instance_actor:
            new = keys.rotate(session, f"{base}/actor", grace)
            click.echo(f"rotated {INSTANCE_USERNAME}: new key {new.key_id}")
            return
        if actor_name:
            description = _plugin_actor(settings, actor_name)
            if description is None:
                fail(f"no plugin actor named {actor_name!r}")
            actor, name = f"{base}/actors/{actor_name}", actor_name

            def document(key_id: str, pem: str, retired: list[tuple[str, str]]) -> dict:
                return build_actor(
                    actor,
                    base,
                    type_=str(description.get("type") or "Group"),
                    username=actor_name,
                    name=str(description.get("name") or actor_name),
                    summary=str(description.get("summary") or ""),
                    url=str(description.get("url") or actor),
                    key_id=key_id,
                    public_pem=pem,
                    manually_approves=bool(description.get("manuallyApprovesFollowers")),
                    retired=retired,
                )

        else:
            user = session.exec(select(User).where(User.username == username.lower())).first()  # type: ignore[union-attr]
            if user is None:
                fail(f"no user named {username!r}")
            actor, name = f"{base}/users/{user.username}", user.username

            def document(key_id: str, pem: str, retired: list[tuple[str, str]]) -> dict:
                return person_document(base, user, key_id, pem, retired=retired)

        now = datetime.now(UTC)
        new = keys.rotate(session, actor, grace)
        new_key_id = new.key_id
        retired = [
            (k.key_id, k.public_pem)
            for k in session.exec(select(FederationKey).where(FederationKey.actor == actor)).all()
            if k.retired_at is not None and (keys.aware(k.expires_at) or now) > now
        ]
        doc = document(new.key_id, new.public_pem, retired)
        update = {
            "@context": AS_CONTEXT,
            "id": f"{base}/activities/{uuid.uuid4()}",
            "type": "Update",
            "actor": actor,
            "object": {k: v for k, v in doc.items() if k != "@context"},
            "to": [PUBLIC],
        }
        queued = _to_followers(session, fed_settings, actor, update)
    click.echo(f"rotated {name}: new key {new_key_id}; Update queued for {queued} inboxes")


def _plugin_actor(settings: Settings, name: str) -> dict | None:
    """Ask the enabled plugins (``salon_federated_actor``) about the actor NAME."""
    manager = PluginManager()
    manager.load(settings)
    found = asyncio.run(await_me_maybe(manager.hook.salon_federated_actor(name=name)))
    return found if isinstance(found, dict) else None


def _to_followers(
    session: Session, settings: FederationSettings, actor: str, activity: dict
) -> int:
    rows = session.exec(
        select(FederationRemoteActor)
        .join(FederationFollow, FederationRemoteActor.uri == FederationFollow.remote_actor)
        .where(
            FederationFollow.local_actor == actor,
            FederationFollow.direction == "in",
            FederationFollow.state == "accepted",
        )
    ).all()
    blocked = [*settings.blocked_instances, *session.exec(select(FederationBlock.host)).all()]
    inboxes = sorted({a.shared_inbox or a.inbox for a in rows if a.shared_inbox or a.inbox})
    body = json.dumps(activity, separators=(",", ":"))
    queued = 0
    for inbox in inboxes:
        host = host_of(inbox)
        if any(host_matches(host, b) for b in blocked):
            continue
        session.add(
            FederationDelivery(
                activity_id=activity["id"], sender=actor, inbox=inbox, host=host, body=body
            )
        )
        try:
            session.commit()
            queued += 1
        except IntegrityError:
            session.rollback()
    return queued


@click.group("federation")
def federation_group() -> None:
    """Federation: the delivery queue, blocked instances and peers."""


@federation_group.command("queue")
@click.option("--all", "show_all", is_flag=True, help="List every pending and failed delivery.")
@config_option
def queue(show_all: bool, config_file: str | None) -> None:
    """Show pending and failed deliveries, by host."""
    _, _, session = _open(config_file)
    with session:
        rows = session.exec(
            select(FederationDelivery)
            .where(col(FederationDelivery.state).in_(["pending", "sending", "failed"]))
            .order_by(FederationDelivery.id)
        ).all()
    if not rows:
        click.echo("no pending or failed deliveries")
        return
    counts = Counter((r.host, "failed" if r.state == "failed" else "pending") for r in rows)
    hosts = sorted({h for h, _ in counts})
    click.echo(f"{'host':<40} {'pending':>8} {'failed':>8}")
    for host in hosts:
        click.echo(f"{host:<40} {counts[(host, 'pending')]:>8} {counts[(host, 'failed')]:>8}")
    if show_all:
        now = datetime.now(UTC)
        for r in rows:
            due = keys.aware(r.next_attempt_at)
            wait = max(0.0, (due - now).total_seconds()) if due else 0.0  # type: ignore[operator]
            state = r.state if r.state == "failed" else f"pending, next try in {wait:.0f}s"
            click.echo(
                f"#{r.id} {r.inbox} {r.activity_id} attempts={r.attempts} {state}"
                + (f" last: {r.last_status or ''} {r.last_error}" if r.last_error else "")
            )


@federation_group.command("block")
@click.argument("domain")
@config_option
def block(domain: str, config_file: str | None) -> None:
    """Block DOMAIN (and its subdomains): refused at the inbox, never delivered to;
    existing follows with it are severed and queued deliveries dropped."""
    domain = domain.strip().lower()
    if not domain or "/" in domain:
        fail("give a host name such as example.com", EXIT_USAGE)
    _, _, session = _open(config_file)
    with session:
        if (
            session.exec(select(FederationBlock).where(FederationBlock.host == domain)).first()
            is None
        ):
            session.add(FederationBlock(host=domain))
        severed = 0
        for row in session.exec(select(FederationFollow)).all():
            if host_matches(row.remote_host, domain):
                session.delete(row)
                severed += 1
        dropped = 0
        for row in session.exec(
            select(FederationDelivery).where(
                col(FederationDelivery.state).in_(["pending", "sending"])
            )
        ).all():
            if host_matches(row.host, domain):
                row.state, row.last_error = "dropped", "instance blocked"
                session.add(row)
                dropped += 1
        session.commit()
    click.echo(f"blocked {domain}: {severed} follows severed, {dropped} deliveries dropped")


@federation_group.command("unblock")
@click.argument("domain")
@config_option
def unblock(domain: str, config_file: str | None) -> None:
    """Lift a block made with ``salon federation block`` (not one in the config)."""
    _, _, session = _open(config_file)
    with session:
        row = session.exec(
            select(FederationBlock).where(FederationBlock.host == domain.lower())
        ).first()
        if row is None:
            fail(f"{domain} is not blocked with this command")
        session.delete(row)
        session.commit()
    click.echo(f"unblocked {domain}")


@federation_group.command("blocks")
@config_option
def blocks(config_file: str | None) -> None:
    """List blocked instances (config and command line)."""
    _, fed_settings, session = _open(config_file)
    with session:
        rows = session.exec(select(FederationBlock).order_by(FederationBlock.host)).all()
    for host in fed_settings.blocked_instances:
        click.echo(f"{host}  (config)")
    for row in rows:
        click.echo(f"{row.host}  (salon federation block)")


# -- peering (issue 9) ------------------------------------------------------------------


def _fetch_instance_actor(fed_settings: FederationSettings, url: str) -> dict:
    """GET another instance's actor document through the guarded client."""
    from .client import ACCEPT_ACTIVITY, FederationClient
    from .errors import FetchError

    async def fetch() -> dict:
        client = FederationClient(
            allowed_ranges=fed_settings.allowed_private_ranges,
            timeout=fed_settings.request_timeout_seconds,
            max_response_bytes=fed_settings.max_response_bytes,
        )
        try:
            response = await client.request("GET", url, headers={"Accept": ACCEPT_ACTIVITY})
            if response.status != 200:
                raise FetchError(f"GET {url} answered {response.status}")
            data = response.json()
        finally:
            await client.aclose()
        if not isinstance(data, dict):
            raise FetchError(f"GET {url} did not answer a JSON object")
        return data

    try:
        return asyncio.run(fetch())
    except FetchError as exc:
        fail(f"cannot reach that instance: {exc.message}")
    raise AssertionError("unreachable")


def _queue(session: Session, activity: dict, sender: str, inbox: str) -> None:
    session.add(
        FederationDelivery(
            activity_id=activity["id"],
            sender=sender,
            inbox=inbox,
            host=host_of(inbox),
            body=json.dumps(activity, separators=(",", ":")),
        )
    )


@federation_group.command("peer")
@click.argument("host")
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(0, 600),
    default=15.0,
    show_default=True,
    help="Seconds to wait for the other instance's answer (the server must be running).",
)
@config_option
def peer(host: str, wait_seconds: float, config_file: str | None) -> None:
    """Peer with HOST: this instance's actor follows HOST's, so HOST's open rooms are
    listed in this instance's hallway. HOST accepts only if its list_rooms_to_peers is
    on. The running server sends the Follow and records the answer."""
    from .peers import PENDING, instance_actor_url
    from .service import origin_of

    settings, fed_settings, session = _open(config_file)
    url = instance_actor_url(host)
    base = settings.instance.base_url
    if origin_of(url) == origin_of(base):
        fail("that is this instance", EXIT_USAGE)
    peer_host = host_of(url)
    blocked = [*fed_settings.blocked_instances]
    with session:
        blocked += session.exec(select(FederationBlock.host)).all()
    if any(host_matches(peer_host, b) for b in blocked):
        fail(f"{peer_host} is blocked here")
    doc = _fetch_instance_actor(fed_settings, url)
    actor, inbox = doc.get("id"), doc.get("inbox")
    if not isinstance(actor, str) or origin_of(actor) != origin_of(url):
        fail(f"{url} does not describe an actor of {peer_host}")
    if not isinstance(inbox, str) or origin_of(inbox) != origin_of(actor):
        fail(f"{actor} has no inbox on its own server")
    local = f"{base}/actor"
    follow = {
        "@context": AS_CONTEXT,
        "id": f"{base}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": local,
        "object": actor,
    }
    with session:
        _remember_actor(session, doc, peer_host)
        row = session.exec(select(FederationPeer).where(FederationPeer.host == peer_host)).first()
        row = row or FederationPeer(host=peer_host, actor=actor)
        row.actor, row.state, row.follow_id, row.answered_at = actor, PENDING, follow["id"], None
        session.add(row)
        existing = session.exec(
            select(FederationFollow).where(
                FederationFollow.local_actor == local,
                FederationFollow.remote_actor == actor,
                FederationFollow.direction == "out",
            )
        ).first()
        existing = existing or FederationFollow(
            local_actor=local, remote_actor=actor, remote_host=peer_host, direction="out"
        )
        existing.state, existing.activity_id = "pending", follow["id"]
        session.add(existing)
        _queue(session, follow, local, inbox)
        session.commit()
    click.echo(f"asked {peer_host} to list its open rooms here")
    _await_answer(session, peer_host, wait_seconds)


def _await_answer(session: Session, peer_host: str, wait_seconds: float) -> None:
    import time

    deadline = time.monotonic() + wait_seconds
    state = "pending"
    while True:
        with session:
            row = session.exec(
                select(FederationPeer).where(FederationPeer.host == peer_host)
            ).first()
            state = row.state if row else "pending"
        if state != "pending" or time.monotonic() >= deadline:
            break
        time.sleep(0.1)  # polling the answer the running server records
    if state == "accepted":
        click.echo(f"{peer_host} accepted: its open rooms are listed here")
    elif state == "refused":
        fail(f"{peer_host} refused: it does not list its rooms to peers (list_rooms_to_peers)")
    else:
        click.echo(f"no answer from {peer_host} yet; see `salon federation peers`")


def _remember_actor(session: Session, doc: dict, peer_host: str) -> None:
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    row = session.exec(
        select(FederationRemoteActor).where(FederationRemoteActor.uri == doc["id"])
    ).first()
    row = row or FederationRemoteActor(uri=doc["id"], host=peer_host)
    row.type = str(doc.get("type") or "Application")[:40]
    row.username = str(doc.get("preferredUsername") or "")[:200]
    row.name = str(doc.get("name") or "")[:200]
    row.inbox = str(doc.get("inbox") or "")[:600]
    shared = endpoints.get("sharedInbox")
    row.shared_inbox = shared[:600] if isinstance(shared, str) else ""
    session.add(row)


@federation_group.command("unpeer")
@click.argument("host")
@config_option
def unpeer(host: str, config_file: str | None) -> None:
    """Stop peering with HOST: its open rooms leave the hallway (rooms of people users
    here follow stay), and HOST is told (an Undo of the Follow)."""
    from .peers import instance_actor_url

    settings, _, session = _open(config_file)
    peer_host = host_of(instance_actor_url(host))
    local = f"{settings.instance.base_url}/actor"
    with session:
        row = session.exec(select(FederationPeer).where(FederationPeer.host == peer_host)).first()
        if row is None:
            fail(f"not peered with {peer_host}")
        follow = session.exec(
            select(FederationFollow).where(
                FederationFollow.local_actor == local,
                FederationFollow.remote_actor == row.actor,
                FederationFollow.direction == "out",
            )
        ).first()
        remote = session.exec(
            select(FederationRemoteActor).where(FederationRemoteActor.uri == row.actor)
        ).first()
        if follow is not None:
            inner = {
                "id": follow.activity_id,
                "type": "Follow",
                "actor": local,
                "object": row.actor,
            }
            undo = {
                "@context": AS_CONTEXT,
                "id": f"{settings.instance.base_url}/activities/{uuid.uuid4()}",
                "type": "Undo",
                "actor": local,
                "object": inner,
            }
            if remote is not None and remote.inbox:
                _queue(session, undo, local, remote.inbox)
            session.delete(follow)
        session.delete(row)
        session.commit()
    click.echo(f"no longer peered with {peer_host}")


@federation_group.command("peers")
@config_option
def peers_command(config_file: str | None) -> None:
    """List the instances this one peers with (their open rooms are listed here), and
    those that peer with this one."""
    settings, fed_settings, session = _open(config_file)
    local = f"{settings.instance.base_url}/actor"
    with session:
        rows = session.exec(select(FederationPeer).order_by(FederationPeer.host)).all()
        incoming = session.exec(
            select(FederationFollow.remote_host).where(
                FederationFollow.local_actor == local,
                FederationFollow.direction == "in",
                FederationFollow.state == "accepted",
            )
        ).all()
    if not rows and not incoming:
        click.echo("no peers")
    for row in rows:
        click.echo(f"{row.host}  {row.state}")
    for remote_host in sorted(set(incoming)):
        click.echo(f"{remote_host}  lists our open rooms")
    if incoming and not fed_settings.list_rooms_to_peers:
        click.echo("(list_rooms_to_peers is off: nothing is sent to them)")
