"""Reports: filed from a room with its context, triaged by moderators, never shown to
the reported; a host's removal escalated to a report."""

from __future__ import annotations

from tests.helpers import LiveServer, assert_error

from .conftest import People


def test_a_report_from_a_room_carries_its_context_and_is_triaged(
    mserver: LiveServer, people: People
) -> None:
    host, troll, listener, mod = people("host"), people("troll"), people("lis"), people.moderator()
    rid = host.open_room("Evening talk")["id"]
    for who in (troll, listener):
        assert who.post(f"/api/rooms/{rid}/join").status_code == 200
    assert host.post(f"/api/rooms/{rid}/invite-to-speak", {"user_id": troll.id}).is_success
    assert troll.post(f"/api/rooms/{rid}/invitation/accept").status_code == 200

    r = listener.post(
        "/api/moderation/reports",
        {
            "kind": "user",
            "username": troll.username,
            "room_id": rid,
            "reason": "harassment",
            "text": "shouting at people",
        },
    )
    assert r.status_code == 201, r.text
    report_id = r.json()["id"]

    report = mod.get(f"/api/moderation/reports/{report_id}").json()
    assert report["state"] == "open" and report["reason"] == "harassment"
    assert report["user"]["username"] == troll.username
    assert report["reporter"]["username"] == listener.username
    room = report["context"]["room"]
    assert room["title"] == "Evening talk" and room["creator"] == host.username
    assert troll.username in room["stage"] and listener.username in room["audience"]
    kinds = [(e["kind"], e["user"]) for e in report["context"]["events"]]
    assert ("role_changed", troll.username) in kinds
    assert report_id in [
        x["id"] for x in mod.get("/api/moderation/reports?state=open").json()["reports"]
    ]

    # Reporters are not revealed to the reported: reports are the console's alone.
    assert_error(troll.get(f"/api/moderation/reports/{report_id}"), 403)
    assert_error(troll.get("/api/moderation/reports"), 403)
    assert listener.username not in troll.get(f"/api/users/{troll.username}").text

    r = mod.post(
        f"/api/moderation/reports/{report_id}/triage",
        {"state": "resolved", "action": "warned", "note": "told them off"},
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["state"], done["action"], done["note"]) == ("resolved", "warned", "told them off")
    assert done["handled_by"]["username"] == mod.username
    again = mod.post(f"/api/moderation/reports/{report_id}/triage", {"state": "dismissed"})
    assert_error(again, 409, field="state")
    log = mod.get("/api/moderation/audit").json()["entries"]
    assert {"report.filed", "report.resolved"} <= {e["action"] for e in log}


def test_removal_escalated_to_a_report_and_a_dismissal(people: People) -> None:
    host, pest, mod = people("host"), people("pest"), people.moderator()
    rid = host.open_room("Quiet room")["id"]
    assert pest.post(f"/api/rooms/{rid}/join").status_code == 200
    assert host.post(f"/api/rooms/{rid}/remove", {"user_id": pest.id}).status_code == 200
    assert_error(pest.post(f"/api/rooms/{rid}/join"), 403)  # the core's rule
    r = host.post(
        "/api/moderation/reports",
        {"kind": "user", "username": pest.username, "room_id": rid, "reason": "spam"},
    )
    assert r.status_code == 201, r.text
    report = mod.get(f"/api/moderation/reports/{r.json()['id']}").json()
    removal = [e for e in report["context"]["events"] if e["kind"] == "member_removed"]
    assert removal and removal[0]["user"] == pest.username and removal[0]["actor"] == host.username
    r = mod.post(
        f"/api/moderation/reports/{report['id']}/triage", {"state": "dismissed", "note": "dup"}
    )
    assert r.status_code == 200 and r.json()["state"] == "dismissed" and r.json()["action"] == ""
    dismissed = mod.get("/api/moderation/reports?state=dismissed").json()["reports"]
    assert report["id"] in [x["id"] for x in dismissed]


def test_reports_about_rooms_and_clubs_and_bad_input(people: People) -> None:
    ann, mod = people("ann"), people.moderator()
    rid = people("host").open_room("Spammy")["id"]
    url = "/api/moderation/reports"
    r = ann.post(url, {"kind": "room", "room_id": rid, "reason": "spam"})
    assert r.status_code == 201, r.text
    r = ann.post(url, {"kind": "club", "club_id": 7, "reason": "hate"})
    assert r.status_code == 201, r.text
    club = mod.get(f"/api/moderation/reports/{r.json()['id']}").json()
    assert club["kind"] == "club" and club["club_id"] == 7
    assert_error(ann.post(url, {"kind": "room", "reason": "spam"}), 422, field="room_id")
    assert_error(ann.post(url, {"kind": "club", "reason": "spam"}), 422, field="club_id")
    assert_error(ann.post(url, {"kind": "user", "reason": "spam"}), 422, field="username")
    assert_error(ann.post(url, {"username": ann.username, "reason": "spam"}), 422, field="username")
    assert_error(
        ann.post(url, {"kind": "room", "room_id": rid, "reason": "meh"}), 422, field="reason"
    )
    assert_error(ann.post(url, {"kind": "planet", "reason": "spam"}), 422, field="kind")
    assert_error(ann.post(url, {"kind": "room", "room_id": 2**31 - 1, "reason": "spam"}), 404)
    assert_error(
        ann.post(url, {"kind": "room", "room_id": 0, "reason": "spam"}), 422, field="room_id"
    )
    assert_error(mod.get("/api/moderation/reports?state=weird"), 422, field="state")
    assert_error(mod.get("/api/moderation/reports/999999"), 404, field="report_id")
    assert_error(mod.get("/api/moderation/reports/abc"), 404, field="report_id")
    r = mod.post("/api/moderation/reports/1/triage", {"state": "resolved"})
    assert_error(r, 422)
    assert ann.get("/api/moderation/reasons").json()["reasons"][0] == "spam"
