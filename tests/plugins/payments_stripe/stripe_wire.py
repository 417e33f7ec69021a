"""Stripe's wire format for the local Stripe server: form-encoded parameters and
the error envelope ``{"error": {"type", "message", "code", "param", ...}}``."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **extra}}


def not_found(kind: str, ident: str, param: str = "id") -> StripeError:
    return StripeError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{ident}'",
        code="resource_missing",
        param=param,
    )


def nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0]=v``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def lists(value: Any) -> Any:
        if isinstance(value, dict):
            if value and all(k.isdigit() for k in value):
                return [lists(value[k]) for k in sorted(value, key=int)]
            return {k: lists(v) for k, v in value.items()}
        return value

    return lists(root)


def as_int(params: dict[str, Any], name: str) -> int:
    raw = params.get(name)
    if raw is None or not str(raw).lstrip("-").isdigit():
        raise StripeError(400, "invalid_request_error", f"Invalid integer: {raw}", param=name)
    return int(raw)
