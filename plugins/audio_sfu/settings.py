"""The ``[plugins.audio_sfu]`` table."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class IceServerSetting(BaseModel):
    """A STUN or TURN server handed to clients (never used by the server itself)."""

    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: str | None = None

    @field_validator("urls")
    @classmethod
    def _schemes(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("stun:", "stuns:", "turn:", "turns:")):
                raise ValueError(f"{url!r} must start with stun:, stuns:, turn: or turns:")
        return urls


class AudioSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    udp_port_range: tuple[int, int] = (40000, 40100)
    """The UDP ports the SFU binds, one per member connection (inclusive)."""
    public_address: str | None = None
    """An IPv4 address to advertise instead of the bound one (1:1 NAT, a cloud VM)."""
    loopback_only: bool = False
    """Gather only 127.0.0.1 and accept only 127.0.0.0/8 peers (local development, tests)."""
    ice_servers: list[IceServerSetting] = Field(default_factory=list)
    """STUN/TURN servers for the clients; none by default."""
    max_speakers_forwarded: int = Field(6, ge=1, le=32)
    """Downstream audio slots per listener: the loudest current speakers fill them."""

    @field_validator("public_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.IPv4Address(value)
        return value

    @model_validator(mode="after")
    def _ports(self) -> AudioSettings:
        low, high = self.udp_port_range
        if not (1024 <= low <= high <= 65535):
            raise ValueError("udp_port_range must be [low, high] with 1024 <= low <= high <= 65535")
        return self
