"""Realtime: how fast a task's metadata reaches SSE subscribers, what 1,000 of them cost one
gateway process, and how many streamed tokens per second 50 agents get delivered end to end.

    .venv/bin/python bench/realtime.py [--db sqlite|postgres|both] [--subscribers 1000] [--agents 50]

The gateway runs as its own process (`tether start` on bench/project); this script is the clients.
1. latency: a task sets metadata {"ping": {"i", "t": time.time()}} every 200 ms; one SSE client on
   /realtime/v1/runs/{id} timestamps each new ping (same machine, same clock). Target p50 <= 50 ms.
2. fan-out: the same with `--subscribers` clients on one run at once: delivery latency over every
   (client, ping), and the gateway process's CPU and resident memory while they listen.
3. tokens: `--agents` runs each stream `--tokens` chunks (one per `--pause` s) while one client per run
   reads /realtime/v1/streams/{id}/llm to its end: chunks delivered per second, and chunk latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from throughput import PROJECT, free_port, percentile, postgres_database, sqlite_database  # noqa: E402

TARGET_P50_MS = 50.0
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELED", "SYSTEM_FAILURE", "TIMED_OUT", "EXPIRED"}


@contextlib.contextmanager
def gateway(url: str) -> Iterator[tuple[str, str, int]]:
    """`tether start` on bench/project against `url`: (base URL, secret key, pid); stopped at the end."""
    key, port = f"tt_bench_{uuid.uuid4().hex}", free_port()
    command = [sys.executable, "-m", "tether.cli", "start", "--database-url", url, "--secret-key", key, "--port", str(port), "--host", "127.0.0.1"]
    server = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read() if server.stdout else ""  # type: ignore[union-attr]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.3)
        yield base, key, server.pid
    finally:
        server.send_signal(2)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def _sse(client: httpx.AsyncClient, path: str, on_data: Any, ready: asyncio.Event | None = None) -> None:
    async with client.stream("GET", path) as response:
        assert response.status_code == 200, await response.aread()
        if ready is not None:
            ready.set()
        event = "message"
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                if on_data(event, json.loads(line[5:])) is False:
                    return
                event = "message"


async def metadata_latency(base: str, key: str, subscribers: int, pings: int, pid: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=httpx.Timeout(120.0), limits=limits) as client:
        # Delayed until every subscriber is connected, then brought forward.
        run = (await client.post("/api/v1/tasks/metadata-pings/trigger", json={"payload": {"count": pings, "every": 0.2}, "options": {"delay": "1h"}})).json()
        latencies: list[float] = []

        def on_data(_: str, body: dict[str, Any], seen: set[int]) -> bool:
            ping = (body.get("metadata") or {}).get("ping")
            if ping and ping["i"] not in seen:
                seen.add(ping["i"])
                latencies.append(time.time() - ping["t"])
            return body["status"] not in TERMINAL

        readies = [asyncio.Event() for _ in range(subscribers)]
        followers = [asyncio.create_task(_sse(client, f"/realtime/v1/runs/{run['id']}", lambda e, b, s=set(): on_data(e, b, s), ready)) for ready in readies]
        await asyncio.gather(*(r.wait() for r in readies))
        moved = await client.post(f"/api/v1/runs/{run['id']}/reschedule", json={"delay": "1s"})
        assert moved.status_code == 200, moved.text
        cpu_before, wall_before = _cpu_seconds(pid), time.monotonic()
        rss = _rss_mb(pid)
        await asyncio.wait_for(asyncio.gather(*followers), timeout=300)
        cpu = (_cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
    return {"subscribers": subscribers, "deliveries": len(latencies), "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000, "gateway_cpu": cpu, "gateway_rss_mb": rss}


async def token_throughput(base: str, key: str, agents: int, tokens: int, pause: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=httpx.Timeout(600.0), limits=limits) as client:
        items = [{"task": "stream-tokens", "payload": {"tokens": tokens, "pause": pause}} for _ in range(agents)]
        batch = (await client.post("/api/v2/tasks/batch", json={"items": items})).json()
        latencies: list[float] = []
        started = time.monotonic()

        def on_chunk(event: str, chunk: Any) -> bool:
            if event != "end":
                latencies.append(time.time() - chunk["t"])
            return event != "end"

        await asyncio.gather(*(_sse(client, f"/realtime/v1/streams/{r['id']}/llm", on_chunk) for r in batch["runs"]))
        elapsed = time.monotonic() - started
    return {"agents": agents, "chunks": len(latencies), "expected": agents * tokens, "chunks_per_s": len(latencies) / elapsed, "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pings", type=int, default=50)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--pause", type=float, default=0.02)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 8192), hard), hard))  # 1,000 sockets here and there
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        with sqlite_database() if db == "sqlite" else postgres_database() as url, gateway(url) as (base, key, pid):
            one = asyncio.run(metadata_latency(base, key, 1, args.pings, pid))
            print(f"[{db}] metadata → SSE, 1 subscriber: p50 {one['p50_ms']:.1f} ms, p95 {one['p95_ms']:.1f} ms over {one['deliveries']} pings (target p50 <= {TARGET_P50_MS:.0f} ms)")
            many = asyncio.run(metadata_latency(base, key, args.subscribers, args.pings, pid))
            print(
                f"[{db}] {many['subscribers']} subscribers on one gateway: delivery p50 {many['p50_ms']:.1f} ms, p95 {many['p95_ms']:.1f} ms "
                f"({many['deliveries']} deliveries); gateway process {many['gateway_cpu'] * 100:.0f}% of a core, {many['gateway_rss_mb']:.0f} MB resident"
            )
            flow = asyncio.run(token_throughput(base, key, args.agents, args.tokens, args.pause))
            print(
                f"[{db}] {flow['agents']} agents streaming: {flow['chunks']}/{flow['expected']} chunks delivered, {flow['chunks_per_s']:.0f} chunks/s end to end; "
                f"chunk latency p50 {flow['p50_ms']:.0f} ms, p95 {flow['p95_ms']:.0f} ms"
            )


if __name__ == "__main__":
    main()
