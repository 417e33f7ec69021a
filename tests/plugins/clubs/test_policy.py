"""The club permission rules as plain Python: every role and status against every
action and policy, and the scheduling arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from salon.core.errors import ValidationFailed
from salon.core.models import User
from salon.plugins.clubs import ClubsSettings, policy
from salon.plugins.clubs.club_rooms import next_week
from salon.plugins.clubs.models import Club, ClubMember
from salon.plugins.clubs.policy import ClubScope
from salon.plugins.clubs.service import handle_from, name_key

ME = User(id=1, username="me")
OTHER = 2

# Who the asker is in the club: no row, or a row of this status and role.
PLACES = {
    "outsider": None,
    "requested": ("requested", "member"),
    "invited": ("invited", "member"),
    "member": ("active", "member"),
    "leader": ("active", "leader"),
    "admin": ("active", "admin"),
}
ADMIN_ACTIONS = [
    policy.UPDATE,
    policy.INVITE,
    policy.REVIEW_REQUEST,
    policy.REMOVE_MEMBER,
    policy.SET_ROLE,
    policy.HAND_OVER,
]


def scope(place: str, *, join: str = "open", members: str = "public") -> ClubScope:
    club = Club(id=1, handle="c", name="C", name_key="c", created_by=OTHER)
    club.join_policy, club.member_list = join, members
    row = PLACES[place]
    mine = None if row is None else ClubMember(club_id=1, user_id=1, status=row[0], role=row[1])
    target = ClubMember(club_id=1, user_id=OTHER, status="active", role="member")
    return ClubScope(club=club, mine=mine, target=target)


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("action", ADMIN_ACTIONS)
def test_only_active_admins_run_the_club(place: str, action: str) -> None:
    allowed = policy.refusal(ME, action, scope(place)) is None
    assert allowed is (place == "admin")
    assert policy.refusal(None, action, scope(place)) == "sign in first"


@pytest.mark.parametrize("place", PLACES)
def test_admins_and_leaders_host_rooms(place: str) -> None:
    allowed = policy.refusal(ME, policy.HOST_ROOM, scope(place)) is None
    assert allowed is (place in ("admin", "leader"))


@pytest.mark.parametrize("join", ["open", "approval", "invite"])
@pytest.mark.parametrize("place", ["outsider", "invited", "requested"])
def test_who_may_join(join: str, place: str) -> None:
    allowed = policy.refusal(ME, policy.JOIN, scope(place, join=join)) is None
    assert allowed is (join != "invite" or place == "invited")
    assert policy.refusal(None, policy.JOIN, scope(place, join=join)) == "sign in first"


@pytest.mark.parametrize("members", ["public", "members", "admins"])
@pytest.mark.parametrize("place", PLACES)
def test_who_sees_the_members(members: str, place: str) -> None:
    allowed = policy.refusal(ME, policy.VIEW_MEMBERS, scope(place, members=members)) is None
    expected = {
        "public": True,
        "members": place in ("member", "leader", "admin"),
        "admins": place == "admin",
    }[members]
    assert allowed is expected
    # A membership row that is not the asker's grants nothing (anonymous, someone else).
    anonymous = policy.refusal(None, policy.VIEW_MEMBERS, scope(place, members=members))
    assert (anonymous is None) is (members == "public")
    stranger = User(id=9, username="stranger")
    other = policy.refusal(stranger, policy.VIEW_MEMBERS, scope(place, members=members))
    assert (other is None) is (members == "public")


def test_admins_do_not_remove_themselves_and_hand_over_to_members_only() -> None:
    mine = scope("admin")
    to_self = ClubScope(club=mine.club, mine=mine.mine, target=mine.mine)
    assert (
        policy.refusal(ME, policy.REMOVE_MEMBER, to_self) == "to leave the club yourself, use leave"
    )
    invited = ClubMember(club_id=1, user_id=OTHER, status="invited", role="member")
    to_invited = ClubScope(club=mine.club, mine=mine.mine, target=invited)
    assert policy.refusal(ME, policy.HAND_OVER, to_invited) is not None
    assert policy.refusal(ME, policy.HAND_OVER, mine) is None


def test_creating_clubs_and_the_hook_answers() -> None:
    anyone, admins = ClubsSettings(), ClubsSettings(create_clubs="admins")
    assert policy.refusal(ME, policy.CREATE, anyone) is None
    assert policy.refusal(ME, policy.CREATE, admins) == "only instance admins can create clubs"
    boss = User(id=3, username="boss", is_admin=True)
    assert policy.refusal(boss, policy.CREATE, admins) is None
    # salon_permission: True to allow (the core refuses unknown actions), a reason to
    # refuse, no opinion on actions that are not the club's.
    assert policy.decide(ME, policy.HOST_ROOM, scope("leader")) is True
    assert policy.decide(ME, policy.HOST_ROOM, scope("member")) == (
        "only the club's admins and leaders can host its rooms"
    )
    assert policy.decide(ME, "room.create", None) is None
    assert policy.decide(None, policy.VIEW, scope("outsider")) is True


def test_scheduling_and_names() -> None:
    # Weekly at 18:00 Paris time, across the change to summer time, after "now".
    first = datetime(2030, 3, 28, 17, tzinfo=UTC)
    assert next_week(first, "Europe/Paris", datetime(2026, 1, 1, tzinfo=UTC)) == datetime(
        2030, 4, 4, 16, tzinfo=UTC
    )
    assert next_week(first, "Europe/Paris", datetime(2030, 4, 5, tzinfo=UTC)) == datetime(
        2030, 4, 11, 16, tzinfo=UTC
    )
    assert handle_from("Late-Night Jazz!") == "late_night_jazz"
    assert len(handle_from("x" * 80)) == 30
    with pytest.raises(ValidationFailed):
        handle_from("¡¡¡")
    assert name_key("  Late   NIGHT jazz ") == name_key("late night jazz")
