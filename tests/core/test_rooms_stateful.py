"""Random walks through the room state machine (core/rooms.py), checking its invariants.

A hypothesis RuleBasedStateMachine drives every transition with actors and targets
drawn from a small pool of users; refused transitions must leave the room untouched,
and after every step the room must still make sense. A scripted walk at the end pins
one long story down step by step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

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
mostly_true = st.sampled_from([True, True, True, True, True, False])


@dataclass(frozen=True)
class Cast:
    """How a new room starts: who joins, raises a hand, goes on stage, how many of the
    speakers are made moderators, whether the creator steps out (and comes back as a
    second host), and whether a host holds someone on stage muted."""

    joiners: list[int]
    hands: list[int]
    speakers: list[int]
    moderators: int
    creator_steps_out: bool
    creator_comes_back: bool
    hold: bool


casts = st.builds(
    Cast,
    joiners=st.lists(st.integers(2, 6), unique=True, min_size=2),
    hands=st.lists(st.integers(2, 6), unique=True, max_size=3),
    speakers=st.lists(st.integers(2, 6), unique=True, max_size=4),
    moderators=st.integers(0, 3),
    creator_steps_out=st.booleans(),
    creator_comes_back=st.booleans(),
    hold=st.booleans(),
)
EVENT_KINDS = frozenset(
    {
        OPENED,
        UPDATED,
        MEMBER_JOINED,
        MEMBER_LEFT,
        MEMBER_REMOVED,
        ROLE_CHANGED,
        HAND_RAISED,
        HAND_LOWERED,
        INVITED_TO_SPEAK,
        INVITATION_DECLINED,
        MUTE_CHANGED,
        GUEST_INVITED,
        ENDED,
    }
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
    before = copy.deepcopy(room)
    for user_id in USER_IDS:
        for name, call in every_transition(user_id, user_id % len(USER_IDS) + 1).items():
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
            if m.role is Role.HOST:
                assert len(room.hosts()) > 1, "a mute nobody can lift holds a sole host"
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


def is_live(room: Room) -> bool:
    return room.state is RoomState.LIVE


def may_act_on(room: Room, actor: int, target: int) -> bool:
    """The rule: a moderator acts on speakers and listeners, a host on anyone else."""
    actor_role, target_role = room.role_of(actor), room.role_of(target)
    if actor == target or actor_role is None:
        return False
    if actor_role is Role.HOST:
        return True
    return actor_role is Role.MODERATOR and target_role in (None, Role.SPEAKER, Role.LISTENER)


def runs_the_room(room: Room, actor: int, roles: tuple[Role, ...]) -> bool:
    """Before it opens, the creator runs a room; while it is live, members in ROLES do."""
    if room.state is RoomState.SCHEDULED:
        return actor == room.creator_id
    return is_live(room) and room.role_of(actor) in roles


def check_succession(before: Room, after: Room, event: RoomEvent) -> None:
    """EVENT made its user host because no host was left: they must be the longest-standing
    moderator, or with no moderator left the longest-standing speaker."""
    heir_id = event.user_id
    assert heir_id is not None
    was = before.role_of(heir_id)
    assert was in (Role.MODERATOR, Role.SPEAKER)
    assert [m.user_id for m in after.hosts()] == [heir_id]
    assert event.data["member"]["role"] == Role.HOST
    rivals = [m for m in after.members.values() if m.role is was]
    assert all(after.members[heir_id].stage_order < m.stage_order for m in rivals)
    if was is Role.SPEAKER:
        assert not [m for m in after.members.values() if m.role is Role.MODERATOR]


not_ended = precondition(lambda self: self.room.state is not RoomState.ENDED)


class RoomMachine(RuleBasedStateMachine):
    """Random transitions by random users; refusals must be clean, invariants must hold.

    Users are drawn from the whole pool, from the room's members, or from the members a
    transition is likeliest to succeed for, so that walks reach deep states as well as
    probing every refusal. Once the room ends, it must refuse everything, and the walk
    carries on in a new room.
    """

    def __init__(self) -> None:
        super().__init__()
        self.room = Room(id=1, title="Salon", creator_id=CREATOR)
        self.ended_checked = False

    def set_up(self, open_it: bool, cast: Cast) -> None:
        """A new room; if OPEN_IT, opened and played into shape by CAST's transitions."""
        self.room = room = Room(id=1, title="Salon", creator_id=CREATOR)
        self.ended_checked = False
        if not open_it:
            return
        room.open(CREATOR)
        for user_id in cast.joiners:
            room.join(user_id)
        for user_id in cast.hands:
            if room.role_of(user_id) is Role.LISTENER:
                room.raise_hand(user_id)
        for user_id in cast.speakers:
            if room.role_of(user_id) is Role.LISTENER:
                room.invite_to_speak(CREATOR, user_id)
                room.accept_invitation(user_id)
        for m in [m for m in room.stage() if m.role is Role.SPEAKER][: cast.moderators]:
            room.make_moderator(CREATOR, m.user_id)
        if cast.creator_steps_out and len(room.stage()) > 1:
            room.leave(CREATOR)  # the longest-standing moderator or speaker takes over
            if cast.creator_comes_back:
                room.join(CREATOR)  # a second host
        if cast.hold:
            # The latest host mutes the first other member on stage (a host, if there are two).
            actor = room.hosts()[-1].user_id
            others = [m.user_id for m in room.stage() if m.user_id != actor]
            if others:
                room.set_muted(actor, others[0], True)

    def pick(self, data: st.DataObject, prefer: Callable[[Member], bool] | None = None) -> int:
        """A user id from the pool, weighted towards members and most towards members
        that PREFER likes (those a transition is likeliest to succeed for)."""
        members = sorted(self.room.members)
        liked = [uid for uid in members if prefer(self.room.members[uid])] if prefer else []
        choices = (*liked * 6, *members, *USER_IDS)
        return choices[data.draw(st.integers(0, len(choices) - 1))]

    def apply(self, call: Transition) -> list[RoomEvent] | None:
        """Run CALL; a refusal must leave the room exactly as it was (and gives None)."""
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
            member = event.data.get("member")
            if member is not None:
                assert member["user_id"] == event.user_id
                if event.user_id in self.room.members:  # what the event says is how it is
                    assert member == self.room.members[event.user_id].to_dict()
            if event.kind == ROLE_CHANGED and event.actor_id is None:
                check_succession(before, self.room, event)
        if self.room.state is RoomState.ENDED:
            assert events[-1].kind == ENDED
        return events

    @initialize(open_it=mostly_true, cast=casts)
    def start(self, open_it: bool, cast: Cast) -> None:
        self.set_up(open_it, cast)

    @precondition(lambda self: self.room.state is RoomState.ENDED)
    @rule(open_it=mostly_true, cast=casts)
    def start_again(self, open_it: bool, cast: Cast) -> None:
        assert_refuses_everything(self.room)
        self.set_up(open_it, cast)

    # -- one rule per transition --------------------------------------------------
    # Each rule works out from the room as it is whether the transition may happen,
    # then checks that it happened (or was refused) accordingly.

    def expect(self, allowed: bool, call: Transition) -> list[RoomEvent] | None:
        """Run CALL, which must happen if ALLOWED and be refused otherwise."""
        events = self.apply(call)
        assert (events is not None) is allowed, "allowed" if allowed else "should be refused"
        return events

    @not_ended
    @rule(actor=st.sampled_from([CREATOR, CREATOR, 2]))
    def open(self, actor: int) -> None:
        allowed = self.room.state is RoomState.SCHEDULED and actor == CREATOR
        if self.expect(allowed, lambda r: r.open(actor)):
            assert self.room.state is RoomState.LIVE
            assert list(self.room.members) == [CREATOR]

    @not_ended
    @rule(user=users)
    def join(self, user: int) -> None:
        room = self.room
        allowed = is_live(room) and user not in room.removed and user not in room.members
        if self.expect(allowed, lambda r: r.join(user)):
            assert room.role_of(user) is (Role.HOST if user == CREATOR else Role.LISTENER)

    @not_ended
    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        user = self.pick(data, on_stage)
        allowed = is_live(self.room) and user in self.room.members
        events = self.expect(allowed, lambda r: r.leave(user))
        if events:
            assert user not in self.room.members
            assert events[0] == RoomEvent(MEMBER_LEFT, user_id=user, actor_id=user)

    @not_ended
    @rule(data=st.data())
    def raise_hand(self, data: st.DataObject) -> None:
        user = self.pick(data, in_audience)
        m = self.room.members.get(user)
        allowed = is_live(self.room) and m is not None and not m.on_stage and not m.hand_raised
        if self.expect(allowed, lambda r: r.raise_hand(user)):
            assert self.room.members[user].hand_raised

    @not_ended
    @rule(data=st.data())
    def lower_hand(self, data: st.DataObject) -> None:
        user = self.pick(data, has_hand_raised)
        m = self.room.members.get(user)
        allowed = is_live(self.room) and m is not None and m.hand_raised
        if self.expect(allowed, lambda r: r.lower_hand(user)):
            assert not self.room.members[user].hand_raised

    @not_ended
    @rule(data=st.data())
    def invite_to_speak(self, data: st.DataObject) -> None:
        actor, other = self.pick(data, is_staff), self.pick(data, in_audience)
        m = self.room.members.get(other)
        allowed = (
            is_live(self.room)
            and may_act_on(self.room, actor, other)
            and m is not None
            and not m.on_stage
            and not m.invited_to_speak
        )
        if self.expect(allowed, lambda r: r.invite_to_speak(actor, other)):
            assert self.room.members[other].invited_to_speak

    @not_ended
    @rule(data=st.data())
    def accept_invitation(self, data: st.DataObject) -> None:
        user = self.pick(data, is_invited)
        m = self.room.members.get(user)
        allowed = is_live(self.room) and m is not None and m.invited_to_speak
        if self.expect(allowed, lambda r: r.accept_invitation(user)):
            m = self.room.members[user]
            assert (m.role, m.muted, m.hand_raised) == (Role.SPEAKER, True, False)
            assert m.stage_order == self.room.order

    @not_ended
    @rule(data=st.data())
    def decline_invitation(self, data: st.DataObject) -> None:
        user = self.pick(data, is_invited)
        m = self.room.members.get(user)
        allowed = is_live(self.room) and m is not None and m.invited_to_speak
        if self.expect(allowed, lambda r: r.decline_invitation(user)):
            assert self.room.role_of(user) is Role.LISTENER
            assert not self.room.members[user].invited_to_speak

    def move_to_audience(self, actor: int, other: int) -> None:
        allowed = (
            is_live(self.room)
            and self.room.role_of(other) in (Role.MODERATOR, Role.SPEAKER)
            and (actor == other or may_act_on(self.room, actor, other))
        )
        if self.expect(allowed, lambda r: r.move_to_audience(actor, other)):
            m = self.room.members[other]
            assert (m.role, m.muted, m.muted_by_moderator) == (Role.LISTENER, True, False)

    @not_ended
    @rule(data=st.data())
    def move_someone_to_audience(self, data: st.DataObject) -> None:
        self.move_to_audience(self.pick(data, is_staff), self.pick(data, on_stage))

    @not_ended
    @rule(data=st.data())
    def step_down(self, data: st.DataObject) -> None:
        user = self.pick(data, on_stage)
        self.move_to_audience(user, user)

    @not_ended
    @rule(data=st.data())
    def make_moderator(self, data: st.DataObject) -> None:
        actor, other = self.pick(data, is_staff), self.pick(data, is_speaker)
        allowed = (
            is_live(self.room)
            and self.room.role_of(actor) is Role.HOST
            and self.room.role_of(other) is Role.SPEAKER
        )
        if self.expect(allowed, lambda r: r.make_moderator(actor, other)):
            assert self.room.role_of(other) is Role.MODERATOR

    def set_muted(self, actor: int, other: int, muted: bool) -> None:
        was = copy.deepcopy(self.room.members.get(other))
        allowed = is_live(self.room) and was is not None and was.on_stage
        if actor == other:
            allowed = allowed and was is not None and (muted or not was.muted_by_moderator)
        else:
            allowed = allowed and may_act_on(self.room, actor, other)
        if not self.expect(allowed, lambda r: r.set_muted(actor, other, muted)):
            return
        assert was is not None
        m = self.room.members[other]
        if actor == other:
            assert m.muted is muted
            assert m.muted_by_moderator is was.muted_by_moderator
        else:
            assert m.muted_by_moderator is muted
            assert m.muted is (muted or was.muted), "lifting never opens a microphone"

    @not_ended
    @rule(data=st.data(), muted=st.booleans())
    def moderator_mute(self, data: st.DataObject, muted: bool) -> None:
        actor = self.pick(data, is_staff)
        self.set_muted(actor, self.pick(data, on_stage if muted else is_held), muted)

    @not_ended
    @rule(data=st.data(), muted=st.booleans())
    def own_mute(self, data: st.DataObject, muted: bool) -> None:
        user = self.pick(data, on_stage)
        self.set_muted(user, user, muted)

    @not_ended
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        actor, other = self.pick(data, is_staff), self.pick(data)
        allowed = (
            is_live(self.room)
            and other in self.room.members
            and may_act_on(self.room, actor, other)
        )
        if self.expect(allowed, lambda r: r.remove(actor, other)):
            assert other in self.room.removed
            assert other not in self.room.members
            assert other not in self.room.invited

    @not_ended
    @rule(data=st.data(), guest=users)
    def invite_guest(self, data: st.DataObject, guest: int) -> None:
        actor = self.pick(data, is_staff)
        allowed = (
            runs_the_room(self.room, actor, (Role.HOST, Role.MODERATOR))
            and guest not in self.room.removed
            and guest not in self.room.invited
        )
        if self.expect(allowed, lambda r: r.invite_guest(actor, guest)):
            assert guest in self.room.invited

    @not_ended
    @rule(
        data=st.data(),
        title=st.none() | st.sampled_from(["Salon", "Late show"]),
        description=st.none() | st.sampled_from(["", "all welcome"]),
    )
    def update(self, data: st.DataObject, title: str | None, description: str | None) -> None:
        actor = self.pick(data, is_staff)
        expected = {
            "title": self.room.title if title is None else title,
            "description": self.room.description if description is None else description,
        }
        allowed = runs_the_room(self.room, actor, (Role.HOST,))
        events = self.expect(
            allowed, lambda r: r.update(actor, title=title, description=description)
        )
        if events:
            assert {"title": self.room.title, "description": self.room.description} == expected
            assert events == [RoomEvent(UPDATED, actor_id=actor, data=expected)]

    @not_ended
    @rule(data=st.data())
    def end(self, data: st.DataObject) -> None:
        actor = self.pick(data)  # no preference: ending cuts a walk short
        allowed = runs_the_room(self.room, actor, (Role.HOST, Role.MODERATOR))
        if self.expect(allowed, lambda r: r.end(actor)):
            assert self.room.state is RoomState.ENDED

    # -- invariants ------------------------------------------------------------------

    @invariant()
    def room_is_consistent(self) -> None:
        check_invariants(self.room)

    @invariant()
    def a_moderators_mute_holds(self) -> None:
        held = [uid for uid, m in self.room.members.items() if m.muted_by_moderator]
        for user_id in held:
            with pytest.raises(RoomForbidden):
                self.room.set_muted(user_id, user_id, False)  # refused, so nothing changes
            assert self.room.members[user_id].muted

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
