"""What a newcomer gets from `salon serve` with no set-up at all, and the request log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers import LiveServer, free_port, wait_for, wait_until_serving


def test_serve_on_embedded_defaults_in_an_empty_directory(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    salon = Path(sys.executable).with_name("salon")
    proc = subprocess.Popen(
        [str(salon), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    try:
        wait_until_serving(proc, base, timeout=30, interval=0.05)
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        page = httpx.get(f"{base}/signup")
        assert page.status_code == 200 and 'id="auth-form"' in page.text
        assert httpx.get(f"{base}/static/room.js").status_code == 200
        # The embedded defaults: SQLite file and session secret created in the cwd.
        assert (tmp_path / "salon.db").is_file()
        assert (tmp_path / "salon-secret.key").stat().st_mode & 0o777 == 0o600
        r = httpx.post(
            f"{base}/api/auth/signup", json={"username": "newcomer", "password": "long enough"}
        )
        assert r.status_code == 201, r.text
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=15)
    # uvicorn shuts down cleanly, then re-raises SIGTERM as the exit status.
    assert proc.returncode in (0, -15), output
    assert "Application shutdown complete" in output
    assert "embedded defaults" in output
    assert "newcomer POST /api/auth/signup -> 201" not in output  # signup is anonymous
    assert "anonymous POST /api/auth/signup -> 201" in output


def test_request_log_says_who_did_what_and_how_it_ended(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    alice = server.signup("alice")
    with caplog.at_level(logging.INFO, logger="salon"):
        alice.post("/api/rooms", {"title": ""})
        alice.post("/api/rooms", {"title": "Logged"})
        wait_for(lambda: len([r for r in caplog.records if r.name == "salon.requests"]) >= 2)
    lines = [r.getMessage() for r in caplog.records if r.name == "salon.requests"]
    assert any(line.startswith("alice POST /api/rooms -> 422 (invalid)") for line in lines)
    assert any(line.startswith("alice POST /api/rooms -> 201") for line in lines)
    assert any("alice created room" in r.getMessage() for r in caplog.records)
