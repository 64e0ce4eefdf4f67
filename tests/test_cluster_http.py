"""``listen --cluster --http`` on real processes: a nats-server, the AMI farm
playing two servers, two workers, each serving its live view.

A worker's view shows the servers it follows now: both while alone, one
once a second worker joined (the other was handed over), both again once
that worker is stopped with SIGTERM (taken over). ``/health`` carries the
cluster: which worker follows which server, since when, with what lag
(``cacofonisk cluster status``'s rows) and this worker's own leases.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from cacofonisk.testing import nats_server

from cluster_harness import Farm, Worker

pytestmark = pytest.mark.skipif(nats_server.binary() is None, reason=nats_server.MISSING)
aiohttp = pytest.importorskip("aiohttp", reason="aiohttp is not installed: pip install -e "
                                                ".[testing]")

TTL = 2.0


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response:
            return await response.json()


async def health_until(base: str, servers: set[str], limit: float = 30.0) -> dict[str, Any]:
    """``/health`` once the worker follows exactly ``servers`` (its view, its
    leases and the cluster rows agree); AssertionError after ``limit`` s."""
    deadline, body = time.monotonic() + limit, None
    while time.monotonic() < deadline:
        try:
            body = await get_json(base + "health")
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            await asyncio.sleep(0.2)
            continue
        cluster = body["cluster"]
        mine = {r["server"] for r in cluster["servers"] if r["worker"] == cluster["worker"]}
        if set(body["servers"]) == set(cluster["leases"]) == mine == servers:
            return dict(body)
        await asyncio.sleep(0.2)
    raise AssertionError(f"the view did not come to follow {sorted(servers)} within "
                         f"{limit:g} s; last /health: {body}")


async def first_event(base: str) -> dict[str, Any]:
    """The first call event of ``GET /events`` (SSE)."""
    import json

    async with aiohttp.ClientSession() as session:
        async with session.get(base + "events",
                               timeout=aiohttp.ClientTimeout(total=20)) as response:
            async for line in response.content:
                if line.startswith(b"data:"):
                    return dict(json.loads(line[5:]))
    raise AssertionError("the event stream ended without an event")


async def test_the_live_view_follows_hand_overs_and_health_shows_the_cluster(
        tmp_path: Path) -> None:
    node = nats_server.single(tmp_path)
    farm = Farm(tmp_path, servers=2, calls=400, in_flight=4, rate=8.0)
    ports = [nats_server.free_port(), nats_server.free_port()]
    workers: list[Worker] = []
    try:
        workers.append(Worker(tmp_path, "w1", node.url, farm.config, TTL, 1,
                              ("--http", f"127.0.0.1:{ports[0]}")))
        base = f"http://127.0.0.1:{ports[0]}/"
        alone = await health_until(base, set(farm.names))
        rows = {r["server"]: r for r in alone["cluster"]["servers"]}
        assert {r["worker"] for r in rows.values()} == {"w1"}
        assert all(isinstance(r["since"], float) for r in rows.values())
        assert alone["cluster"]["workers"] == ["w1"]
        assert alone["cluster"]["publisher"]["expired"] == 0  # --publish (the harness)
        assert (await first_event(base))["server"] in farm.names  # SSE from the followers

        workers.append(Worker(tmp_path, "w2", node.url, farm.config, TTL, 1,
                              ("--http", f"127.0.0.1:{ports[1]}")))
        base2 = f"http://127.0.0.1:{ports[1]}/"
        shared: dict[str, set[str]] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # one server each, whichever
            try:
                one, two = await get_json(base + "health"), await get_json(base2 + "health")
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                await asyncio.sleep(0.2)
                continue
            shared = {"w1": set(one["servers"]), "w2": set(two["servers"])}
            if len(shared["w1"]) == len(shared["w2"]) == 1 and \
                    shared["w1"] | shared["w2"] == set(farm.names):
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"the join did not spread the servers: {shared}")
        calls = await get_json(base + "calls")
        assert set(calls["servers"]) == shared["w1"]
        assert {c["server"] for c in calls["calls"]} <= shared["w1"]
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "metrics") as response:
                metrics = await response.text()
        # the gauges are of the servers followed now (counters keep their totals)
        gauged = {line.split('server="')[1].split('"')[0] for line in metrics.splitlines()
                  if line.startswith("cacofonisk_calls_in_flight{")}
        assert gauged == shared["w1"], metrics

        assert await asyncio.to_thread(workers[1].terminate) == 0
        back = await health_until(base, set(farm.names), 4 * TTL + 10)
        assert set(back["cluster"]["leases"]) == set(farm.names)
    finally:
        for worker in workers:
            await asyncio.to_thread(worker.terminate)
        farm.stop()
        node.stop()
