"""Clubs federate as ``Group`` actors through ``salon_federated_actor`` (the contract
federation publishes): actor document, WebFinger, and names that are not clubs."""

from __future__ import annotations

from collections.abc import Callable

from tests.helpers import LiveServer

from .conftest import make_club, person

ACTIVITY_JSON = {"accept": "application/activity+json"}


def test_a_club_is_a_group_actor(clubs_on: Callable[..., LiveServer], sqlite_url: str) -> None:
    server = clubs_on(sqlite_url, plugins={"enabled": ["clubs", "federation"]})
    base = server.settings.instance.base_url
    ann = person(server, "ann")
    make_club(ann, "Late Night Jazz", handle="jazz", description="Jazz after dark")
    with server.client() as remote:
        r = remote.get("/actors/jazz", headers=ACTIVITY_JSON)
        assert r.status_code == 200, r.text
        actor = r.json()
        assert actor["id"] == f"{base}/actors/jazz"
        assert actor["type"] == "Group" and actor["preferredUsername"] == "jazz"
        assert actor["name"] == "Late Night Jazz" and actor["summary"] == "Jazz after dark"
        assert actor["url"] == f"{base}/clubs/jazz"
        assert actor["manuallyApprovesFollowers"] is False
        assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
        host = base.split("//", 1)[1]
        r = remote.get("/.well-known/webfinger", params={"resource": f"acct:jazz@{host}"})
        assert r.status_code == 200, r.text
        assert {"rel": "self", "type": "application/activity+json", "href": actor["id"]} in [
            {k: link.get(k) for k in ("rel", "type", "href")} for link in r.json()["links"]
        ]
        # Not a club, nor a user: no actor.
        assert remote.get("/actors/blues", headers=ACTIVITY_JSON).status_code == 404
        # A renamed club federates under its new name at once.
        ann.patch("/api/clubs/jazz", {"name": "Jazz Club"})
        assert remote.get("/actors/jazz", headers=ACTIVITY_JSON).json()["name"] == "Jazz Club"
