"""Local actors' RSA-2048 key pairs: creation on first use, rotation with a grace
period, and what is published. Private keys stay in the database."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from salon.core.db import Database

from .models import FederationKey

logger = logging.getLogger(__name__)

KEY_SIZE = 2048
RECHECK_SECONDS = 5.0


@dataclass(frozen=True)
class LocalKey:
    """An actor's current signing key."""

    key_id: str
    private_key: rsa.RSAPrivateKey
    public_pem: str


def generate_pem() -> tuple[str, str]:
    """A new RSA-2048 key pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def key_id_for(actor: str, generation: int) -> str:
    return f"{actor}#main-key" if generation <= 1 else f"{actor}#key-{generation}"


def aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class KeyStore:
    """Keys of one instance's local actors, with the loaded private keys cached."""

    def __init__(self, db: Database):
        self.db = db
        self._loaded: dict[str, LocalKey] = {}
        self._checked: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def current(self, actor: str, *, fresh: bool = False) -> LocalKey:
        """ACTOR's current key, created on first use. Signing may use a key read up to
        a few seconds ago (a rotated key verifies through its grace period); FRESH
        reads the database (what is published)."""
        cached = self._loaded.get(actor)
        recent = time.monotonic() - self._checked.get(actor, 0) < RECHECK_SECONDS
        if cached is not None and recent and not fresh:
            return cached
        row = await self._current_row(actor)
        if cached is not None and row is not None and cached.key_id == row.key_id:
            # Checked again every few seconds, so a rotation by the CLI shows soon (the
            # old key keeps verifying for the grace period meanwhile).
            self._checked[actor] = time.monotonic()
            return cached
        async with self._lock:
            row = await self._current_row(actor)
            if row is None:
                private, public = await run_in_threadpool(generate_pem)
                row = FederationKey(
                    actor=actor, key_id=key_id_for(actor, 1), private_pem=private, public_pem=public
                )
                async with self.db.session() as session:
                    session.add(row)
                    try:
                        await session.commit()
                    except IntegrityError:  # another process created it first
                        await session.rollback()
                row = await self._current_row(actor)
                assert row is not None
                logger.info("created the signing key of %s", actor)
            loaded = LocalKey(
                key_id=row.key_id,
                private_key=serialization.load_pem_private_key(  # type: ignore[arg-type]
                    row.private_pem.encode(), password=None
                ),
                public_pem=row.public_pem,
            )
            self._loaded[actor] = loaded
            self._checked[actor] = time.monotonic()
            return loaded

    async def _current_row(self, actor: str) -> FederationKey | None:
        async with self.db.session() as session:
            return (
                await session.exec(
                    select(FederationKey)
                    .where(FederationKey.actor == actor, col(FederationKey.retired_at).is_(None))
                    .order_by(col(FederationKey.id).desc())
                )
            ).first()

    async def retired(self, actor: str) -> list[tuple[str, str]]:
        """ACTOR's rotated keys still in their grace period: (key id, public PEM)."""
        now = datetime.now(UTC)
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(FederationKey)
                    .where(FederationKey.actor == actor, col(FederationKey.retired_at).is_not(None))
                    .order_by(col(FederationKey.id).desc())
                )
            ).all()
        return [(r.key_id, r.public_pem) for r in rows if (aware(r.expires_at) or now) > now]

    async def public_key(self, key_id: str) -> tuple[str, str] | None:
        """(owner, public PEM) of a local key that still verifies: current, or retired
        less than the grace period ago."""
        async with self.db.session() as session:
            row = (
                await session.exec(select(FederationKey).where(FederationKey.key_id == key_id))
            ).first()
        if row is None:
            return None
        expires = aware(row.expires_at)
        if expires is not None and expires <= datetime.now(UTC):
            return None
        return row.actor, row.public_pem


def rotate(session: Session, actor: str, grace_seconds: float) -> FederationKey:
    """Retire ACTOR's current key (it verifies for GRACE_SECONDS more) and make a new
    one. Synchronous: ``salon keys rotate`` runs it outside the server."""
    now = datetime.now(UTC)
    rows = session.exec(select(FederationKey).where(FederationKey.actor == actor)).all()
    for row in rows:
        if row.retired_at is None:
            row.retired_at = now
            row.expires_at = now + timedelta(seconds=grace_seconds)
            session.add(row)
    private, public = generate_pem()
    new = FederationKey(
        actor=actor, key_id=key_id_for(actor, len(rows) + 1), private_pem=private, public_pem=public
    )
    session.add(new)
    session.commit()
    session.refresh(new)
    logger.info("rotated the key of %s; new key %s", actor, new.key_id)
    return new
