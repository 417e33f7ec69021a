"""The room page's audio in headless Chromium, against the SFU over loopback: a browser
speaker is heard by an aiortc listener, a browser listener receives and plays audio
and shows who is speaking."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.helpers import LiveServer, wait_for

from ..conftest import join, unmute
from ..peers import Peer, PeerLoop, ToneTrack
from .conftest import WAV_FREQUENCY

pytestmark = pytest.mark.browser

TIMEOUT = 20.0

OpenPage = Callable[[LiveServer, str], tuple[Page, Any]]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """``open_page(server, username)``: a new account, signed in in a fresh browser
    context; returns the page and the account's httpx session (cookie + CSRF)."""
    contexts = []
    errors: list[str] = []

    def make(server: LiveServer, username: str) -> tuple[Page, Any]:
        session = server.browser_session(username)
        context = browser.new_context(base_url=server.url)
        context.add_cookies(
            [{"name": k, "value": v, "url": server.url} for k, v in session.cookies.items()]
        )
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page, session

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"script errors on the page: {errors}"


def audio_state(page: Page) -> str:
    script = "() => { const pc = window.salonAudio.connection(); return pc && pc.connectionState; }"
    return page.evaluate(script) or "none"


def inbound_audio(page: Page) -> dict[str, float]:
    """Packets received and total audio energy over the page's inbound audio streams."""
    return page.evaluate(
        """async () => {
          const pc = window.salonAudio.connection();
          const out = { packets: 0, energy: 0 };
          if (!pc) return out;
          (await pc.getStats()).forEach((s) => {
            if (s.type === "inbound-rtp" && s.kind === "audio") {
              out.packets += s.packetsReceived || 0;
              out.energy += s.totalAudioEnergy || 0;
            }
          });
          return out;
        }"""
    )


def test_a_browser_speaker_is_heard_at_the_wavs_frequency(
    make_sfu_server: Callable[..., LiveServer], peer_loop: PeerLoop, open_page: OpenPage
) -> None:
    server = make_sfu_server(max_speakers_forwarded=2)
    host = server.signup("host")
    room_id = host.open_room("Browser speaker")["id"]
    page, session = open_page(server, "bea")
    page.goto(f"/rooms/{room_id}")  # the page joins the room by itself
    wait_for(lambda: audio_state(page) == "connected", timeout=TIMEOUT)
    sfu = server.app.state.rooms.transport
    bea_id = session.get("/api/me").json()["id"]
    conn = sfu.rooms[room_id].members[bea_id].conn
    assert page.evaluate("() => window.salonAudio.microphone()") is None

    # On stage: the page attaches its microphone to the connection it has.
    r = host.post(f"/api/rooms/{room_id}/invite-to-speak", {"user_id": bea_id})
    assert r.status_code == 200, r.text
    for path, body in (("invitation/accept", {}), ("mute", {"user_id": bea_id, "muted": False})):
        r = session.post(f"/api/rooms/{room_id}/{path}", json=body)
        assert r.status_code == 200, r.text
    lis = server.signup("lis")
    join(lis, room_id)
    listener = Peer(peer_loop, lis, room_id).connect()
    wait_for(lambda: listener.hears(WAV_FREQUENCY), timeout=TIMEOUT)
    (heard,) = listener.frequencies()
    assert abs(heard - WAV_FREQUENCY) <= 5, heard
    speaker = sfu.rooms[room_id].members[bea_id]
    assert speaker.conn is conn
    assert speaker.level > 0  # Chromium's packets carry the audio level the SFU ranks by

    # Back in the audience: the microphone is detached, the connection stays.
    r = host.post(f"/api/rooms/{room_id}/move-to-audience", {"user_id": bea_id})
    assert r.status_code == 200, r.text
    wait_for(lambda: page.evaluate("() => window.salonAudio.microphone()") is None, timeout=TIMEOUT)
    count = -1

    def stopped() -> bool:
        nonlocal count
        before, count = count, speaker.packets_in
        return before == count

    wait_for(stopped, timeout=TIMEOUT, interval=0.5)
    assert audio_state(page) == "connected"
    assert speaker.conn is conn
    listener.close()


def test_a_browser_listener_plays_audio_and_sees_who_speaks(
    make_sfu_server: Callable[..., LiveServer], peer_loop: PeerLoop, open_page: OpenPage
) -> None:
    server = make_sfu_server(max_speakers_forwarded=2)
    host = server.signup("host")
    room_id = host.open_room("Browser listener")["id"]
    unmute(host, room_id, host)
    speaker = Peer(peer_loop, host, room_id, ToneTrack(440)).connect()

    page, _ = open_page(server, "lis")
    page.goto(f"/rooms/{room_id}")  # the page joins the room by itself
    wait_for(lambda: audio_state(page) == "connected", timeout=TIMEOUT)

    wait_for(lambda: inbound_audio(page)["packets"] > 20, timeout=TIMEOUT)
    first = inbound_audio(page)
    wait_for(lambda: inbound_audio(page)["energy"] > first["energy"] > 0, timeout=TIMEOUT)

    host_entry = page.locator(f'#stage > li.person[data-user-id="{host.id}"]')
    expect(host_entry).to_have_class("person speaking", timeout=TIMEOUT * 1000)
    expect(page.locator(".audio-status")).to_have_text("Audio: on")

    # A blip: the server side of the connection goes away; the page connects again.
    sfu = server.app.state.rooms.transport
    lis_id = next(m for m in sfu.rooms[room_id].members if m != host.id)
    old = sfu.rooms[room_id].members[lis_id].conn
    asyncio.run_coroutine_threadsafe(old.close(), sfu.loop).result(10)

    def reconnected() -> bool:
        member = sfu.rooms[room_id].members.get(lis_id)
        return bool(member and member.conn not in (None, old) and member.conn.send)

    wait_for(reconnected, timeout=TIMEOUT * 2)
    wait_for(lambda: audio_state(page) == "connected", timeout=TIMEOUT)
    wait_for(lambda: inbound_audio(page)["packets"] > 20, timeout=TIMEOUT)
    speaker.close()
