"""Every hook a Salon plugin can implement: the whole plugin API in one file.

Plugins write ``from salon.core.hookspecs import hookimpl`` and decorate functions named
after these specs. Arguments are passed by keyword; an implementation may accept any
subset of them. An implementation may return a value or an awaitable; callers resolve
both with :func:`salon.core.plugins.await_me_maybe`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    import click
    from pydantic import BaseModel
    from starlette.applications import Starlette
    from starlette.routing import BaseRoute

    from .models import User
    from .rooms import Room, RoomEvent

hookspec = pluggy.HookspecMarker("salon")
hookimpl = pluggy.HookimplMarker("salon")


# -- configuration and lifecycle --------------------------------------------------


@hookspec(firstresult=True)
def salon_settings_model(name: str) -> type[BaseModel] | None:
    """Called once per enabled plugin, before start-up, to validate ``[plugins.NAME]``.

    :param name: the plugin's name as written in ``plugins.enabled``.
    :return: a pydantic model class for that plugin's settings, or None if NAME is not
        yours. Stops at first non-None result. The validated model is then available
        as ``app.state.plugin_settings[name]``.
    """


@hookspec
def salon_startup(app: Starlette) -> Any:
    """Called when the instance starts, after the database is ready and before it
    serves requests: open the plugin's resources (transports, workers).

    :param app: the Starlette application; ``app.state.settings`` holds the settings.
    :return: nothing, or an awaitable that is awaited. A plugin that raises here is
        logged and disabled; the instance keeps serving.
    """


@hookspec
def salon_shutdown(app: Starlette) -> Any:
    """Called when the instance stops: close what ``salon_startup`` opened.

    :param app: the Starlette application.
    :return: nothing, or an awaitable that is awaited.
    """


@hookspec
def salon_routes() -> list[BaseRoute] | None:
    """Called once while the application is built, to collect a plugin's routes.

    :return: Starlette routes: an API under ``/api/<plugin>/...``, pages, webhooks.
    """


@hookspec(firstresult=True)
def salon_audio_transport(settings: Any) -> Any:
    """Called at start-up to get the object that carries rooms' audio (DESIGN.md
    section 5): ``open``, ``close``, ``connect``, ``set_role``, ``set_muted``,
    ``disconnect``, ``levels``.

    :param settings: the instance's :class:`~salon.core.settings.Settings`.
    :return: the transport, or None. Stops at first non-None result; exactly one
        enabled plugin should provide it.
    """


@hookspec
def salon_migrations() -> Path | None:
    """Called before the instance starts (and by ``salon db upgrade``) to find a
    plugin's own database migrations.

    Each plugin's migrations form their own Alembic history, recorded in the table
    ``alembic_version_<plugin>``, applied after the core's; so a plugin can be enabled,
    disabled and enabled again without touching the core's history. Revision files
    may reference core tables (``user.id``, ``room.id``).

    :return: the folder holding the plugin's Alembic revision files, or None.
    """


@hookspec
def salon_cli_commands() -> list[click.Command] | None:
    """Called when the ``salon`` command starts, to add a plugin's sub-commands
    (``salon payments reconcile``, ...). Commands of the plugins enabled in the config
    named by ``$SALON_CONFIG`` (or the shipped one) are offered.

    :return: click commands or groups; each is added under its own name.
    """


@hookspec
def salon_web_dirs() -> dict[str, Path] | None:
    """Called once while the application is built, to find a plugin's web files.

    :return: ``{"templates": DIR, "static": DIR}`` (either may be left out).
        Templates are found as ``"<plugin>/<file>"`` and may extend ``"base.html"``;
        static files are served at ``/static/plugins/<plugin>/<file>``.
    """


@hookspec
def salon_page_assets(page: str, viewer: User | None) -> dict[str, Any] | None:
    """Called when a page of the web client is rendered, to add a plugin's parts.

    :param page: which page: ``"hallway"``, ``"room"``, ``"profile"``, ``"settings"``,
        ``"new_room"`` or a plugin page's own name.
    :param viewer: who is looking, or None.
    :return: ``{"scripts": [URL, ...], "styles": [URL, ...], "nav": [{"href": URL,
        "label": TEXT}, ...]}`` (any key may be left out). Scripts load as ES modules
        after the page's own; the room and profile pages announce their data to them
        with ``salon:room`` and ``salon:profile`` DOM events on ``document``.
    """


# -- decisions ----------------------------------------------------------------------


@hookspec
def salon_permission(actor: User | None, action: str, resource: Any) -> bool | None:
    """Called whenever Salon asks "may ACTOR do ACTION on RESOURCE".

    :param actor: the user asking, or None for an anonymous visitor.
    :param action: a dotted action name, listed in :mod:`salon.core.permissions`.
    :param resource: what the action is on (a User, a Room, a RoomTarget, ...).
    :return: True to allow, False to deny, None for no opinion (or an awaitable of
        those); a non-empty string denies with that reason, shown to the person
        refused. Any denial wins; when all abstain, the core's default rule decides.
    """


@hookspec
def salon_check_content(actor: User | None, kind: str, text: str) -> str | None:
    """Called before user-written text is stored: room titles, bios, display names.

    :param actor: the user writing it.
    :param kind: what the text is, e.g. ``"room.title"``, ``"user.bio"``.
    :param text: the text itself.
    :return: a reason to refuse it (shown to the user), or None to accept.
    """


# -- events and extension points -------------------------------------------------


@hookspec
def salon_room_event(room: Room, event: RoomEvent) -> Any:
    """Called after a room changed: opened, member joined or left, role changed, hand
    raised, muted, ended. Called after the change is stored and sent to the room's
    sockets, outside the room's lock.

    :param room: the room's state after the change.
    :param event: the change.
    :return: nothing, or an awaitable that is awaited.
    """


@hookspec
def salon_profile_extras(user: User, viewer: User | None) -> dict[str, Any] | None:
    """Called when a profile is shown, to add data or actions (e.g. "send money").

    :param user: whose profile it is.
    :param viewer: who is looking, or None.
    :return: a dict merged into the profile's ``extras``, or None.
    """


@hookspec
def salon_room_extras(room: Room, viewer: User | None) -> dict[str, Any] | None:
    """Called when a room is shown (its page, ``GET /api/rooms/{id}``, the socket's
    snapshot, the answer to a transition, each hallway card), to add data about it.

    :param room: the room's state.
    :param viewer: who is looking, or None.
    :return: a dict merged into the room's ``extras``, or None. A value that is an
        object with a ``label`` (and optionally an ``href``) is shown as a badge on
        the room's hallway card and page.
    """


@hookspec
def salon_hallway_rank(viewer: User | None, room: Room) -> int | None:
    """Called for each room listed in a viewer's hallway, to raise it in the ranking.

    :param viewer: who is looking, or None.
    :param room: a live or scheduled room the viewer may see.
    :return: a boost (higher ranks first, before the core's own order), or None.
    """


@hookspec
def salon_hallway_rooms(viewer: User | None) -> list[dict[str, Any]] | None:
    """Called when the hallway is built, to list rooms held elsewhere (rooms on other
    servers) beside the instance's own. They are ranked with the same rule.

    :param viewer: who is looking, or None.
    :return: room cards (or an awaitable of that list), each shaped like a local
        room's JSON with an ``id`` that is a string (a URI), and also ``origin`` (the
        host it comes from, shown on the card), ``href`` (where the card links) and
        ``followed_people`` (how many of its people the viewer follows); or None.
    """


@hookspec
def salon_room_actors(room: Room) -> list[str] | None:
    """Called when a room is published to other servers, to name the plugin actors
    (as ``salon_federated_actor`` knows them) that host it, so their followers hear of
    it too (a club's room: the club).

    :param room: the room.
    :return: actor names, or None.
    """


@hookspec
def salon_follows(follower: User, followee_ids: list[int]) -> bool | None:
    """Called when the core's follow table says FOLLOWER follows none of FOLLOWEE_IDS
    (a social room's stage), for follows a plugin keeps (a guest account's follows on
    its home server's side).

    :param follower: the person asking to join.
    :param followee_ids: local users' ids.
    :return: True if FOLLOWER follows one of them (or an awaitable of that), else None.
    """


@hookspec
def salon_activity_received(activity: dict[str, Any], sender: str) -> Any:
    """Called by federation for a verified incoming activity that plugins may handle.

    :param activity: the ActivityStreams activity, already signature-checked.
    :param sender: the actor id that signed it.
    :return: nothing, or an awaitable that is awaited.
    """


@hookspec
def salon_instance_blocked(domain: str, actor: User | None) -> Any:
    """Called after an admin blocks a whole remote instance, so that what federates
    with it can cut existing ties (follows, deliveries queued for it).

    :param domain: the blocked host name, lower-case.
    :param actor: the admin who blocked it, or None (config, command line).
    :return: nothing, or an awaitable that is awaited.
    """


@hookspec
def salon_object_for_federation(obj: Any) -> dict[str, Any] | None:
    """Called when an object is serialised for federation, to extend its
    ActivityStreams form.

    :param obj: the Salon object (a User, a Room, ...).
    :return: a dict of extra properties merged into the outgoing object, or None.
    """


@hookspec(firstresult=True)
def salon_federated_actor(name: str) -> dict[str, Any] | None:
    """Called by federation to find a plugin's actor named NAME (not a user), so a
    plugin can publish actors (a club as a ``Group``) under ``/actors/NAME``.

    :param name: the actor's preferred user name, as in ``acct:NAME@host``.
    :return: ``{"type", "preferredUsername", "name", "summary", "url"}`` (optionally
        ``"manuallyApprovesFollowers"``), or None if NAME is not yours (or an
        awaitable of those). Stops at first non-None result.
    """


@hookspec
def salon_follow_list(user: User, relation: str) -> list[dict[str, Any]] | None:
    """Called when a user's followers or following are listed or counted, to add
    entries the core's local follow table does not hold (remote actors).

    :param user: whose list it is.
    :param relation: ``"followers"`` or ``"following"``.
    :return: entries ``{"id": URI, "username": "name@host", "display_name", "url"}``
        (or an awaitable of that list), or None.
    """


@hookspec
def salon_profile_changed(user: User) -> Any:
    """Called after a user edited their profile (display name, bio) and it is stored.

    :param user: the user, as stored after the change.
    :return: nothing, or an awaitable that is awaited.
    """


@hookspec
def salon_account_deleted(user: User) -> Any:
    """Called after a user deleted their account and the deletion is stored (they left
    their rooms; their sessions, tokens and follows are gone; the profile is scrubbed
    and the username stays reserved), so plugins remove what they keep about them.

    :param user: the deleted account's tombstone (``deleted_at`` set).
    :return: nothing, or an awaitable that is awaited.
    """
