"""Federation's errors and their HTTP statuses.

FederationError             (base; never raised directly)
├── SignatureError
│   ├── MalformedSignature  400  the signature headers cannot be parsed
│   └── SignatureRejected   401  parsed, but not valid, fresh or trusted
├── InstanceBlocked         403  the remote instance is blocked
├── FetchError                   an outbound request failed
│   └── UnsafeAddress            the SSRF guard refused the address
└── BadActivity             400  the activity is not something Salon understands
"""

from __future__ import annotations


class FederationError(Exception):
    status = 500
    code = "federation_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SignatureError(FederationError):
    status = 401
    code = "bad_signature"


class MalformedSignature(SignatureError):
    status = 400
    code = "malformed_signature"


class SignatureRejected(SignatureError):
    status = 401
    code = "signature_rejected"


class InstanceBlocked(FederationError):
    status = 403
    code = "instance_blocked"


class FetchError(FederationError):
    status = 502
    code = "fetch_failed"


class UnsafeAddress(FetchError):
    code = "unsafe_address"


class BadActivity(FederationError):
    status = 400
    code = "bad_activity"
