"""The club's iCalendar feed and per-room "add to calendar" files, read back with an
independent parser (vobject), not the library that wrote them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import vobject

from tests.helpers import LiveServer, assert_error

from .conftest import make_club, person


def parse(text: str) -> vobject.base.Component:
    (cal,) = list(vobject.readComponents(text, validate=True))
    assert cal.name == "VCALENDAR"
    assert cal.version.value == "2.0" and cal.prodid.value
    return cal


def events(cal: vobject.base.Component) -> dict[str, vobject.base.Component]:
    return {ev.summary.value: ev for ev in cal.contents.get("vevent", [])}


def test_the_club_feed_parses_and_lists_its_rooms(server: LiveServer) -> None:
    ann, meg, out = person(server, "ann"), person(server, "meg"), person(server, "out")
    make_club(ann, "Jazz", handle="jazz")
    meg.post("/api/clubs/jazz/join")
    start = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    local = start.astimezone(ZoneInfo("America/New_York"))
    r = ann.post(
        "/api/clubs/jazz/rooms",
        {
            "title": "Listening party",
            "description": "Kind of Blue, side A",
            "scheduled_for": local.replace(tzinfo=None).isoformat(),
            "timezone": "America/New_York",
        },
    )
    assert r.status_code == 201, r.text
    party = r.json()
    secret = ann.post("/api/clubs/jazz/rooms", {"title": "Members jam", "members_only": True})
    assert secret.status_code == 201

    feed = out.get("/api/clubs/jazz/calendar.ics")
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "\r\n" in feed.text  # CRLF line endings (RFC 5545 section 3.1)
    found = events(parse(feed.text))
    assert set(found) == {"Listening party"}  # the members-only room is not theirs to see
    ev = found["Listening party"]
    assert ev.uid.value == f"club-room-{party['id']}@127.0.0.1"
    assert ev.dtstart.value == start  # the same instant...
    # ...written as wall-clock time in the zone it was scheduled in, with its VTIMEZONE.
    local_text = local.strftime("%Y%m%dT%H%M%S")
    assert f"DTSTART;TZID=America/New_York:{local_text}" in feed.text
    assert "BEGIN:VTIMEZONE\r\nTZID:America/New_York" in feed.text
    assert ev.dtend.value - ev.dtstart.value == timedelta(hours=1)
    assert "Kind of Blue, side A" in ev.description.value
    assert ev.url.value == f"http://127.0.0.1:8000/rooms/{party['id']}"
    assert ev.dtstamp.value.tzinfo is not None

    # A member's calendar has both; the live one starts when it opened.
    mine = events(parse(meg.get("/api/clubs/jazz/calendar.ics").text))
    assert set(mine) == {"Listening party", "Members jam"}
    assert abs(mine["Members jam"].dtstart.value - datetime.now(UTC)) < timedelta(minutes=5)

    # "Add to calendar": one event per file.
    one = out.get(f"/api/clubs/jazz/rooms/{party['id']}/event.ics")
    assert one.status_code == 200
    assert set(events(parse(one.text))) == {"Listening party"}
    assert_error(out.get(f"/api/clubs/jazz/rooms/{secret.json()['id']}/event.ics"), 404)
    assert_error(out.get("/api/clubs/jazz/rooms/999/event.ics"), 404, field="room_id")
    other = person(server, "bo")
    make_club(other, "Other")
    assert_error(out.get(f"/api/clubs/other/rooms/{party['id']}/event.ics"), 404)


def test_an_empty_feed_is_still_a_valid_calendar(server: LiveServer) -> None:
    ann = person(server, "ann")
    make_club(ann, "Quiet")
    with server.client() as anonymous:
        cal = parse(anonymous.get("/api/clubs/quiet/calendar.ics").text)
    assert events(cal) == {}
