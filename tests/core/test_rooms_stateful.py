"""Random walks through the room state machine (core/rooms.py), checking its invariants.

A hypothesis RuleBasedStateMachine drives every transition with actors and targets
drawn from a small pool of users; refused transitions must leave the room untouched,
and after every step the room must still make sense. A scripted walk at the end pins
one long story down step by step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from salon.core import rooms
from salon.core.rooms import (
    ENDED,
    GUEST_INVITED,
    HAND_RAISED,
    INVITATION_DECLINED,
    INVITED_TO_SPEAK,
    MEMBER_JOINED,
    MEMBER_LEFT,
    MEMBER_REMOVED,
    MUTE_CHANGED,
    OPENED,
    RANK,
    ROLE_CHANGED,
    UPDATED,
    Member,
    Role,
    Room,
    RoomEvent,
    RoomForbidden,
    RoomRefused,
    RoomState,
)

CREATOR = 1
USER_IDS = range(1, 7)
users = st.sampled_from(USER_IDS)
# Every upper-case string constant in the module is an event kind (README "Live room events").
EVENT_KINDS = frozenset(
    value for name, value in vars(rooms).items() if name.isupper() and isinstance(value, str)
)

Transition = Callable[[Room], list[RoomEvent]]


def every_transition(user_id: int, other_id: int) -> dict[str, Transition]:
    """Each transition once, with USER_ID as the actor (or subject) and OTHER_ID as target."""
    return {
        "open": lambda r: r.open(user_id),
        "join": lambda r: r.join(user_id),
        "leave": lambda r: r.leave(user_id),
        "raise_hand": lambda r: r.raise_hand(user_id),
        "lower_hand": lambda r: r.lower_hand(user_id),
        "invite_to_speak": lambda r: r.invite_to_speak(user_id, other_id),
        "accept_invitation": lambda r: r.accept_invitation(user_id),
        "decline_invitation": lambda r: r.decline_invitation(user_id),
        "move_to_audience": lambda r: r.move_to_audience(user_id, other_id),
        "step_down": lambda r: r.move_to_audience(user_id, user_id),
        "make_moderator": lambda r: r.make_moderator(user_id, other_id),
        "mute": lambda r: r.set_muted(user_id, other_id, True),
        "unmute": lambda r: r.set_muted(user_id, other_id, False),
        "mute_self": lambda r: r.set_muted(user_id, user_id, True),
        "unmute_self": lambda r: r.set_muted(user_id, user_id, False),
        "remove": lambda r: r.remove(user_id, other_id),
        "invite_guest": lambda r: r.invite_guest(user_id, other_id),
        "update": lambda r: r.update(user_id, title="t", description="d"),
        "end": lambda r: r.end(user_id),
    }


def assert_refuses_everything(room: Room) -> None:
    """Every transition, by anyone on anyone, raises RoomRefused and changes nothing."""
    for user_id in USER_IDS:
        for name, call in every_transition(user_id, user_id % len(USER_IDS) + 1).items():
            before = copy.deepcopy(room)
            with pytest.raises(RoomRefused):
                call(room)
            assert room == before, name


def check_invariants(room: Room) -> None:
    """What must hold of any room, whatever happened to it."""
    assert room.state in set(RoomState)
    if room.state is RoomState.SCHEDULED:
        assert room.members == {}
    if room.state is RoomState.ENDED:
        assert room.members == {}
    if room.state is RoomState.LIVE:
        assert room.hosts(), "a live room has a host"

    assert not room.removed & room.members.keys(), "a removed user is back in the room"
    assert not room.removed & room.invited, "a removed user is on the guest list"

    joined = [m.joined_order for m in room.members.values()]
    assert len(joined) == len(set(joined))
    for user_id, m in room.members.items():
        assert m.user_id == user_id
        assert m.role in set(Role)
        assert 1 <= m.joined_order <= room.order
        if m.on_stage:
            assert m.stage_order is not None
            assert m.joined_order <= m.stage_order <= room.order
            assert not m.hand_raised
            assert not m.invited_to_speak
        else:
            assert m.stage_order is None
            assert m.muted, "only members on stage can be unmuted"
            assert not m.muted_by_moderator
        if m.muted_by_moderator:
            assert m.muted, "a moderator's mute closes the microphone"
        if user_id == room.creator_id:
            assert m.role is Role.HOST, "the creator is always a host while present"

    stage, audience = room.stage(), room.audience()
    assert {m.user_id for m in stage} | {m.user_id for m in audience} == room.members.keys()
    assert not {m.user_id for m in stage} & {m.user_id for m in audience}


def is_staff(m: Member) -> bool:
    return RANK[m.role] >= RANK[Role.MODERATOR]


def is_speaker(m: Member) -> bool:
    return m.role is Role.SPEAKER


def on_stage(m: Member) -> bool:
    return m.on_stage


def in_audience(m: Member) -> bool:
    return not m.on_stage


def is_invited(m: Member) -> bool:
    return m.invited_to_speak


def has_hand_raised(m: Member) -> bool:
    return m.hand_raised


def is_held(m: Member) -> bool:
    return m.muted_by_moderator


class RoomMachine(RuleBasedStateMachine):
    """Random transitions by random users; refusals must be clean, invariants must hold.

    Users are drawn from the whole pool, from the room's members, or from the members a
    transition is likeliest to succeed for, so that walks reach deep states as well as
    probing every refusal. A step asked of an ended room must be refused, and then the
    walk carries on in a new room.
    """

    def __init__(self) -> None:
        super().__init__()
        self.room = Room(id=1, title="Salon", creator_id=CREATOR)
        self.ended_checked = False

    def set_up(self, open_it: bool, joiners: Iterable[int]) -> None:
        self.room = Room(id=1, title="Salon", creator_id=CREATOR)
        self.ended_checked = False
        if open_it:
            self.room.open(CREATOR)
            for user_id in joiners:
                self.room.join(user_id)

    def pick(self, data: st.DataObject, prefer: Callable[[Member], bool] | None = None) -> int:
        """A user id: anyone in the pool, a member, or a member PREFER likes."""
        options: list[st.SearchStrategy[int]] = [users]
        members = sorted(self.room.members)
        if members:
            options.append(st.sampled_from(members))
        if prefer is not None:
            liked = sorted(uid for uid, m in self.room.members.items() if prefer(m))
            if liked:
                options.append(st.sampled_from(liked))
        return data.draw(st.one_of(options))

    def apply(self, call: Transition) -> list[RoomEvent] | None:
        """Run CALL; a refusal must leave the room exactly as it was (and gives None)."""
        if self.room.state is RoomState.ENDED:
            before = copy.deepcopy(self.room)
            with pytest.raises(RoomRefused):
                call(self.room)
            assert self.room == before
            self.set_up(open_it=True, joiners=range(2, 7))
        before = copy.deepcopy(self.room)
        try:
            events = call(self.room)
        except (RoomRefused, RoomForbidden):
            assert self.room == before
            return None
        assert events, "a transition that happened says what happened"
        for event in events:
            assert isinstance(event, RoomEvent)
            assert event.kind in EVENT_KINDS
        if self.room.state is RoomState.ENDED:
            assert events[-1].kind == ENDED
        return events

    @initialize(
        open_it=st.sampled_from([True, True, True, False]),
        joiners=st.lists(st.integers(2, 6), unique=True),
    )
    def start(self, open_it: bool, joiners: list[int]) -> None:
        self.set_up(open_it, joiners)

    @precondition(lambda self: self.room.state is RoomState.ENDED)
    @rule(open_it=st.booleans(), joiners=st.lists(st.integers(2, 6), unique=True))
    def start_again(self, open_it: bool, joiners: list[int]) -> None:
        assert_refuses_everything(self.room)
        self.set_up(open_it, joiners)

    # -- one rule per transition --------------------------------------------------

    @rule(actor=st.sampled_from([CREATOR, CREATOR, 2]))
    def open(self, actor: int) -> None:
        was_scheduled = self.room.state is RoomState.SCHEDULED
        if self.apply(lambda r: r.open(actor)) is not None:
            assert was_scheduled and actor == CREATOR
            assert self.room.state is RoomState.LIVE
            assert list(self.room.members) == [CREATOR]

    @rule(user=users)
    def join(self, user: int) -> None:
        if self.apply(lambda r: r.join(user)) is not None:
            expected = Role.HOST if user == CREATOR else Role.LISTENER
            assert self.room.role_of(user) is expected
        elif user in self.room.removed:
            assert self.room.role_of(user) is None

    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        user = self.pick(data)
        events = self.apply(lambda r: r.leave(user))
        if events is not None:
            assert user not in self.room.members
            assert events[0] == RoomEvent(MEMBER_LEFT, user_id=user, actor_id=user)

    @rule(data=st.data())
    def raise_hand(self, data: st.DataObject) -> None:
        user = self.pick(data, in_audience)
        if self.apply(lambda r: r.raise_hand(user)) is not None:
            assert self.room.members[user].hand_raised

    @rule(data=st.data())
    def lower_hand(self, data: st.DataObject) -> None:
        user = self.pick(data, has_hand_raised)
        if self.apply(lambda r: r.lower_hand(user)) is not None:
            assert not self.room.members[user].hand_raised

    @rule(data=st.data())
    def invite_to_speak(self, data: st.DataObject) -> None:
        actor, other = self.pick(data, is_staff), self.pick(data, in_audience)
        if self.apply(lambda r: r.invite_to_speak(actor, other)) is not None:
            assert self.room.members[other].invited_to_speak

    @rule(data=st.data())
    def accept_invitation(self, data: st.DataObject) -> None:
        user = self.pick(data, is_invited)
        if self.apply(lambda r: r.accept_invitation(user)) is not None:
            assert self.room.role_of(user) is Role.SPEAKER
            assert self.room.members[user].muted

    @rule(data=st.data())
    def decline_invitation(self, data: st.DataObject) -> None:
        user = self.pick(data, is_invited)
        if self.apply(lambda r: r.decline_invitation(user)) is not None:
            assert self.room.role_of(user) is Role.LISTENER
            assert not self.room.members[user].invited_to_speak

    @rule(data=st.data())
    def move_to_audience(self, data: st.DataObject) -> None:
        actor, other = self.pick(data, is_staff), self.pick(data, on_stage)
        if self.apply(lambda r: r.move_to_audience(actor, other)) is not None:
            assert self.room.role_of(other) is Role.LISTENER

    @rule(data=st.data())
    def step_down(self, data: st.DataObject) -> None:
        user = self.pick(data, on_stage)
        if self.apply(lambda r: r.move_to_audience(user, user)) is not None:
            assert self.room.role_of(user) is Role.LISTENER

    @rule(data=st.data())
    def make_moderator(self, data: st.DataObject) -> None:
        actor, other = self.pick(data, is_staff), self.pick(data, is_speaker)
        if self.apply(lambda r: r.make_moderator(actor, other)) is not None:
            assert self.room.role_of(other) is Role.MODERATOR

    def set_muted(self, actor: int, other: int, muted: bool) -> None:
        was = copy.deepcopy(self.room.members.get(other))
        if self.apply(lambda r: r.set_muted(actor, other, muted)) is None:
            return
        assert was is not None
        m = self.room.members[other]
        if actor == other:
            assert m.muted is muted
            assert m.muted_by_moderator is was.muted_by_moderator
        else:
            assert m.muted_by_moderator is muted
            assert m.muted is (muted or was.muted), "lifting never opens a microphone"

    @rule(data=st.data(), muted=st.booleans())
    def moderator_mute(self, data: st.DataObject, muted: bool) -> None:
        actor = self.pick(data, is_staff)
        self.set_muted(actor, self.pick(data, is_held if not muted else on_stage), muted)

    @rule(data=st.data(), muted=st.booleans())
    def own_mute(self, data: st.DataObject, muted: bool) -> None:
        user = self.pick(data, on_stage)
        self.set_muted(user, user, muted)

    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        actor, other = self.pick(data, is_staff), self.pick(data)
        if self.apply(lambda r: r.remove(actor, other)) is not None:
            assert other in self.room.removed
            assert other not in self.room.members
            assert other not in self.room.invited

    @rule(data=st.data(), guest=users)
    def invite_guest(self, data: st.DataObject, guest: int) -> None:
        actor = self.pick(data, is_staff)
        if self.apply(lambda r: r.invite_guest(actor, guest)) is not None:
            assert guest in self.room.invited

    @rule(
        data=st.data(),
        title=st.none() | st.sampled_from(["Salon", "Late show"]),
        description=st.none() | st.sampled_from(["", "all welcome"]),
    )
    def update(self, data: st.DataObject, title: str | None, description: str | None) -> None:
        actor = self.pick(data, is_staff)
        before = (self.room.title, self.room.description)
        events = self.apply(lambda r: r.update(actor, title=title, description=description))
        if events is not None:
            expected = (
                before[0] if title is None else title,
                before[1] if description is None else description,
            )
            assert (self.room.title, self.room.description) == expected
            assert events[0].data == {"title": expected[0], "description": expected[1]}

    @rule(data=st.data())
    def end(self, data: st.DataObject) -> None:
        actor = self.pick(data, is_staff)
        if self.apply(lambda r: r.end(actor)) is not None:
            assert self.room.state is RoomState.ENDED

    # -- invariants ------------------------------------------------------------------

    @invariant()
    def room_is_consistent(self) -> None:
        check_invariants(self.room)

    @invariant()
    def a_moderators_mute_holds(self) -> None:
        for user_id, m in self.room.members.items():
            if m.muted_by_moderator:
                room = copy.deepcopy(self.room)
                with pytest.raises(RoomForbidden):
                    room.set_muted(user_id, user_id, False)

    @invariant()
    def an_ended_room_refuses_everything(self) -> None:
        if self.room.state is RoomState.ENDED and not self.ended_checked:
            assert_refuses_everything(self.room)
            self.ended_checked = True


RoomMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None, database=None
)
TestRoomMachine = RoomMachine.TestCase


# -- one long story, step by step ------------------------------------------------------

Refusal = type[RoomRefused] | type[RoomForbidden]


def step(room: Room, call: Transition, expected: list[tuple[str, int | None]] | Refusal) -> None:
    """Run CALL on ROOM: it gives EXPECTED (event kinds and the users they concern) or
    raises it and changes nothing; either way the room stays consistent."""
    before = copy.deepcopy(room)
    if isinstance(expected, list):
        assert [(e.kind, e.user_id) for e in call(room)] == expected
    else:
        with pytest.raises(expected):
            call(room)
        assert room == before
    check_invariants(room)


def test_a_long_scripted_story() -> None:
    room = Room(id=1, title="Salon", creator_id=CREATOR)

    # Before the room opens, only the creator may prepare it.
    step(room, lambda r: r.join(2), RoomRefused)
    step(room, lambda r: r.invite_guest(1, 5), [(GUEST_INVITED, 5)])
    step(room, lambda r: r.update(1, title="Late show"), [(UPDATED, None)])
    step(room, lambda r: r.update(2, title="Mine"), RoomForbidden)
    step(room, lambda r: r.open(2), RoomForbidden)
    step(room, lambda r: r.open(1), [(OPENED, None), (MEMBER_JOINED, 1)])
    step(room, lambda r: r.open(1), RoomRefused)

    # The audience arrives; 2 and 3 come on stage; 3 becomes a moderator.
    for user_id in (2, 3, 4, 5):
        step(room, lambda r, u=user_id: r.join(u), [(MEMBER_JOINED, user_id)])
    step(room, lambda r: r.join(5), RoomRefused)
    step(room, lambda r: r.raise_hand(2), [(HAND_RAISED, 2)])
    step(room, lambda r: r.invite_to_speak(4, 2), RoomForbidden)
    step(room, lambda r: r.invite_to_speak(1, 2), [(INVITED_TO_SPEAK, 2)])
    step(room, lambda r: r.accept_invitation(2), [(ROLE_CHANGED, 2)])
    step(room, lambda r: r.raise_hand(2), RoomRefused)
    step(room, lambda r: r.invite_to_speak(1, 3), [(INVITED_TO_SPEAK, 3)])
    step(room, lambda r: r.accept_invitation(3), [(ROLE_CHANGED, 3)])
    step(room, lambda r: r.make_moderator(3, 2), RoomForbidden)
    step(room, lambda r: r.make_moderator(1, 3), [(ROLE_CHANGED, 3)])
    assert [m.user_id for m in room.stage()] == [1, 3, 2]
    assert [m.user_id for m in room.audience()] == [4, 5]

    # 2 speaks until moderator 3 mutes them; the mute holds.
    step(room, lambda r: r.set_muted(2, 2, False), [(MUTE_CHANGED, 2)])
    step(room, lambda r: r.set_muted(3, 2, True), [(MUTE_CHANGED, 2)])
    step(room, lambda r: r.set_muted(2, 2, False), RoomForbidden)
    step(room, lambda r: r.set_muted(3, 1, True), RoomForbidden)
    step(room, lambda r: r.set_muted(4, 4, False), RoomRefused)
    assert (room.members[2].muted, room.members[2].muted_by_moderator) == (True, True)

    # 4 turns down an invitation; 5 is removed for good; 6 joins and comes on stage.
    step(room, lambda r: r.invite_to_speak(3, 4), [(INVITED_TO_SPEAK, 4)])
    step(room, lambda r: r.decline_invitation(4), [(INVITATION_DECLINED, 4)])
    step(room, lambda r: r.accept_invitation(4), RoomRefused)
    step(room, lambda r: r.remove(3, 1), RoomForbidden)
    step(room, lambda r: r.remove(3, 5), [(MEMBER_REMOVED, 5)])
    step(room, lambda r: r.join(5), RoomForbidden)
    step(room, lambda r: r.invite_guest(3, 5), RoomRefused)
    step(room, lambda r: r.join(6), [(MEMBER_JOINED, 6)])
    step(room, lambda r: r.invite_to_speak(3, 6), [(INVITED_TO_SPEAK, 6)])
    step(room, lambda r: r.accept_invitation(6), [(ROLE_CHANGED, 6)])

    # The host leaves: moderator 3 takes over and lifts 2's mute, which leaves 2 muted.
    step(room, lambda r: r.leave(1), [(MEMBER_LEFT, 1), (ROLE_CHANGED, 3)])
    assert (room.role_of(3), room.role_of(2), room.role_of(6)) == (
        Role.HOST,
        Role.SPEAKER,
        Role.SPEAKER,
    )
    step(room, lambda r: r.set_muted(3, 2, False), [(MUTE_CHANGED, 2)])
    assert (room.members[2].muted, room.members[2].muted_by_moderator) == (True, False)

    # The creator comes back as a second host; 3 then leaves without a succession.
    step(room, lambda r: r.join(1), [(MEMBER_JOINED, 1)])
    step(room, lambda r: r.move_to_audience(1, 3), RoomRefused)
    step(room, lambda r: r.leave(3), [(MEMBER_LEFT, 3)])

    # 6 steps down; when the creator leaves again, speaker 2 is the last on stage.
    step(room, lambda r: r.move_to_audience(6, 6), [(ROLE_CHANGED, 6)])
    step(room, lambda r: r.move_to_audience(1, 1), RoomRefused)
    step(room, lambda r: r.leave(1), [(MEMBER_LEFT, 1), (ROLE_CHANGED, 2)])
    assert (room.role_of(2), room.role_of(4), room.role_of(6)) == (
        Role.HOST,
        Role.LISTENER,
        Role.LISTENER,
    )
    step(room, lambda r: r.set_muted(2, 2, False), [(MUTE_CHANGED, 2)])
    step(room, lambda r: r.update(2, description="the end is near"), [(UPDATED, None)])

    # Only listeners remain once 2 leaves: the room ends and refuses everything after.
    step(room, lambda r: r.leave(2), [(MEMBER_LEFT, 2), (ENDED, None)])
    step(room, lambda r: r.join(4), RoomRefused)
    step(room, lambda r: r.end(1), RoomRefused)
    step(room, lambda r: r.open(1), RoomRefused)

    assert room.state is RoomState.ENDED
    assert room.members == {}
    assert room.removed == {5}
    assert room.invited == set()  # removal took 5 off the guest list
    assert (room.title, room.description) == ("Late show", "the end is near")
    assert room.order == 10  # each join and each step onto the stage took a number
    assert_refuses_everything(room)
