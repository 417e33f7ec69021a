"""Follows between local and remote actors, kept in ``federation_follow`` (the core's
follow table is for local users only)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from salon.core.models import User

from . import activities
from . import remote as remote_actors
from .errors import BadActivity
from .models import FederationAccount, FederationFollow, FederationRemoteActor
from .service import Federation, LocalActor, host_matches

logger = logging.getLogger(__name__)

IN, OUT = "in", "out"
PENDING, ACCEPTED = "pending", "accepted"


async def manually_approves(fed: Federation, user_id: int) -> bool:
    async with fed.db.session() as session:
        row = (
            await session.exec(
                select(FederationAccount).where(FederationAccount.user_id == user_id)
            )
        ).first()
    return bool(row and row.manually_approves_followers)


async def set_manually_approves(fed: Federation, user_id: int, value: bool) -> None:
    async with fed.db.session() as session:
        row = (
            await session.exec(
                select(FederationAccount).where(FederationAccount.user_id == user_id)
            )
        ).first()
        row = row or FederationAccount(user_id=user_id)
        row.manually_approves_followers = value
        session.add(row)
        await session.commit()


async def _row(fed: Federation, local: str, remote: str, direction: str) -> FederationFollow | None:
    async with fed.db.session() as session:
        return (
            await session.exec(
                select(FederationFollow).where(
                    FederationFollow.local_actor == local,
                    FederationFollow.remote_actor == remote,
                    FederationFollow.direction == direction,
                )
            )
        ).first()


# -- a local user follows someone remote ---------------------------------------------


async def follow_remote(fed: Federation, user: User, actor_uri: str) -> FederationFollow:
    """Send a Follow from USER to the remote actor; pending until it is accepted."""
    local = fed.user_uri(user.username)
    if fed.is_local(actor_uri):
        raise BadActivity("that actor is on this instance; follow them here")
    remote = await remote_actors.get_actor(fed, actor_uri)
    existing = await _row(fed, local, remote.uri, OUT)
    if existing is not None:
        return existing
    follow = activities.follow(fed, local, remote.uri)
    row = FederationFollow(
        local_actor=local,
        remote_actor=remote.uri,
        remote_host=remote.host,
        direction=OUT,
        state=PENDING,
        activity_id=follow["id"],
    )
    async with fed.db.session() as session:
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:  # the same follow, asked twice at once
            await session.rollback()
            return await _row(fed, local, remote.uri, OUT) or row
        await session.refresh(row)
    await fed.outbox.enqueue(follow, local, [remote.inbox])
    logger.info("%s asked to follow %s", local, remote.uri)
    return row


async def unfollow_remote(fed: Federation, user: User, actor_uri: str) -> bool:
    local = fed.user_uri(user.username)
    row = await _row(fed, local, actor_uri, OUT)
    if row is None:
        return False
    async with fed.db.session() as session:
        await session.delete(await session.get(FederationFollow, row.id))
        await session.commit()
    remote = await remote_actors.get_actor(fed, actor_uri)
    follow = {"id": row.activity_id, "type": "Follow", "actor": local, "object": actor_uri}
    await fed.outbox.enqueue(activities.undo(fed, local, follow), local, [remote.inbox])
    logger.info("%s unfollowed %s", local, actor_uri)
    return True


# -- activities received -------------------------------------------------------------


async def received_follow(fed: Federation, activity: dict[str, Any], sender: str) -> None:
    """A remote actor asks to follow a local one: pending if the local actor approves
    followers by hand, else accepted at once."""
    target = activity.get("object")
    target = target.get("id") if isinstance(target, dict) else target
    local = await fed.local_actor(target) if isinstance(target, str) else None
    if local is None:
        raise BadActivity(f"no local actor {target!r} to follow")
    remote = await remote_actors.get_actor(fed, sender)
    if local.kind == "instance" and not fed.settings.list_rooms_to_peers:
        # Peering (issue 9): listing this instance's rooms elsewhere is its admin's choice.
        await fed.outbox.enqueue(
            activities.reject(fed, local.uri, activity), local.uri, [remote.inbox]
        )
        logger.info("refused the peering of %s: list_rooms_to_peers is off", sender)
        return
    approve_by_hand = await _approves_by_hand(fed, local)
    row = await _row(fed, local.uri, sender, IN)
    async with fed.db.session() as session:
        if row is None:
            row = FederationFollow(
                local_actor=local.uri,
                remote_actor=sender,
                remote_host=remote.host,
                direction=IN,
                state=PENDING if approve_by_hand else ACCEPTED,
                activity_id=str(activity.get("id", "")),
            )
        else:
            row = await session.get(FederationFollow, row.id)
            row.activity_id = str(activity.get("id", ""))  # type: ignore[union-attr]
        session.add(row)
        await session.commit()
        await session.refresh(row)
    if row.state == ACCEPTED:
        await fed.outbox.enqueue(
            activities.accept(fed, local.uri, activity), local.uri, [remote.inbox]
        )
        if fed.rooms is not None:  # a new follower hears of live rooms
            await fed.rooms.followed()
    logger.info("%s follows %s (%s)", sender, local.uri, row.state)


async def _approves_by_hand(fed: Federation, local: LocalActor) -> bool:
    if local.kind == "instance":  # a peer, when list_rooms_to_peers is on
        return False
    if local.kind == "user":
        return await manually_approves(fed, local.user.id)  # type: ignore[union-attr,arg-type]
    return bool((local.description or {}).get("manuallyApprovesFollowers"))


def _follow_object(activity: dict[str, Any]) -> dict[str, Any]:
    inner = activity.get("object")
    return inner if isinstance(inner, dict) else {"id": inner}


async def received_accept(fed: Federation, activity: dict[str, Any], sender: str) -> None:
    follow = _follow_object(activity)
    await _answered(fed, follow, sender, accepted=True)


async def received_reject(fed: Federation, activity: dict[str, Any], sender: str) -> None:
    await _answered(fed, _follow_object(activity), sender, accepted=False)


async def _answered(
    fed: Federation, follow: dict[str, Any], sender: str, *, accepted: bool
) -> None:
    async with fed.db.session() as session:
        query = select(FederationFollow).where(
            FederationFollow.remote_actor == sender, FederationFollow.direction == OUT
        )
        rows = (await session.exec(query)).all()
        for row in rows:
            if follow.get("id") == row.activity_id or follow.get("actor") == row.local_actor:
                if accepted:
                    row.state = ACCEPTED
                    session.add(row)
                else:
                    await session.delete(row)
                logger.info(
                    "%s %s the follow of %s",
                    sender,
                    "accepted" if accepted else "rejected",
                    row.local_actor,
                )
        await session.commit()


async def received_undo_follow(fed: Federation, follow: dict[str, Any], sender: str) -> None:
    target = follow.get("object")
    target = target.get("id") if isinstance(target, dict) else target
    async with fed.db.session() as session:
        query = sql_delete(FederationFollow).where(
            FederationFollow.remote_actor == sender, FederationFollow.direction == IN
        )
        if isinstance(target, str):
            query = query.where(FederationFollow.local_actor == target)
        await session.exec(query)  # type: ignore[call-overload]
        await session.commit()
    logger.info("%s no longer follows %s", sender, target)


async def forget_actor(fed: Federation, uri: str) -> None:
    """A remote actor was deleted: drop every follow with it, and what we cached."""
    async with fed.db.session() as session:
        await session.exec(sql_delete(FederationFollow).where(FederationFollow.remote_actor == uri))  # type: ignore[call-overload]
        await session.exec(
            sql_delete(FederationRemoteActor).where(FederationRemoteActor.uri == uri)
        )  # type: ignore[call-overload]
        await session.commit()
    logger.info("forgot the deleted actor %s", uri)


# -- approving follow requests -------------------------------------------------------


async def requests_for(fed: Federation, user: User) -> list[dict[str, Any]]:
    """Pending follow requests to USER."""
    local = fed.user_uri(user.username)
    async with fed.db.session() as session:
        rows = (
            await session.exec(
                select(FederationFollow, FederationRemoteActor)
                .join(
                    FederationRemoteActor,
                    FederationRemoteActor.uri == FederationFollow.remote_actor,
                )
                .where(
                    FederationFollow.local_actor == local,
                    FederationFollow.direction == IN,
                    FederationFollow.state == PENDING,
                )
                .order_by(FederationFollow.id)
            )
        ).all()
    return [{"id": f.id, "actor": _entry(a)} for f, a in rows]


async def answer_request(fed: Federation, user: User, request_id: int, *, accept: bool) -> bool:
    """Accept or reject a pending follow request of USER's; False if there is none."""
    local = fed.user_uri(user.username)
    async with fed.db.session() as session:
        row = await session.get(FederationFollow, request_id)
        if row is None or row.local_actor != local or row.direction != IN or row.state != PENDING:
            return False
        follow = {
            "id": row.activity_id,
            "type": "Follow",
            "actor": row.remote_actor,
            "object": local,
        }
        remote_uri = row.remote_actor
        if accept:
            row.state = ACCEPTED
            session.add(row)
        else:
            await session.delete(row)
        await session.commit()
    remote = await remote_actors.get_actor(fed, remote_uri)
    answer = activities.accept if accept else activities.reject
    await fed.outbox.enqueue(answer(fed, local, follow), local, [remote.inbox])
    return True


# -- lists -----------------------------------------------------------------------------


def _entry(actor: FederationRemoteActor) -> dict[str, Any]:
    return {
        "id": actor.uri,
        "username": remote_actors.handle_of(actor),
        "display_name": actor.name or actor.username,
        "url": actor.url or actor.uri,
    }


async def follow_list(fed: Federation, local_uri: str, relation: str) -> list[dict[str, Any]]:
    """Accepted remote followers (``relation="followers"``) or followed remote actors
    (``"following"``) of the local actor LOCAL_URI."""
    direction = IN if relation == "followers" else OUT
    async with fed.db.session() as session:
        rows = (
            await session.exec(
                select(FederationRemoteActor)
                .join(FederationFollow, FederationRemoteActor.uri == FederationFollow.remote_actor)
                .where(
                    FederationFollow.local_actor == local_uri,
                    FederationFollow.direction == direction,
                    FederationFollow.state == ACCEPTED,
                )
                .order_by(FederationFollow.id.desc())  # type: ignore[union-attr]
                .limit(1000)
            )
        ).all()
    return [_entry(a) for a in rows]


async def state_with(fed: Federation, user: User, actor_uri: str) -> str | None:
    """USER's follow of ACTOR_URI: ``pending``, ``accepted`` or None."""
    row = await _row(fed, fed.user_uri(user.username), actor_uri, OUT)
    return row.state if row else None


async def follower_inboxes(fed: Federation, local_uri: str) -> list[str]:
    """Where to deliver what LOCAL_URI publishes: each accepted remote follower's
    shared inbox (or own inbox), once each."""
    async with fed.db.session() as session:
        rows = (
            await session.exec(
                select(FederationRemoteActor)
                .join(FederationFollow, FederationRemoteActor.uri == FederationFollow.remote_actor)
                .where(
                    FederationFollow.local_actor == local_uri,
                    FederationFollow.direction == IN,
                    FederationFollow.state == ACCEPTED,
                )
            )
        ).all()
    return sorted({a.shared_inbox or a.inbox for a in rows if a.shared_inbox or a.inbox})


async def sever_host(fed: Federation, domain: str) -> int:
    """Drop every follow, both ways, with actors on DOMAIN (an instance block)."""
    async with fed.db.session() as session:
        rows = (await session.exec(select(FederationFollow))).all()
        doomed = [r for r in rows if host_matches(r.remote_host, domain)]
        for row in doomed:
            await session.delete(row)
        await session.commit()
    if doomed:
        logger.info("severed %d follows with %s", len(doomed), domain)
    return len(doomed)


async def forget_local(fed: Federation, user: User) -> list[str]:
    """USER deleted their account: drop every follow with remote actors, both ways, and
    return where to tell them (followers' and followees' shared inboxes, once each)."""
    local = fed.user_uri(user.username)
    async with fed.db.session() as session:
        rows = (
            await session.exec(
                select(FederationFollow, FederationRemoteActor)
                .join(
                    FederationRemoteActor,
                    FederationRemoteActor.uri == FederationFollow.remote_actor,
                    isouter=True,
                )
                .where(FederationFollow.local_actor == local)
            )
        ).all()
        await session.exec(
            sql_delete(FederationFollow).where(FederationFollow.local_actor == local)
        )  # type: ignore[call-overload]
        await session.exec(
            sql_delete(FederationAccount).where(FederationAccount.user_id == user.id)
        )  # type: ignore[call-overload]
        await session.commit()
    inboxes = {a.shared_inbox or a.inbox for _, a in rows if a is not None}
    logger.info("%s deleted: %d follows with remote actors dropped", local, len(rows))
    return sorted(i for i in inboxes if i)
