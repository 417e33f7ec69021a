"""Unit tests for the room state machine (core/rooms.py): moderation, the guest list,
updating and ending, and refusal() branch by branch."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from salon.core.rooms import (
    ENDED,
    GUEST_INVITED,
    MEMBER_REMOVED,
    MUTE_CHANGED,
    ROLE_CHANGED,
    UPDATED,
    Action,
    Role,
    Room,
    RoomEvent,
    RoomForbidden,
    RoomRefused,
    RoomState,
    refusal,
)
from tests.core.room_builders import (
    HOST,
    assert_refused,
    kinds,
    make_room,
    member_data,
)

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
