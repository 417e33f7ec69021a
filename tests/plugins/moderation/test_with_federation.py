"""Remote instance blocks with federation running: a moderator's block in the console
makes federation cut its ties with that instance and refuse it from then on."""

from __future__ import annotations

from pathlib import Path

from tests.federation import helpers

from .conftest import People


def remote_followers(server, username: str) -> list[str]:  # type: ignore[no-untyped-def]
    with server.client() as client:
        return [
            e["username"] for e in client.get(f"/api/users/{username}/followers").json()["remote"]
        ]


def test_a_console_block_severs_and_refuses_a_remote_instance(tmp_path: Path) -> None:
    cluster = helpers.Cluster(tmp_path, lambda name: f"sqlite:///{tmp_path / f'{name}.db'}")
    try:
        a = cluster.start("A")
        b = cluster.start("B", enabled=["moderation"])
        ann, bob = a.signup("ann"), b.signup("bob")
        people = People(b)
        mod = people.moderator()
        assert ann.post("/api/federation/follows", {"actor": b.actor("bob")}).status_code == 202
        helpers.eventually(lambda: remote_followers(b, "bob") == [f"ann@{a.host}"])

        r = mod.post("/api/moderation/instances", {"domain": a.host, "reason": "spam"})
        assert r.status_code == 201, r.text
        assert remote_followers(b, "bob") == []  # federation cut the follow at once
        r = bob.get("/api/federation/lookup", params={"q": f"@ann@{a.host}"})
        assert r.status_code == 404 and "blocked" in r.json()["error"]["message"]

        assert mod.delete(f"/api/moderation/instances/{a.host}").status_code == 204
        r = bob.get("/api/federation/lookup", params={"q": f"@ann@{a.host}"})
        assert r.status_code == 200, r.text
        people.engine.dispose()
    finally:
        cluster.stop_all()
