"""Salon's error tree and its mapping to HTTP statuses.

    SalonError                 500  (never raised directly)
    ├── BadRequest             400  malformed input
    │   └── ValidationFailed   422  well-formed input with a bad field
    ├── Unauthenticated        401  no or bad credentials
    ├── Forbidden              403  authenticated, but not allowed
    ├── NotFound               404  unknown id or name
    ├── Conflict               409  the state does not allow it (already a member, room ended)
    ├── PayloadTooLarge        413  body over the configured cap
    ├── Unavailable            503  a service it needs is not running (no audio transport)
    └── ConfigError                 bad configuration (the CLI exits 2)

Every error carries a machine-readable ``code``, a human ``message`` and, where one
field is to blame, its ``field``; ``to_json`` gives the body every 4xx uses.
"""

from __future__ import annotations

from typing import Any


class SalonError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class BadRequest(SalonError):
    status = 400
    code = "bad_request"


class ValidationFailed(BadRequest):
    status = 422
    code = "invalid"


class Unauthenticated(SalonError):
    status = 401
    code = "unauthenticated"


class Forbidden(SalonError):
    status = 403
    code = "forbidden"


class NotFound(SalonError):
    status = 404
    code = "not_found"


class Conflict(SalonError):
    status = 409
    code = "conflict"


class PayloadTooLarge(SalonError):
    status = 413
    code = "payload_too_large"


class Unavailable(SalonError):
    status = 503
    code = "unavailable"


class ConfigError(SalonError):
    """The configuration is invalid; the message names the key and what it expects."""

    code = "config_error"
