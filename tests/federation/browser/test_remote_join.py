"""Joining a room on another server from the web client, in headless Chromium.

Alice signs in on A; carol's live room on B shows in A's hallway marked with B's
origin; a click goes through A's grant page and B's join page to B's room page, where
alice is a guest (``alice@A``) in the audience and receives carol's audio (an aiortc
peer speaking a tone on B).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.chromium import log_in
from tests.plugins.audio_sfu.peers import Peer, PeerLoop, ToneTrack

from ..audio_cluster import (
    TIMEOUT,
    AudioCluster,
    audio_cluster,  # noqa: F401 (fixture)
    follow_remote,
    hallway_item,
    join_remote_page,
    mute,
    peer_loop,  # noqa: F401 (fixture)
    room_uri,
    start_pair,
)
from ..helpers import eventually

pytestmark = pytest.mark.browser


@pytest.fixture
def contexts(browser: Browser) -> Iterator[tuple[list[BrowserContext], list[str]]]:
    """Browser contexts the test opens (closed after it) and the script errors of
    their pages (none allowed)."""
    opened: list[BrowserContext] = []
    errors: list[str] = []
    yield opened, errors
    for context in opened:
        context.close()
    assert not errors, f"script errors on the pages: {errors}"


def audio_state(page: Page) -> str:
    script = """() => {
      const pc = window.salonAudio && window.salonAudio.connection();
      return pc && pc.connectionState;
    }"""
    return page.evaluate(script) or "none"


def inbound_packets(page: Page) -> int:
    """Audio packets received so far over the page's inbound streams."""
    return page.evaluate(
        """async () => {
          const pc = window.salonAudio && window.salonAudio.connection();
          let packets = 0;
          if (!pc) return packets;
          (await pc.getStats()).forEach((s) => {
            if (s.type === "inbound-rtp" && s.kind === "audio") packets += s.packetsReceived || 0;
          });
          return packets;
        }"""
    )


def member_named(server: Any, room_id: int, username: str) -> dict[str, Any] | None:
    """The member of SERVER's room ROOM_ID whose username is USERNAME, as its API lists."""
    with server.client() as anonymous:
        room = anonymous.get(f"/api/rooms/{room_id}").json()
    members = room["stage"] + room["audience"]
    return next((m for m in members if m.get("user") and m["user"]["username"] == username), None)


def test_alice_joins_a_room_on_another_server_from_her_hallway(
    browser: Browser,
    contexts: tuple[list[BrowserContext], list[str]],
    audio_cluster: AudioCluster,  # noqa: F811
    peer_loop: PeerLoop,  # noqa: F811
) -> None:
    opened, errors = contexts
    pair = start_pair(audio_cluster)
    a, b, alice, carol = pair.a, pair.b, pair.alice, pair.carol
    handle = f"alice@{a.host}"
    follow_remote(alice, b.actor("carol"))

    # Carol is live on B and speaks a tone.
    room_id = carol.open_room("Across the wire")["id"]
    uri = room_uri(b, room_id)
    mute(carol, room_id, carol.id, False)
    speaker = Peer(peer_loop, carol, room_id, ToneTrack(440)).connect()
    eventually(lambda: hallway_item(alice, uri), timeout=30)

    # Alice signs in on A's web client. Cookies are per host, not per port: the
    # browser reaches A as "localhost" so that A's cookies and B's (on 127.0.0.1) stay
    # apart, as they would on two real servers.
    context = browser.new_context(base_url=f"http://localhost:{a.port}")
    opened.append(context)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    log_in(page, "alice")

    # A's hallway shows B's room, marked with B's origin, linking to A's grant page.
    page.goto("/")
    card = page.locator(f'li.room-card[data-origin="{b.host}"]')
    expect(card).to_have_count(1, timeout=TIMEOUT * 1000)
    expect(card).to_contain_text("Across the wire")
    expect(card).to_contain_text(b.host)
    link = card.get_by_role("link")
    expect(link).to_have_attribute("href", join_remote_page(uri))

    # The click: A's grant page, B's join page, then B's room page as a guest.
    link.click()
    expect(page).to_have_url(f"{b.url}/rooms/{room_id}", timeout=TIMEOUT * 1000)
    assert "#grant=" not in page.url
    member = eventually(lambda: member_named(b, room_id, handle), timeout=TIMEOUT)
    assert member["role"] == "listener" and not member["on_stage"], member
    assert member["user"]["display_name"] == "Alice Anders", member  # her name on A
    mine = page.locator(f'#audience li.person[data-user-id="{member["user_id"]}"]')
    expect(mine).to_contain_text("Alice Anders", timeout=TIMEOUT * 1000)
    me = page.evaluate("async () => (await fetch('/api/me')).json()")
    assert me["username"] == handle, me

    # She receives carol's audio over B's SFU.
    eventually(lambda: audio_state(page) == "connected", timeout=TIMEOUT)
    eventually(lambda: inbound_packets(page) > 20, timeout=TIMEOUT)
    first = inbound_packets(page)
    eventually(lambda: inbound_packets(page) > first + 20, timeout=TIMEOUT)
    sfu = b.app.state.rooms.transport
    assert member["user_id"] in sfu.rooms[room_id].members

    # The session is for that room only: elsewhere on B it is refused.
    status = page.evaluate("async () => (await fetch('/api/hallway')).status")
    assert status == 403, status
    speaker.close()
