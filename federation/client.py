"""The one outbound HTTP client of federation, with an SSRF guard.

Every request resolves its host once, refuses addresses that are not public (loopback,
private, link-local, CGNAT, multicast, reserved, unspecified) unless a configured
range allows them, and then connects to the very address it checked, sending the
original ``Host`` (and TLS server name). POSTs never follow redirects; GETs follow a
few, checking each new location the same way. Timeouts are short and responses are
read up to a size cap.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from salon.core import __version__

from .errors import FetchError, UnsafeAddress

logger = logging.getLogger(__name__)

ACTIVITY_JSON = "application/activity+json"
ACCEPT_ACTIVITY = (
    f'{ACTIVITY_JSON}, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
)
USER_AGENT = f"Salon/{__version__} (federation)"
MAX_REDIRECTS = 3

# Not public, though some are not flagged by ipaddress in every Python version.
_EXTRA_BLOCKED = [ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("192.0.0.0/24")]

Signer = Callable[[httpx.Request], None]


@dataclass
class Fetched:
    """A response read into memory (up to the cap)."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise FetchError(f"{self.url} did not answer JSON: {exc}") from None


def address_allowed(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    allowed: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> bool:
    """Whether the guard lets a request reach ADDRESS."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in allowed if net.version == address.version):
        return True
    if any(address in net for net in _EXTRA_BLOCKED if net.version == address.version):
        return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


class FederationClient:
    """Outbound requests for one instance."""

    def __init__(
        self,
        *,
        allowed_ranges: Iterable[str] = (),
        timeout: float = 10.0,
        max_response_bytes: int = 1_000_000,
    ):
        self.allowed = [ipaddress.ip_network(r, strict=False) for r in allowed_ranges]
        self.max_response_bytes = max_response_bytes
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            trust_env=False,  # no proxies from the environment: the guard must see the peer
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def resolve(self, url: str) -> str:
        """The checked address to connect to for URL, or UnsafeAddress."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise UnsafeAddress(f"not a usable URL: {url!r}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UnsafeAddress(f"not an http(s) URL: {url!r}")
        host = parts.hostname
        port = port or (443 if parts.scheme == "https" else 80)
        try:
            literal = ipaddress.ip_address(host)
            addresses = [literal]
        except ValueError:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise FetchError(f"cannot resolve {host}: {exc}") from None
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise FetchError(f"{host} has no address")
        for address in addresses:
            if not address_allowed(address, self.allowed):
                raise UnsafeAddress(f"{host} resolves to {address}, which is not a public address")
        return str(addresses[0])

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        sign: Signer | None = None,
    ) -> Fetched:
        """Send one request through the guard. GETs follow up to three redirects,
        each checked again (and signed again, for its own URL)."""
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._send(method, url, headers or {}, content, sign)
            if method != "GET" or response.status not in (301, 302, 303, 307, 308):
                return response
            location = response.headers.get("location")
            if not location:
                return response
            url = urljoin(url, location)
        raise FetchError(f"too many redirects fetching {url}")

    async def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        sign: Signer | None,
    ) -> Fetched:
        address = await self.resolve(url)
        parts = urlsplit(url)
        try:
            request = httpx.Request(
                method, url, headers={"User-Agent": USER_AGENT, **headers}, content=content
            )
        except (httpx.InvalidURL, ValueError) as exc:
            raise FetchError(f"not a usable URL: {url!r} ({exc})") from None
        if sign is not None:
            sign(request)  # against the URL as the remote sees it, hostname and all
        ip_host = f"[{address}]" if ":" in address else address
        netloc = ip_host + (f":{parts.port}" if parts.port else "")
        pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        outgoing = httpx.Request(
            method,
            pinned,
            headers=request.headers,  # carries Host: the original name
            content=content,
            extensions={"sni_hostname": parts.hostname} if parts.scheme == "https" else {},
        )
        try:
            response = await self.http.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            raise FetchError(f"{method} {url} failed: {exc!r}") from None
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > self.max_response_bytes:
                    raise FetchError(f"{url} answered more than {self.max_response_bytes} bytes")
        except httpx.HTTPError as exc:
            raise FetchError(f"reading {url} failed: {exc!r}") from None
        finally:
            await response.aclose()
        return Fetched(response.status_code, response.headers, bytes(body), url)
