"""The moderation API under ``/api/moderation/``: thin handlers over
:class:`~salon.plugins.moderation.service.Moderation`.

Reports and blocks are for every signed-in user; everything else is the console's and
asks ``moderation.console`` (moderators) or ``moderation.admin`` (admins) first.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from salon.core.api import endpoint, no_content, ok, read_json
from salon.core.auth import require_user
from salon.core.errors import NotFound, ValidationFailed
from salon.core.models import User
from salon.core.schemas import EmptyBody

from .rules import ADMIN, CONSOLE
from .schemas import (
    AuditLog,
    BlockList,
    BlockMade,
    ContentRulesOut,
    InstanceBody,
    InstanceList,
    InstanceOut,
    ModeratorList,
    ReasonBody,
    Reasons,
    ReportBody,
    ReportFiled,
    ReportList,
    ReportOut,
    SuspendBody,
    SuspensionList,
    SuspensionMade,
    TriageBody,
    UsernameBody,
)
from .service import Moderation

BASE = "/api/moderation"
TAG = "moderation"


def _service(request: Request) -> Moderation:
    return request.app.state.moderation


async def _moderator(request: Request) -> User:
    user = await require_user(request)
    await request.app.state.permissions.check(user, CONSOLE)
    return user


async def _admin(request: Request) -> User:
    user = await require_user(request)
    await request.app.state.permissions.check(user, ADMIN)
    return user


def _int(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not raw.isdigit() or len(raw) > 10 or int(raw) > 2**31 - 1:
        raise NotFound(f"{name} must be a positive integer id, got {raw!r}", field=name)
    return int(raw)


# -- every signed-in user ------------------------------------------------------------


@endpoint(
    "GET", f"{BASE}/reasons", summary="The reasons a report can give", response=Reasons, tag=TAG
)
async def get_reasons(request: Request) -> Response:
    await require_user(request)
    return ok({"reasons": _service(request).settings.report_reasons})


@endpoint(
    "POST",
    f"{BASE}/reports",
    summary="Report a user, a room or a club",
    body=ReportBody,
    response=ReportFiled,
    status=201,
    tag=TAG,
)
async def file_report(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, ReportBody)
    filed = await _service(request).report_desk.file(
        user,
        kind=body.kind,
        reason=body.reason,
        text=body.text,
        username=body.username,
        room_id=body.room_id,
        club_id=body.club_id,
    )
    return ok(filed, 201)


@endpoint("GET", f"{BASE}/blocks", summary="Whom I blocked", response=BlockList, tag=TAG)
async def list_blocks(request: Request) -> Response:
    user = await require_user(request)
    return ok({"blocks": await _service(request).blocks_of(user)})


@endpoint(
    "POST",
    f"{BASE}/blocks",
    summary="Block a user",
    body=UsernameBody,
    response=BlockMade,
    status=201,
    tag=TAG,
)
async def block_user(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, UsernameBody)
    service = _service(request)
    return ok(await service.block(user, await service.user_named(body.username)), 201)


@endpoint("DELETE", f"{BASE}/blocks/{{username}}", summary="Unblock a user", status=204, tag=TAG)
async def unblock_user(request: Request) -> Response:
    user = await require_user(request)
    service = _service(request)
    await service.unblock(user, await service.user_named(request.path_params["username"]))
    return no_content()


# -- the console: moderators ----------------------------------------------------------


@endpoint(
    "GET",
    f"{BASE}/reports",
    summary="Reports, newest first (moderators)",
    response=ReportList,
    tag=TAG,
    query={"state": "open, resolved or dismissed; all when omitted"},
)
async def list_reports(request: Request) -> Response:
    await _moderator(request)
    state = request.query_params.get("state") or None
    if state not in (None, "open", "resolved", "dismissed"):
        raise ValidationFailed("state must be open, resolved or dismissed", field="state")
    return ok({"reports": await _service(request).report_desk.listing(state)})


@endpoint(
    "GET",
    f"{BASE}/reports/{{report_id}}",
    summary="One report with its context (moderators)",
    response=ReportOut,
    tag=TAG,
)
async def get_report(request: Request) -> Response:
    await _moderator(request)
    return ok(await _service(request).report_desk.get(_int(request, "report_id")))


@endpoint(
    "POST",
    f"{BASE}/reports/{{report_id}}/triage",
    summary="Resolve (with the action taken) or dismiss a report (moderators)",
    body=TriageBody,
    response=ReportOut,
    tag=TAG,
)
async def triage_report(request: Request) -> Response:
    user = await _moderator(request)
    report_id = _int(request, "report_id")
    body = await read_json(request, TriageBody)
    return ok(
        await _service(request).report_desk.triage(
            user, report_id, body.state, body.action, body.note
        )
    )


@endpoint(
    "GET",
    f"{BASE}/suspensions",
    summary="Suspensions in force (moderators)",
    response=SuspensionList,
    tag=TAG,
)
async def list_suspensions(request: Request) -> Response:
    await _moderator(request)
    return ok({"suspensions": await _service(request).active_suspensions()})


@endpoint(
    "POST",
    f"{BASE}/suspensions",
    summary="Suspend an account, permanently or until an expiry (moderators)",
    body=SuspendBody,
    response=SuspensionMade,
    status=201,
    tag=TAG,
)
async def suspend(request: Request) -> Response:
    user = await _moderator(request)
    body = await read_json(request, SuspendBody)
    service = _service(request)
    target = await service.user_named(body.username)
    return ok(await service.suspend(user, target, body.reason, body.expiry()), 201)


@endpoint(
    "POST",
    f"{BASE}/suspensions/{{username}}/lift",
    summary="Lift an account's suspension (moderators)",
    body=ReasonBody,
    status=204,
    tag=TAG,
)
async def unsuspend(request: Request) -> Response:
    user = await _moderator(request)
    body = await read_json(request, ReasonBody)
    service = _service(request)
    await service.unsuspend(
        user, await service.user_named(request.path_params["username"]), body.reason
    )
    return no_content()


@endpoint(
    "GET",
    f"{BASE}/instances",
    summary="Blocked remote instances (moderators)",
    response=InstanceList,
    tag=TAG,
)
async def list_instances(request: Request) -> Response:
    await _moderator(request)
    return ok({"instances": await _service(request).instance_list()})


@endpoint(
    "POST",
    f"{BASE}/instances",
    summary="Block a remote instance (moderators)",
    body=InstanceBody,
    response=InstanceOut,
    status=201,
    tag=TAG,
)
async def block_instance(request: Request) -> Response:
    user = await _moderator(request)
    body = await read_json(request, InstanceBody)
    return ok(await _service(request).block_instance(user, body.domain, body.reason), 201)


@endpoint(
    "DELETE",
    f"{BASE}/instances/{{domain}}",
    summary="Unblock a remote instance (moderators)",
    status=204,
    tag=TAG,
)
async def unblock_instance(request: Request) -> Response:
    user = await _moderator(request)
    await _service(request).unblock_instance(user, request.path_params["domain"], "")
    return no_content()


@endpoint(
    "GET",
    f"{BASE}/audit",
    summary="The audit log, newest first (moderators)",
    response=AuditLog,
    tag=TAG,
    query={"before": "only entries with a smaller id (paging)"},
)
async def audit_log(request: Request) -> Response:
    await _moderator(request)
    before = request.query_params.get("before")
    if before is not None and not (before.isdigit() and len(before) <= 10):
        raise ValidationFailed("before must be an entry id", field="before")
    return ok({"entries": await _service(request).audit_log(int(before) if before else None)})


@endpoint(
    "GET",
    f"{BASE}/content-rules",
    summary="The word list and patterns in force (moderators)",
    response=ContentRulesOut,
    tag=TAG,
)
async def content_rules(request: Request) -> Response:
    await _moderator(request)
    return ok(_service(request).rules_json())


@endpoint(
    "POST",
    f"{BASE}/content-rules/reload",
    summary="Read the content rules again from the config file (moderators)",
    body=EmptyBody,
    response=ContentRulesOut,
    tag=TAG,
)
async def reload_content_rules(request: Request) -> Response:
    user = await _moderator(request)
    await read_json(request, EmptyBody)
    return ok(await _service(request).reload_rules(user))


@endpoint(
    "GET",
    f"{BASE}/moderators",
    summary="The instance's moderators (moderators)",
    response=ModeratorList,
    tag=TAG,
)
async def list_moderators(request: Request) -> Response:
    await _moderator(request)
    return ok({"moderators": await _service(request).moderator_list()})


@endpoint(
    "POST",
    f"{BASE}/moderators",
    summary="Make a user a moderator (admins)",
    body=UsernameBody,
    status=204,
    tag=TAG,
)
async def grant_moderator(request: Request) -> Response:
    admin = await _admin(request)
    body = await read_json(request, UsernameBody)
    service = _service(request)
    await service.grant(admin, await service.user_named(body.username))
    return no_content()


@endpoint(
    "DELETE",
    f"{BASE}/moderators/{{username}}",
    summary="Take a user's moderator role away (admins)",
    status=204,
    tag=TAG,
)
async def revoke_moderator(request: Request) -> Response:
    admin = await _admin(request)
    service = _service(request)
    await service.revoke(admin, await service.user_named(request.path_params["username"]))
    return no_content()


USER_ROUTES = [get_reasons, file_report, list_blocks, block_user, unblock_user]
CONSOLE_ROUTES = [
    list_reports,
    get_report,
    triage_report,
    list_suspensions,
    suspend,
    unsuspend,
    list_instances,
    block_instance,
    unblock_instance,
    audit_log,
    content_rules,
    reload_content_rules,
    list_moderators,
    grant_moderator,
    revoke_moderator,
]
routes = [*USER_ROUTES, *CONSOLE_ROUTES]
