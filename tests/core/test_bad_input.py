"""Bad input to every write endpoint the OpenAPI document lists, over real HTTP.

The endpoints, their path parameters and their body schemas are read from
``GET /api/openapi.json``, so a new endpoint is covered here as soon as it is declared.
Every answer must be a 4xx with the JSON error body ``{"error": {"code", "message",
"field"}}`` naming the field to blame, never a 5xx.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.helpers import PASSWORD, Api, LiveServer

MAX_BODY = 2048
WRITE_METHODS = ("post", "patch", "delete")
UNEXPECTED = "unexpected_field"
ANY = object()  # an expectation that accepts any value

MALFORMED_JSON = [
    b"{not json",
    b'{"title": "unterminated',
    b"{'single': 'quotes'}",
    b'{"a": 1,}',
    b"\xff\xfe\x00{",
    b"title=x&user_id=1",
    b"[" * 1020 + b"]" * 1020,  # nested deeper than the parser's recursion limit
    b"{" * 2000,
]
NOT_AN_OBJECT = [b"[]", b'[{"title": "x"}]', b'"text"', b"42", b"-1.5", b"null", b"true"]
# Path values that name nothing: unknown, malformed, or past any column's range.
UNKNOWN_PATH_VALUES = [
    "999999",
    "abc",
    "-1",
    "1.5",
    "0",
    "1e3",
    "2147483648",
    "99999999999999999999",
    "%00",
]

# One value of each JSON type, to send where the schema accepts another.
SAMPLES: dict[str, Any] = {
    "string": "text",
    "integer": 12345,
    "number": 1.5,
    "boolean": True,
    "array": ["x"],
    "object": {"k": "v"},
}


@dataclass
class Operation:
    method: str
    path: str
    params: list[str]
    auth: bool
    body: dict[str, Any] | None  # the resolved request schema, or None without a body

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def fields(self) -> dict[str, Any]:
        return (self.body or {}).get("properties", {})

    @property
    def required(self) -> list[str]:
        return (self.body or {}).get("required", [])


@dataclass
class World:
    """A running instance with a signed-in user, a live room and the API's write endpoints."""

    server: LiveServer
    api: Api
    path_values: dict[str, str]
    field_values: dict[str, Any]
    operations: list[Operation]
    schemas: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    def url(self, op: Operation, **override: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in override:
                return override[name]
            assert name in self.path_values, (
                f"{op}: test_bad_input.py has no real value for the path parameter {{{name}}}; "
                "add one to path_values in the world fixture"
            )
            return self.path_values[name]

        return re.sub(r"{(\w+)}", value, op.path)


@pytest.fixture
def world(make_server: Callable[..., LiveServer]) -> Iterator[World]:
    server = make_server(instance={"max_body_bytes": MAX_BODY})
    api = server.signup("alice")
    with server.client() as anonymous:
        r = anonymous.post("/api/auth/signup", json={"username": "bob", "password": PASSWORD})
        assert r.status_code == 201, r.text
        bob = r.json()
    room = api.open_room("A live room")
    assert room["state"] == "live"
    (session,) = [t for t in api.get("/api/tokens").json()["tokens"] if t["kind"] == "session"]
    doc = api.get("/api/openapi.json").json()
    schemas = doc["components"]["schemas"]
    operations = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in WRITE_METHODS:
                continue
            body = None
            if "requestBody" in op:
                body = resolve(op["requestBody"]["content"]["application/json"]["schema"], schemas)
            operations.append(
                Operation(
                    method=method,
                    path=path,
                    params=re.findall(r"{(\w+)}", path),
                    auth=bool(op.get("security")),
                    body=body,
                )
            )
    # Sanity: the document lists the write endpoints this file is known to need.
    listed = {str(op) for op in operations}
    assert {"POST /api/rooms", "PATCH /api/me", "POST /api/auth/signup"} <= listed, listed
    assert any(op.body is not None for op in operations)
    assert any(op.params for op in operations)
    yield World(
        server=server,
        api=api,
        path_values={"room_id": str(room["id"]), "username": "bob", "token_id": str(session["id"])},
        field_values={"user_id": bob["id"]},
        operations=operations,
        schemas=schemas,
    )
    api.http.close()


# -- reading schemas ----------------------------------------------------------------


def resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def alternatives(prop: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null schemas a property accepts (``X | None`` is an anyOf with null)."""
    options = prop.get("anyOf") or prop.get("oneOf") or [prop]
    resolved = [resolve(o, schemas) for o in options]
    return [o for o in resolved if o.get("type") != "null"]


def valid_value(world: World, name: str, prop: dict[str, Any]) -> Any:
    if name in world.field_values:
        return world.field_values[name]
    schema = alternatives(prop, world.schemas)[0]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date-time":
            return "2031-01-01T12:00:00+00:00"
        text = "abcdefgh" * (1 + schema.get("minLength", 0) // 8)
        return text[: schema.get("maxLength", len(text))]
    if kind == "integer":
        return max(1, schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    raise AssertionError(f"test_bad_input.py does not know how to fill {name}: {prop}")


def base_body(world: World, op: Operation) -> dict[str, Any]:
    """A body with every required field valid: changing one field makes it that field's fault."""
    return {n: valid_value(world, n, p) for n, p in op.fields.items() if n in op.required}


def wrong_values(prop: dict[str, Any], schemas: dict[str, Any]) -> list[Any]:
    """Values of every JSON type the property does not accept, and well-typed ones its
    format or enum refuses."""
    options = alternatives(prop, schemas)
    accepted = {o.get("type") for o in options}
    if "number" in accepted:
        accepted.add("integer")
    wrong = [value for kind, value in SAMPLES.items() if kind not in accepted]
    for o in options:
        if "enum" in o:
            wrong.append("no_such_choice")
        if o.get("format") == "date-time":
            wrong.extend(["not a date", "2031-13-45T99:00:00+00:00"])
    return wrong


def out_of_range_values(prop: dict[str, Any], schemas: dict[str, Any]) -> list[Any]:
    """Well-typed values just past the property's documented limits, and extremes."""
    values: list[Any] = []
    for o in alternatives(prop, schemas):
        if o.get("type") == "string" and "enum" not in o and o.get("format") is None:
            if "maxLength" in o:
                values.append("x" * (o["maxLength"] + 1))
            if o.get("minLength", 0) > 0:
                values.append("x" * (o["minLength"] - 1))
            values.append("nul\x00inside")
        if o.get("type") == "integer":
            if "maximum" in o:
                values.append(o["maximum"] + 1)
            if "exclusiveMinimum" in o:
                values.append(o["exclusiveMinimum"])
            if "minimum" in o:
                values.append(o["minimum"] - 1)
            values.extend([2**63, 10**30, -(2**63) - 1])
    return values


# -- sending and checking ------------------------------------------------------------


def send(
    world: World,
    client: httpx.Client,
    op: Operation,
    url: str,
    *,
    content: bytes | Iterator[bytes] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response | None:
    """Send one request with CLIENT's Bearer token (or none); a dropped connection is
    recorded as a problem."""
    if body is not None:
        content = httpx.Request("POST", "/", json=body).content
        headers = {"content-type": "application/json", **(headers or {})}
    try:
        return client.request(op.method.upper(), url, content=content, headers=headers)
    except httpx.TransportError as exc:
        world.problems.append(f"{op} {url}: the connection failed: {exc!r}")
        return None
    finally:
        # A request that wrongly succeeded may have set a session cookie; keep each
        # request's credential the one it was sent with.
        client.cookies.clear()


def expect(
    world: World,
    what: str,
    r: httpx.Response | None,
    status: int,
    *,
    code: str | None = None,
    field: Any = ANY,
) -> None:
    """Record a problem unless R is a JSON error with STATUS (and CODE and FIELD)."""
    if r is None:
        return
    where = f"{what}: {r.request.method} {r.request.url.raw_path.decode()}"
    problem = None
    try:
        data = r.json()
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if r.status_code >= 500:
        problem = f"server error {r.status_code}"
    elif r.status_code != status:
        problem = f"status {r.status_code}, expected {status}"
    elif not r.headers.get("content-type", "").startswith("application/json"):
        problem = f"content-type {r.headers.get('content-type')!r}, expected JSON"
    elif set(data or {}) != {"error"} or not isinstance(error, dict):
        problem = "the body is not {'error': {...}}"
    elif set(error) != {"code", "message", "field"}:
        problem = f"the error has keys {sorted(error)}, expected code, message, field"
    elif not (isinstance(error["code"], str) and error["code"]):
        problem = "the error has no code"
    elif not (isinstance(error["message"], str) and error["message"]):
        problem = "the error has no message"
    elif not (error["field"] is None or isinstance(error["field"], str)):
        problem = f"the error's field is {error['field']!r}"
    elif code is not None and error["code"] != code:
        problem = f"code {error['code']!r}, expected {code!r}"
    elif field is not ANY and error["field"] != field:
        problem = f"field {error['field']!r}, expected {field!r}"
    if problem is not None:
        world.problems.append(f"{where}: {problem}; body {r.text[:200]!r}")
        if r.status_code >= 500:
            # The server drops the connection after a 500: start a fresh one.
            world.api.http.close()
            world.api.http = world.server.client(world.api.token)


def assert_no_problems(world: World) -> None:
    assert not world.problems, f"{len(world.problems)} problems:\n" + "\n".join(world.problems)


def body_operations(world: World) -> list[Operation]:
    ops = [op for op in world.operations if op.body is not None]
    assert ops, "no write endpoint documents a request body"
    return ops


# -- the tests ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["malformed", "not_an_object"])
def test_bodies_that_are_not_json_objects(world: World, kind: str) -> None:
    bodies = MALFORMED_JSON if kind == "malformed" else NOT_AN_OBJECT
    for op in body_operations(world):
        for raw in bodies:
            r = send(
                world,
                world.api.http,
                op,
                world.url(op),
                content=raw,
                headers={"content-type": "application/json"},
            )
            expect(world, f"{kind} {raw[:20]!r}", r, 400, code="malformed_json", field=None)
    assert_no_problems(world)


def stored_state(world: World) -> dict[str, Any]:
    """What bad input must leave alone: my profile, the room, my credentials, the users."""
    with world.server.client(world.api.token) as client:
        tokens = client.get("/api/tokens").json()["tokens"]
        return {
            "me": client.get("/api/me").json(),
            "room": client.get(f"/api/rooms/{world.path_values['room_id']}").json(),
            "tokens": [t["id"] for t in tokens],
            "hallway": [r["id"] for r in client.get("/api/hallway").json()["rooms"]],
            "bob": client.get("/api/users/bob").json(),
            # The sign-up bodies' username: no account may have been made with it.
            "signed_up": client.get("/api/users/abcdefgh").status_code,
        }


def test_fields_of_the_wrong_type(world: World) -> None:
    before = stored_state(world)
    checked = 0
    for op in body_operations(world):
        base = base_body(world, op)
        for name, prop in op.fields.items():
            for value in wrong_values(prop, world.schemas):
                r = send(world, world.api.http, op, world.url(op), body={**base, name: value})
                expect(world, f"{name}={value!r}", r, 422, field=name)
                checked += 1
    assert checked > 0
    assert_no_problems(world)
    assert stored_state(world) == before


def test_fields_out_of_range(world: World) -> None:
    before = stored_state(world)
    checked = 0
    for op in body_operations(world):
        base = base_body(world, op)
        for name, prop in op.fields.items():
            for value in out_of_range_values(prop, world.schemas):
                r = send(world, world.api.http, op, world.url(op), body={**base, name: value})
                expect(world, f"{name}={str(value)[:20]!r}", r, 422, field=name)
                checked += 1
    assert checked > 0
    assert_no_problems(world)
    assert stored_state(world) == before


def test_missing_required_fields(world: World) -> None:
    checked = 0
    for op in body_operations(world):
        base = base_body(world, op)
        for name in op.required:
            rest = {k: v for k, v in base.items() if k != name}
            r = send(world, world.api.http, op, world.url(op), body=rest)
            expect(world, f"without {name}", r, 422, field=name)
            checked += 1
    assert checked > 0
    assert_no_problems(world)


def test_unknown_fields(world: World) -> None:
    before = stored_state(world)
    for op in body_operations(world):
        body = {**base_body(world, op), UNEXPECTED: 1}
        r = send(world, world.api.http, op, world.url(op), body=body)
        expect(world, "an unknown field", r, 422, field=UNEXPECTED)
    assert_no_problems(world)
    assert stored_state(world) == before


def test_oversized_bodies(world: World) -> None:
    filler = b'{"padding": "' + b"x" * MAX_BODY + b'"}'
    for op in body_operations(world):
        url = world.url(op)
        r = send(world, world.api.http, op, url, content=filler)
        expect(world, "over the cap, with a length", r, 413, code="payload_too_large")
        # Without a Content-Length (chunked), the cap holds while reading.
        r = send(world, world.api.http, op, url, content=iter([filler[:1000]] * 3))
        expect(world, "over the cap, chunked", r, 413, code="payload_too_large")
    assert_no_problems(world)


def test_unknown_and_malformed_path_values(world: World) -> None:
    ops = [op for op in world.operations if op.params]
    assert ops
    for op in ops:
        base = base_body(world, op)
        for name in op.params:
            for value in UNKNOWN_PATH_VALUES:
                url = world.url(op, **{name: value})
                r = send(world, world.api.http, op, url, body=base if op.body else None)
                expect(world, f"{{{name}}}={value}", r, 404, code="not_found", field=name)
    assert_no_problems(world)


def test_writes_without_credentials_are_401(world: World) -> None:
    ops = [op for op in world.operations if op.auth]
    assert ops
    before = stored_state(world)
    for token in (None, "not-a-real-token"):
        with world.server.client(token) as client:
            for op in ops:
                r = send(world, client, op, world.url(op), body=base_body(world, op))
                expect(world, f"token {token}", r, 401, code="unauthenticated")
    assert_no_problems(world)
    assert stored_state(world) == before
