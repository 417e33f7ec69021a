"""The outbound client's SSRF guard: which addresses it refuses, that 127.0.0.1 is
refused unless a setting allows it, and that redirects are checked again."""

from __future__ import annotations

import ipaddress

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from salon.federation.client import FederationClient, address_allowed
from salon.federation.errors import FetchError, UnsafeAddress
from tests.helpers import LiveServer

from .helpers import Cluster


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # link-local: cloud metadata
        ("100.64.0.1", False),  # CGNAT
        ("224.0.0.1", False),  # multicast
        ("240.0.0.1", False),  # reserved
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("ff02::1", False),
    ],
)
def test_address_classes(address: str, allowed: bool) -> None:
    assert address_allowed(ipaddress.ip_address(address), []) is allowed


def test_an_allowed_range_lets_its_addresses_through() -> None:
    ranges = [ipaddress.ip_network("127.0.0.0/8")]
    assert address_allowed(ipaddress.ip_address("127.0.0.1"), ranges)
    assert address_allowed(ipaddress.ip_address("::ffff:127.0.0.2"), ranges)
    assert not address_allowed(ipaddress.ip_address("10.0.0.1"), ranges)


@pytest.fixture
def peer():
    async def hello(request):
        return JSONResponse({"hello": "world"})

    async def away(request):
        return RedirectResponse("http://127.0.0.2:9/secret", status_code=302)

    async def big(request):
        return JSONResponse({"x": "y" * 5000})

    server = LiveServer(
        Starlette(routes=[Route("/hello", hello), Route("/away", away), Route("/big", big)])
    ).start()
    yield server
    server.stop()


@pytest.mark.anyio
async def test_loopback_is_refused_unless_allowed(peer: LiveServer) -> None:
    guarded = FederationClient()
    try:
        with pytest.raises(UnsafeAddress, match="not a public address"):
            await guarded.request("GET", f"{peer.url}/hello")
        with pytest.raises(UnsafeAddress):
            await guarded.request("GET", f"http://localhost:{peer.port}/hello")
        with pytest.raises(UnsafeAddress):
            await guarded.request("GET", "file:///etc/passwd")
    finally:
        await guarded.aclose()
    allowed = FederationClient(allowed_ranges=["127.0.0.1/32"], max_response_bytes=2048)
    try:
        response = await allowed.request("GET", f"{peer.url}/hello")
        assert response.status == 200 and response.json() == {"hello": "world"}
        # A redirect to an address outside the allowed range is checked again: refused.
        with pytest.raises(UnsafeAddress, match=r"127\.0\.0\.2"):
            await allowed.request("GET", f"{peer.url}/away")
        # POSTs never follow redirects.
        response = await allowed.request("POST", f"{peer.url}/away", content=b"{}")
        assert response.status in (302, 405)
        with pytest.raises(FetchError, match="more than 2048 bytes"):
            await allowed.request("GET", f"{peer.url}/big")
    finally:
        await allowed.aclose()


def test_an_instance_without_the_setting_refuses_127_0_0_1(cluster: Cluster) -> None:
    b = cluster.start("B")
    b.signup("bob")
    a = cluster.start("A", allowed_private_ranges=[])
    ann = a.signup("ann")
    r = ann.get("/api/federation/lookup", params={"q": f"@bob@{b.host}"})
    assert r.status_code == 404, r.text
    assert "not a public address" in r.json()["error"]["message"]
    r = ann.post("/api/federation/follows", {"actor": b.actor("bob")})
    assert r.status_code == 400 and "not a public address" in r.json()["error"]["message"]


def test_odd_input_is_a_4xx_never_a_500(cluster: Cluster) -> None:
    b = cluster.start("B")
    bob = b.signup("bob")
    for q in ("@bob@", "nobody", "http://[::1", "http://127.0.0.1:99999/x", "@a\x00@b", "x" * 700):
        r = bob.get("/api/federation/lookup", params={"q": q})
        assert 400 <= r.status_code < 500, (q, r.text)
    for body in ({"actor": "mailto:x"}, {"actor": "http://"}, {}, {"actor": "http://x", "y": 1}):
        r = bob.post("/api/federation/follows", body)
        assert 400 <= r.status_code < 500, (body, r.text)
    with b.client() as client:
        for resource in ("acct:\x00@x", "acct:@", f"acct:a\x00b@{b.host}", "http://elsewhere/x"):
            r = client.get("/.well-known/webfinger", params={"resource": resource})
            assert r.status_code in (400, 404), (resource, r.text)
        for path in ("/actors/%00", "/actors/" + "x" * 300, "/users/%00"):
            r = client.get(path, headers={"accept": "application/activity+json"})
            assert r.status_code == 404, (path, r.text)
