"""Salon objects as ActivityStreams: actor documents and the activities Salon sends."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from salon.core.models import User

from .service import Federation, LocalActor

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
CONTEXT = [AS_CONTEXT, "https://w3id.org/security/v1"]
PUBLIC = f"{AS_CONTEXT}#Public"


def person_document(
    base_url: str,
    user: User,
    key_id: str,
    public_pem: str,
    manually_approves: bool = False,
    retired: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A user's actor document (plain: no plugin additions). Pure, so the CLI can
    build one too."""
    uri = f"{base_url}/users/{user.username}"
    return build_actor(
        uri,
        base_url,
        type_="Person",
        username=user.username,
        name=user.display_name or user.username,
        summary=user.bio,
        url=uri,
        key_id=key_id,
        public_pem=public_pem,
        manually_approves=manually_approves,
        retired=retired,
    )


def build_actor(
    uri: str,
    base_url: str,
    *,
    type_: str,
    username: str,
    name: str,
    summary: str,
    url: str,
    key_id: str,
    public_pem: str,
    manually_approves: bool,
    retired: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """An actor document: a user's, a plugin's actor or the instance's."""
    key = {"id": key_id, "owner": uri, "publicKeyPem": public_pem}
    # During a rotation's grace period the retired keys are published after the
    # current one, so they keep verifying; readers that take one key take the first.
    keys: Any = [key, *({"id": k, "owner": uri, "publicKeyPem": p} for k, p in retired)]
    return {
        "@context": CONTEXT,
        "id": uri,
        "type": type_,
        "preferredUsername": username,
        "name": name,
        "summary": summary,
        "inbox": f"{uri}/inbox",
        "outbox": f"{uri}/outbox",
        "followers": f"{uri}/followers",
        "following": f"{uri}/following",
        "endpoints": {"sharedInbox": f"{base_url}/inbox"},
        "url": url,
        "manuallyApprovesFollowers": manually_approves,
        "publicKey": keys if retired else key,
    }


async def actor_document(fed: Federation, actor: LocalActor) -> dict[str, Any]:
    """The actor document of a local actor, with what plugins add
    (``salon_object_for_federation``)."""
    key = await fed.keys.current(actor.uri, fresh=True)
    retired = await fed.keys.retired(actor.uri)
    if actor.kind == "user":
        assert actor.user is not None
        from .follows import manually_approves

        doc = person_document(
            fed.base_url,
            actor.user,
            key.key_id,
            key.public_pem,
            await manually_approves(fed, actor.user.id),  # type: ignore[arg-type]
            retired,
        )
        extra_of: Any = actor.user
    elif actor.kind == "plugin":
        desc = actor.description or {}
        doc = build_actor(
            actor.uri,
            fed.base_url,
            type_=str(desc.get("type") or "Group"),
            username=actor.name,
            name=str(desc.get("name") or actor.name),
            summary=str(desc.get("summary") or ""),
            url=str(desc.get("url") or actor.uri),
            key_id=key.key_id,
            public_pem=key.public_pem,
            manually_approves=bool(desc.get("manuallyApprovesFollowers", False)),
            retired=retired,
        )
        extra_of = actor
    else:
        doc = build_actor(
            actor.uri,
            fed.base_url,
            type_="Application",
            username=actor.name,
            name=fed.app.state.settings.instance.name,
            summary="",
            url=fed.base_url,
            key_id=key.key_id,
            public_pem=key.public_pem,
            manually_approves=True,
            retired=retired,
        )
        extra_of = actor
    for extra in await fed.app.state.plugins.call("salon_object_for_federation", obj=extra_of):
        for name, value in extra.items():
            if name not in ("id", "type", "publicKey", "inbox", "outbox", "@context"):
                doc[name] = value
    return doc


def new_id(fed: Federation) -> str:
    return f"{fed.base_url}/activities/{uuid.uuid4()}"


def activity(fed: Federation, type_: str, actor: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": new_id(fed),
        "type": type_,
        "actor": actor,
        "object": obj,
        **extra,
    }


def follow(fed: Federation, actor: str, target: str) -> dict[str, Any]:
    return activity(fed, "Follow", actor, target)


def accept(fed: Federation, actor: str, follow_activity: dict[str, Any]) -> dict[str, Any]:
    return activity(fed, "Accept", actor, _strip(follow_activity))


def reject(fed: Federation, actor: str, follow_activity: dict[str, Any]) -> dict[str, Any]:
    return activity(fed, "Reject", actor, _strip(follow_activity))


def undo(fed: Federation, actor: str, inner: dict[str, Any]) -> dict[str, Any]:
    return activity(fed, "Undo", actor, _strip(inner))


def update(fed: Federation, actor: str, doc: dict[str, Any]) -> dict[str, Any]:
    return activity(fed, "Update", actor, _strip(doc), to=[PUBLIC])


def delete(fed: Federation, actor: str) -> dict[str, Any]:
    return activity(fed, "Delete", actor, actor, to=[PUBLIC])


def tombstone(uri: str, deleted_at: datetime | None) -> dict[str, Any]:
    """What a deleted user's actor URL serves (with 410 Gone)."""
    doc: dict[str, Any] = {"@context": AS_CONTEXT, "id": uri, "type": "Tombstone"}
    doc["formerType"] = "Person"
    if deleted_at is not None:
        doc["deleted"] = deleted_at.isoformat()
    return doc


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "@context"}
