"""Federation throughput: signed deliveries per second from one instance to another,
and inbox verifications per second.

Two real instances run as their own ``salon serve`` processes on 127.0.0.1 (SQLite).

1. Deliveries: N activities are put in A's durable queue at once (rows in its
   database, as the outbox writes them), addressed to B's shared inbox. A's delivery
   workers sign each request (RFC 9421, RSA-2048) and POST it; B verifies the signature
   and digest, checks for replays, stores the activity and answers 202. Timed from
   the queue being filled until A has marked every row delivered.
2. Inbox verifications over HTTP: N requests signed in advance with A's key (each a
   distinct activity) are POSTed to B's inbox with 16 in flight; each is verified,
   checked for replay and stored.
3. Verification alone, in this process: parse + verify one signed request, per scheme.

    python benchmarks/federation_delivery.py [--deliveries 1000] [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import tomli_w
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from salon.core.db import make_sync_engine  # noqa: E402
from salon.federation import signatures as sig  # noqa: E402
from tests.helpers import free_port, healthy  # noqa: E402

PASSWORD = "correct horse battery"


def start(directory: Path, name: str, workers: int) -> tuple[subprocess.Popen[bytes], str, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = f"sqlite:///{directory / f'{name}.db'}"
    config = directory / f"{name}.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "instance": {
                    "base_url": url,
                    "database_url": database,
                    "secret_key": f"file:{directory / f'{name}.secret'}",
                    "key_file": str(directory / f"{name}.pem"),
                    "name": f"bench {name}",
                },
                "server": {"port": port, "log_level": "warning"},
                "plugins": {
                    "enabled": ["federation"],
                    "federation": {
                        "allowed_private_ranges": ["127.0.0.0/8"],
                        "workers": workers,
                        "poll_seconds": 0.05,
                        "retry_base_seconds": 0.5,
                    },
                },
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "salon.core.cli", "serve", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"instance {name} did not start")
        time.sleep(0.1)
    return process, url, database


def query(database: str, sql: str, **params: object) -> list:
    engine = make_sync_engine(database)
    try:
        with engine.begin() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def signup(url: str, username: str) -> None:
    r = httpx.post(f"{url}/api/auth/signup", json={"username": username, "password": PASSWORD})
    assert r.status_code == 201, r.text


def activity(a_url: str, actor: str, target: str) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{a_url}/activities/{uuid.uuid4()}",
        "type": "Like",
        "actor": actor,
        "object": target,
    }


def bench_deliveries(a_db: str, a_url: str, b_url: str, n: int) -> float:
    actor, target = f"{a_url}/users/ann", f"{b_url}/users/bob"
    now = time.time()
    rows = []
    for _ in range(n):
        act = activity(a_url, actor, target)
        rows.append(
            {
                "activity_id": act["id"],
                "sender": actor,
                "inbox": f"{b_url}/inbox",
                "host": b_url.removeprefix("http://"),
                "body": json.dumps(act, separators=(",", ":")),
            }
        )
    engine = make_sync_engine(a_db)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO federation_delivery (activity_id, sender, inbox, host, body,"
                    " state, attempts, next_attempt_at, created_at, last_error) VALUES"
                    " (:activity_id, :sender, :inbox, :host, :body, 'pending', 0, :now, :now, '')"
                ),
                [
                    {**r, "now": time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime(now))}
                    for r in rows
                ],
            )
    finally:
        engine.dispose()
    start_time = time.perf_counter()
    while True:
        ((left,),) = query(
            a_db, "SELECT count(*) FROM federation_delivery WHERE state != 'delivered'"
        )
        if left == 0:
            break
        ((failed,),) = query(
            a_db, "SELECT count(*) FROM federation_delivery WHERE state = 'failed'"
        )
        if failed:
            raise SystemExit(f"{failed} deliveries failed")
        time.sleep(0.02)
    elapsed = time.perf_counter() - start_time
    return n / elapsed


def bench_inbox(a_db: str, a_url: str, b_url: str, n: int) -> tuple[float, float]:
    actor, target = f"{a_url}/users/ann", f"{b_url}/users/bob"
    ((key_id, pem),) = query(
        a_db, "SELECT key_id, private_pem FROM federation_key WHERE actor = :a", a=actor
    )
    key = load_pem_private_key(pem.encode(), password=None)
    inbox = f"{b_url}/inbox"
    prepared = []
    for _ in range(n):
        body = json.dumps(activity(a_url, actor, target)).encode()
        message = sig.Message.of(
            "POST", inbox, [("Content-Type", "application/activity+json")], body
        )
        sig.sign(sig.RFC9421, message, key_id, key)
        prepared.append((dict(message.headers.items()), body))

    # Verification alone, in this process.
    public = key.public_key()  # type: ignore[union-attr]
    local = {}
    for scheme in sig.SCHEMES:
        message = sig.Message.of(
            "POST", inbox, [("Content-Type", "application/activity+json")], b"{}"
        )
        sig.sign(scheme, message, key_id, key)  # type: ignore[arg-type]
        rounds = 500
        t0 = time.perf_counter()
        for _ in range(rounds):
            sig.verify(message, sig.parse(message), public, max_age=300)
        local[scheme] = rounds / (time.perf_counter() - t0)

    async def send() -> float:
        queue = list(prepared)
        async with httpx.AsyncClient(timeout=30) as client:

            async def worker() -> None:
                while queue:
                    headers, body = queue.pop()
                    r = await client.post(inbox, headers=headers, content=body)
                    if r.status_code != 202:
                        raise SystemExit(f"inbox answered {r.status_code}: {r.text}")

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(16)))
            return n / (time.perf_counter() - t0)

    return asyncio.run(send()), local


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8, help="A's delivery workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        a, a_url, a_db = start(directory, "A", args.workers)
        b, b_url, _ = start(directory, "B", args.workers)
        try:
            signup(a_url, "ann")
            signup(b_url, "bob")
            # Warm up: B fetches and caches ann's key, A learns B's signature scheme.
            httpx.get(f"{a_url}/users/ann", headers={"accept": "application/activity+json"})
            bench_deliveries(a_db, a_url, b_url, 10)
            rate = bench_deliveries(a_db, a_url, b_url, args.deliveries)
            http_rate, local = bench_inbox(a_db, a_url, b_url, args.requests)
        finally:
            for process in (a, b):
                process.terminate()
                process.wait(timeout=15)
    cpu = platform.processor() or platform.machine()
    python = platform.python_version()
    print(f"machine: {platform.node()} · {os.cpu_count()} CPUs · {cpu} · Python {python}")
    setup = f"RFC 9421, RSA-2048, {args.workers} workers, SQLite"
    print(f"signed deliveries A -> B ({setup}): {rate:,.0f} /s")
    setup = "verify + replay check + store, 16 in flight"
    print(f"inbox verifications over HTTP at B ({setup}): {http_rate:,.0f} /s")
    for scheme, value in local.items():
        print(f"signature verification alone, {scheme}: {value:,.0f} /s")


if __name__ == "__main__":
    main()
