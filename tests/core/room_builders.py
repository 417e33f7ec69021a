"""Builders and checks shared by the room state machine's unit tests."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import pytest

from salon.core.rooms import (
    Role,
    Room,
    RoomEvent,
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
