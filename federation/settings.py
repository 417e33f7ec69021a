"""The ``[plugins.federation]`` settings."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field, field_validator


class FederationSettings(BaseModel):
    """Every key of ``[plugins.federation]``, with its default (see federation/README.md)."""

    model_config = ConfigDict(extra="forbid")

    allowed_private_ranges: list[str] = Field(
        default_factory=list,
        description="CIDR ranges the outbound client may reach although they are not public",
    )
    blocked_instances: list[str] = Field(
        default_factory=list, description="hosts never federated with (also their subdomains)"
    )
    accept_rfc9421: bool = Field(
        True, description="accept RFC 9421 signatures on incoming requests"
    )
    signature_max_age_seconds: float = Field(300.0, gt=0, le=3600)
    key_rotation_grace_seconds: float = Field(7 * 86400.0, ge=0)
    key_cache_seconds: float = Field(86400.0, ge=0)
    retry_base_seconds: float = Field(60.0, gt=0)
    retry_max_delay_seconds: float = Field(12 * 3600.0, gt=0)
    retry_for_seconds: float = Field(2 * 86400.0, gt=0)
    retry_jitter: float = Field(0.2, ge=0, le=1)
    circuit_breaker_failures: int = Field(5, ge=1)
    circuit_breaker_seconds: float = Field(300.0, ge=0)
    unavailable_after_days: int = Field(3, ge=1)
    workers: int = Field(4, ge=1, le=64)
    poll_seconds: float = Field(5.0, gt=0)
    request_timeout_seconds: float = Field(10.0, gt=0, le=120)
    max_response_bytes: int = Field(1_000_000, ge=1024)
    max_inbox_bytes: int = Field(256_000, ge=1024)

    # Rooms across servers.
    publish_rooms: bool = Field(
        True, description="tell remote followers of a room's people when it is scheduled or live"
    )
    list_rooms_to_peers: bool = Field(
        False,
        description="let other instances peer with this one (follow its instance actor) "
        "and list all its open rooms",
    )
    room_refresh_seconds: float = Field(
        30.0, gt=0, description="at most one listener-count Update per room this often"
    )
    room_keepalive_seconds: float = Field(
        120.0, gt=0, description="a live room is announced again at least this often"
    )
    remote_room_ttl_seconds: float = Field(
        300.0, gt=0, description="a remote room not refreshed for this long leaves the hallway"
    )
    grant_ttl_seconds: float = Field(
        60.0, gt=0, le=60, description="lifetime of a join grant this instance issues"
    )
    grant_clock_skew_seconds: float = Field(
        30.0, ge=0, le=300, description="clock difference tolerated on a grant's iat and exp"
    )
    guest_session_hours: float = Field(
        12.0, gt=0, description="how long a remote guest's session in one room lasts"
    )

    @field_validator("allowed_private_ranges")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP range such as 127.0.0.0/8") from None
        return value

    @field_validator("blocked_instances")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value if v.strip()]
