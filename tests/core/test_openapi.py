"""``GET /api/openapi.json`` against the application it describes: the same endpoints
both ways, bodies and answers with schemas, every ``$ref`` resolving."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from starlette.routing import Route

from tests.helpers import LiveServer

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
REF_PREFIX = "#/components/schemas/"


def get_document(server: LiveServer) -> dict[str, Any]:
    with server.client() as client:
        r = client.get("/api/openapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].removeprefix(REF_PREFIX)]
    return schema


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value anywhere under NODE."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def served_endpoints(server: LiveServer) -> set[tuple[str, str]]:
    """(path, METHOD) of every HTTP route the application serves under /api and /healthz."""
    served = set()
    for route in server.app.routes:
        if not isinstance(route, Route):  # WebSocketRoute, Mount
            continue
        if not (route.path_format.startswith("/api/") or route.path_format == "/healthz"):
            continue
        methods = set(route.methods or ())
        if "GET" in methods:
            methods.discard("HEAD")  # Starlette answers HEAD for every GET
        for method in methods:
            served.add((route.path_format, method))
    return served


def test_the_document_is_openapi_3(server: LiveServer) -> None:
    doc = get_document(server)
    assert isinstance(doc["openapi"], str) and re.fullmatch(r"3\.\d+\.\d+", doc["openapi"])
    assert doc["info"]["title"] == server.settings.instance.name
    assert isinstance(doc["info"]["version"], str) and doc["info"]["version"]
    assert isinstance(doc["paths"], dict) and doc["paths"]
    assert isinstance(doc["components"]["schemas"], dict)
    for path, item in doc["paths"].items():
        assert path.startswith("/"), path
        assert set(item) <= HTTP_METHODS | {"parameters", "summary", "description"}, item
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for path, method, op in operations(doc):
        assert isinstance(op.get("summary"), str) and op["summary"], (method, path)


def test_every_route_is_documented_and_every_documented_route_exists(server: LiveServer) -> None:
    documented = {(path, method.upper()) for path, method, _ in operations(get_document(server))}
    served = served_endpoints(server)
    assert ("/api/rooms", "POST") in served and ("/healthz", "GET") in served
    assert sorted(served - documented) == [], "served but not in /api/openapi.json"
    assert sorted(documented - served) == [], "in /api/openapi.json but not served"


def test_path_parameters_match_the_path(server: LiveServer) -> None:
    doc = get_document(server)
    for path, method, op in operations(doc):
        declared = [p for p in op.get("parameters", []) if p["in"] == "path"]
        assert sorted(p["name"] for p in declared) == sorted(re.findall(r"{(\w+)}", path)), (
            method,
            path,
        )
        for p in declared:
            assert p["required"] is True and "schema" in p, (method, path, p)


def test_every_write_with_a_body_documents_its_schema(server: LiveServer) -> None:
    doc = get_document(server)
    writes = 0
    for path, method, op in operations(doc):
        if method not in ("post", "patch", "put"):
            continue
        writes += 1
        assert "requestBody" in op, f"{method.upper()} {path} documents no request body"
        body = op["requestBody"]
        schema = body["content"]["application/json"]["schema"]
        resolved = resolve(schema, doc)
        assert resolved["type"] == "object", (method, path, resolved)
        assert isinstance(resolved.get("properties"), dict), (method, path, resolved)
        # Unknown fields are refused, so the schema says so.
        assert resolved.get("additionalProperties") is False, (method, path, resolved)
        required = resolved.get("required", [])
        assert set(required) <= set(resolved["properties"]), (method, path, required)
        assert body["required"] is bool(required), (method, path, body)
    assert writes > 10


def test_every_operation_documents_its_answers_with_schemas(server: LiveServer) -> None:
    doc = get_document(server)
    for path, method, op in operations(doc):
        where = f"{method.upper()} {path}"
        responses = op.get("responses")
        assert responses, f"{where} documents no responses"
        success = [s for s in responses if s.isdigit() and 200 <= int(s) < 300]
        assert len(success) == 1, f"{where}: success statuses {success}"
        error = responses.get("4XX")
        assert error is not None, f"{where} does not document its errors"
        error_schema = resolve(error["content"]["application/json"]["schema"], doc)
        assert set(error_schema["required"]) == {"error"}, where
        detail = resolve(error_schema["properties"]["error"], doc)
        assert set(detail["properties"]) == {"code", "message", "field"}, where
        for status, response in responses.items():
            assert isinstance(response.get("description"), str), (where, status)
            if status == "204":
                assert "content" not in response, f"{where}: a 204 has no body"
                continue
            content = response.get("content")
            assert content, f"{where}: {status} documents no body"
            schema = content["application/json"]["schema"]
            assert isinstance(schema, dict) and schema, (where, status)
            assert resolve(schema, doc), (where, status)


def test_every_ref_resolves(server: LiveServer) -> None:
    doc = get_document(server)
    schemas = doc["components"]["schemas"]
    found = list(refs(doc))
    assert found, "the document uses no $ref at all"
    for ref in found:
        assert ref.startswith(REF_PREFIX), ref
        assert ref.removeprefix(REF_PREFIX) in schemas, f"{ref} does not resolve"
    # Every schema a component refers to is itself complete.
    for name, schema in schemas.items():
        assert isinstance(schema, dict) and schema, name
        assert "type" in schema or "enum" in schema or "anyOf" in schema, (name, schema)
    # Every security requirement names a declared scheme.
    schemes = doc["components"]["securitySchemes"]
    for path, method, op in operations(doc):
        for requirement in op.get("security", []):
            assert set(requirement) <= set(schemes), (method, path, requirement)


def test_documented_security_matches_what_the_server_asks(server: LiveServer) -> None:
    """An operation documented with ``security`` answers an anonymous caller 401; one
    without lets them through (to whatever its own checks say)."""
    alice = server.signup("alice")
    room = alice.open_room()
    values = {"room_id": str(room["id"]), "username": "alice", "token_id": "1"}
    doc = get_document(server)
    with server.client() as anonymous:
        for path, method, op in operations(doc):
            url = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)
            content = b"{}" if "requestBody" in op else None
            r = anonymous.request(method.upper(), url, content=content)
            anonymous.cookies.clear()
            assert r.status_code < 500, (method, path, r.text)
            if op.get("security"):
                assert r.status_code == 401, (method, path, r.status_code, r.text)
            else:
                assert r.status_code != 401, (method, path, r.text)
