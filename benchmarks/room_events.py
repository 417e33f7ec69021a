"""Room transitions per second and event delivery to many sockets, against a baseline.

Starts a real Salon server (``salon serve``, SQLite in a temporary directory) in its own
process on a free port of 127.0.0.1, then measures from this process, in the same run:

- baseline: ``GET /healthz`` requests per second from one client (the cost of the HTTP
  stack alone);
- ``POST .../hand`` / ``DELETE .../hand`` transitions per second (authorise, load and
  store the room, publish the event) with 0 and with N sockets subscribed;
- the time from a transition's HTTP answer until the last of N sockets has its event.

Run: ``.venv/bin/python benchmarks/room_events.py [--sockets 100] [--requests 300]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import LiveServer, free_port, wait_until_serving, write_config


async def rate(client: httpx.AsyncClient, requests: list[tuple[str, str]]) -> float:
    started = time.perf_counter()
    for method, path in requests:
        r = await client.request(method, path, json={} if method != "GET" else None)
        r.raise_for_status()
    return len(requests) / (time.perf_counter() - started)


class ServerProcess(LiveServer):
    """``salon serve`` in a child process; the client helpers of LiveServer."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        config = write_config(directory, f"sqlite:///{directory}/bench.db")
        salon = Path(sys.executable).with_name("salon")
        self.process = subprocess.Popen(
            [str(salon), "serve", "--config", str(config), "--port", str(self.port)],
            stderr=subprocess.DEVNULL,
            env={**os.environ, "SALON_SERVER__LOG_LEVEL": "warning"},
        )
        wait_until_serving(self.process, self.url, timeout=30, interval=0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


async def run(server: LiveServer, sockets: int, count: int) -> None:
    host = server.signup("host")
    guest = server.signup("guest")
    room = host.open_room("Benchmark")
    path = f"/api/rooms/{room['id']}"
    guest.post(f"{path}/join")
    headers = {"authorization": f"Bearer {guest.token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
        baseline = await rate(client, [("GET", "/healthz")] * count)
        toggles = [("POST", f"{path}/hand"), ("DELETE", f"{path}/hand")] * (count // 2)
        alone = await rate(client, toggles)
        url = f"{server.ws_url}{path}/ws"
        conns = [await websockets.connect(url) for _ in range(sockets)]
        for ws in conns:
            await ws.recv()  # snapshot
        drain = [asyncio.create_task(_drain(ws)) for ws in conns]
        loaded = await rate(client, toggles)
        await asyncio.gather(*drain, return_exceptions=True)
        latencies = []
        for i in range(20):
            method = "POST" if i % 2 == 0 else "DELETE"
            waiting = [asyncio.create_task(ws.recv()) for ws in conns]
            started = time.perf_counter()
            (await client.request(method, f"{path}/hand", json={})).raise_for_status()
            await asyncio.gather(*waiting)
            latencies.append((time.perf_counter() - started) * 1000)
        for ws in conns:
            await ws.close()
    print(f"baseline  GET /healthz                     {baseline:8.0f} req/s")
    print(f"room      hand raise/lower, 0 sockets      {alone:8.0f} transitions/s")
    print(f"room      hand raise/lower, {sockets:3d} sockets    {loaded:8.0f} transitions/s")
    print(
        f"delivery  request start -> last of {sockets} sockets: "
        f"median {statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms"
    )


async def _drain(ws: websockets.ClientConnection) -> None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=0.5)
    except (TimeoutError, websockets.ConnectionClosed):
        return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp))
        try:
            asyncio.run(run(server, args.sockets, args.requests))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
