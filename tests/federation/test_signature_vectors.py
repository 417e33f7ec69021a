"""Published test vectors: RFC 9421 Appendix B.2 (with the RFC's test keys from
Appendix B.1) and draft-cavage-http-signatures-12 Appendix C; and Salon's own
outgoing signatures checked by an independent verifier."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, algorithms

from salon.federation import signatures as sig
from salon.federation.errors import SignatureRejected
from salon.federation.signatures import Message

from .helpers import OneKey

VECTORS = Path(__file__).parent / "vectors"


def pem(name: str):
    return serialization.load_pem_public_key((VECTORS / name).read_bytes())


# -- RFC 9421 Appendix B.2 -----------------------------------------------------------
# The test request of Appendix B.2 (the body is {"hello": "world"}).


def rfc_request(signature_input: str, signature: str) -> Message:
    return Message.of(
        "POST",
        "https://example.com/foo?param=Value&Pet=dog",
        [
            ("Host", "example.com"),
            ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("Content-Type", "application/json"),
            (
                "Content-Digest",
                "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyea"
                "ldVLvRwEmTHWXvJwew==:",
            ),
            ("Content-Length", "18"),
            ("Signature-Input", signature_input),
            ("Signature", signature),
        ],
        b'{"hello": "world"}',
    )


B21 = (
    'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
    "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++w"
    "gGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rg"
    "FWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVP"
    "nP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:",
)
B22 = (
    'sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473'
    ';keyid="test-key-rsa-pss";tag="header-example"',
    "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjv"
    "uJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17S"
    "ARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5r"
    "SV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:",
)
B23 = (
    'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" '
    '"content-length");created=1618884473;keyid="test-key-rsa-pss"',
    "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683"
    "+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1"
    "pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZ"
    "H896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:",
)
B26 = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"',
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
)


@pytest.mark.parametrize(
    ("vector", "key"),
    [
        (B21, "test-key-rsa-pss.pem"),
        (B22, "test-key-rsa-pss.pem"),
        (B23, "test-key-rsa-pss.pem"),
        (B26, "test-key-ed25519.pem"),
    ],
    ids=["B.2.1", "B.2.2", "B.2.3", "B.2.6"],
)
def test_rfc9421_request_vectors_verify_with_salon(vector: tuple[str, str], key: str) -> None:
    """Salon's verifier accepts the RFC's signed requests (the policy's required
    components and freshness set aside: the examples cover other components and date
    from 2021), and refuses each one with a byte of the signature changed."""
    message = rfc_request(*vector)
    claim = sig.parse(message)
    assert claim.scheme == sig.RFC9421 and claim.key_id == key.removesuffix(".pem")
    sig.verify(message, claim, pem(key), max_age=0, require=())
    tampered = rfc_request(vector[0], vector[1].replace(":", ":A", 1).replace("=:A", "=:B", 1))
    with pytest.raises(SignatureRejected):
        sig.verify(tampered, sig.parse(tampered), pem(key), max_age=0, require=())
    # A changed covered component breaks it too (B.2.1 covers nothing, by design).
    if vector is not B21:
        changed = rfc_request(*vector)
        changed.headers["Content-Length"] = "19"
        changed.headers["Content-Digest"] = "sha-512=:AAAA:"
        changed.url = "https://example.org/foo?param=Value&Pet=cat"
        changed.headers["Date"] = "Tue, 20 Apr 2021 02:07:56 GMT"
        with pytest.raises(SignatureRejected):
            sig.verify(changed, sig.parse(changed), pem(key), max_age=0, require=())


def test_rfc9421_b26_is_reproduced_exactly() -> None:
    """Ed25519 is deterministic: signing the B.2.6 base with the RFC's key gives the
    RFC's signature byte for byte."""
    private = serialization.load_pem_private_key(
        (VECTORS / "test-key-ed25519.key").read_bytes(), password=None
    )
    message = rfc_request("x=()", "x=:AA==:")
    del message.headers["Signature-Input"]
    del message.headers["Signature"]
    HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=OneKey("test-key-ed25519", private)
    ).sign(
        message,
        key_id="test-key-ed25519",
        created=datetime.fromtimestamp(1618884473, UTC),
        label="sig-b26",
        include_alg=False,
        use_existing_digest=True,
        covered_component_ids=(
            "date",
            "@method",
            "@path",
            "@authority",
            "content-type",
            "content-length",
        ),
    )
    assert (message.headers["Signature-Input"], message.headers["Signature"]) == B26


class Response:
    """The RFC's test response (Appendix B.2), in the shape the verifier reads."""

    def __init__(self, signature_input: str, signature: str):
        self.status_code = 200
        self.request = None
        self.headers = {
            "Date": "Tue, 20 Apr 2021 02:07:56 GMT",
            "Content-Type": "application/json",
            "Content-Digest": (
                "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWd"
                "XymyU0rjJuahq4l5aGgfLQ==:"
            ),
            "Content-Length": "23",
            "Signature-Input": signature_input,
            "Signature": signature,
        }


def test_rfc9421_b24_response_vector() -> None:
    """B.2.4: a response signed with ECDSA P-256 (verified with the package's verifier)."""
    response = Response(
        'sig-b24=("@status" "content-type" "content-digest" "content-length");'
        'created=1618884473;keyid="test-key-ecc-p256"',
        "sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:",
    )
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ECDSA_P256_SHA256,
        key_resolver=OneKey("test-key-ecc-p256", pem("test-key-ecc-p256.pem")),
    )
    (result,) = verifier.verify(response, max_age=None)
    assert result.label == "sig-b24"


def test_rfc9421_b25_hmac_vector() -> None:
    """B.2.5: HMAC-SHA256 with the RFC's shared secret, reproduced exactly."""
    secret = base64.b64decode(
        "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
    )
    message = rfc_request("x=()", "x=:AA==:")
    del message.headers["Signature-Input"]
    del message.headers["Signature"]
    HTTPMessageSigner(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=OneKey("test-shared-secret", secret),
    ).sign(
        message,
        key_id="test-shared-secret",
        created=datetime.fromtimestamp(1618884473, UTC),
        label="sig-b25",
        include_alg=False,
        use_existing_digest=True,
        covered_component_ids=("date", "@authority", "content-type"),
    )
    assert message.headers["Signature-Input"] == (
        'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"'
    )
    assert message.headers["Signature"] == "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:"


# -- draft-cavage-http-signatures-12 Appendix C ---------------------------------------

CAVAGE_NOW = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)


def cavage_request(signature: str) -> Message:
    return Message.of(
        "POST",
        "http://example.com/foo?param=value&pet=dog",
        [
            ("Host", "example.com"),
            ("Date", "Sun, 05 Jan 2014 21:31:40 GMT"),
            ("Content-Type", "application/json"),
            ("Digest", "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="),
            ("Content-Length", "18"),
            ("Signature", signature),
        ],
        b'{"hello": "world"}',
    )


C1 = (
    'keyId="Test",algorithm="rsa-sha256",signature="SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifL'
    "N7Sazz6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7q25WqS+lavg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVC"
    'k9SuS13F0hZ8FD0k/5OxEPXe5WozsbM="'
)
C2 = (
    'keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date",signature="qdx+H7PHHD'
    "Zgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFYRqzic"
    '+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0="'
)
C3 = (
    'keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date content-type digest '
    'content-length",signature="vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+M'
    "FHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly"
    '4zKH7s1dE="'
)


@pytest.mark.parametrize(
    ("vector", "require"),
    [(C1, ()), (C2, ("(request-target)", "host", "date")), (C3, None)],
    ids=["C.1 default", "C.2 basic", "C.3 all headers"],
)
def test_draft_cavage_vectors(vector: str, require: tuple[str, ...] | None) -> None:
    """Each Appendix C signature verifies with the draft's test key at the draft's
    time; C.3 (which signs the digest too) passes Salon's full policy for a POST."""
    key = pem("cavage-test-key.pem")
    message = cavage_request(vector)
    claim = sig.parse(message)
    assert (claim.scheme, claim.key_id) == (sig.CAVAGE, "Test")
    sig.verify(message, claim, key, max_age=300, now=CAVAGE_NOW, require=require)
    tampered = cavage_request(vector)
    tampered.headers["Date"] = "Sun, 05 Jan 2014 21:31:41 GMT"
    with pytest.raises(SignatureRejected):
        sig.verify(tampered, sig.parse(tampered), key, max_age=300, now=CAVAGE_NOW, require=require)


def test_draft_cavage_c2_is_not_enough_for_a_post() -> None:
    """C.2 leaves the digest out: valid, but Salon's policy for a POST refuses it."""
    message = cavage_request(C2)
    with pytest.raises(SignatureRejected, match="digest"):
        sig.verify(
            message, sig.parse(message), pem("cavage-test-key.pem"), max_age=300, now=CAVAGE_NOW
        )


# -- Salon's outgoing signatures, checked independently ---------------------------------


@pytest.fixture(scope="module")
def salon_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def outgoing(method: str = "POST") -> Message:
    body = b'{"type": "Follow"}' if method == "POST" else b""
    return Message.of(
        method, "https://remote.example/users/bob/inbox?x=1", [("Host", "remote.example")], body
    )


def test_outgoing_rfc9421_verifies_with_the_packages_verifier(salon_key) -> None:
    message = outgoing()
    sig.sign(sig.RFC9421, message, "https://salon.example/users/ann#main-key", salon_key)
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=OneKey("https://salon.example/users/ann#main-key", salon_key.public_key()),
    )
    (result,) = verifier.verify(
        message,
        require_components=("@method", "@target-uri", "content-digest"),
        body=message.body,
    )
    assert result.parameters["keyid"] == "https://salon.example/users/ann#main-key"
    assert result.parameters["alg"] == "rsa-v1_5-sha256"
    assert "created" in result.parameters
    assert message.headers["Content-Digest"].startswith("sha-256=:")


def test_outgoing_cavage_follows_the_drafts_construction(salon_key) -> None:
    """Rebuild the signing string by hand from the draft's rules (section 2.3) and
    check the signature with plain RSA PKCS#1 v1.5 / SHA-256."""
    message = outgoing()
    sig.sign(sig.CAVAGE, message, "https://salon.example/users/ann#main-key", salon_key)
    header = message.headers["Signature"]
    assert 'algorithm="rsa-sha256"' in header
    assert 'headers="(request-target) host date digest"' in header
    expected_digest = (
        "SHA-256=" + base64.b64encode(__import__("hashlib").sha256(message.body).digest()).decode()
    )
    assert message.headers["Digest"] == expected_digest
    text = (
        "(request-target): post /users/bob/inbox?x=1\n"
        "host: remote.example\n"
        f"date: {message.headers['Date']}\n"
        f"digest: {expected_digest}"
    )
    signature = base64.b64decode(header.split('signature="')[1].rstrip('"'))
    salon_key.public_key().verify(signature, text.encode(), padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("scheme", sig.SCHEMES)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_round_trip_then_one_change_at_a_time(salon_key, scheme: str, method: str) -> None:
    key = salon_key.public_key()
    message = outgoing(method)
    sig.sign(scheme, message, "https://salon.example/actor#main-key", salon_key)
    sig.verify(message, sig.parse(message), key, max_age=300)
    mutations = {
        "url": lambda m: setattr(m, "url", m.url.replace("bob", "eve")),
        "method": lambda m: setattr(m, "method", "PUT" if method == "POST" else "HEAD"),
    }
    if method == "POST":
        mutations["body"] = lambda m: setattr(m, "body", m.body + b" ")
    for name, mutate in mutations.items():
        changed = outgoing(method)
        sig.sign(scheme, changed, "https://salon.example/actor#main-key", salon_key)
        mutate(changed)
        with pytest.raises(SignatureRejected):
            sig.verify(changed, sig.parse(changed), key, max_age=300)
            pytest.fail(f"a changed {name} still verified")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(SignatureRejected):
        sig.verify(message, sig.parse(message), other, max_age=300)
