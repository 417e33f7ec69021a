"""Profiles, follows, followers and following."""

from __future__ import annotations

import logging

from sqlalchemy import func
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response

from .. import permissions as perms
from ..account_deletion import DeleteAccountBody, check_password, delete_account
from ..api import endpoint, no_content, ok, read_json
from ..auth import SESSION_KEY, current_user, require_user
from ..errors import NotFound
from ..models import Follow, User
from ..schemas import EmptyBody, Me, Profile, ProfileBody, RemoteUser, UserList, UserSummary
from .accounts import me_json

logger = logging.getLogger(__name__)


async def user_by_name(request: Request) -> User:
    username = request.path_params["username"].lower()
    if "\x00" in username:  # no name holds one, and PostgreSQL refuses it in a query
        raise NotFound(f"no user named {username!r}", field="username")
    async with request.app.state.db.session() as session:
        user = (await session.exec(select(User).where(User.username == username))).first()
    if user is None or user.deleted_at is not None:  # a deleted account's tombstone
        raise NotFound(f"no user named {username!r}", field="username")
    return user


def summary(user: User) -> UserSummary:
    return UserSummary(id=user.id, username=user.username, display_name=user.display_name)  # type: ignore[arg-type]


@endpoint("GET", "/api/me", summary="Who I am", response=Me, tag="users")
async def get_me(request: Request) -> Response:
    return ok(me_json(await require_user(request)))


@endpoint("PATCH", "/api/me", summary="Edit my profile", body=ProfileBody, response=Me, tag="users")
async def update_me(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, ProfileBody)
    rooms = request.app.state.rooms
    async with request.app.state.db.session() as session:
        user = await session.get(User, user.id)
        if body.display_name is not None:
            await rooms.check_content(user, "user.display_name", body.display_name, "display_name")
            user.display_name = body.display_name or user.username
        if body.bio is not None:
            await rooms.check_content(user, "user.bio", body.bio, "bio")
            user.bio = body.bio
        session.add(user)
        await session.commit()
        await session.refresh(user)
    logger.info("%s edited their profile", user.username)
    await request.app.state.plugins.call("salon_profile_changed", user=user)
    return ok(me_json(user))


@endpoint(
    "DELETE",
    "/api/me",
    summary="Delete my account (confirm with my password); my sessions and tokens end",
    body=DeleteAccountBody,
    status=204,
    tag="users",
)
async def delete_me(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, DeleteAccountBody)
    await check_password(user, body.password)
    await delete_account(request.app.state, user)
    if "session" in request.scope:
        request.session.pop(SESSION_KEY, None)
    return no_content()


async def _counts(request: Request, user: User, viewer: User | None) -> tuple[int, int, bool]:
    async with request.app.state.db.session() as session:
        followers = (
            await session.exec(select(func.count()).where(Follow.followee_id == user.id))
        ).one()
        following = (
            await session.exec(select(func.count()).where(Follow.follower_id == user.id))
        ).one()
        followed = False
        if viewer is not None:
            followed = (
                await session.exec(
                    select(Follow.id).where(
                        Follow.follower_id == viewer.id, Follow.followee_id == user.id
                    )
                )
            ).first() is not None
    followers += len(await _remote_follows(request, user, "followers"))
    following += len(await _remote_follows(request, user, "following"))
    return followers, following, followed


@endpoint(
    "GET", "/api/users/{username}", summary="A profile", response=Profile, auth=False, tag="users"
)
async def get_profile(request: Request) -> Response:
    viewer = await current_user(request)
    user = await user_by_name(request)
    await request.app.state.permissions.check(viewer, perms.USER_VIEW, user)
    followers, following, followed = await _counts(request, user, viewer)
    extras: dict = {}
    for extra in await request.app.state.plugins.call(
        "salon_profile_extras", user=user, viewer=viewer
    ):
        extras.update(extra)
    return ok(
        Profile(
            **summary(user).model_dump(),
            bio=user.bio,
            followers_count=followers,
            following_count=following,
            followed_by_viewer=followed,
            extras=extras,
        )
    )


@endpoint(
    "POST",
    "/api/users/{username}/follow",
    summary="Follow a user",
    body=EmptyBody,
    status=204,
    tag="users",
)
async def follow(request: Request) -> Response:
    viewer = await require_user(request)
    await read_json(request, EmptyBody)
    user = await user_by_name(request)
    await request.app.state.permissions.check(viewer, perms.USER_FOLLOW, user)
    async with request.app.state.db.session() as session:
        existing = (
            await session.exec(
                select(Follow).where(Follow.follower_id == viewer.id, Follow.followee_id == user.id)
            )
        ).first()
        if existing is None:
            session.add(Follow(follower_id=viewer.id, followee_id=user.id))  # type: ignore[arg-type]
            await session.commit()
            logger.info("%s followed %s", viewer.username, user.username)
    return no_content()


@endpoint(
    "DELETE", "/api/users/{username}/follow", summary="Unfollow a user", status=204, tag="users"
)
async def unfollow(request: Request) -> Response:
    viewer = await require_user(request)
    user = await user_by_name(request)
    async with request.app.state.db.session() as session:
        existing = (
            await session.exec(
                select(Follow).where(Follow.follower_id == viewer.id, Follow.followee_id == user.id)
            )
        ).first()
        if existing is not None:
            await session.delete(existing)
            await session.commit()
            logger.info("%s unfollowed %s", viewer.username, user.username)
    return no_content()


async def _listing(request: Request, *, followers: bool) -> Response:
    viewer = await current_user(request)
    user = await user_by_name(request)
    permissions = request.app.state.permissions
    await permissions.check(viewer, perms.USER_VIEW, user)
    other = Follow.follower_id if followers else Follow.followee_id
    mine = Follow.followee_id if followers else Follow.follower_id
    async with request.app.state.db.session() as session:
        rows = (
            await session.exec(
                select(User)
                .join(Follow, other == User.id)
                .where(mine == user.id)
                .order_by(Follow.id.desc())
                .limit(1000)
            )
        ).all()
    # Each person listed is one the viewer may see (``user.view``: plugins hide some).
    shown = [u for u in rows if await permissions.allowed(viewer, perms.USER_VIEW, u)]
    remote = await _remote_follows(request, user, "followers" if followers else "following")
    return ok(UserList(users=[summary(u) for u in shown], remote=remote))


async def _remote_follows(request: Request, user: User, relation: str) -> list[RemoteUser]:
    """Entries plugins keep outside the local follow table (``salon_follow_list``)."""
    found = await request.app.state.plugins.call("salon_follow_list", user=user, relation=relation)
    return [RemoteUser.model_validate(entry) for entries in found for entry in entries]


@endpoint(
    "GET",
    "/api/users/{username}/followers",
    summary="Who follows this user",
    response=UserList,
    auth=False,
    tag="users",
)
async def followers(request: Request) -> Response:
    return await _listing(request, followers=True)


@endpoint(
    "GET",
    "/api/users/{username}/following",
    summary="Whom this user follows",
    response=UserList,
    auth=False,
    tag="users",
)
async def following(request: Request) -> Response:
    return await _listing(request, followers=False)


routes = [get_me, update_me, delete_me, get_profile, follow, unfollow, followers, following]
