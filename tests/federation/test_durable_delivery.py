"""The delivery queue survives: a remote instance going down and coming back, and the
sending instance itself killed (SIGKILL) mid-queue and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import tomli_w
from click.testing import CliRunner
from sqlalchemy import text

from salon.core.db import make_sync_engine
from salon.federation.cli import federation_group
from tests.helpers import free_port, healthy

from . import club_plugin
from .helpers import FAST, Cluster, eventually, rows


def updates_from(server, actor: str) -> Counter[str]:
    found = rows(
        server,
        "SELECT activity_id, body FROM federation_inbox_item WHERE sender = :a",
        a=actor,
    )
    return Counter(activity_id for activity_id, body in found if '"type":"Update"' in body)


def test_deliveries_wait_for_a_host_that_is_down_and_arrive_once(cluster: Cluster) -> None:
    a = cluster.start("A")
    c = cluster.start("C", extra_plugins=[("club", club_plugin)])
    ann, carl = a.signup("ann"), c.signup("carl")
    c.signup("dave")
    # carl on C follows ann on A; ann has looked dave up already.
    assert carl.post("/api/federation/follows", {"actor": a.actor("ann")}).status_code == 202
    eventually(lambda: carl.get("/api/users/carl/following").json()["remote"])
    assert ann.get("/api/federation/lookup", params={"q": c.actor("dave")}).status_code == 200

    cluster.stop("C")
    for n in range(3):
        assert ann.patch("/api/me", {"bio": f"edit {n}"}).status_code == 200
    assert ann.post("/api/federation/follows", {"actor": c.actor("dave")}).status_code == 202
    # Each delivery failed at least once while C was down.
    failing = (
        "SELECT count(*) FROM federation_delivery"
        " WHERE host = :h AND state = 'pending' AND attempts >= 1"
    )
    eventually(lambda: rows(a, failing, h=c.host) == [(4,)])

    out = CliRunner().invoke(federation_group, ["queue", "--config", str(cluster.config["A"][0])])
    assert out.exit_code == 0, out.output
    assert out.output.split("\n")[1].split() == [c.host, "4", "0"]  # host, pending, failed
    out = CliRunner().invoke(
        federation_group, ["queue", "--all", "--config", str(cluster.config["A"][0])]
    )
    listed = [line for line in out.output.splitlines() if line.startswith("#")]
    assert len(listed) == 4 and all("pending, next try in" in line for line in listed)

    c = cluster.restart("C")
    eventually(
        lambda: (
            rows(
                a,
                "SELECT state, count(*) FROM federation_delivery WHERE host = :h GROUP BY state",
                h=c.host,
            )
            == [("delivered", 5)]
        )  # the first Accept, three Updates, the Follow
    )
    updates = updates_from(c, a.actor("ann"))
    assert len(updates) == 3 and set(updates.values()) == {1}
    # Each was handed to plugins exactly once, too.
    eventually(lambda: all(club_plugin.by_id[activity_id] == 1 for activity_id in updates))
    follows_at_c = "SELECT remote_actor, state FROM federation_follow WHERE direction = 'in'"
    eventually(lambda: rows(c, follows_at_c) == [(a.actor("ann"), "accepted")])


def salon_serve(config: Path, log: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    return subprocess.Popen(
        [sys.executable, "-m", "salon.core.cli", "serve", "--config", str(config)],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def serving(process: subprocess.Popen[str], url: str, log: Path) -> None:
    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"salon serve exited {process.returncode}:\n{log.read_text()}")
        return healthy(url)

    eventually(up, timeout=30)


def test_an_instance_killed_mid_queue_loses_nothing(cluster: Cluster, tmp_path: Path) -> None:
    """A runs as its own ``salon serve`` process. With C down, A queues three Updates
    for C; A is killed with SIGKILL; C comes back; A restarts and delivers each once."""
    c = cluster.start("C")
    carl = c.signup("carl")
    port = free_port()
    a_url = f"http://127.0.0.1:{port}"
    a_dir = tmp_path / "A-process"
    a_dir.mkdir()
    config = a_dir / "salon.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "instance": {
                    "base_url": a_url,
                    "database_url": f"sqlite:///{a_dir / 'salon.db'}",
                    "secret_key": f"file:{a_dir / 'secret.key'}",
                    "key_file": str(a_dir / "instance-key.pem"),
                },
                "server": {"port": port, "log_level": "warning"},
                "plugins": {"enabled": ["federation"], "federation": FAST},
            }
        )
    )
    log = a_dir / "serve.log"
    process = salon_serve(config, log)
    try:
        serving(process, a_url, log)
        with httpx.Client(base_url=a_url, timeout=10) as http:
            r = http.post(
                "/api/auth/signup", json={"username": "ann", "password": "correct horse battery"}
            )
            assert r.status_code == 201, r.text
            http.headers["x-csrf-token"] = http.cookies["salon_csrf"]
            ann_actor = f"{a_url}/users/ann"
            assert carl.post("/api/federation/follows", {"actor": ann_actor}).status_code == 202
            eventually(lambda: carl.get("/api/users/carl/following").json()["remote"])
            cluster.stop("C")
            for n in range(3):
                assert http.patch("/api/me", json={"bio": f"edit {n}"}).status_code == 200
        a_db = f"sqlite:///{a_dir / 'salon.db'}"

        def a_rows(query: str) -> list:
            engine = make_sync_engine(a_db)
            try:
                with engine.connect() as conn:
                    return list(conn.execute(text(query)))
            finally:
                engine.dispose()

        failing = (
            "SELECT count(*) FROM federation_delivery WHERE state = 'pending' AND attempts >= 1"
        )
        eventually(lambda: a_rows(failing) == [(3,)])
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

        c = cluster.restart("C")
        process = salon_serve(config, log)
        serving(process, a_url, log)
        eventually(
            lambda: (
                a_rows("SELECT state, count(*) FROM federation_delivery GROUP BY state")
                == [("delivered", 4)]
            )  # the Accept of carl's follow, and the three Updates
        )
        updates = updates_from(c, ann_actor)
        assert len(updates) == 3 and set(updates.values()) == {1}, updates
    finally:
        process.kill()
        process.wait(timeout=10)
