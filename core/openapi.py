"""The OpenAPI 3.1 document, built from the routes' own declarations (core/api.py)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import __version__
from .schemas import ErrorOut

_PARAM = re.compile(r"{(\w+)}")


def build(routes: list[Any], title: str) -> dict[str, Any]:
    docs = [r.openapi for r in routes if hasattr(r, "openapi")]
    models: set[type[BaseModel]] = {ErrorOut}
    for doc in docs:
        models.update(m for m in (doc.body, doc.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    refs, schemas = models_json_schema(
        [(m, "validation" if m in {d.body for d in docs} else "serialization") for m in ordered],
        ref_template="#/components/schemas/{model}",
    )

    def ref(model: type[BaseModel], mode: str) -> dict[str, Any]:
        return (
            refs.get((model, mode))
            or refs[(model, "serialization" if mode == "validation" else "validation")]
        )

    error = {
        "description": "what is wrong, naming the field",
        "content": {"application/json": {"schema": ref(ErrorOut, "serialization")}},
    }
    paths: dict[str, dict[str, Any]] = {}
    for doc in docs:
        op: dict[str, Any] = {
            "summary": doc.summary,
            "operationId": _operation_id(doc.method, doc.path),
            "tags": doc.tags,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(doc.path)
            ]
            + [
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "description": text,
                    "schema": {"type": "string"},
                }
                for name, text in doc.query.items()
            ],
            "responses": {"4XX": error},
        }
        if doc.body is not None:
            op["requestBody"] = {
                "required": bool(doc.body.model_fields)
                and any(f.is_required() for f in doc.body.model_fields.values()),
                "content": {"application/json": {"schema": ref(doc.body, "validation")}},
            }
        if doc.response is not None:
            op["responses"][str(doc.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": ref(doc.response, "serialization")}},
            }
        elif doc.status == 204:
            op["responses"][str(doc.status)] = {"description": "done"}
        elif doc.media_type != "application/json":  # e.g. an iCalendar feed
            op["responses"][str(doc.status)] = {
                "description": "OK",
                "content": {doc.media_type: {"schema": {"type": "string"}}},
            }
        else:  # a JSON answer without a declared model (this document itself)
            op["responses"][str(doc.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        if doc.auth:
            op["security"] = [{"bearer": []}, {"session": []}]
        paths.setdefault(doc.path, {})[doc.method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "salon_session"},
            },
        },
    }


def _operation_id(method: str, path: str) -> str:
    cleaned = path.strip("/").replace("{", "").replace("}", "").replace("-", "_")
    return f"{method}_{cleaned.replace('/', '_').replace('.', '_')}"
