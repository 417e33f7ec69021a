"""A listener from another server, end to end: real instances A and B on loopback,
their real SFUs, real aiortc peers.

Carol hosts a room on B and speaks a 440 Hz tone. Alice, whose account is on A,
follows carol; the room reaches A's hallway over federation; alice gets a join grant
from A, exchanges it at B for a guest session scoped to the room, and hears the tone.
She raises her hand, is brought on stage and speaks 660 Hz, which bob (on B) hears.
Then B's moderation holds for her like for a local member: a mute stops her audio, a
removal ends her socket and audio, and B refuses her next grant for that room.
"""

from __future__ import annotations

import time
from typing import Any

from tests.helpers import assert_error
from tests.plugins.audio_sfu.peers import Peer, PeerLoop, ToneTrack

from .audio_cluster import (
    TIMEOUT,
    AudioCluster,
    RoomSocket,
    act,
    audio_cluster,  # noqa: F401 (fixture)
    connected,
    exchange_grant,
    follow_remote,
    guest_api,
    hallway_item,
    join_remote_page,
    mute,
    obtain_grant,
    peer_loop,  # noqa: F401 (fixture)
    room_uri,
    start_pair,
    stopped_receiving,
    usernames,
)
from .helpers import eventually

CLOSE_FORBIDDEN = 4003  # core/events.py: the socket of a member who may no longer follow


def slot_hearing(peer: Peer, frequency: float) -> Any:
    """The downstream slot of PEER on which FREQUENCY is heard right now."""
    for view in peer.slots:
        heard = view.recent_frequency()
        if heard is not None and abs(heard - frequency) <= 5:
            return view
    return None


def test_a_listener_from_another_server_hears_speaks_and_is_moderated(
    audio_cluster: AudioCluster,  # noqa: F811
    peer_loop: PeerLoop,  # noqa: F811
    record_property: Any,
) -> None:
    pair = start_pair(audio_cluster)
    a, b, alice, carol, bob = pair.a, pair.b, pair.alice, pair.carol, pair.bob
    alice_handle = f"alice@{a.host}"

    # Alice (on A) follows carol (on B) through A's federation API.
    follow_remote(alice, b.actor("carol"))

    # Carol goes live on B; the room reaches A's hallway over federation.
    went_live = time.monotonic()
    room = carol.open_room("Tones across servers", description="A 440 Hz talk")
    room_id = room["id"]
    uri = room_uri(b, room_id)
    item = eventually(lambda: hallway_item(alice, uri), timeout=30)
    dt = time.monotonic() - went_live
    print(f"\ngo-live→A hallway: {dt:.2f} s")
    record_property("go_live_to_hallway_seconds", round(dt, 3))
    assert item["state"] == "live", item
    assert item["title"] == "Tones across servers"
    assert item["origin"] == b.host, item
    assert item["href"] == join_remote_page(uri), item
    assert item["creator"]["username"] == f"carol@{b.host}", item
    assert [s["user"]["username"] for s in item["stage"]] == [f"carol@{b.host}"], item
    assert item["followed_people"] == 1, item

    # Carol talks: a 440 Hz tone from her aiortc peer.
    mute(carol, room_id, carol.id, False)
    carol_peer = Peer(peer_loop, carol, room_id, ToneTrack(440)).connect()

    # A grant from A, exchanged at B for a session scoped to this room.
    granted = obtain_grant(alice, uri)
    assert granted["join_url"].startswith(f"{b.url}/"), granted
    assert granted["join_url"].endswith(f"#grant={granted['grant']}"), granted
    r = exchange_grant(b, granted["grant"])
    assert r.status_code == 200, r.text
    joined = r.json()
    assert joined["room_id"] == room_id and joined["room_url"] == f"/rooms/{room_id}", joined
    assert joined["user"]["username"] == alice_handle, joined
    assert joined["user"]["display_name"] == "Alice Anders", joined  # her name on A
    guest = guest_api(b, joined)
    me = guest.get("/api/me")
    assert me.status_code == 200 and me.json()["username"] == alice_handle, me.text
    # The guest session is for this room only.
    assert_error(guest.post("/api/rooms", {"title": "Mine"}), 403, "guest_scope")

    # In the room: B lists her in the audience; her socket and her audio connect.
    act(guest, room_id, "join")
    with b.client() as anonymous:
        seen = anonymous.get(f"/api/rooms/{room_id}").json()
    assert alice_handle in usernames(seen, "audience"), seen
    socket = RoomSocket(guest, room_id)
    assert socket.messages and not socket.closed.is_set(), socket.messages
    # Her client sends 660 Hz from the start; as a listener it is not forwarded.
    alice_peer = Peer(peer_loop, guest, room_id, ToneTrack(660)).connect()
    act(bob, room_id, "join")
    bob_peer = Peer(peer_loop, bob, room_id).connect()
    connected(carol_peer, alice_peer, bob_peer)

    eventually(lambda: alice_peer.hears(440), timeout=TIMEOUT)
    (heard,) = alice_peer.frequencies()
    assert abs(heard - 440) <= 5, heard
    eventually(lambda: bob_peer.hears(440), timeout=TIMEOUT)
    sfu = b.app.state.rooms.transport
    eventually(lambda: sfu.stats(room_id)[guest.id]["dropped_not_allowed"] > 25, timeout=TIMEOUT)
    assert not bob_peer.hears(660), bob_peer.frequencies()

    # Hand up; carol invites her on stage; she accepts and unmutes.
    hand = act(guest, room_id, "hand")
    assert any(m["user_id"] == guest.id and m["hand_raised"] for m in hand["audience"]), hand
    act(carol, room_id, "invite-to-speak", {"user_id": guest.id})
    staged = act(guest, room_id, "invitation/accept")
    assert alice_handle in usernames(staged, "stage"), staged
    mute(guest, room_id, guest.id, False)

    # Bob, local to B, hears her 660 Hz (and carol's 440 Hz); carol hears her too.
    eventually(lambda: bob_peer.hears(660) and bob_peer.hears(440), timeout=TIMEOUT)
    low, high = bob_peer.frequencies()
    assert abs(low - 440) <= 5 and abs(high - 660) <= 5, (low, high)
    eventually(lambda: carol_peer.hears(660), timeout=TIMEOUT)
    assert socket.kinds().count("role_changed") >= 1, socket.kinds()

    # Carol mutes her: bob stops getting her packets; carol's keep coming.
    alice_slot = slot_hearing(bob_peer, 660)
    carol_slot = slot_hearing(bob_peer, 440)
    assert alice_slot is not None and carol_slot is not None and alice_slot is not carol_slot
    mute(carol, room_id, guest.id, True)
    answered = time.monotonic()
    stopped_receiving(lambda: len(alice_slot.packets))
    assert alice_slot.packets_since(answered + 0.5) == 0
    assert sfu.stats(room_id)[guest.id]["muted"]
    eventually(lambda: carol_slot.packets_since(answered + 0.5) > 10, timeout=TIMEOUT)
    assert alice_slot.packets_since(answered + 0.5) == 0
    # Her own client cannot undo a moderator's mute.
    r = guest.post(f"/api/rooms/{room_id}/mute", {"user_id": guest.id, "muted": False})
    assert r.status_code in (403, 409), r.text

    # Carol removes her: her socket is closed, her audio ends.
    act(carol, room_id, "remove", {"user_id": guest.id})
    removed = time.monotonic()
    eventually(socket.closed.is_set, timeout=TIMEOUT)
    assert socket.close_code == CLOSE_FORBIDDEN, socket.close_code
    eventually(lambda: guest.id not in sfu.rooms[room_id].members, timeout=TIMEOUT)
    eventually(lambda: alice_peer.state in ("closed", "failed"), timeout=TIMEOUT)
    stopped_receiving(lambda: alice_peer.packets_since(0))
    assert alice_peer.packets_since(removed + 0.5) == 0
    # The room goes on for bob.
    eventually(lambda: carol_slot.packets_since(removed + 0.5) > 10, timeout=TIMEOUT)
    r = guest.post(f"/api/rooms/{room_id}/join")
    assert r.status_code == 403, r.text

    # The removal holds for later grants: A issues one, B refuses it.
    again = obtain_grant(alice, uri)
    error = assert_error(exchange_grant(b, again["grant"]), 403)
    assert error["code"] in ("removed", "forbidden"), error
    with b.client() as anonymous:
        seen = anonymous.get(f"/api/rooms/{room_id}").json()
    assert alice_handle not in usernames(seen, "audience") + usernames(seen, "stage"), seen

    socket.close()
    for peer in (alice_peer, bob_peer, carol_peer):
        peer.close()


def test_a_social_room_admits_a_remote_follower_of_a_speaker(
    audio_cluster: AudioCluster,  # noqa: F811
    peer_loop: PeerLoop,  # noqa: F811
) -> None:
    """A social room is for followers of the people on stage: alice, who follows carol
    from A, is admitted as a guest and hears her; dave on A, who does not, is refused."""
    pair = start_pair(audio_cluster)
    a, b, alice, carol = pair.a, pair.b, pair.alice, pair.carol
    dave = a.signup("dave")
    follow_remote(alice, b.actor("carol"))
    room_id = carol.open_room("Friends only", visibility="social")["id"]
    uri = room_uri(b, room_id)
    mute(carol, room_id, carol.id, False)
    carol_peer = Peer(peer_loop, carol, room_id, ToneTrack(440)).connect()

    assert_error(exchange_grant(b, obtain_grant(dave, uri)["grant"]), 403)

    r = exchange_grant(b, obtain_grant(alice, uri)["grant"])
    assert r.status_code == 200, r.text
    guest = guest_api(b, r.json())
    act(guest, room_id, "join")
    alice_peer = Peer(peer_loop, guest, room_id).connect()
    connected(carol_peer, alice_peer)
    eventually(lambda: alice_peer.hears(440), timeout=TIMEOUT)
    for peer in (alice_peer, carol_peer):
        peer.close()
