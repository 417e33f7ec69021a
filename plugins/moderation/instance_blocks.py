"""Remote instances this one does not federate with: the config's list plus the
admins' (table ``moderation_instance_block``). Federation asks ``instance.federate``
with the host name before accepting from or delivering to it; :func:`is_blocked` is the
check behind that answer. A blocked domain blocks its subdomains too."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from .models import InstanceBlock

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN_RE = re.compile(rf"^{_LABEL}(\.{_LABEL})*(:\d{{1,5}})?$")


def normalise_domain(value: str) -> str:
    """A host name as stored and compared: lower case, no scheme, path or trailing dot.
    Raises ValueError for anything that is not a host name (optionally with a port)."""
    domain = value.strip().lower()
    domain = re.sub(r"^[a-z][a-z0-9+.-]*://", "", domain).split("/", 1)[0].rstrip(".")
    if not domain or len(domain) > 253 or not DOMAIN_RE.match(domain):
        raise ValueError(f"{value!r} is not a host name")
    return domain


def _candidates(host: str) -> set[str]:
    """HOST, HOST without its port, and every parent domain of it."""
    try:
        host = normalise_domain(host)
    except ValueError:
        return {host.lower()}
    names = {host}
    bare = host.rsplit(":", 1)[0] if re.search(r":\d+$", host) else host
    names.add(bare)
    if not re.fullmatch(r"[\d.]+", bare):  # an address has no parent domains
        labels = bare.split(".")
        names.update(".".join(labels[i:]) for i in range(len(labels)))
    return names


def matches(host: str, blocked: Iterable[str]) -> str | None:
    """The entry of BLOCKED that covers HOST, or None."""
    hit = _candidates(host) & set(blocked)
    return min(hit, key=len) if hit else None


async def blocked_in_db(session: AsyncSession, host: str) -> InstanceBlock | None:
    names = _candidates(host)
    return (
        await session.exec(select(InstanceBlock).where(InstanceBlock.domain.in_(names)))
    ).first()


async def listing(session: AsyncSession) -> list[InstanceBlock]:
    return list((await session.exec(select(InstanceBlock).order_by(InstanceBlock.domain))).all())
