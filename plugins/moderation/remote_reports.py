"""Reports from other servers: an ActivityPub ``Flag`` read as reports.

A ``Flag`` (what Mastodon and others send to report an account to its home server)
names in ``object`` one or more actor ids or object URLs, and gives the reporter's
words in ``content``; its ``actor`` is usually the remote instance's own actor, not
the person who reported. Here a ``Flag`` is only read: which of its objects are this
instance's users (``BASE/users/NAME``) or rooms (``BASE/rooms/ID``), and what it says.
Everything else it names is listed as unknown, for the log.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

# A Flag may list an account and many of its posts; more than this is not read.
MAX_OBJECTS = 50
MAX_TEXT = 2000

_USER = re.compile(r"/users/([^/]{1,30})/?")
_ROOM = re.compile(r"/rooms/([1-9][0-9]{0,17})/?")
_TAG = re.compile(r"<[^>]*>")


@dataclass
class Flag:
    """What a ``Flag`` names on this instance."""

    usernames: list[str] = field(default_factory=list)
    room_ids: list[int] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    text: str = ""


def object_ids(value: Any) -> list[str]:
    """The ids in an ``object`` property: a string, an object with an ``id``, or a
    list of either."""
    items = value if isinstance(value, list) else [value]
    found = []
    for item in items[:MAX_OBJECTS]:
        if isinstance(item, dict):
            item = item.get("id")
        if isinstance(item, str) and item:
            found.append(item)
    return found


def plain_text(content: Any) -> str:
    """``content`` as plain text: Mastodon sends plain text, others HTML."""
    if not isinstance(content, str):
        return ""
    text = html.unescape(_TAG.sub(" ", content))
    return " ".join(text.split())[:MAX_TEXT]


def read_flag(activity: dict[str, Any], base_url: str) -> Flag:
    """What ACTIVITY (a ``Flag``) names on the instance at BASE_URL."""
    flag = Flag(text=plain_text(activity.get("content")))
    base = urlsplit(base_url)
    for uri in object_ids(activity.get("object")):
        if not same_origin(uri, base_url):
            flag.unknown.append(uri)
            continue
        parts = urlsplit(uri)
        path = unquote(parts.path)
        if base.path and path.startswith(base.path):  # an instance under a path
            path = path[len(base.path) :]
        if match := _USER.fullmatch(path):
            if match[1].lower() not in flag.usernames:
                flag.usernames.append(match[1].lower())
        elif match := _ROOM.fullmatch(path):
            if int(match[1]) not in flag.room_ids:
                flag.room_ids.append(int(match[1]))
        else:
            flag.unknown.append(uri)
    return flag


def same_origin(uri: str, base_url: str) -> bool:
    a, b = urlsplit(uri), urlsplit(base_url)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def reason_for(reasons: list[str]) -> str:
    """The reason a remote report gets: a ``Flag`` carries no category Salon can
    trust, so "other" (or, if the instance has no such reason, its last one)."""
    return "other" if "other" in reasons else reasons[-1]
