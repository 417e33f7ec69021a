"""Federation's tables, all prefixed ``federation_``.

Remote follows live here, not in the core's local-only ``follow`` table; the core's
followers/following lists include them through ``salon_follow_list``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class FederationKey(SQLModel, table=True):
    """A local actor's RSA key pair. The private key never leaves the database; a
    rotated key keeps verifying until ``expires_at``."""

    __tablename__ = "federation_key"

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(index=True, max_length=500)
    key_id: str = Field(unique=True, max_length=600)
    private_pem: str = Field(sa_column=Column(Text, nullable=False))
    public_pem: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    retired_at: datetime | None = None
    expires_at: datetime | None = None


class FederationRemoteActor(SQLModel, table=True):
    """A remote actor document as last fetched."""

    __tablename__ = "federation_remote_actor"

    id: int | None = Field(default=None, primary_key=True)
    uri: str = Field(unique=True, max_length=600)
    host: str = Field(index=True, max_length=255)
    type: str = Field(default="Person", max_length=40)
    username: str = Field(default="", max_length=200)
    name: str = Field(default="", max_length=200)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    url: str = Field(default="", max_length=600)
    inbox: str = Field(default="", max_length=600)
    shared_inbox: str = Field(default="", max_length=600)
    fetched_at: datetime = Field(default_factory=utcnow)


class FederationRemoteKey(SQLModel, table=True):
    """A remote public key, cached by key id."""

    __tablename__ = "federation_remote_key"

    id: int | None = Field(default=None, primary_key=True)
    key_id: str = Field(unique=True, max_length=600)
    owner: str = Field(index=True, max_length=600)
    public_pem: str = Field(sa_column=Column(Text, nullable=False))
    fetched_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None


class FederationFollow(SQLModel, table=True):
    """A follow between a local actor and a remote one. ``direction`` is ``"in"`` (the
    remote actor follows the local one) or ``"out"``; ``state`` is ``pending`` or
    ``accepted``."""

    __tablename__ = "federation_follow"
    __table_args__ = (UniqueConstraint("local_actor", "remote_actor", "direction"),)

    id: int | None = Field(default=None, primary_key=True)
    local_actor: str = Field(index=True, max_length=600)
    remote_actor: str = Field(index=True, max_length=600)
    remote_host: str = Field(index=True, max_length=255)
    direction: str = Field(max_length=3)
    state: str = Field(default="pending", max_length=10)
    activity_id: str = Field(default="", max_length=600)
    created_at: datetime = Field(default_factory=utcnow)


class FederationInboxItem(SQLModel, table=True):
    """A verified incoming activity, stored before it is processed. An activity whose
    processing needed a remote server that did not answer is tried again later."""

    __tablename__ = "federation_inbox_item"

    id: int | None = Field(default=None, primary_key=True)
    activity_id: str = Field(unique=True, max_length=600)
    sender: str = Field(max_length=600)
    host: str = Field(index=True, max_length=255)
    body: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="received", index=True, max_length=10)
    error: str = Field(default="", max_length=500)
    received_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = None
    attempts: int = 0
    next_try_at: datetime = Field(default_factory=utcnow, index=True)


class FederationDelivery(SQLModel, table=True):
    """One activity to one inbox: the durable delivery queue."""

    __tablename__ = "federation_delivery"
    __table_args__ = (UniqueConstraint("activity_id", "inbox"),)

    id: int | None = Field(default=None, primary_key=True)
    activity_id: str = Field(max_length=600)
    sender: str = Field(max_length=600)
    inbox: str = Field(max_length=600)
    host: str = Field(index=True, max_length=255)
    body: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="pending", index=True, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    lease_until: datetime | None = None
    last_status: int | None = None
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


class FederationHost(SQLModel, table=True):
    """What this instance learnt about a remote host: the signature scheme it takes,
    its failures (circuit breaker, distinct failing days) and whether it is available."""

    __tablename__ = "federation_host"

    id: int | None = Field(default=None, primary_key=True)
    host: str = Field(unique=True, max_length=255)
    signature_scheme: str = Field(default="rfc9421", max_length=10)
    consecutive_failures: int = 0
    circuit_open_until: datetime | None = None
    failure_days: str = Field(default="", max_length=2000)
    unavailable: bool = False
    last_success_at: datetime | None = None


class FederationBlock(SQLModel, table=True):
    """An instance blocked with ``salon federation block`` (besides the config list)."""

    __tablename__ = "federation_block"

    id: int | None = Field(default=None, primary_key=True)
    host: str = Field(unique=True, max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


class FederationSeenSignature(SQLModel, table=True):
    """Signatures accepted within the freshness window, to refuse replays."""

    __tablename__ = "federation_seen_signature"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(unique=True, max_length=64)
    seen_at: datetime = Field(default_factory=utcnow, index=True)


class FederationAccount(SQLModel, table=True):
    """A local user's federation preferences."""

    __tablename__ = "federation_account"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", unique=True)
    manually_approves_followers: bool = False


class FederationGrantUse(SQLModel, table=True):
    """A join grant already used (issue 9): its ``jti`` is refused again until the grant
    has expired, when the row is purged."""

    __tablename__ = "federation_grant_use"
    __table_args__ = (UniqueConstraint("issuer", "jti"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=600)
    jti: str = Field(max_length=200)
    room_id: int
    used_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class FederationPublishedRoom(SQLModel, table=True):
    """A local room as this instance published it (issue 9): what was last sent, to
    whom, and the ``Note`` told to servers that are not Salon, so the refresh, the end
    and the Note's ``Delete`` reach the same audience."""

    __tablename__ = "federation_published_room"

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(unique=True)
    object_id: str = Field(max_length=600)
    sender: str = Field(max_length=600)
    state: str = Field(default="live", index=True, max_length=10)
    digest: str = Field(default="", max_length=64)
    listener_count: int = 0
    room_inboxes: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    note_id: str = Field(default="", max_length=600)
    note_inboxes: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    published_at: datetime = Field(default_factory=utcnow)
    last_sent_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


class FederationRemoteRoom(SQLModel, table=True):
    """A room held on another server, as its last ``Create``/``Update`` described it
    (issue 9). ``people`` (JSON list) are the actor ids of its host, speakers and club;
    ``card`` (JSON) is its hallway card."""

    __tablename__ = "federation_remote_room"

    id: int | None = Field(default=None, primary_key=True)
    object_id: str = Field(unique=True, max_length=600)
    host: str = Field(index=True, max_length=255)
    state: str = Field(index=True, max_length=10)
    visibility: str = Field(max_length=10)
    people: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    card: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    refreshed_at: datetime = Field(default_factory=utcnow, index=True)


class FederationPeer(SQLModel, table=True):
    """Another instance whose instance actor this instance's follows to list its open
    rooms (``salon federation peer``): ``state`` is pending, accepted or refused."""

    __tablename__ = "federation_peer"

    id: int | None = Field(default=None, primary_key=True)
    host: str = Field(unique=True, max_length=255)
    actor: str = Field(max_length=600)
    state: str = Field(default="pending", max_length=10)
    follow_id: str = Field(default="", max_length=600)
    created_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = None
