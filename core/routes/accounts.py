"""Sign-up, log in and out, API tokens and invite codes."""

from __future__ import annotations

import logging
import secrets

from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .. import permissions as perms
from ..accounts import register
from ..api import endpoint, no_content, ok, path_int, read_json
from ..auth import (
    SESSION_KEY,
    issue_credential,
    require_user,
    verify_password,
)
from ..errors import Forbidden, NotFound, Unauthenticated
from ..models import AuthToken, Invite, User
from ..permissions import USER_SIGN_IN
from ..schemas import (
    EmptyBody,
    InviteCreated,
    LoginBody,
    Me,
    SignupBody,
    TokenBody,
    TokenCreated,
    TokenInfo,
    TokenList,
)

logger = logging.getLogger(__name__)


def me_json(user: User) -> Me:
    return Me(
        id=user.id,  # type: ignore[arg-type]
        username=user.username,
        display_name=user.display_name,
        bio=user.bio,
        is_admin=user.is_admin,
    )


async def _start_session(request: Request, user: User) -> None:
    async with request.app.state.db.session() as session:
        secret, _ = await issue_credential(session, user, kind="session", name="browser")
    request.session[SESSION_KEY] = secret


@endpoint(
    "POST",
    "/api/auth/signup",
    summary="Create an account and sign in (sets the session cookie)",
    body=SignupBody,
    response=Me,
    status=201,
    auth=False,
    tag="accounts",
)
async def signup(request: Request) -> Response:
    body = await read_json(request, SignupBody)
    state = request.app.state
    await state.rooms.check_content(None, "user.display_name", body.display_name, "display_name")
    async with state.db.session() as session:
        user = await register(
            session,
            registration=state.settings.instance.registration,
            username=body.username,
            password=body.password,
            display_name=body.display_name,
            invite_code=body.invite_code,
        )
    await _start_session(request, user)
    return ok(me_json(user), 201)


async def _check_login(request: Request, username: str, password: str) -> User:
    async with request.app.state.db.session() as session:
        user = (await session.exec(select(User).where(User.username == username.lower()))).first()
    # Argon2 is deliberately slow: keep it off the event loop that serves the sockets.
    if user is None or not await run_in_threadpool(verify_password, user.password_hash, password):
        logger.info("failed login for %r", username)
        raise Unauthenticated("wrong username or password", code="bad_credentials")
    if not await request.app.state.permissions.allowed(user, USER_SIGN_IN, user):
        logger.info("login refused for %s: not allowed to sign in", user.username)
        raise Forbidden("this account may not sign in now", code="sign_in_refused")
    return user


@endpoint(
    "POST",
    "/api/auth/login",
    summary="Sign in with a password (sets the session cookie)",
    body=LoginBody,
    response=Me,
    auth=False,
    tag="accounts",
)
async def login(request: Request) -> Response:
    body = await read_json(request, LoginBody)
    user = await _check_login(request, body.username, body.password)
    await _start_session(request, user)
    logger.info("%s logged in", user.username)
    return ok(me_json(user))


@endpoint(
    "POST",
    "/api/auth/logout",
    summary="End this session or revoke the presented token",
    body=EmptyBody,
    status=204,
    tag="accounts",
)
async def logout(request: Request) -> Response:
    user = await require_user(request)
    await read_json(request, EmptyBody)
    credential_id = request.scope.get("salon_credential_id")
    async with request.app.state.db.session() as session:
        row = await session.get(AuthToken, credential_id)
        if row is not None:
            await session.delete(row)
            await session.commit()
    request.session.pop(SESSION_KEY, None)
    logger.info("%s logged out", user.username)
    return no_content()


@endpoint(
    "POST",
    "/api/auth/token",
    summary="Exchange a username and password for an API token",
    body=TokenBody,
    response=TokenCreated,
    status=201,
    auth=False,
    tag="accounts",
)
async def create_token(request: Request) -> Response:
    body = await read_json(request, TokenBody)
    user = await _check_login(request, body.username, body.password)
    async with request.app.state.db.session() as session:
        secret, row = await issue_credential(session, user, kind="api", name=body.name)
    logger.info("%s created API token %s (%s)", user.username, row.id, body.name)
    return ok(TokenCreated(id=row.id, name=row.name, token=secret), 201)  # type: ignore[arg-type]


@endpoint(
    "GET",
    "/api/tokens",
    summary="List my sessions and API tokens",
    response=TokenList,
    tag="accounts",
)
async def list_tokens(request: Request) -> Response:
    user = await require_user(request)
    current = request.scope.get("salon_credential_id")
    async with request.app.state.db.session() as session:
        rows = (
            await session.exec(
                select(AuthToken).where(AuthToken.user_id == user.id).order_by(AuthToken.id)
            )
        ).all()
    tokens = [
        TokenInfo(
            id=r.id,  # type: ignore[arg-type]
            kind=r.kind,
            name=r.name,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
            current=r.id == current,
        )
        for r in rows
    ]
    return ok(TokenList(tokens=tokens))


@endpoint(
    "DELETE",
    "/api/tokens/{token_id}",
    summary="Revoke one of my sessions or API tokens",
    status=204,
    tag="accounts",
)
async def revoke_token(request: Request) -> Response:
    user = await require_user(request)
    token_id = path_int(request, "token_id")
    async with request.app.state.db.session() as session:
        row = await session.get(AuthToken, token_id)
        if row is None or row.user_id != user.id:
            raise NotFound(f"you have no token with id {token_id}", field="token_id")
        await session.delete(row)
        await session.commit()
    logger.info("%s revoked token %s", user.username, token_id)
    return no_content()


@endpoint(
    "POST",
    "/api/invites",
    summary="Create a single-use invite code (admins)",
    body=EmptyBody,
    response=InviteCreated,
    status=201,
    tag="accounts",
)
async def create_invite(request: Request) -> Response:
    user = await require_user(request)
    await read_json(request, EmptyBody)
    await request.app.state.permissions.check(user, perms.INSTANCE_INVITE)
    code = secrets.token_urlsafe(12)
    async with request.app.state.db.session() as session:
        session.add(Invite(code=code, created_by=user.id))  # type: ignore[arg-type]
        await session.commit()
    logger.info("%s created an invite code", user.username)
    return ok(InviteCreated(code=code), 201)


routes = [signup, login, logout, create_token, list_tokens, revoke_token, create_invite]
