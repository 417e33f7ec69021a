from __future__ import annotations

from tests.helpers import LiveServer


def test_healthz_answers_ok(server: LiveServer) -> None:
    with server.client() as client:
        r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
