"""Signing and verifying server-to-server HTTP requests.

Two schemes, both accepted on the way in:

- RFC 9421 HTTP Message Signatures, through the ``http-message-signatures`` package:
  Salon signs ``@method``, ``@target-uri`` and, with a body, ``content-digest``
  (RFC 9530), with ``created`` and ``keyid`` (``rsa-v1_5-sha256``).
- draft-cavage-http-signatures-12 ``rsa-sha256`` over ``(request-target) host date
  digest``: what Mastodon signs and verifies. Salon falls back to it per remote host.

A malformed signature is a :class:`MalformedSignature` (400); one that parses but does
not verify, is stale or lacks a required component is a :class:`SignatureRejected`
(401). Checking who owns the key, and replays, is the inbox's part.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import http_sf
import httpx
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)

from .errors import MalformedSignature, SignatureRejected

RFC9421 = "rfc9421"
CAVAGE = "cavage"
SCHEMES = (RFC9421, CAVAGE)
LABEL = "sig1"

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass
class Message:
    """An HTTP request as the signature code sees it: the absolute URL the sender
    targeted, the headers and the raw body."""

    method: str
    url: str
    headers: httpx.Headers
    body: bytes = b""

    @classmethod
    def of(cls, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes) -> Message:
        return cls(method.upper(), url, httpx.Headers(list(headers)), body)


@dataclass(frozen=True)
class Claim:
    """A parsed, not yet verified, signature: its scheme and key id."""

    scheme: str
    key_id: str
    signature: bytes
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """Identifies this exact signature, for replay detection."""
        return hashlib.sha256(self.signature).hexdigest()


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, key_id: str, key: Any):
        self.key_id, self.key = key_id, key

    def resolve_public_key(self, key_id: str) -> Any:
        return self.key if key_id == self.key_id else None

    def resolve_private_key(self, key_id: str) -> Any:
        return self.key if key_id == self.key_id else None


def load_public_key(pem: str) -> PublicKey:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise SignatureRejected(f"the key is not a PEM public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise SignatureRejected("unsupported key type")
    return key


def digest_header(body: bytes) -> str:
    """The draft-cavage ``Digest`` header value (RFC 3230) of BODY."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


# -- signing ---------------------------------------------------------------------


def sign(
    scheme: str,
    message: Message,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime | None = None,
) -> None:
    """Add the signature headers of SCHEME to MESSAGE, in place."""
    now = now or datetime.now(UTC)
    if scheme == RFC9421:
        sign_rfc9421(message, key_id, private_key, now)
    elif scheme == CAVAGE:
        sign_cavage(message, key_id, private_key, now)
    else:
        raise ValueError(f"unknown signature scheme {scheme!r}")


def sign_rfc9421(
    message: Message, key_id: str, private_key: rsa.RSAPrivateKey, now: datetime
) -> None:
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=_OneKey(key_id, private_key)
    )
    has_body = message.method not in ("GET", "HEAD")
    signer.sign(
        message,
        key_id=key_id,
        created=now,
        label=LABEL,
        covered_component_ids=("@method", "@target-uri"),
        body=message.body if has_body else None,
    )


def _request_target(message: Message) -> str:
    parts = urlsplit(message.url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return f"{message.method.lower()} {path}"


def _host(message: Message) -> str:
    return message.headers.get("host") or urlsplit(message.url).netloc


def sign_cavage(
    message: Message, key_id: str, private_key: rsa.RSAPrivateKey, now: datetime
) -> None:
    message.headers["Host"] = _host(message)
    message.headers["Date"] = format_datetime(now.astimezone(UTC), usegmt=True)
    names = ["(request-target)", "host", "date"]
    if message.method not in ("GET", "HEAD"):
        message.headers["Digest"] = digest_header(message.body)
        names.append("digest")
    text = cavage_signing_string(message, names, {})
    signature = private_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    message.headers["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )


# -- parsing ---------------------------------------------------------------------

_CAVAGE_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|(-?\d+(?:\.\d+)?))\s*(?:,|$)')


def parse(message: Message) -> Claim:
    """The signature MESSAGE carries, parsed but not verified. An RFC 9421 signature is
    preferred when both are present."""
    if "signature-input" in message.headers:
        return _parse_rfc9421(message)
    raw = message.headers.get("signature")
    if raw is None:
        auth = message.headers.get("authorization", "")
        if auth.lower().startswith("signature "):
            raw = auth[len("signature ") :]
    if raw is None:
        raise SignatureRejected("the request is not signed")
    return _parse_cavage(raw)


def _parse_rfc9421(message: Message) -> Claim:
    try:
        inputs = http_sf.parse(message.headers["signature-input"].encode(), tltype="dictionary")
        values = http_sf.parse(message.headers.get("signature", "").encode(), tltype="dictionary")
    except Exception as exc:  # http_sf raises ValueError and others on bad syntax
        raise MalformedSignature(f"Signature-Input or Signature is malformed: {exc}") from None
    if len(inputs) != 1 or set(inputs) != set(values):
        raise MalformedSignature("expected exactly one signature, named alike in both headers")
    label = next(iter(inputs))
    (components, params), (value, _) = inputs[label], values[label]
    if not isinstance(components, list) or not isinstance(value, bytes):
        raise MalformedSignature("Signature-Input must be an inner list, Signature a byte sequence")
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise MalformedSignature("the signature has no keyid")
    return Claim(RFC9421, key_id, value, {"label": label, **params})


def _parse_cavage(raw: str) -> Claim:
    params: dict[str, Any] = {}
    pos = 0
    while pos < len(raw):
        match = _CAVAGE_PARAM.match(raw, pos)
        if match is None or match.end() == pos:
            raise MalformedSignature("the Signature header is malformed")
        name, text, number = match.groups()
        params[name] = text if text is not None else number
        pos = match.end()
    key_id, value = params.get("keyId"), params.get("signature")
    if not key_id or not value:
        raise MalformedSignature("the Signature header needs keyId and signature")
    try:
        signature = base64.b64decode(value, validate=True)
    except ValueError:
        raise MalformedSignature("the signature is not base64") from None
    return Claim(CAVAGE, key_id, signature, params)


# -- verifying -------------------------------------------------------------------


def verify(
    message: Message,
    claim: Claim,
    key: PublicKey,
    *,
    max_age: float,
    now: datetime | None = None,
    require: tuple[str, ...] | None = None,
) -> None:
    """Raise SignatureRejected unless CLAIM is a valid, fresh signature of MESSAGE by
    KEY covering the components Salon requires (or REQUIRE, when given)."""
    now = now or datetime.now(UTC)
    if claim.scheme == RFC9421:
        verify_rfc9421(message, claim, key, max_age=max_age, now=now, require=require)
    else:
        verify_cavage(message, claim, key, max_age=max_age, now=now, require=require)


def _rfc9421_algorithms(
    claim: Claim, key: PublicKey
) -> list[type[algorithms.HTTPSignatureAlgorithm]]:
    """The algorithms to try: the one ``alg`` names, else those the key type allows
    (an RSA key signs with PKCS#1 v1.5, Salon's choice, or PSS)."""
    alg = claim.params.get("alg")
    if isinstance(key, rsa.RSAPublicKey):
        choices = [algorithms.RSA_V1_5_SHA256, algorithms.RSA_PSS_SHA512]
    elif isinstance(key, ed25519.Ed25519PublicKey):
        choices = [algorithms.ED25519]
    else:
        choices = [algorithms.ECDSA_P256_SHA256]
    if alg is not None:
        choices = [c for c in choices if c.algorithm_id == alg]
        if not choices:
            raise SignatureRejected(f"the algorithm {alg!r} does not fit the key")
    return choices


def verify_rfc9421(
    message: Message,
    claim: Claim,
    key: PublicKey,
    *,
    max_age: float,
    now: datetime,
    require: tuple[str, ...] | None = None,
) -> None:
    has_body = message.method not in ("GET", "HEAD")
    if require is None:
        require = ("@method", "@target-uri", *(("content-digest",) if has_body else ()))
    created = claim.params.get("created")
    if max_age and (not isinstance(created, int) or now.timestamp() - created > max_age):
        raise SignatureRejected("the signature is missing `created` or is too old")
    problem: Exception | None = None
    for algorithm in _rfc9421_algorithms(claim, key):
        verifier = HTTPMessageVerifier(
            signature_algorithm=algorithm, key_resolver=_OneKey(claim.key_id, key)
        )
        # Future timestamps are allowed within the same window as past ones.
        verifier.max_clock_skew = timedelta(seconds=max_age or 36500 * 86400)
        verifier.require_created = bool(max_age)
        try:
            verifier.verify(
                message,
                max_age=None,
                require_components=require,
                # The body is checked against a Content-Digest the signature must cover.
                body=message.body if "content-digest" in require else None,
            )
            return
        except (InvalidSignature, HTTPMessageSignaturesException) as exc:
            problem = exc
    raise SignatureRejected(f"RFC 9421 signature rejected: {problem or 'it does not verify'}")


def cavage_signing_string(message: Message, names: list[str], params: dict[str, Any]) -> str:
    lines = []
    for name in names:
        if name == "(request-target)":
            value = _request_target(message)
        elif name in ("(created)", "(expires)"):
            value = str(params.get(name[1:-1], ""))
            if not value:
                raise SignatureRejected(f"{name} is covered but the parameter is missing")
        elif name == "host":
            value = _host(message)
        else:
            values = message.headers.get_list(name)
            if not values:
                raise SignatureRejected(f"the covered header {name!r} is missing")
            value = ", ".join(v.strip() for v in values)
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def verify_cavage(
    message: Message,
    claim: Claim,
    key: PublicKey,
    *,
    max_age: float,
    now: datetime,
    require: tuple[str, ...] | None = None,
) -> None:
    params = claim.params
    names = (params.get("headers") or "date").lower().split()
    has_body = message.method not in ("GET", "HEAD")
    if require is None:
        require = ("(request-target)", "host", "date", *(("digest",) if has_body else ()))
    missing = [n for n in require if n not in names]
    if missing:
        raise SignatureRejected(f"the signature does not cover {', '.join(missing)}")
    if max_age:
        _check_cavage_time(message, params, names, max_age, now)
    if "digest" in names or (has_body and "digest" in message.headers):
        _check_digest(message)
    text = cavage_signing_string(message, names, params).encode()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(claim.signature, text, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(claim.signature, text)
        else:
            key.verify(claim.signature, text, ec.ECDSA(hashes.SHA256()))
    except CryptoInvalidSignature:
        raise SignatureRejected("draft-cavage signature rejected: it does not verify") from None


def _check_cavage_time(
    message: Message, params: dict[str, Any], names: list[str], max_age: float, now: datetime
) -> None:
    if "(created)" in names:
        try:
            when = datetime.fromtimestamp(float(params["created"]), UTC)
        except (KeyError, ValueError):
            raise SignatureRejected("the `created` parameter is missing or not a number") from None
    elif "date" in names:
        try:
            when = parsedate_to_datetime(message.headers["date"])
        except (KeyError, TypeError, ValueError):
            raise SignatureRejected("the Date header is missing or malformed") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    else:
        raise SignatureRejected("the signature covers neither date nor (created)")
    if abs((now - when).total_seconds()) > max_age:
        raise SignatureRejected("the signature's date is not within the allowed window")


def _check_digest(message: Message) -> None:
    header = message.headers.get("digest")
    if header is None:
        raise SignatureRejected("the Digest header is missing")
    expected = hashlib.sha256(message.body).digest()
    for part in header.split(","):
        algo, _, value = part.strip().partition("=")
        if algo.lower() == "sha-256":
            try:
                if base64.b64decode(value) == expected:
                    return
            except ValueError:
                break
            raise SignatureRejected("the body does not match its Digest")
    raise SignatureRejected("the Digest header has no SHA-256 value matching the body")
