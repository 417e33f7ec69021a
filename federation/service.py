"""The federation of one instance: its settings, keys, client, queue and the answers
to "who is this local actor" and "may we federate with that host".

One :class:`Federation` lives at ``app.state.federation`` while the plugin runs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import select
from starlette.applications import Starlette

from salon.core import permissions as perms
from salon.core.models import User

from .client import FederationClient
from .keys import KeyStore
from .models import FederationBlock
from .settings import FederationSettings

logger = logging.getLogger(__name__)

INSTANCE_USERNAME = "instance.actor"
ACTOR_NAME = re.compile(r"^[A-Za-z0-9_.~-]{1,100}$")


def host_of(url: str) -> str:
    """The host part that identifies an instance: the lower-case host name, with the
    port when it is not the scheme's default (``example.com``, ``127.0.0.1:8001``)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
            host = f"{host}:{parts.port}"
    except ValueError:  # not a URL (a bad port, a broken IPv6 literal): no host
        return ""
    return host


def origin_of(url: str) -> str:
    host = host_of(url)
    return f"{urlsplit(url).scheme}://{host}" if host else ""


def host_matches(host: str, blocked: str) -> bool:
    """Whether HOST falls under the block entry BLOCKED: the same host (with or without
    its port), or a subdomain."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    blocked = blocked.lower()
    return host == blocked or name == blocked or name.endswith("." + blocked)


@dataclass(frozen=True)
class LocalActor:
    """An actor this instance speaks for: a user, a plugin's actor or the instance."""

    uri: str
    kind: str  # "user" | "plugin" | "instance"
    name: str
    user: User | None = None
    description: dict[str, Any] | None = None


class Federation:
    """Everything federation needs for one instance."""

    def __init__(self, app: Starlette, settings: FederationSettings):
        self.app = app
        self.settings = settings
        self.db = app.state.db
        self.keys = KeyStore(self.db)
        self.client = FederationClient(
            allowed_ranges=settings.allowed_private_ranges,
            timeout=settings.request_timeout_seconds,
            max_response_bytes=settings.max_response_bytes,
        )
        # Remote keys recently used: key id -> (owner, PEM, when cached).
        self.key_cache: dict[str, tuple[str, str, float]] = {}
        # Set by the plugin at start-up (they need this object first).
        self.outbox: Any = None
        self.inbox: Any = None
        self.rooms: Any = None  # the RoomPublisher

    # -- identity -----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.app.state.settings.instance.base_url

    @property
    def host(self) -> str:
        return host_of(self.base_url)

    def user_uri(self, username: str) -> str:
        return f"{self.base_url}/users/{username}"

    def plugin_actor_uri(self, name: str) -> str:
        return f"{self.base_url}/actors/{name}"

    @property
    def instance_uri(self) -> str:
        return f"{self.base_url}/actor"

    def is_local(self, uri: str) -> bool:
        return origin_of(uri) == origin_of(self.base_url)

    async def user_by_name(self, username: str) -> User | None:
        if "\x00" in username:
            return None
        async with self.db.session() as session:
            return (
                await session.exec(
                    # A guest account (someone from another server) is not ours to publish.
                    select(User).where(User.username == username.lower(), User.home.is_(None))
                )
            ).first()

    async def plugin_actor(self, name: str) -> dict[str, Any] | None:
        """A plugin's actor named NAME (``salon_federated_actor``), or None."""
        if not ACTOR_NAME.match(name):
            return None
        results = self.app.state.plugins.hook.salon_federated_actor(name=name)
        from salon.core.plugins import await_me_maybe

        found = await await_me_maybe(results)
        if not isinstance(found, dict):
            return None
        return found

    async def local_actor(self, uri: str) -> LocalActor | None:
        """The local actor whose id is URI, or None."""
        if not uri.startswith(self.base_url + "/"):
            return None
        path = uri[len(self.base_url) :]
        if path == "/actor":
            return LocalActor(uri, "instance", INSTANCE_USERNAME)
        parts = path.strip("/").split("/")
        if len(parts) != 2:
            return None
        if parts[0] == "users":
            user = await self.user_by_name(parts[1])
            if user is not None and user.deleted_at is None:
                return LocalActor(self.user_uri(user.username), "user", user.username, user=user)
        if parts[0] == "actors":
            description = await self.plugin_actor(parts[1])
            if description is not None:
                return LocalActor(uri, "plugin", parts[1], description=description)
        return None

    async def actor_by_name(self, name: str) -> LocalActor | None:
        """The local actor with the preferred user name NAME (WebFinger)."""
        if name == INSTANCE_USERNAME:
            return LocalActor(self.instance_uri, "instance", name)
        user = await self.user_by_name(name)
        if user is not None and user.deleted_at is None:
            return LocalActor(self.user_uri(user.username), "user", user.username, user=user)
        if user is not None:  # a deleted account's name is not a plugin actor's either
            return None
        description = await self.plugin_actor(name)
        if description is not None:
            return LocalActor(self.plugin_actor_uri(name), "plugin", name, description=description)
        return None

    # -- blocks ---------------------------------------------------------------------

    async def blocked_hosts(self) -> list[str]:
        async with self.db.session() as session:
            rows = (await session.exec(select(FederationBlock.host))).all()
        return [*self.settings.blocked_instances, *rows]

    async def allowed(self, host: str) -> bool:
        """Whether this instance federates with HOST: not in the config's or the CLI's
        block list, and allowed by ``instance.federate`` (where moderation says no)."""
        host = host.lower()
        if not host or any(host_matches(host, b) for b in await self.blocked_hosts()):
            return False
        return await self.app.state.permissions.allowed(None, perms.INSTANCE_FEDERATE, host)

    async def aclose(self) -> None:
        await self.client.aclose()
