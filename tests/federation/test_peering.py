"""Peering (issue 9): ``salon federation peer HOST`` makes this instance's actor follow
HOST's; HOST accepts only when its ``list_rooms_to_peers`` is on, and then its open
rooms (not its social ones) are listed in this instance's hallway for everyone, with
no user here following anyone there. ``unpeer`` takes them away; peering again brings
back the rooms already live."""

from __future__ import annotations

from click.testing import CliRunner, Result

from salon.federation.cli import federation_group

from .helpers import Cluster, Instance, eventually, rows
from .test_room_publishing import card, hallway


def cli(cluster: Cluster, name: str, *args: str) -> Result:
    config = str(cluster.config[name][0])
    return CliRunner().invoke(federation_group, [*args, "--config", config])


def listed(server: Instance, uri: str) -> bool:
    return any(c["id"] == uri for c in hallway(server))


def test_peering_is_opt_in_and_lists_open_rooms(cluster: Cluster) -> None:
    a = cluster.start("A")
    b = cluster.start("B")  # list_rooms_to_peers is off by default
    d = cluster.start("D", list_rooms_to_peers=True)
    bea = a.signup("bea")

    refused = cli(cluster, "A", "peer", b.host, "--wait", "15")
    assert refused.exit_code != 0, refused.output
    assert f"{b.host} refused" in refused.stderr and "list_rooms_to_peers" in refused.stderr
    assert f"{b.host}  refused" in cli(cluster, "A", "peers").output
    assert rows(b, "SELECT count(*) FROM federation_follow")[0][0] == 0

    accepted = cli(cluster, "A", "peer", d.host, "--wait", "15")
    assert accepted.exit_code == 0, accepted.output
    assert f"{d.host} accepted" in accepted.output
    assert f"{d.host}  accepted" in cli(cluster, "A", "peers").output
    assert f"{a.host}  lists our open rooms" in cli(cluster, "D", "peers").output

    # D's open room is listed on A for everyone; its social room is not.
    dora = d.signup("dora")
    social = dora.open_room("Friends of Dora", visibility="social")
    room = dora.open_room("Open mic")
    uri = f"{d.url}/rooms/{room['id']}"
    seen = eventually(lambda: card(a, bea, uri))
    assert seen["origin"] == d.host and seen["followed_people"] == 0
    assert listed(a, uri)
    assert not listed(a, f"{d.url}/rooms/{social['id']}")
    stored = "SELECT count(*) FROM federation_remote_room WHERE object_id = :u"
    assert rows(a, stored, u=f"{d.url}/rooms/{social['id']}")[0][0] == 0

    # Unpeering takes D's rooms away, and D is told.
    gone = cli(cluster, "A", "unpeer", d.host)
    assert gone.exit_code == 0, gone.output
    assert not listed(a, uri)
    follows = "SELECT count(*) FROM federation_follow WHERE local_actor = :l"
    eventually(lambda: rows(d, follows, l=f"{d.url}/actor")[0][0] == 0)
    assert "no peers" in cli(cluster, "D", "peers").output

    # Peering again: D tells its new peer of the rooms already live.
    assert cli(cluster, "A", "peer", d.host).exit_code == 0
    eventually(lambda: listed(a, uri))
