"""The plugin manager and every hook, against real servers.

A third-party plugin (tests/core/thirdparty/salon_hello) is installed the way pip
would install it: a ``*.dist-info`` directory declaring the ``salon.plugins`` entry
point, found on ``sys.path``. Hooks are otherwise exercised with plugin objects passed
as ``extra_plugins``. Each hook in core/hookspecs.py has a test named after it
(``test_every_hook_has_a_test`` keeps it so).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from salon.core import db
from salon.core.api import endpoint, ok
from salon.core.app import create_app
from salon.core.errors import ConfigError
from salon.core.hookspecs import hookimpl
from salon.core.models import User
from salon.core.plugins import ENTRY_POINT_GROUP, PluginManager, await_me_maybe
from salon.core.settings import Settings, load_settings
from tests.core.thirdparty import (
    HELLO_DISTRIBUTION,
    HELLO_VERSION,
    PACKAGES,
    install_dist_info,
    install_hello,
)
from tests.helpers import LiveServer, start_instance, wait_for, write_config

ROOT = Path(__file__).resolve().parents[2]
HOOKSPECS = ROOT / "core" / "hookspecs.py"

Launch = Callable[..., LiveServer]


# -- fixtures ------------------------------------------------------------------


@pytest.fixture
def hello_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Install the third-party ``salon-hello`` distribution for this test."""
    site = install_hello(tmp_path / "site-packages")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(PACKAGES))


@pytest.fixture
def launch(tmp_path: Path, sqlite_url: str) -> Iterator[Launch]:
    """Start Salon instances on SQLite: ``launch(plugins={...}, extra_plugins=[...])``."""
    started: list[LiveServer] = []

    def start(*, extra_plugins: Any = (), **sections: dict[str, Any]) -> LiveServer:
        directory = tmp_path / f"instance{len(started)}"
        server = start_instance(directory, sqlite_url, extra_plugins=extra_plugins, **sections)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def app_for(tmp_path: Path, sqlite_url: str, extra_plugins: Any = (), **sections: Any) -> Any:
    """Build (not start) an app: enough for the errors raised while building it."""
    path = write_config(tmp_path / "built", sqlite_url, **sections)
    return create_app(load_settings(path), extra_plugins=extra_plugins)


def settings_for(tmp_path: Path, sqlite_url: str, **sections: Any) -> Settings:
    return load_settings(write_config(tmp_path / "config", sqlite_url, **sections))


def plugin_states(server: LiveServer, token: str | None = None) -> dict[str, dict[str, Any]]:
    with server.client(token) as client:
        r = client.get("/api/plugins")
    assert r.status_code == 200, r.text
    return {p["name"]: p for p in r.json()["plugins"]}


def make_admin(database_url: str, user_id: int) -> None:
    with db.sync_session(database_url) as session:
        user = session.get(User, user_id)
        assert user is not None
        user.is_admin = True
        session.add(user)
        session.commit()


def error_message(response: httpx.Response) -> str:
    return response.json()["error"]["message"]


# -- a third-party plugin through its entry point -------------------------------


def test_third_party_plugin_through_entry_point(hello_installed: None, launch: Launch) -> None:
    (ep,) = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == "hello"]
    assert ep.value == "salon_hello"
    assert ep.dist is not None and ep.dist.name == HELLO_DISTRIBUTION

    server = launch(plugins={"enabled": ["hello"]})

    with server.client() as client:
        r = client.get("/api/hello/ping")
    assert r.status_code == 200, r.text
    assert r.json() == {"plugin": "hello", "message": "hello"}
    hello = plugin_states(server)["hello"]
    assert hello["enabled"] is True
    assert hello["state"] == "running"
    assert hello["version"] == HELLO_VERSION

    # Its salon_permission hook: nobody may follow "celebrity"; others as usual.
    alice = server.signup("alice")
    server.signup("celebrity")
    server.signup("bob")
    r = alice.post("/api/users/celebrity/follow")
    assert r.status_code == 403, r.text
    assert "user.follow" in error_message(r)
    assert alice.post("/api/users/bob/follow").status_code == 204
    assert alice.get("/api/users/celebrity").json()["followers_count"] == 0
    assert alice.get("/api/users/bob").json()["followers_count"] == 1


def test_installed_but_disabled_plugin_is_off(hello_installed: None, launch: Launch) -> None:
    server = launch(plugins={"enabled": []})
    with server.client() as client:
        assert client.get("/api/hello/ping").status_code == 404
    hello = plugin_states(server)["hello"]
    assert hello["enabled"] is False
    assert hello["state"] == "disabled"
    # Its permission hook is not registered either.
    alice = server.signup("alice")
    server.signup("celebrity")
    assert alice.post("/api/users/celebrity/follow").status_code == 204


def test_unknown_plugin_in_enabled_is_a_config_error(tmp_path: Path, sqlite_url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        app_for(tmp_path, sqlite_url, plugins={"enabled": ["no_such_plugin"]})
    assert caught.value.field == "plugins.enabled"
    assert "plugins.enabled" in caught.value.message
    assert "no_such_plugin" in caught.value.message


@pytest.mark.parametrize("section", ["no_such_plugin", "enabeld"])
def test_section_for_a_plugin_not_installed_is_a_config_error(
    tmp_path: Path, sqlite_url: str, section: str
) -> None:
    """A ``[plugins.NAME]`` table, or a misspelled key of ``[plugins]``, naming no
    installed plugin stops start-up."""
    with pytest.raises(ConfigError) as caught:
        app_for(tmp_path, sqlite_url, plugins={"enabled": [], section: {"x": 1}})
    assert caught.value.field == f"plugins.{section}"
    assert f"plugins.{section}" in caught.value.message


def test_plugin_that_fails_to_import_stays_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, launch: Launch
) -> None:
    site = install_dist_info(
        tmp_path / "site-packages", "salon-ghost", "1.0", {"ghost": "salon_ghost_not_there"}
    )
    monkeypatch.syspath_prepend(str(site))
    server = launch(plugins={"enabled": ["ghost"]})
    with server.client() as client:
        assert client.get("/healthz").status_code == 200
    ghost = plugin_states(server)["ghost"]
    assert ghost["enabled"] is True
    assert ghost["state"] == "failed"


def test_misspelled_hook_implementation_stops_start_up(tmp_path: Path, sqlite_url: str) -> None:
    class Typo:
        @hookimpl
        def salon_permision(self, actor: Any, action: str, resource: Any) -> bool | None:
            return False

    with pytest.raises(ConfigError) as caught:
        app_for(tmp_path, sqlite_url, extra_plugins=[("typo", Typo())])
    assert "salon_permision" in caught.value.message


# -- configuration and lifecycle hooks ------------------------------------------


def test_salon_settings_model(
    hello_installed: None, tmp_path: Path, sqlite_url: str, launch: Launch
) -> None:
    # A bad value, and an unknown key, name the dotted key.
    with pytest.raises(ConfigError) as caught:
        app_for(tmp_path, sqlite_url, plugins={"enabled": ["hello"], "hello": {"repeat": 0}})
    assert "plugins.hello.repeat" in caught.value.message
    with pytest.raises(ConfigError) as caught:
        app_for(tmp_path, sqlite_url, plugins={"enabled": ["hello"], "hello": {"greting": "x"}})
    assert "plugins.hello.greting" in caught.value.message

    # A plugin without a settings model refuses a section.
    class Quiet:
        @hookimpl
        def salon_routes(self) -> list[BaseRoute]:
            return []

    with pytest.raises(ConfigError) as caught:
        app_for(
            tmp_path,
            sqlite_url,
            extra_plugins=[("quiet", Quiet())],
            plugins={"quiet": {"volume": 3}},
        )
    assert caught.value.field == "plugins.quiet"

    # Good values reach the plugin as its validated model.
    server = launch(plugins={"enabled": ["hello"], "hello": {"greeting": "bonjour", "repeat": 2}})
    settings = server.app.state.plugin_settings["hello"]
    assert type(settings).__name__ == "HelloSettings"
    assert (settings.greeting, settings.repeat) == ("bonjour", 2)
    with server.client() as client:
        assert client.get("/api/hello/ping").json()["message"] == "bonjour bonjour"


broken_ping_calls: list[str] = []


@endpoint("GET", "/api/broken/ping", summary="Never reachable", auth=False, tag="broken")
async def broken_ping(request: Request) -> Response:
    broken_ping_calls.append(request.url.path)
    return ok({"broken": False})


class BrokenAtStart:
    """Cannot start (say, payments without keys); denies everything while registered."""

    @hookimpl
    def salon_startup(self, app: Any) -> None:
        raise RuntimeError("no API key configured")

    @hookimpl
    def salon_routes(self) -> list[BaseRoute]:
        return [broken_ping]

    @hookimpl
    def salon_permission(self, actor: Any, action: str, resource: Any) -> bool | None:
        return False


class Lifecycle:
    """Records its start-up and shutdown; both are coroutines Salon must await."""

    def __init__(self) -> None:
        self.started: list[Any] = []
        self.stopped: list[Any] = []

    @hookimpl
    async def salon_startup(self, app: Any) -> None:
        await asyncio.sleep(0)
        self.started.append(app)

    @hookimpl
    async def salon_shutdown(self, app: Any) -> None:
        await asyncio.sleep(0)
        self.stopped.append(app)


def test_salon_startup(launch: Launch, sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="salon.core.plugins")
    lifecycle = Lifecycle()
    server = launch(extra_plugins=[("broken", BrokenAtStart()), ("lifecycle", lifecycle)])

    assert lifecycle.started == [server.app]
    (record,) = [r for r in caplog.records if r.name == "salon.core.plugins"]
    assert record.levelno == logging.ERROR
    assert "broken" in record.getMessage()
    assert record.exc_info is not None and "no API key" in str(record.exc_info[1])

    with server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/api/broken/ping").status_code == 404
    assert broken_ping_calls == []
    states = plugin_states(server)
    assert states["broken"]["state"] == "failed"
    assert states["broken"]["reason"] is None  # only admins see why
    assert states["lifecycle"]["state"] == "running"

    # Its hooks are unregistered: its blanket denial no longer applies.
    admin = server.signup("admin")
    server.signup("bob")
    assert admin.post("/api/users/bob/follow").status_code == 204
    make_admin(sqlite_url, admin.id)
    assert "no API key" in plugin_states(server, admin.token)["broken"]["reason"]


class NeedsAKey:
    """A plugin whose start-up finds its config incomplete."""

    @hookimpl
    def salon_startup(self, app: Any) -> None:
        raise ConfigError("plugins.needs_a_key.key: not set; set it", field="plugins.needs_a_key")


def test_a_config_error_at_start_up_is_one_line(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    """An admin-fixable condition is logged as one warning naming the key, not a
    traceback; the plugin is off and admins see the same reason."""
    caplog.set_level(logging.WARNING, logger="salon.core.plugins")
    server = launch(extra_plugins=[("needs_a_key", NeedsAKey())])
    (record,) = [r for r in caplog.records if r.name == "salon.core.plugins"]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert (
        record.getMessage() == "plugin needs_a_key is off: plugins.needs_a_key.key: not set; set it"
    )
    assert plugin_states(server)["needs_a_key"]["state"] == "failed"


def test_salon_shutdown(launch: Launch) -> None:
    lifecycle = Lifecycle()
    server = launch(extra_plugins=[("lifecycle", lifecycle)])
    assert lifecycle.stopped == []
    server.stop()
    assert lifecycle.stopped == [server.app]


@endpoint("GET", "/api/echo/hi", summary="Say hi", auth=False, tag="echo")
async def echo_hi(request: Request) -> Response:
    return ok({"echo": request.query_params.get("say", "hi")})


async def echo_page(request: Request) -> Response:
    return PlainTextResponse("an echo page")


class Echo:
    @hookimpl
    def salon_routes(self) -> list[BaseRoute]:
        return [echo_hi, Route("/echo", echo_page)]


def test_salon_routes(launch: Launch) -> None:
    server = launch(extra_plugins=[("echo", Echo())])
    with server.client() as client:
        r = client.get("/api/echo/hi", params={"say": "hey"})
        assert r.status_code == 200 and r.json() == {"echo": "hey"}
        r = client.get("/echo")
        assert r.status_code == 200 and r.text == "an echo page"
        # Declared with salon.core.api.endpoint, it is described like the core's own.
        paths = client.get("/api/openapi.json").json()["paths"]
    assert "get" in paths["/api/echo/hi"]
    assert plugin_states(server)["echo"]["state"] == "running"


# -- the audio transport ----------------------------------------------------------


class FakeTransport:
    """Records what Salon asks of the audio transport (DESIGN.md section 5)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def open(self, room_id: int) -> None:
        self.calls.append(("open", room_id))

    async def close(self, room_id: int) -> None:
        self.calls.append(("close", room_id))

    async def connect(self, room_id: int, member_id: int, role: str, offer: Any) -> Any:
        self.calls.append(("connect", room_id, member_id, role))
        return None

    def set_role(self, room_id: int, member_id: int, role: str) -> None:
        self.calls.append(("set_role", room_id, member_id, role))

    def set_muted(self, room_id: int, member_id: int, muted: bool) -> None:
        self.calls.append(("set_muted", room_id, member_id, muted))

    async def disconnect(self, room_id: int, member_id: int) -> None:
        self.calls.append(("disconnect", room_id, member_id))

    def levels(self, room_id: int) -> dict[int, float]:
        return {}


class TransportPlugin:
    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.asked_with: list[Any] = []

    @hookimpl
    def salon_audio_transport(self, settings: Any) -> Any:
        self.asked_with.append(settings)
        return self.transport


def test_salon_audio_transport(launch: Launch) -> None:
    plugin = TransportPlugin()
    server = launch(extra_plugins=[("fake_audio", plugin)])
    assert plugin.asked_with == [server.settings]
    calls = plugin.transport.calls

    host = server.signup("host")
    bob = server.signup("bob")
    room = host.open_room("Transport check")["id"]
    assert calls == [("open", room)]

    assert bob.post(f"/api/rooms/{room}/join").status_code == 200
    r = host.post(f"/api/rooms/{room}/invite-to-speak", {"user_id": bob.id})
    assert r.status_code == 200, r.text
    assert bob.post(f"/api/rooms/{room}/invitation/accept").status_code == 200
    assert calls[-1] == ("set_role", room, bob.id, "speaker")

    r = bob.post(f"/api/rooms/{room}/mute", {"user_id": bob.id, "muted": False})
    assert r.status_code == 200, r.text
    assert calls[-1] == ("set_muted", room, bob.id, False)
    r = host.post(f"/api/rooms/{room}/mute", {"user_id": bob.id, "muted": True})
    assert r.status_code == 200, r.text
    assert calls[-1] == ("set_muted", room, bob.id, True)

    assert bob.post(f"/api/rooms/{room}/leave").status_code == 200
    assert calls[-1] == ("disconnect", room, bob.id)
    assert calls == [
        ("open", room),
        ("set_role", room, bob.id, "speaker"),
        ("set_muted", room, bob.id, False),
        ("set_muted", room, bob.id, True),
        ("disconnect", room, bob.id),
    ]


# -- decisions and events ----------------------------------------------------------


class FollowRules:
    """Denies following "celebrity"; lets "narcissus" follow themselves."""

    @hookimpl
    def salon_permission(self, actor: Any, action: str, resource: Any) -> bool | None:
        if action != "user.follow":
            return None
        if resource.username == "celebrity":
            return False
        if actor.username == "narcissus" and resource.id == actor.id:
            return True
        return None


class FanClub:
    """Tries to allow following "celebrity", answering with an awaitable."""

    @hookimpl
    async def salon_permission(self, actor: Any, action: str, resource: Any) -> bool | None:
        if action == "user.follow" and resource.username == "celebrity":
            return True
        return None


def test_salon_permission(launch: Launch) -> None:
    server = launch(extra_plugins=[("rules", FollowRules()), ("fans", FanClub())])
    alice = server.signup("alice")
    narcissus = server.signup("narcissus")
    server.signup("celebrity")
    server.signup("bob")

    # Any False denies, even against another plugin's True.
    r = alice.post("/api/users/celebrity/follow")
    assert r.status_code == 403
    assert error_message(r) == "not allowed to user.follow here"
    # A True allows what the core's default rule refuses.
    assert narcissus.post("/api/users/narcissus/follow").status_code == 204
    # When all abstain, the core decides: no following oneself; others are fine.
    r = alice.post("/api/users/alice/follow")
    assert r.status_code == 403
    assert error_message(r) == "you cannot follow yourself"
    assert alice.post("/api/users/bob/follow").status_code == 204


class RoomWatcher:
    def __init__(self) -> None:
        self.seen: list[tuple[int, str, int | None, bool]] = []

    @hookimpl
    async def salon_room_event(self, room: Any, event: Any) -> None:
        await asyncio.sleep(0)
        present = event.user_id in room.members
        self.seen.append((room.id, event.kind, event.user_id, present))


def test_salon_room_event(launch: Launch) -> None:
    watcher = RoomWatcher()
    server = launch(extra_plugins=[("watcher", watcher)])
    host = server.signup("host")
    bob = server.signup("bob")
    room = host.open_room("Events")["id"]
    wait_for(lambda: any(kind == "opened" for _, kind, _, _ in watcher.seen))
    assert bob.post(f"/api/rooms/{room}/join").status_code == 200
    # The room it receives is the state after the change: bob is in it.
    wait_for(lambda: (room, "member_joined", bob.id, True) in watcher.seen)
    assert all(room_id == room for room_id, _, _, _ in watcher.seen)
    # A room scheduled for later is told to plugins as it is created.
    later = host.open_room("Later", scheduled_for="2031-01-01T18:00:00Z")["id"]
    assert (later, "scheduled", None, False) in watcher.seen


class Promoter:
    """Boosts rooms titled "Boost me" while ``on``."""

    def __init__(self) -> None:
        self.on = False

    @hookimpl
    def salon_hallway_rank(self, viewer: Any, room: Any) -> int | None:
        return 10 if self.on and room.title == "Boost me" else None


def test_salon_hallway_rank(launch: Launch) -> None:
    promoter = Promoter()
    server = launch(extra_plugins=[("promoter", promoter)])
    alice = server.signup("alice")
    bob = server.signup("bob")
    carol = server.signup("carol")
    boosted = alice.open_room("Boost me")["id"]
    busier = bob.open_room("Busier room")["id"]
    assert carol.post(f"/api/rooms/{busier}/join").status_code == 200

    def hallway() -> list[int]:
        with server.client() as client:
            return [room["id"] for room in client.get("/api/hallway").json()["rooms"]]

    assert hallway() == [busier, boosted]  # more people in it: first by the core's order
    promoter.on = True
    assert hallway() == [boosted, busier]


class Elsewhere:
    """Lists two rooms held on another server."""

    def __init__(self) -> None:
        self.viewers: list[Any] = []

    @hookimpl
    async def salon_hallway_rooms(self, viewer: Any) -> list[dict[str, Any]]:
        self.viewers.append(viewer)
        person = {"username": "dora@far.test", "display_name": "Dora"}

        def card(n: int, state: str, listeners: int, when: str | None) -> dict[str, Any]:
            uri = f"https://far.test/rooms/{n}"
            return {
                "id": uri,
                "title": f"Far room {n}",
                "description": "",
                "state": state,
                "visibility": "open",
                "creator": person,
                "scheduled_for": when,
                "stage": [{"role": "host", "user": person}],
                "audience": [],
                "listener_count": listeners,
                "extras": {},
                "origin": "far.test",
                "href": f"/join-elsewhere?room={uri}",
                "followed_people": 0,
            }

        return [card(1, "live", 5, None), card(2, "scheduled", 0, "2031-01-01T18:00:00+00:00")]


def test_salon_hallway_rooms(launch: Launch) -> None:
    elsewhere = Elsewhere()
    server = launch(extra_plugins=[("elsewhere", elsewhere)])
    alice = server.signup("alice")
    bob = server.signup("bob")
    busy = alice.open_room("Busy here")["id"]
    assert bob.post(f"/api/rooms/{busy}/join").status_code == 200
    quiet = server.signup("carol").open_room("Quiet here")["id"]
    r = bob.get("/api/hallway")
    assert r.status_code == 200, r.text
    order = [room["id"] for room in r.json()["rooms"]]
    # One rule for both: live and fuller first (the far room has 5), scheduled last.
    assert order == ["https://far.test/rooms/1", busy, quiet, "https://far.test/rooms/2"]
    assert elsewhere.viewers[-1].id == bob.id
    with server.client() as anonymous:
        page = anonymous.get("/").text
    assert 'href="/join-elsewhere?room=https://far.test/rooms/1"' in page
    assert "on far.test" in page
    assert elsewhere.viewers[-1] is None


# -- federation hooks ------------------------------------------------------------


class FederationPlugin:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str]] = []

    @hookimpl
    async def salon_activity_received(self, activity: dict[str, Any], sender: str) -> str:
        self.received.append((activity, sender))
        return "handled"

    @hookimpl
    def salon_object_for_federation(self, obj: Any) -> dict[str, Any] | None:
        if isinstance(obj, User):
            return {"salon:tipJar": f"https://example.test/tip/{obj.username}"}
        return None


def loaded_manager(tmp_path: Path, sqlite_url: str, plugin: object) -> PluginManager:
    manager = PluginManager()
    manager.load(settings_for(tmp_path, sqlite_url), [("federated", plugin)])
    return manager


def test_salon_activity_received(tmp_path: Path, sqlite_url: str) -> None:
    """Federation (a later issue) calls this for each verified incoming activity; here
    the spec is called the way it will be, through ``pm.hook`` and the awaiting helper."""
    plugin = FederationPlugin()
    manager = loaded_manager(tmp_path, sqlite_url, plugin)
    activity = {"type": "Like", "actor": "https://remote.test/users/ann", "object": "x"}

    (pending,) = manager.hook.salon_activity_received(
        activity=activity, sender="https://remote.test/users/ann"
    )
    assert asyncio.run(await_me_maybe(pending)) == "handled"
    results = asyncio.run(
        manager.call("salon_activity_received", activity=activity, sender="https://r.test/b")
    )
    assert results == ["handled"]
    assert plugin.received == [
        (activity, "https://remote.test/users/ann"),
        (activity, "https://r.test/b"),
    ]


def test_salon_object_for_federation(tmp_path: Path, sqlite_url: str) -> None:
    """Federation (a later issue) calls this when it serialises an object; here through
    ``pm.hook`` as it will."""
    manager = loaded_manager(tmp_path, sqlite_url, FederationPlugin())
    user = User(username="ann", display_name="Ann", password_hash="x")
    assert manager.hook.salon_object_for_federation(obj=user) == [
        {"salon:tipJar": "https://example.test/tip/ann"}
    ]
    assert manager.hook.salon_object_for_federation(obj=object()) == []
