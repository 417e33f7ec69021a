"""Remote guests (issue 9, parts 3 and 4): the join grants this instance gives its
users for rooms elsewhere, and the guests it admits to its own rooms with theirs.

Home side (A): :func:`issue_grant` signs a grant with the user's actor key.

Room side (B): :func:`admit` checks a grant in a fixed order, cheapest and most
decisive first, so that a blocked instance never makes this one fetch anything:

1. well-formed (:func:`grants.read`);
2. the issuer's instance is not blocked; the issuer is not a local account;
3. the key is on the issuer's origin; fetched through the guarded client (cache, SSRF
   guard); owned by the issuer; the signature verifies;
4. aud, room, scope, iat/exp; the room exists and has not ended;
5. the jti was never used (stored until the grant could no longer be accepted);
6. the guest account; ``user.sign_in`` (bans); ``room.join`` (visibility, removal);

then a guest session bound to that room.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from salon.core import permissions as perms
from salon.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from salon.core.guests import guest_account, issue_guest_session
from salon.core.models import AuthToken, User
from salon.core.rooms import Room, RoomState

from . import grants
from . import remote as remote_actors
from .errors import FederationError
from .grants import Grant, refused
from .models import (
    FederationFollow,
    FederationGrantUse,
    FederationRemoteActor,
    FederationRemoteRoom,
)
from .service import Federation, host_of, origin_of

logger = logging.getLogger(__name__)

JOIN_PAGE = "/federation/join"
JOIN_ENDPOINT = "/api/federation/join"


# -- home side: grants for rooms elsewhere ---------------------------------------------


@dataclass(frozen=True)
class IssuedGrant:
    grant: str
    expires_at: datetime
    join_url: str
    join_endpoint: str


def _same_origin(url: Any, origin: str) -> str | None:
    return url if isinstance(url, str) and url and origin_of(url) == origin else None


async def _remote_room_links(fed: Federation, room: str) -> tuple[str | None, str | None]:
    """The room's ``joinPage`` and ``joinEndpoint`` as its object told us, if this
    instance holds it (``FederationRemoteRoom``, its card). Links to another origin
    than the room's are ignored: a grant must travel only to the room's own server."""
    async with fed.db.session() as session:
        row = (
            await session.exec(
                select(FederationRemoteRoom).where(FederationRemoteRoom.object_id == room)
            )
        ).first()
    if row is None:
        return None, None
    try:
        card = json.loads(row.card)
    except ValueError:
        return None, None
    if not isinstance(card, dict):
        return None, None
    origin = origin_of(room)
    page = card.get("join_page") or card.get("joinPage")
    endpoint = card.get("join_endpoint") or card.get("joinEndpoint")
    return _same_origin(page, origin), _same_origin(endpoint, origin)


def check_room_id(fed: Federation, room: str) -> None:
    """A room elsewhere: an http(s) URL not on this instance."""
    if not room.startswith(("http://", "https://")) or not host_of(room):
        raise ValidationFailed("room must be the room's id, an http(s) URL", field="room")
    if fed.is_local(room):
        path = room[len(fed.base_url) :] or "/"
        raise ValidationFailed(
            f"this room is on this server: join it here ({path})",
            field="room",
            code="room_is_local",
        )


async def issue_grant(fed: Federation, user: User, room: str) -> IssuedGrant:
    """A grant for USER (a local account) to join ROOM on its server."""
    if user.home is not None:
        raise Forbidden("a guest from another server cannot take grants here", code="guest_account")
    check_room_id(fed, room)
    host = host_of(room)
    if not await fed.allowed(host):
        raise Forbidden(f"{host} is blocked on this server", field="room", code="instance_blocked")
    actor = fed.user_uri(user.username)
    key = await fed.keys.current(actor)
    origin = origin_of(room)
    token, claims = grants.mint(
        issuer=actor,
        key_id=key.key_id,
        private_key=key.private_key,
        audience=origin,
        room=room,
        ttl_seconds=fed.settings.grant_ttl_seconds,
    )
    page, endpoint = await _remote_room_links(fed, room)
    logger.info("granted %s entry to %s (jti %s)", user.username, room, claims["jti"])
    return IssuedGrant(
        grant=token,
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        join_url=f"{page or origin + JOIN_PAGE}#grant={token}",
        join_endpoint=endpoint or origin + JOIN_ENDPOINT,
    )


# -- room side: admitting guests ---------------------------------------------------------


@dataclass(frozen=True)
class Admission:
    user: User
    room_id: int
    secret: str
    credential: AuthToken


async def _key_for(fed: Federation, grant: Grant) -> str:
    try:
        owner, pem = await remote_actors.public_key(fed, grant.kid)
    except FederationError as exc:
        raise refused(
            401, "grant_key_unavailable", f"could not get the grant's key: {exc.message}"
        ) from None
    grants.check_key_owner(grant, owner)
    return pem


async def _load_room(fed: Federation, room_id: int) -> Room:
    try:
        room = await fed.app.state.rooms.load(room_id)
    except NotFound:
        raise refused(404, "grant_unknown_room", f"there is no room {room_id} here") from None
    if room.state is RoomState.ENDED:
        raise Conflict("the room has ended", field="grant", code="room_ended")
    return room


async def _use_jti(fed: Federation, grant: Grant, room_id: int) -> None:
    """Record the grant's jti; a second use is refused. Rows live until the grant
    could no longer be accepted anyway (exp plus the clock skew), then are purged."""
    now = datetime.now(UTC)
    until = datetime.fromtimestamp(grant.exp + fed.settings.grant_clock_skew_seconds, UTC)
    async with fed.db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            sql_delete(FederationGrantUse).where(col(FederationGrantUse.expires_at) < now)
        )
        session.add(
            FederationGrantUse(issuer=grant.iss, jti=grant.jti, room_id=room_id, expires_at=until)
        )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            raise refused(409, "grant_replayed", "this grant was already used") from None


async def _guest_for(fed: Federation, issuer: str) -> User:
    try:
        actor: FederationRemoteActor = await remote_actors.get_actor(fed, issuer)
    except FederationError as exc:
        raise refused(
            401, "grant_issuer_unknown", f"could not get the issuer's profile: {exc.message}"
        ) from None
    return await _guest_account_of(fed, actor, field="grant")


async def _guest_account_of(fed: Federation, actor: FederationRemoteActor, *, field: str) -> User:
    """The guest account of a remote ACTOR (made now if need be)."""
    try:
        return await guest_account(
            fed.db,
            home=actor.uri,
            handle=remote_actors.handle_of(actor),
            display_name=actor.name or actor.username,
        )
    except IntegrityError:  # another actor already holds that name@host here
        raise Conflict(
            f"the name {remote_actors.handle_of(actor)} is taken here by another account",
            field=field,
            code="guest_name_taken",
        ) from None


async def admit(fed: Federation, token: str, *, expected_room: int | None = None) -> Admission:
    """Check a grant presented to this instance and open a guest session for its
    bearer in its room; each refusal raises a 4xx error with its own code."""
    grant = grants.read(token)
    if not await fed.allowed(host_of(grant.iss)):
        raise refused(403, "instance_blocked", f"{host_of(grant.iss)} is blocked on this server")
    if fed.is_local(grant.iss):
        raise refused(
            403, "grant_local_issuer", "this account is on this server: sign in here instead"
        )
    grants.check_key_origin(grant)
    grants.verify_signature(grant, await _key_for(fed, grant))
    room_id = grants.check_claims(
        grant,
        base_url=fed.base_url,
        now=time.time(),
        skew=fed.settings.grant_clock_skew_seconds,
        expected_room=expected_room,
    )
    room = await _load_room(fed, room_id)
    await _use_jti(fed, grant, room_id)

    user = await _guest_for(fed, grant.iss)
    permissions = fed.app.state.permissions
    if not await permissions.allowed(user, perms.USER_SIGN_IN, user):
        raise Forbidden(
            f"{user.username} may not sign in on this server", field="grant", code="sign_in_refused"
        )
    reason = await permissions.decide(user, perms.ROOM_JOIN, room)
    if reason is not None:
        code = "removed" if user.id in room.removed else "forbidden"
        raise Forbidden(reason, field="grant", code=code)
    hours = fed.settings.guest_session_hours
    secret, credential = await issue_guest_session(fed.db, user, room_id, hours * 3600)
    logger.info("admitted %s to room %s as a guest", user.username, room_id)
    return Admission(user=user, room_id=room_id, secret=secret, credential=credential)


async def guest_from_handle(fed: Federation, query: str) -> User:
    """The guest account of a remote person (``@name@host`` or an actor URL), made now
    if need be, so a host can put them on a closed room's guest list."""
    try:
        actor = await remote_actors.resolve(fed, query)
    except FederationError as exc:
        raise NotFound(f"could not find {query}: {exc.message}", field="handle") from None
    if fed.is_local(actor.uri):
        raise ValidationFailed("this person has an account here", field="handle")
    return await _guest_account_of(fed, actor, field="handle")


# -- follows a guest holds on its home side ---------------------------------------------


async def follows_any(fed: Federation, follower: User, followee_ids: list[int]) -> bool | None:
    """Whether the guest FOLLOWER's remote actor follows (accepted) one of these local
    users, as this instance's federation follows record it; None if not, or not a guest."""
    if follower.home is None or not followee_ids:
        return None
    async with fed.db.session() as session:
        names = (
            await session.exec(
                select(User.username).where(
                    col(User.id).in_(followee_ids), col(User.home).is_(None)
                )
            )
        ).all()
        if not names:
            return None
        found = (
            await session.exec(
                select(FederationFollow.id).where(
                    FederationFollow.remote_actor == follower.home,
                    FederationFollow.direction == "in",
                    FederationFollow.state == "accepted",
                    col(FederationFollow.local_actor).in_([fed.user_uri(n) for n in names]),
                )
            )
        ).first()
    return True if found is not None else None
