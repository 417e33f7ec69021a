"""A club's schedule as iCalendar (RFC 5545), written with the ``icalendar`` library.

Each club room is one VEVENT whose UID stays the same for the room's life, so a
subscribed calendar updates the event instead of adding a copy. Start times carry the
time zone the room was scheduled in (TZID, with the VTIMEZONE it needs); a weekly club
room appears week by week, as each next room is scheduled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from salon.core.models import RoomRow

from .models import Club, ClubRoom

DEFAULT_LENGTH = timedelta(hours=1)
PRODID = "-//Salon//Clubs//EN"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def event(club: Club, link: ClubRoom, row: RoomRow, base_url: str) -> Event | None:
    """ROW as a VEVENT, or None if it has no time yet."""
    start = row.scheduled_for or row.opened_at
    if start is None:
        return None
    zone = ZoneInfo(link.timezone)
    start = _aware(start).astimezone(zone)
    end = _aware(row.ended_at).astimezone(zone) if row.ended_at else start + DEFAULT_LENGTH
    if end <= start:
        end = start + timedelta(minutes=1)
    url = f"{base_url.rstrip('/')}/rooms/{row.id}"
    host = urlsplit(base_url).hostname or "salon"
    ev = Event()
    ev.add("uid", f"club-room-{row.id}@{host}")
    ev.add("dtstamp", datetime.now(UTC))
    ev.add("dtstart", start)
    ev.add("dtend", end)
    ev.add("summary", row.title)
    description = row.description.strip()
    footer = f"{club.name}: {url}"
    ev.add("description", f"{description}\n\n{footer}" if description else footer)
    ev.add("url", url)
    ev.add("location", url)
    ev.add("categories", [club.name])
    ev.add("status", "CANCELLED" if row.state == "ended" and row.opened_at is None else "CONFIRMED")
    return ev


def calendar(
    club: Club, rooms: Iterable[tuple[ClubRoom, RoomRow]], base_url: str, *, name: str
) -> bytes:
    """A VCALENDAR of ROOMS, named NAME."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for link, row in rooms:
        ev = event(club, link, row, base_url)
        if ev is not None:
            cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()
