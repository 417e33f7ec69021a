"""The core's bad-input checks, run against every clubs write endpoint: the endpoints,
path parameters and body schemas come from the OpenAPI document, so each new clubs
endpoint is covered as soon as it is declared. Never a 5xx; always a 4xx naming the
field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from tests.core.test_bad_input import (  # noqa: F401  (collected here, with this world)
    MAX_BODY,
    WRITE_METHODS,
    Operation,
    World,
    resolve,
    test_bodies_that_are_not_json_objects,
    test_fields_of_the_wrong_type,
    test_fields_out_of_range,
    test_missing_required_fields,
    test_oversized_bodies,
    test_unknown_and_malformed_path_values,
    test_unknown_fields,
    test_writes_without_credentials_are_401,
)
from tests.helpers import LiveServer

from .conftest import make_club, person


@pytest.fixture
def world(clubs_on: Callable[..., LiveServer], sqlite_url: str) -> Iterator[World]:
    """An instance with clubs on (SQLite: NUL and other text PostgreSQL refuses never
    gets past validation, which test_clubs checks on both), alice admin of "jazz" with
    a live club room, bob a member; the operations are the clubs write endpoints."""
    server = clubs_on(sqlite_url, instance={"max_body_bytes": MAX_BODY})
    alice, bob = person(server, "alice"), person(server, "bob")
    make_club(alice, "Jazz", handle="jazz")
    assert bob.post("/api/clubs/jazz/join").status_code == 200
    room = alice.post("/api/clubs/jazz/rooms", {"title": "Jam"}).json()
    doc = alice.get("/api/openapi.json").json()
    schemas = doc["components"]["schemas"]
    operations = []
    for path, item in doc["paths"].items():
        if not path.startswith("/api/clubs"):
            continue
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
    assert len(operations) == 14, [str(op) for op in operations]
    yield World(
        server=server,
        api=alice,
        path_values={"handle": "jazz", "username": "bob", "room_id": str(room["id"])},
        field_values={},
        operations=operations,
        schemas=schemas,
    )
    alice.http.close()
