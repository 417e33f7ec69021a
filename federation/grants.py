"""Join grants: the short-lived signed token a listener's home instance gives them to
enter a room on another instance (issue 9, part 3).

A grant is a JWS in compact form (RFC 7515), alg ``RS256``, signed with the
listener's actor key; its header names the key (``kid``). Its claims (RFC 7519)::

    iss    the listener's actor id            aud    the room instance's origin
    room   the room object's id               scope  "room.join"
    iat    issued at (seconds)                exp    at most 60 s after iat
    jti    a random id, usable once

This module is pure: minting, reading and checking claims, with no database and no
network. The room's instance runs the checks in the order :mod:`.guests` gives.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from salon.core.errors import SalonError
from salon.core.schemas import MAX_ID

from .service import origin_of

ALGORITHM = "RS256"
SCOPE = "room.join"
MAX_LIFETIME_SECONDS = 60
MAX_TOKEN_CHARS = 8000
CLAIMS = ("iss", "aud", "room", "scope", "iat", "exp", "jti")
JTI = re.compile(r"^[A-Za-z0-9_.~-]{8,200}$")
ROOM_PATH = re.compile(r"^/rooms/([1-9][0-9]{0,9})$")


class GrantRefused(SalonError):
    """A grant that does not admit its bearer; CODE says which check failed."""

    status = 403
    code = "grant_refused"

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message, field="grant", code=code)
        self.status = status


def refused(status: int, code: str, message: str) -> GrantRefused:
    return GrantRefused(status, code, message)


@dataclass(frozen=True)
class Grant:
    """A grant as presented, read but not yet trusted."""

    token: str
    kid: str
    iss: str
    aud: str
    room: str
    scope: str
    iat: float
    exp: float
    jti: str


def mint(
    *,
    issuer: str,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    audience: str,
    room: str,
    ttl_seconds: float = MAX_LIFETIME_SECONDS,
    now: float | None = None,
    scope: str = SCOPE,
    jti: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """A signed grant and its claims. Tests pass NOW, SCOPE and JTI to make bad ones."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "room": room,
        "scope": scope,
        "iat": issued,
        "exp": issued + math.ceil(ttl_seconds),
        "jti": jti or secrets.token_urlsafe(24),
    }
    token = jwt.encode(
        claims, private_key, algorithm=ALGORITHM, headers={"kid": key_id, "typ": "JWT"}
    )
    return token, claims


def _number(value: Any) -> bool:
    # JSON as Python reads it may carry NaN and Infinity: neither is a time.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _http_url(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 600:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def read(token: str) -> Grant:
    """The grant's header and claims, unverified: 400 ``grant_malformed`` unless it is a
    compact RS256 JWS naming its key, with every claim present and of the right type."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise refused(400, "grant_malformed", "the grant must be a compact JWS string")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise refused(400, "grant_malformed", f"the grant is not a readable JWS: {exc}") from None
    if header.get("alg") != ALGORITHM:
        raise refused(400, "grant_malformed", f"the grant must be signed with {ALGORITHM}")
    kid = header.get("kid")
    if not _http_url(kid):
        raise refused(400, "grant_malformed", "the grant's header must name its key (kid)")
    missing = [name for name in CLAIMS if name not in claims]
    if missing:
        raise refused(400, "grant_malformed", f"the grant lacks the claims {', '.join(missing)}")
    if not _http_url(claims["iss"]):
        raise refused(400, "grant_malformed", "iss must be the actor's http(s) id")
    for name in ("aud", "room", "scope", "jti"):
        if not isinstance(claims[name], str) or len(claims[name]) > 600:
            raise refused(400, "grant_malformed", f"{name} must be a string")
    if not JTI.match(claims["jti"]):
        raise refused(400, "grant_malformed", "jti must be 8-200 URL-safe characters")
    for name in ("iat", "exp"):
        if not _number(claims[name]):
            raise refused(400, "grant_malformed", f"{name} must be a number of seconds")
    return Grant(
        token=token,
        kid=kid,
        iss=claims["iss"],
        aud=claims["aud"],
        room=claims["room"],
        scope=claims["scope"],
        iat=float(claims["iat"]),
        exp=float(claims["exp"]),
        jti=claims["jti"],
    )


def check_key_origin(grant: Grant) -> None:
    """The key must live where the issuer lives (a server signs only for its own)."""
    if origin_of(grant.kid) != origin_of(grant.iss):
        raise refused(401, "grant_wrong_key", "the grant's key is not on its issuer's server")


def check_key_owner(grant: Grant, owner: str) -> None:
    if owner != grant.iss:
        raise refused(
            401, "grant_wrong_key", f"the key {grant.kid} belongs to {owner}, not to {grant.iss}"
        )


def verify_signature(grant: Grant, public_pem: str) -> None:
    """Check the RS256 signature with the issuer's public key (claims are checked by
    the functions below, so each failure has its own code)."""
    try:
        jwt.decode(
            grant.token,
            public_pem,
            algorithms=[ALGORITHM],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise refused(401, "grant_bad_signature", "the grant's signature does not verify") from None
    except (jwt.PyJWTError, ValueError) as exc:
        raise refused(401, "grant_bad_signature", f"the grant cannot be verified: {exc}") from None


def check_audience(grant: Grant, base_url: str) -> None:
    if grant.aud != origin_of(base_url):
        raise refused(
            403,
            "grant_wrong_audience",
            f"the grant is for {grant.aud!r}, not for this server ({origin_of(base_url)})",
        )


def room_id_of(room: str, base_url: str) -> int | None:
    """The local room id in a room object id ``{base_url}/rooms/{id}``, or None."""
    if not room.startswith(base_url + "/"):
        return None
    match = ROOM_PATH.match(room[len(base_url) :])
    if match is None or int(match.group(1)) > MAX_ID:
        return None
    return int(match.group(1))


def check_room(grant: Grant, base_url: str, expected: int | None = None) -> int:
    """The id of the local room the grant names; refused if it names a room elsewhere
    or not the one the client asked for (EXPECTED)."""
    room_id = room_id_of(grant.room, base_url)
    if room_id is None:
        raise refused(403, "grant_wrong_room", f"{grant.room!r} is not a room of this server")
    if expected is not None and room_id != expected:
        raise refused(
            403, "grant_wrong_room", f"the grant is for room {room_id}, not for room {expected}"
        )
    return room_id


def check_scope(grant: Grant) -> None:
    if grant.scope != SCOPE:
        raise refused(403, "grant_wrong_scope", f"the grant's scope must be {SCOPE!r}")


def check_times(
    grant: Grant,
    *,
    now: float,
    skew: float,
    max_lifetime: float = MAX_LIFETIME_SECONDS,
) -> None:
    """Lifetime at most MAX_LIFETIME by the issuer's own clock; not expired and not
    issued in the future, by ours, give or take SKEW seconds."""
    if grant.exp <= grant.iat:
        raise refused(401, "grant_malformed_times", "the grant expires before it was issued")
    if grant.exp - grant.iat > max_lifetime:
        raise refused(
            401,
            "grant_too_long",
            f"a grant may live at most {max_lifetime:g} s; this one {grant.exp - grant.iat:g} s",
        )
    if grant.iat > now + skew:
        raise refused(401, "grant_not_yet_valid", "the grant was issued in the future")
    if grant.exp < now - skew:
        raise refused(401, "grant_expired", "the grant has expired: ask your server for a new one")


def check_claims(
    grant: Grant,
    *,
    base_url: str,
    now: float,
    skew: float,
    expected_room: int | None = None,
) -> int:
    """Audience, room, scope, times, in that order; the local room id."""
    check_audience(grant, base_url)
    room_id = check_room(grant, base_url, expected_room)
    check_scope(grant)
    check_times(grant, now=now, skew=skew)
    return room_id
