"""The README's first command, run as a newcomer would: a fresh virtual environment,
installing Salon alone (no test extras), then serving on the embedded defaults."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_has_the_two_commands() -> None:
    run, test = readme_commands()[:2]
    assert run.endswith("salon serve") and "pip install -e ." in run
    assert "'.[test]'" in test and test.endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -q --disable-pip-version-check -e '.[test]'" in ci
    assert ".venv/bin/python -m pytest" in ci


@pytest.mark.timeout(600)
def test_first_command_in_a_fresh_environment_serves_the_web_client(tmp_path: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    checkout = tmp_path / "salon"
    for name in filter(None, tracked):
        source = ROOT / name.decode()
        if source.is_file():
            target = checkout / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALON_", "VIRTUAL_ENV"))}
    env["SALON_SERVER__PORT"] = str(port)  # the command as written, on a free port
    command = readme_commands()[0]
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    try:
        wait_until_serving(proc, base, timeout=540, interval=0.2)
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        home = httpx.get(f"{base}/")
        assert home.status_code == 200 and "Hallway" in home.text
        assert httpx.get(f"{base}/static/room.js").status_code == 200
        assert (checkout / "salon.db").is_file()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
