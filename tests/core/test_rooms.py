"""Unit tests for the room state machine (core/rooms.py): every transition, every refusal."""

from __future__ import annotations

import pytest

from salon.core.errors import Conflict, Forbidden
from salon.core.rooms import (
    ENDED,
    HAND_LOWERED,
    HAND_RAISED,
    INVITATION_DECLINED,
    INVITED_TO_SPEAK,
    MEMBER_JOINED,
    MEMBER_LEFT,
    MEMBER_REMOVED,
    MUTE_CHANGED,
    OPENED,
    ROLE_CHANGED,
    Member,
    Role,
    Room,
    RoomEvent,
    RoomForbidden,
    RoomRefused,
    RoomState,
)
from tests.core.room_builders import (
    HOST,
    assert_refused,
    kinds,
    make_room,
    member_data,
    put_on_stage,
)

# -- the basics ------------------------------------------------------------------


def test_errors_map_to_409_and_403() -> None:
    assert issubclass(RoomRefused, Conflict)
    assert issubclass(RoomForbidden, Forbidden)
    assert RoomRefused("x").status == 409
    assert RoomForbidden("x").status == 403
    assert RoomRefused("x").code == "room_refused"
    assert RoomForbidden("x").code == "room_forbidden"


def test_a_new_room_is_scheduled_and_empty() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    assert room.state is RoomState.SCHEDULED
    assert room.members == {}
    assert room.removed == set()
    assert room.invited == set()


def test_member_to_dict() -> None:
    m = Member(user_id=3, role=Role.SPEAKER, joined_order=4, stage_order=6)
    assert m.to_dict() == {
        "user_id": 3,
        "role": "speaker",
        "on_stage": True,
        "hand_raised": False,
        "invited_to_speak": False,
        "muted": True,
        "muted_by_moderator": False,
        "joined_order": 4,
        "stage_order": 6,
    }
    listener = Member(user_id=4, role=Role.LISTENER, joined_order=5)
    assert not listener.on_stage
    assert listener.to_dict()["stage_order"] is None


def test_queries_hosts_stage_audience_role_of() -> None:
    room = make_room(moderators=[2], speakers=[3], listeners=[4, 5])
    assert [m.user_id for m in room.hosts()] == [HOST]
    # Stage: by rank, then by time on stage.
    assert [m.user_id for m in room.stage()] == [HOST, 2, 3]
    assert [m.user_id for m in room.audience()] == [4, 5]
    assert room.role_of(HOST) is Role.HOST
    assert room.role_of(2) is Role.MODERATOR
    assert room.role_of(3) is Role.SPEAKER
    assert room.role_of(4) is Role.LISTENER
    assert room.role_of(99) is None
    assert room.member(3).user_id == 3
    with pytest.raises(RoomRefused, match="not in this room"):
        room.member(99)


# -- open ------------------------------------------------------------------------


def test_open_makes_the_room_live_with_the_creator_as_host() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    events = room.open(HOST)
    assert room.state is RoomState.LIVE
    assert list(room.members) == [HOST]
    host = room.members[HOST]
    assert (host.role, host.joined_order, host.stage_order, host.muted) == (Role.HOST, 1, 1, True)
    assert events == [
        RoomEvent(OPENED, actor_id=HOST),
        RoomEvent(
            MEMBER_JOINED,
            user_id=HOST,
            actor_id=HOST,
            data={
                "member": {
                    "user_id": HOST,
                    "role": "host",
                    "on_stage": True,
                    "hand_raised": False,
                    "invited_to_speak": False,
                    "muted": True,
                    "muted_by_moderator": False,
                    "joined_order": 1,
                    "stage_order": 1,
                }
            },
        ),
    ]


def test_only_the_creator_can_open() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    assert_refused(room, RoomForbidden, lambda: room.open(2), "only the room's creator")


def test_a_live_room_cannot_be_opened_again() -> None:
    room = make_room(listeners=[2])
    assert_refused(room, RoomRefused, lambda: room.open(HOST), "live, not scheduled")
    # A non-creator is turned away on authority before the state is looked at.
    assert_refused(room, RoomForbidden, lambda: room.open(2))


def test_an_ended_room_cannot_be_opened() -> None:
    room = make_room()
    room.end(HOST)
    assert_refused(room, RoomRefused, lambda: room.open(HOST), "ended")


# -- join ------------------------------------------------------------------------


def test_join_enters_as_a_muted_listener() -> None:
    room = make_room()
    events = room.join(2)
    m = room.members[2]
    assert (m.role, m.joined_order, m.stage_order, m.muted) == (Role.LISTENER, 2, None, True)
    assert kinds(events) == [MEMBER_JOINED]
    assert (events[0].user_id, events[0].actor_id) == (2, 2)
    assert member_data(events) == m.to_dict()
    assert member_data(events)["role"] == "listener"
    assert member_data(events)["on_stage"] is False


def test_the_creator_rejoins_as_host() -> None:
    room = make_room(speakers=[2])
    room.leave(HOST)
    assert room.role_of(2) is Role.HOST  # succession
    events = room.join(HOST)
    assert room.role_of(HOST) is Role.HOST
    assert room.members[HOST].stage_order == room.members[HOST].joined_order
    assert member_data(events)["role"] == "host"
    assert len(room.hosts()) == 2


def test_join_twice_is_refused() -> None:
    room = make_room(listeners=[2])
    assert_refused(room, RoomRefused, lambda: room.join(2), "already in this room")
    assert_refused(room, RoomRefused, lambda: room.join(HOST), "already in this room")


def test_join_a_scheduled_room_is_refused() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    assert_refused(room, RoomRefused, lambda: room.join(2), "scheduled, not live")
    assert_refused(room, RoomRefused, lambda: room.join(HOST), "scheduled, not live")


def test_a_removed_user_cannot_rejoin() -> None:
    room = make_room(listeners=[2])
    room.remove(HOST, 2)
    assert_refused(room, RoomForbidden, lambda: room.join(2), "removed from this room")


def test_a_removed_user_cannot_rejoin_even_after_leaving_the_guest_list() -> None:
    room = make_room(listeners=[2])
    room.invite_guest(HOST, 2)
    room.remove(HOST, 2)
    assert 2 not in room.invited
    assert_refused(room, RoomForbidden, lambda: room.join(2))
    assert_refused(room, RoomRefused, lambda: room.invite_guest(HOST, 2), "was removed")


def test_a_removed_creator_cannot_rejoin() -> None:
    room = make_room(speakers=[2])
    room.leave(HOST)
    room.join(HOST)
    room.remove(2, HOST)  # one host removes another
    assert HOST in room.removed
    assert_refused(room, RoomForbidden, lambda: room.join(HOST))


# -- leave and succession ------------------------------------------------------------


def test_leave() -> None:
    room = make_room(listeners=[2])
    events = room.leave(2)
    assert 2 not in room.members
    assert events == [RoomEvent(MEMBER_LEFT, user_id=2, actor_id=2)]
    assert room.state is RoomState.LIVE
    assert 2 not in room.removed
    room.join(2)  # leaving is not removal
    assert room.role_of(2) is Role.LISTENER


def test_leave_when_not_a_member_is_refused() -> None:
    room = make_room(listeners=[2])
    assert_refused(room, RoomRefused, lambda: room.leave(3), "not in this room")


def test_leave_a_scheduled_room_is_refused() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    assert_refused(room, RoomRefused, lambda: room.leave(HOST), "not live")


def test_a_host_leaving_while_another_host_stays_changes_nothing_else() -> None:
    room = make_room(moderators=[2], speakers=[3])
    room.leave(HOST)
    room.join(HOST)  # two hosts now: 2 (by succession) and the creator
    before = {uid: m.role for uid, m in room.members.items()}
    events = room.leave(2)
    assert kinds(events) == [MEMBER_LEFT]
    del before[2]
    assert {uid: m.role for uid, m in room.members.items()} == before


def test_when_the_last_host_leaves_the_longest_standing_moderator_takes_over() -> None:
    room = make_room(speakers=[2, 3, 4])
    # 3 went on stage before 4, but 4 was made moderator first: time on stage decides.
    room.make_moderator(HOST, 4)
    room.make_moderator(HOST, 3)
    events = room.leave(HOST)
    assert kinds(events) == [MEMBER_LEFT, ROLE_CHANGED]
    assert events[1].user_id == 3
    assert events[1].actor_id is None
    assert member_data(events, 1)["role"] == "host"
    assert room.role_of(3) is Role.HOST
    assert room.role_of(4) is Role.MODERATOR
    assert room.role_of(2) is Role.SPEAKER  # a speaker on stage longer does not outrank
    assert room.state is RoomState.LIVE


def test_the_longest_standing_by_stage_order_not_join_order() -> None:
    room = make_room(listeners=[2, 3])
    put_on_stage(room, 3, role=Role.MODERATOR)  # 3 joined after 2, but on stage first
    put_on_stage(room, 2, role=Role.MODERATOR)
    assert room.members[2].joined_order < room.members[3].joined_order
    assert room.members[3].stage_order < room.members[2].stage_order
    room.leave(HOST)
    assert room.role_of(3) is Role.HOST
    assert room.role_of(2) is Role.MODERATOR


def test_without_moderators_the_longest_standing_speaker_takes_over() -> None:
    room = make_room(listeners=[2, 3, 4])
    put_on_stage(room, 4)
    put_on_stage(room, 3)
    events = room.leave(HOST)
    assert kinds(events) == [MEMBER_LEFT, ROLE_CHANGED]
    assert events[1].user_id == 4
    assert room.role_of(4) is Role.HOST
    assert room.role_of(3) is Role.SPEAKER
    assert room.role_of(2) is Role.LISTENER


def test_the_heir_keeps_their_place_and_microphone() -> None:
    room = make_room(speakers=[2])
    room.set_muted(2, 2, False)
    stage_order = room.members[2].stage_order
    room.leave(HOST)
    heir = room.members[2]
    assert (heir.role, heir.stage_order, heir.muted) == (Role.HOST, stage_order, False)


def test_a_moderators_mute_does_not_outlive_the_heirs_promotion_to_host() -> None:
    # Nobody may act on a sole host, so a mute kept on the heir could never be lifted.
    room = make_room(moderators=[2], speakers=[3])
    room.set_muted(2, 3, True)
    room.leave(2)
    events = room.leave(HOST)
    heir = room.members[3]
    assert heir.role is Role.HOST
    assert heir.muted_by_moderator is False
    assert heir.muted is True  # lifting never opens the microphone
    assert member_data(events, 1)["muted_by_moderator"] is False
    room.set_muted(3, 3, False)
    assert room.members[3].muted is False


def two_hosts() -> Room:
    """A live room with two hosts: 2 (who took over from the creator) and the creator."""
    room = make_room(speakers=[2], listeners=[3])
    room.leave(HOST)
    room.join(HOST)
    return room


def test_a_hosts_mute_on_another_host_lapses_when_they_are_left_alone() -> None:
    room = two_hosts()
    room.set_muted(HOST, 2, True)
    room.leave(3)  # a listener leaving changes nothing: another host is still there
    assert room.members[2].muted_by_moderator is True
    events = room.leave(HOST)
    assert kinds(events) == [MEMBER_LEFT, MUTE_CHANGED]
    assert (events[1].user_id, events[1].actor_id) == (2, None)
    assert member_data(events, 1)["muted_by_moderator"] is False
    assert (room.members[2].muted, room.members[2].muted_by_moderator) == (True, False)
    room.set_muted(2, 2, False)
    assert room.members[2].muted is False


def test_a_held_host_who_removes_the_other_host_is_free_to_unmute() -> None:
    room = two_hosts()
    room.set_muted(HOST, 2, True)
    events = room.remove(2, HOST)
    assert kinds(events) == [MEMBER_REMOVED, MUTE_CHANGED]
    assert room.members[2].muted_by_moderator is False


def test_a_stage_left_with_only_listeners_ends_the_room() -> None:
    room = make_room(listeners=[2, 3])
    room.raise_hand(2)
    events = room.leave(HOST)
    assert events == [RoomEvent(MEMBER_LEFT, user_id=HOST, actor_id=HOST), RoomEvent(ENDED)]
    assert room.state is RoomState.ENDED
    assert room.members == {}


def test_a_room_with_no_one_left_ends() -> None:
    room = make_room()
    events = room.leave(HOST)
    assert events == [RoomEvent(MEMBER_LEFT, user_id=HOST, actor_id=HOST), RoomEvent(ENDED)]
    assert room.state is RoomState.ENDED
    assert room.members == {}


def test_a_listener_leaving_never_triggers_succession() -> None:
    room = make_room(speakers=[2], listeners=[3])
    events = room.leave(3)
    assert kinds(events) == [MEMBER_LEFT]
    assert room.role_of(HOST) is Role.HOST


# -- raise and lower hand ------------------------------------------------------------


def test_raise_and_lower_hand() -> None:
    room = make_room(listeners=[2])
    events = room.raise_hand(2)
    assert room.members[2].hand_raised
    assert kinds(events) == [HAND_RAISED]
    assert (events[0].user_id, events[0].actor_id) == (2, 2)
    assert member_data(events)["hand_raised"] is True

    events = room.lower_hand(2)
    assert not room.members[2].hand_raised
    assert kinds(events) == [HAND_LOWERED]
    assert (events[0].user_id, events[0].actor_id) == (2, 2)
    assert member_data(events)["hand_raised"] is False


def test_raise_hand_refusals() -> None:
    room = make_room(moderators=[2], speakers=[3], listeners=[4])
    for on_stage in (HOST, 2, 3):
        assert_refused(room, RoomRefused, lambda u=on_stage: room.raise_hand(u), "on stage")
    room.raise_hand(4)
    assert_refused(room, RoomRefused, lambda: room.raise_hand(4), "already raised")
    assert_refused(room, RoomRefused, lambda: room.raise_hand(99), "not in this room")


def test_lower_hand_refusals() -> None:
    room = make_room(speakers=[3], listeners=[4])
    assert_refused(room, RoomRefused, lambda: room.lower_hand(4), "not raised")
    assert_refused(room, RoomRefused, lambda: room.lower_hand(3), "not raised")
    assert_refused(room, RoomRefused, lambda: room.lower_hand(99), "not in this room")


def test_hands_in_a_scheduled_room_are_refused() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    assert_refused(room, RoomRefused, lambda: room.raise_hand(HOST), "not live")
    assert_refused(room, RoomRefused, lambda: room.lower_hand(HOST), "not live")


# -- invite to speak, accept, decline ---------------------------------------------


@pytest.mark.parametrize("actor", ["host", "moderator"])
def test_invite_to_speak(actor: str) -> None:
    room = make_room(moderators=[2], listeners=[4])
    actor_id = HOST if actor == "host" else 2
    events = room.invite_to_speak(actor_id, 4)
    assert room.members[4].invited_to_speak
    assert room.role_of(4) is Role.LISTENER
    assert kinds(events) == [INVITED_TO_SPEAK]
    assert (events[0].user_id, events[0].actor_id) == (4, actor_id)
    assert member_data(events)["invited_to_speak"] is True


def test_invite_to_speak_refusals() -> None:
    room = make_room(moderators=[2], speakers=[3], listeners=[4, 5])
    # Authority.
    assert_refused(room, RoomForbidden, lambda: room.invite_to_speak(3, 4), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.invite_to_speak(5, 4), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.invite_to_speak(99, 4), "not in this room")
    assert_refused(room, RoomForbidden, lambda: room.invite_to_speak(HOST, HOST), "yourself")
    assert_refused(room, RoomForbidden, lambda: room.invite_to_speak(2, 2), "yourself")
    assert_refused(room, RoomForbidden, lambda: room.invite_to_speak(2, HOST), "only on speakers")
    # State.
    for on_stage in (2, 3):
        assert_refused(
            room, RoomRefused, lambda u=on_stage: room.invite_to_speak(HOST, u), "already on stage"
        )
    assert_refused(room, RoomRefused, lambda: room.invite_to_speak(2, 3), "already on stage")
    assert_refused(room, RoomRefused, lambda: room.invite_to_speak(HOST, 99), "not in this room")
    room.invite_to_speak(HOST, 4)
    assert_refused(room, RoomRefused, lambda: room.invite_to_speak(2, 4), "already invited")


def test_accept_invitation_brings_a_listener_on_stage_muted() -> None:
    room = make_room(listeners=[2, 3])
    room.raise_hand(3)
    room.invite_to_speak(HOST, 3)
    order_before = room.order
    events = room.accept_invitation(3)
    m = room.members[3]
    assert m.role is Role.SPEAKER
    assert m.on_stage
    assert m.stage_order == order_before + 1
    assert (m.hand_raised, m.invited_to_speak, m.muted, m.muted_by_moderator) == (
        False,
        False,
        True,
        False,
    )
    assert kinds(events) == [ROLE_CHANGED]
    assert (events[0].user_id, events[0].actor_id) == (3, 3)
    assert member_data(events) == m.to_dict()
    assert member_data(events)["role"] == "speaker"


def test_accept_invitation_refusals() -> None:
    room = make_room(speakers=[3], listeners=[4])
    assert_refused(room, RoomRefused, lambda: room.accept_invitation(4), "not been invited")
    assert_refused(room, RoomRefused, lambda: room.accept_invitation(3), "not been invited")
    assert_refused(room, RoomRefused, lambda: room.accept_invitation(99), "not in this room")


def test_decline_invitation() -> None:
    room = make_room(listeners=[4])
    room.raise_hand(4)
    room.invite_to_speak(HOST, 4)
    events = room.decline_invitation(4)
    m = room.members[4]
    assert (m.role, m.invited_to_speak, m.hand_raised) == (Role.LISTENER, False, True)
    assert kinds(events) == [INVITATION_DECLINED]
    assert (events[0].user_id, events[0].actor_id) == (4, 4)
    assert member_data(events)["invited_to_speak"] is False
    room.invite_to_speak(HOST, 4)  # may be invited again


def test_decline_invitation_refusals() -> None:
    room = make_room(listeners=[4])
    assert_refused(room, RoomRefused, lambda: room.decline_invitation(4), "not been invited")
    assert_refused(room, RoomRefused, lambda: room.decline_invitation(99), "not in this room")


def test_invitations_in_a_scheduled_room_are_refused() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    assert_refused(room, RoomRefused, lambda: room.invite_to_speak(HOST, 2), "not live")
    assert_refused(room, RoomRefused, lambda: room.accept_invitation(HOST), "not live")
    assert_refused(room, RoomRefused, lambda: room.decline_invitation(HOST), "not live")
