"""Someone deletes their account (``DELETE /api/me``): the moderation plugin's
``salon_account_deleted`` removes the blocks they made or were the target of (and a
moderator grant), and keeps reports, suspensions and the audit log."""

from __future__ import annotations

from typing import Any

from tests.helpers import PASSWORD, Api, assert_error

from .conftest import People


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def delete_account(who: Api) -> Any:
    return who.http.request("DELETE", "/api/me", json={"password": PASSWORD})


def blocked_by(who: Api) -> list[str]:
    return [b["user"]["username"] for b in ok(who.get("/api/moderation/blocks"))["blocks"]]


def report(reporter: Api, about: Api, text: str) -> int:
    body = {"kind": "user", "reason": "spam", "username": about.username, "text": text}
    return ok(reporter.post("/api/moderation/reports", body), 201)["id"]


def test_deletion_removes_blocks_and_keeps_moderation_records(people: People) -> None:
    ann, bob, cat, dan = people("ann"), people("bob"), people("cat"), people("dan")
    admin = people.admin()
    mod = people.moderator()
    # ann blocks bob; cat blocks ann; cat blocks dan (not about ann).
    for blocker, blocked in ((ann, bob), (cat, ann), (cat, dan)):
        ok(blocker.post("/api/moderation/blocks", {"username": blocked.username}), 201)
    assert_error(bob.post(f"/api/users/{ann.username}/follow"), 403)
    # ann reported bob; dan reported ann; ann is a moderator too, and was suspended once.
    by_ann = report(ann, bob, "ann saw spam")
    about_ann = report(dan, ann, "ann spams")
    ok(admin.post("/api/moderation/moderators", {"username": ann.username}), 204)
    ok(
        admin.post("/api/moderation/suspensions", {"username": ann.username, "reason": "cool off"}),
        201,
    )
    ok(admin.post(f"/api/moderation/suspensions/{ann.username}/lift", {"reason": "done"}), 204)
    # bob is suspended now: his credentials stop working, so he cannot delete his
    # account to shed the suspension.
    ok(mod.post("/api/moderation/suspensions", {"username": bob.username, "reason": "spam"}), 201)
    assert_error(delete_account(bob), 401)

    assert delete_account(ann).status_code == 204

    # Blocks either way are gone; others' blocks stay.
    assert blocked_by(cat) == [dan.username]
    assert blocked_by(dan) == []
    # The deleted account cannot be blocked again (it is nobody now).
    r = cat.post("/api/moderation/blocks", {"username": ann.username})
    assert_error(r, 404, field="username")
    # Her moderator grant went; the moderators list does not show her.
    listed = {
        m["user"]["username"] for m in ok(mod.get("/api/moderation/moderators"))["moderators"]
    }
    assert ann.username not in listed and mod.username in listed
    # Both reports stay for moderators, hers with her (scrubbed) account as reporter.
    mine = ok(mod.get(f"/api/moderation/reports/{by_ann}"))
    assert mine["reporter"]["username"] == ann.username and mine["reporter"]["display_name"] == ""
    assert mine["user"]["username"] == bob.username and mine["text"] == "ann saw spam"
    about = ok(mod.get(f"/api/moderation/reports/{about_ann}"))
    assert about["user"]["username"] == ann.username and about["state"] == "open"
    # Reporters stay hidden from everyone else, the reported included.
    assert_error(dan.get(f"/api/moderation/reports/{by_ann}"), 403)
    assert_error(cat.get("/api/moderation/reports"), 403)
    # bob's suspension is in force; the audit log kept every entry about ann, and
    # says what her deletion removed.
    suspended = ok(mod.get("/api/moderation/suspensions"))["suspensions"]
    assert bob.username in {s["user"]["username"] for s in suspended}
    log = ok(mod.get("/api/moderation/audit"))["entries"]
    hers = [(e["action"], e["target"]) for e in log if ann.username in e["target"]]
    for entry in (
        ("block", f"user:{ann.username}"),
        ("moderator.granted", f"user:{ann.username}"),
        ("suspend", f"user:{ann.username}"),
        ("unsuspend", f"user:{ann.username}"),
    ):
        assert entry in hers, entry
    deleted = [e for e in log if e["action"] == "account.deleted"]
    assert [e["target"] for e in deleted] == [f"user:{ann.username}"]
    assert deleted[0]["details"] == {"blocks_removed": 2, "moderator_grant_removed": True}
    filed = {e["target"]: e["actor"] for e in log if e["action"] == "report.filed"}
    assert filed[f"report:{by_ann}"]["username"] == ann.username
