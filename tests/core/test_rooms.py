"""Unit tests for the room state machine (core/rooms.py): every transition, every refusal."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import pytest

from salon.core.errors import Conflict, Forbidden
from salon.core.rooms import (
    ENDED,
    GUEST_INVITED,
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
    UPDATED,
    Action,
    Member,
    Role,
    Room,
    RoomEvent,
    RoomForbidden,
    RoomRefused,
    RoomState,
    refusal,
)

HOST = 1  # the creator


# -- helpers -------------------------------------------------------------------


def make_room(
    *,
    moderators: Iterable[int] = (),
    speakers: Iterable[int] = (),
    listeners: Iterable[int] = (),
) -> Room:
    """A live room opened by HOST, with members joined in the order given.

    Everyone joins first (moderators, then speakers, then listeners); then moderators
    and speakers go on stage in that order, and moderators are promoted last.
    """
    moderators, speakers, listeners = list(moderators), list(speakers), list(listeners)
    room = Room(id=7, title="Night owls", creator_id=HOST)
    room.open(HOST)
    for user_id in [*moderators, *speakers, *listeners]:
        room.join(user_id)
    for user_id in [*moderators, *speakers]:
        room.invite_to_speak(HOST, user_id)
        room.accept_invitation(user_id)
    for user_id in moderators:
        room.make_moderator(HOST, user_id)
    return room


def put_on_stage(room: Room, user_id: int, *, role: Role = Role.SPEAKER) -> None:
    """Join USER_ID (if needed) and bring them on stage as ROLE, with HOST's authority."""
    if user_id not in room.members:
        room.join(user_id)
    room.invite_to_speak(HOST, user_id)
    room.accept_invitation(user_id)
    if role is Role.MODERATOR:
        room.make_moderator(HOST, user_id)


def assert_refused(
    room: Room,
    error: type[Exception],
    call: Callable[[], object],
    match: str | None = None,
) -> None:
    """CALL raises ERROR (matching MATCH) and leaves ROOM exactly as it was."""
    before = copy.deepcopy(room)
    with pytest.raises(error, match=match):
        call()
    assert room == before


def kinds(events: list[RoomEvent]) -> list[str]:
    return [e.kind for e in events]


def member_data(events: list[RoomEvent], index: int = 0) -> dict[str, object]:
    return events[index].data["member"]


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


# -- move to audience ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "target"),
    [
        (HOST, 3),  # host moves a speaker
        (HOST, 2),  # host moves a moderator
        (2, 3),  # moderator moves a speaker
        (3, 3),  # a speaker steps down
        (2, 2),  # a moderator steps down
    ],
)
def test_move_to_audience(actor: int, target: int) -> None:
    room = make_room(moderators=[2], speakers=[3])
    events = room.move_to_audience(actor, target)
    m = room.members[target]
    assert m.role is Role.LISTENER
    assert m.stage_order is None
    assert kinds(events) == [ROLE_CHANGED]
    assert (events[0].user_id, events[0].actor_id) == (target, actor)
    assert member_data(events)["role"] == "listener"
    assert member_data(events)["on_stage"] is False


def test_move_to_audience_resets_the_microphone_and_the_moderators_mute() -> None:
    room = make_room(moderators=[2], speakers=[3, 4])
    room.set_muted(3, 3, False)
    room.set_muted(2, 4, True)
    room.move_to_audience(2, 3)
    room.move_to_audience(HOST, 4)
    for user_id in (3, 4):
        m = room.members[user_id]
        assert (m.muted, m.muted_by_moderator) == (True, False)
    # Back on stage they start muted, and free to unmute.
    room.invite_to_speak(HOST, 4)
    room.accept_invitation(4)
    assert (room.members[4].muted, room.members[4].muted_by_moderator) == (True, False)
    room.set_muted(4, 4, False)
    assert room.members[4].muted is False


def test_move_to_audience_refusals() -> None:
    room = make_room(moderators=[2, 5], speakers=[3, 6], listeners=[4])
    # Authority (acting on someone else).
    assert_refused(room, RoomForbidden, lambda: room.move_to_audience(3, 6), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.move_to_audience(4, 3), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.move_to_audience(99, 3), "not in this room")
    assert_refused(room, RoomForbidden, lambda: room.move_to_audience(2, 5), "only on speakers")
    assert_refused(room, RoomForbidden, lambda: room.move_to_audience(2, HOST), "only on speakers")
    # State.
    assert_refused(room, RoomRefused, lambda: room.move_to_audience(HOST, 4), "not on stage")
    assert_refused(room, RoomRefused, lambda: room.move_to_audience(4, 4), "not on stage")
    assert_refused(room, RoomRefused, lambda: room.move_to_audience(HOST, 99), "not in this room")
    assert_refused(room, RoomRefused, lambda: room.move_to_audience(HOST, HOST), "a host cannot")


def test_a_host_cannot_move_another_host_to_the_audience() -> None:
    room = make_room(speakers=[2])
    room.leave(HOST)
    room.join(HOST)
    assert_refused(room, RoomRefused, lambda: room.move_to_audience(HOST, 2), "a host cannot")


def test_move_to_audience_in_a_scheduled_room_is_refused() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    assert_refused(room, RoomRefused, lambda: room.move_to_audience(HOST, HOST), "not live")
    assert_refused(room, RoomRefused, lambda: room.move_to_audience(HOST, 2), "not live")


# -- make moderator ------------------------------------------------------------------


def test_make_moderator() -> None:
    room = make_room(speakers=[3])
    room.set_muted(3, 3, False)
    stage_order = room.members[3].stage_order
    events = room.make_moderator(HOST, 3)
    m = room.members[3]
    assert m.role is Role.MODERATOR
    assert m.stage_order == stage_order  # time on stage carries over
    assert m.muted is False  # the microphone is untouched
    assert kinds(events) == [ROLE_CHANGED]
    assert (events[0].user_id, events[0].actor_id) == (3, HOST)
    assert member_data(events)["role"] == "moderator"


def test_make_moderator_refusals() -> None:
    room = make_room(moderators=[2], speakers=[3], listeners=[4])
    # Only a host.
    assert_refused(room, RoomForbidden, lambda: room.make_moderator(2, 3), "only a host")
    assert_refused(room, RoomForbidden, lambda: room.make_moderator(3, 3), "only a host")
    assert_refused(room, RoomForbidden, lambda: room.make_moderator(4, 3), "only a host")
    assert_refused(room, RoomForbidden, lambda: room.make_moderator(99, 3), "not in this room")
    # Only a speaker.
    for target in (4, 2, HOST):
        assert_refused(
            room, RoomRefused, lambda t=target: room.make_moderator(HOST, t), "only a speaker"
        )
    assert_refused(room, RoomRefused, lambda: room.make_moderator(HOST, 99), "not in this room")


def test_make_moderator_in_a_scheduled_room_is_refused() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    assert_refused(room, RoomRefused, lambda: room.make_moderator(HOST, 2), "not live")


# -- mute ----------------------------------------------------------------------------


def test_self_unmute_and_mute() -> None:
    room = make_room(speakers=[3])
    events = room.set_muted(3, 3, False)
    assert room.members[3].muted is False
    assert kinds(events) == [MUTE_CHANGED]
    assert (events[0].user_id, events[0].actor_id) == (3, 3)
    assert member_data(events)["muted"] is False

    events = room.set_muted(3, 3, True)
    assert room.members[3].muted is True
    assert member_data(events)["muted"] is True
    assert member_data(events)["muted_by_moderator"] is False


def test_every_stage_role_has_a_microphone() -> None:
    room = make_room(moderators=[2], speakers=[3])
    for user_id in (HOST, 2, 3):
        room.set_muted(user_id, user_id, False)
        assert room.members[user_id].muted is False


def test_a_listener_has_no_microphone() -> None:
    room = make_room(listeners=[4])
    assert_refused(room, RoomRefused, lambda: room.set_muted(4, 4, False), "only members on stage")
    assert_refused(room, RoomRefused, lambda: room.set_muted(4, 4, True), "only members on stage")
    assert_refused(room, RoomRefused, lambda: room.set_muted(HOST, 4, True), "only members on")
    assert_refused(room, RoomRefused, lambda: room.set_muted(HOST, 99, True), "not in this room")


@pytest.mark.parametrize(("actor", "target"), [(2, 3), (HOST, 3), (HOST, 2)])
def test_a_moderators_mute_holds_until_a_moderator_lifts_it(actor: int, target: int) -> None:
    room = make_room(moderators=[2], speakers=[3])
    room.set_muted(target, target, False)

    events = room.set_muted(actor, target, True)
    m = room.members[target]
    assert (m.muted, m.muted_by_moderator) == (True, True)
    assert kinds(events) == [MUTE_CHANGED]
    assert (events[0].user_id, events[0].actor_id) == (target, actor)
    assert member_data(events)["muted_by_moderator"] is True

    # The member cannot unmute themselves...
    assert_refused(
        room, RoomForbidden, lambda: room.set_muted(target, target, False), "a moderator muted you"
    )
    # ...but muting themselves again is harmless and keeps the hold.
    room.set_muted(target, target, True)
    assert room.members[target].muted_by_moderator is True

    # Lifting the hold does not open the microphone.
    events = room.set_muted(actor, target, False)
    assert (m.muted, m.muted_by_moderator) == (True, False)
    assert member_data(events)["muted"] is True
    assert member_data(events)["muted_by_moderator"] is False

    room.set_muted(target, target, False)
    assert m.muted is False


def test_another_moderator_can_lift_the_mute() -> None:
    room = make_room(moderators=[2, 5], speakers=[3])
    room.set_muted(2, 3, True)
    room.set_muted(5, 3, False)
    assert room.members[3].muted_by_moderator is False


def test_a_moderator_unmuting_someone_never_opens_their_microphone() -> None:
    room = make_room(moderators=[2], speakers=[3])
    assert room.members[3].muted is True
    events = room.set_muted(2, 3, False)
    assert (room.members[3].muted, room.members[3].muted_by_moderator) == (True, False)
    assert kinds(events) == [MUTE_CHANGED]


def test_a_host_can_mute_another_host() -> None:
    room = make_room(speakers=[2])
    room.leave(HOST)
    room.join(HOST)
    room.set_muted(HOST, 2, True)
    assert room.members[2].muted_by_moderator is True
    assert_refused(room, RoomForbidden, lambda: room.set_muted(2, 2, False))
    room.set_muted(HOST, 2, False)
    room.set_muted(2, 2, False)
    assert room.members[2].muted is False


def test_moderator_mute_refusals() -> None:
    room = make_room(moderators=[2, 5], speakers=[3, 6], listeners=[4])
    assert_refused(room, RoomForbidden, lambda: room.set_muted(3, 6, True), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.set_muted(4, 3, True), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.set_muted(99, 3, True), "not in this room")
    assert_refused(room, RoomForbidden, lambda: room.set_muted(2, 5, True), "only on speakers")
    assert_refused(room, RoomForbidden, lambda: room.set_muted(2, HOST, True), "only on speakers")
    # A moderator cannot lift a hold a host put on another moderator either.
    room.set_muted(HOST, 5, True)
    assert_refused(room, RoomForbidden, lambda: room.set_muted(2, 5, False), "only on speakers")
    assert_refused(room, RoomForbidden, lambda: room.set_muted(5, 5, False), "a moderator muted")


def test_mute_in_a_scheduled_room_is_refused() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    assert_refused(room, RoomRefused, lambda: room.set_muted(HOST, HOST, False), "not live")
    assert_refused(room, RoomRefused, lambda: room.set_muted(HOST, 2, True), "not live")


# -- remove --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "target"),
    [(HOST, 4), (HOST, 3), (HOST, 2), (2, 3), (2, 4)],
)
def test_remove(actor: int, target: int) -> None:
    room = make_room(moderators=[2], speakers=[3], listeners=[4])
    room.invite_guest(HOST, target)
    events = room.remove(actor, target)
    assert target not in room.members
    assert target in room.removed
    assert target not in room.invited
    assert events == [RoomEvent(MEMBER_REMOVED, user_id=target, actor_id=actor)]
    assert room.state is RoomState.LIVE


def test_a_host_can_remove_another_host() -> None:
    room = make_room(speakers=[2])
    room.leave(HOST)
    room.join(HOST)
    events = room.remove(HOST, 2)
    assert kinds(events) == [MEMBER_REMOVED]  # a host remains, so no succession
    assert [m.user_id for m in room.hosts()] == [HOST]


def test_remove_refusals() -> None:
    room = make_room(moderators=[2, 5], speakers=[3, 6], listeners=[4])
    assert_refused(room, RoomForbidden, lambda: room.remove(3, 6), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.remove(4, 6), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.remove(99, 3), "not in this room")
    assert_refused(room, RoomForbidden, lambda: room.remove(2, 5), "only on speakers")
    assert_refused(room, RoomForbidden, lambda: room.remove(2, HOST), "only on speakers")
    assert_refused(room, RoomForbidden, lambda: room.remove(HOST, HOST), "yourself")
    assert_refused(room, RoomForbidden, lambda: room.remove(2, 2), "yourself")
    assert_refused(room, RoomRefused, lambda: room.remove(HOST, 99), "not in this room")


def test_remove_in_a_scheduled_room_is_refused() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    assert_refused(room, RoomRefused, lambda: room.remove(HOST, 2), "not live")


# -- guest list ----------------------------------------------------------------------


def test_the_creator_invites_guests_before_the_room_opens() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    events = room.invite_guest(HOST, 5)
    assert room.invited == {5}
    assert events == [RoomEvent(GUEST_INVITED, user_id=5, actor_id=HOST)]
    assert_refused(room, RoomForbidden, lambda: room.invite_guest(2, 6), "only the room's creator")
    assert_refused(room, RoomRefused, lambda: room.invite_guest(HOST, 5), "already invited")
    room.open(HOST)
    assert room.invited == {5}


@pytest.mark.parametrize("actor", [HOST, 2])
def test_hosts_and_moderators_invite_guests_while_live(actor: int) -> None:
    room = make_room(moderators=[2])
    events = room.invite_guest(actor, 8)
    assert room.invited == {8}
    assert events == [RoomEvent(GUEST_INVITED, user_id=8, actor_id=actor)]


def test_putting_someone_on_the_guest_list_is_not_acting_on_them() -> None:
    room = make_room(moderators=[2])
    room.invite_guest(2, 2)  # oneself
    room.invite_guest(2, HOST)  # a host, whom a moderator cannot act on
    assert room.invited == {2, HOST}


def test_invite_guest_refusals() -> None:
    room = make_room(moderators=[2], speakers=[3], listeners=[4, 5])
    assert_refused(room, RoomForbidden, lambda: room.invite_guest(3, 8), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.invite_guest(4, 8), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.invite_guest(99, 8), "not in this room")
    room.invite_guest(HOST, 8)
    assert_refused(room, RoomRefused, lambda: room.invite_guest(2, 8), "already invited")
    room.remove(HOST, 5)
    assert_refused(room, RoomRefused, lambda: room.invite_guest(HOST, 5), "was removed")


# -- update --------------------------------------------------------------------------


def test_the_creator_updates_a_scheduled_room() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST, description="late")
    events = room.update(HOST, title="Early birds")
    assert (room.title, room.description) == ("Early birds", "late")
    assert events == [
        RoomEvent(UPDATED, actor_id=HOST, data={"title": "Early birds", "description": "late"})
    ]
    assert_refused(
        room, RoomForbidden, lambda: room.update(2, title="Mine now"), "only the room's creator"
    )


def test_a_host_updates_a_live_room() -> None:
    room = make_room(moderators=[2])
    events = room.update(HOST, description="All welcome")
    assert (room.title, room.description) == ("Night owls", "All welcome")
    assert events == [
        RoomEvent(
            UPDATED, actor_id=HOST, data={"title": "Night owls", "description": "All welcome"}
        )
    ]
    events = room.update(HOST, title="T", description="")
    assert (room.title, room.description) == ("T", "")
    assert events[0].data == {"title": "T", "description": ""}
    events = room.update(HOST)
    assert events[0].data == {"title": "T", "description": ""}


def test_update_refusals() -> None:
    room = make_room(moderators=[2], speakers=[3], listeners=[4])
    for actor in (2, 3, 4):
        assert_refused(
            room, RoomForbidden, lambda a=actor: room.update(a, title="X"), "only a host"
        )
    assert_refused(room, RoomForbidden, lambda: room.update(99, title="X"), "not in this room")


def test_a_successor_host_can_update() -> None:
    room = make_room(speakers=[2])
    room.leave(HOST)
    room.update(2, title="Mine now")
    assert room.title == "Mine now"
    # The creator, out of the room, cannot.
    assert_refused(room, RoomForbidden, lambda: room.update(HOST, title="X"), "not in this room")


# -- end -----------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [HOST, 2])
def test_hosts_and_moderators_end_a_live_room(actor: int) -> None:
    room = make_room(moderators=[2], speakers=[3], listeners=[4])
    room.invite_guest(HOST, 8)
    room.remove(HOST, 4)
    events = room.end(actor)
    assert events == [RoomEvent(ENDED, actor_id=actor)]
    assert room.state is RoomState.ENDED
    assert room.members == {}
    assert room.removed == {4}
    assert room.invited == {8}


def test_end_refusals() -> None:
    room = make_room(speakers=[3], listeners=[4])
    assert_refused(room, RoomForbidden, lambda: room.end(3), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.end(4), "host or moderator")
    assert_refused(room, RoomForbidden, lambda: room.end(99), "not in this room")


def test_the_creator_cancels_a_scheduled_room() -> None:
    room = Room(id=7, title="Night owls", creator_id=HOST)
    assert_refused(room, RoomForbidden, lambda: room.end(2), "only the room's creator")
    events = room.end(HOST)
    assert events == [RoomEvent(ENDED, actor_id=HOST)]
    assert room.state is RoomState.ENDED
    assert_refused(room, RoomRefused, lambda: room.open(HOST))


# -- an ended room refuses everything ------------------------------------------------

TRANSITIONS: dict[str, Callable[[Room, int], object]] = {
    "open": lambda r, u: r.open(u),
    "join": lambda r, u: r.join(u),
    "leave": lambda r, u: r.leave(u),
    "raise_hand": lambda r, u: r.raise_hand(u),
    "lower_hand": lambda r, u: r.lower_hand(u),
    "invite_to_speak": lambda r, u: r.invite_to_speak(u, 2),
    "accept_invitation": lambda r, u: r.accept_invitation(u),
    "decline_invitation": lambda r, u: r.decline_invitation(u),
    "move_to_audience": lambda r, u: r.move_to_audience(u, 2),
    "step_down": lambda r, u: r.move_to_audience(u, u),
    "make_moderator": lambda r, u: r.make_moderator(u, 2),
    "self_unmute": lambda r, u: r.set_muted(u, u, False),
    "self_mute": lambda r, u: r.set_muted(u, u, True),
    "moderator_mute": lambda r, u: r.set_muted(u, 2, True),
    "moderator_unmute": lambda r, u: r.set_muted(u, 2, False),
    "remove": lambda r, u: r.remove(u, 2),
    "invite_guest": lambda r, u: r.invite_guest(u, 9),
    "update": lambda r, u: r.update(u, title="Again"),
    "end": lambda r, u: r.end(u),
}


def ended_room() -> Room:
    room = make_room(moderators=[2], speakers=[3], listeners=[4])
    room.end(HOST)
    return room


@pytest.mark.parametrize("transition", sorted(TRANSITIONS))
@pytest.mark.parametrize("user_id", [HOST, 2, 3, 4, 99])
def test_an_ended_room_refuses_everything(transition: str, user_id: int) -> None:
    room = ended_room()
    assert_refused(room, RoomRefused, lambda: TRANSITIONS[transition](room, user_id))


@pytest.mark.parametrize("how", ["no_one_left", "only_listeners_left"])
def test_a_room_that_ended_itself_refuses_everything(how: str) -> None:
    room = make_room(listeners=[4])
    if how == "no_one_left":
        room.leave(4)
    room.leave(HOST)
    assert room.state is RoomState.ENDED
    for name, call in TRANSITIONS.items():
        for user_id in (HOST, 4):
            before = copy.deepcopy(room)
            with pytest.raises(RoomRefused):
                call(room, user_id)
            assert room == before, name


# -- refusal(), branch by branch -----------------------------------------------------


def scheduled_room() -> Room:
    return Room(id=7, title="Night owls", creator_id=HOST)


@pytest.mark.parametrize(
    ("state", "actor", "action", "target", "expected"),
    [
        # OPEN: only the creator, whatever the state.
        ("scheduled", HOST, Action.OPEN, None, None),
        ("scheduled", 2, Action.OPEN, None, "only the room's creator can open it"),
        ("live", 2, Action.OPEN, None, "only the room's creator can open it"),
        ("live", HOST, Action.OPEN, None, None),
        # Scheduled: the creator alone updates, ends and invites guests.
        ("scheduled", HOST, Action.UPDATE, None, None),
        ("scheduled", HOST, Action.END, None, None),
        ("scheduled", HOST, Action.INVITE, 8, None),
        ("scheduled", 2, Action.UPDATE, None, "only the room's creator can do this"),
        ("scheduled", 2, Action.END, None, "only the room's creator can do this"),
        ("scheduled", 2, Action.INVITE, 8, "only the room's creator can do this"),
        # Other actions on a scheduled room: nobody is in it yet.
        ("scheduled", HOST, Action.REMOVE, 2, "you are not in this room"),
        # Not a member.
        ("live", 99, Action.REMOVE, 4, "you are not in this room"),
        ("live", 99, Action.UPDATE, None, "you are not in this room"),
        # MAKE_MODERATOR and UPDATE: hosts only.
        ("live", HOST, Action.MAKE_MODERATOR, 3, None),
        ("live", HOST, Action.UPDATE, None, None),
        ("live", 2, Action.MAKE_MODERATOR, 3, "only a host can do this"),
        ("live", 2, Action.UPDATE, None, "only a host can do this"),
        ("live", 3, Action.UPDATE, None, "only a host can do this"),
        # Everything else: hosts and moderators only.
        ("live", 3, Action.REMOVE, 4, "only a host or moderator can do this"),
        ("live", 4, Action.MUTE, 3, "only a host or moderator can do this"),
        ("live", 3, Action.END, None, "only a host or moderator can do this"),
        ("live", 4, Action.INVITE, 8, "only a host or moderator can do this"),
        # INVITE and END need no target check; nor does a missing target.
        ("live", 2, Action.INVITE, 2, None),
        ("live", 2, Action.INVITE, HOST, None),
        ("live", 2, Action.END, None, None),
        ("live", HOST, Action.END, None, None),
        ("live", 2, Action.REMOVE, None, None),
        # Nobody acts on themselves.
        ("live", HOST, Action.REMOVE, HOST, "you cannot do this to yourself"),
        ("live", 2, Action.MUTE, 2, "you cannot do this to yourself"),
        ("live", HOST, Action.MAKE_MODERATOR, HOST, None),  # host-only check comes first
        # A moderator acts only below them.
        ("live", 2, Action.REMOVE, 5, "a moderator can act only on speakers and listeners"),
        ("live", 2, Action.MUTE, HOST, "a moderator can act only on speakers and listeners"),
        ("live", 2, Action.MOVE_TO_AUDIENCE, 3, None),
        ("live", 2, Action.INVITE_TO_SPEAK, 4, None),
        ("live", 2, Action.REMOVE, 99, None),  # not a member: the transition refuses it
        # A host acts on anyone else, moderators included.
        ("live", HOST, Action.REMOVE, 2, None),
        ("live", HOST, Action.MUTE, 3, None),
        ("live", HOST, Action.MOVE_TO_AUDIENCE, 4, None),
    ],
)
def test_refusal(
    state: str, actor: int, action: Action, target: int | None, expected: str | None
) -> None:
    if state == "scheduled":
        room = scheduled_room()
    else:
        room = make_room(moderators=[2, 5], speakers=[3], listeners=[4])
    before = copy.deepcopy(room)
    assert refusal(room, actor, action, target) == expected
    assert room == before  # a pure question


def test_refusal_takes_plain_action_names() -> None:
    room = make_room(moderators=[2], speakers=[3])
    assert refusal(room, 2, "room.remove", 3) is None
    assert refusal(room, 3, "room.remove", 2) == "only a host or moderator can do this"
    assert refusal(room, 2, "room.update") == "only a host can do this"
    assert refusal(room, 2, "room.open") == "only the room's creator can open it"


def test_refusal_for_a_host_who_is_not_the_creator() -> None:
    room = make_room(speakers=[2], listeners=[3])
    room.leave(HOST)
    assert refusal(room, 2, Action.UPDATE) is None
    assert refusal(room, 2, Action.REMOVE, 3) is None
    assert refusal(room, 2, Action.OPEN) == "only the room's creator can open it"
    assert refusal(room, HOST, Action.UPDATE) == "you are not in this room"
