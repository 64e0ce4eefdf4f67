"""Cluster mode on real processes: a 3-node NATS JetStream cluster, the AMI
farm playing six servers, and workers that are killed, stopped and cut off.

The story (lease TTL 3 s):

1. workers w1, w2, w3 start (w3 reaches NATS through a TCP proxy we control);
   every server gets followed, two per worker;
2. w1 is killed with SIGKILL at a random moment: its servers are followed
   again within the TTL plus resync time;
3. w4 joins and gets two servers (re-spread); then w2 gets SIGTERM: it hands its servers over at once
   (sooner than a lease could lapse) and exits 0;
4. w3's NATS connection is cut while it stays connected to Asterisk: it
   fences itself, w4 takes its servers over; the proxy is restored and w3
   rejoins;
5. when every log is played, every record a worker wrote is stored in
   JetStream (by a successor from the checkpoint's outbox if its own
   publisher could not send it), and the records of all workers together (their
   stamped JSON lines, and what JetStream stored from their publishers) must hold,
   per call after de-duplication by event id, exactly one hangup and never
   a second ring or answer; and in publish order no server ever gets a
   record from an older lease after one from a newer lease (no two workers
   published for one server at once).
"""
from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest

from cacofonisk.testing.nats_cluster import NatsCluster, TcpProxy, nats_server_binary

from cluster_harness import (Farm, Worker, overlapping_publishers, per_call, stop_all,
                             stream_records, wait_followed)

pytestmark = pytest.mark.skipif(
    nats_server_binary() is None,
    reason="nats-server is not installed: run scripts/install-system-deps.sh "
           "(Debian package nats-server) to run the cluster tests")

TTL = 3.0
#: connect + login + CoreShowChannels + barrier, plus one round to report it
RESYNC = 3.0


async def test_failover_kill_sigterm_and_cut_lose_no_call_and_never_overlap(
        tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"random seed {seed}")
    nats = NatsCluster(tmp_path / "nats", 3)
    nats.start()
    proxy = TcpProxy(nats.ports[2])
    workers: dict[str, Worker] = {}
    farm: Farm | None = None
    figures: dict[str, float] = {}
    try:
        await asyncio.to_thread(nats.wait_ready, 3)
        proxy.start()
        farm = Farm(tmp_path, servers=6, calls=48, in_flight=8, rate=30.0)
        url = nats.urls[0]

        def start(name: str, via: str) -> None:
            workers[name] = Worker(tmp_path, name, via, farm.config, TTL, 3)

        start("w1", nats.urls[0])
        start("w2", nats.urls[1])
        start("w3", f"nats://127.0.0.1:{proxy.port}")
        figures["start"] = await wait_followed(url, TTL, farm.names, workers, time.time(), 20,
                                              balanced=True)

        await asyncio.sleep(rng.uniform(0.3, 2.0))
        killed = time.time()
        workers["w1"].kill()
        figures["kill -9"] = await wait_followed(url, TTL, farm.names, {"w2", "w3"}, killed,
                                                 TTL + RESYNC)

        joined = time.time()
        start("w4", nats.urls[1])
        figures["join, re-spread"] = await wait_followed(url, TTL, farm.names,
                                                         {"w2", "w3", "w4"}, joined, 20,
                                                         balanced=True)
        await asyncio.sleep(rng.uniform(0.2, 1.0))
        stopped = time.time()
        assert await asyncio.to_thread(workers["w2"].terminate) == 0
        figures["SIGTERM"] = await wait_followed(url, TTL, farm.names, {"w3", "w4"},
                                                 stopped, TTL + RESYNC)

        await asyncio.sleep(rng.uniform(0.5, 1.5))
        cut = time.time()
        proxy.cut()
        figures["cut"] = await wait_followed(url, TTL, farm.names, {"w4"}, cut, TTL + RESYNC)
        proxy.restore()

        deadline = time.time() + 40
        while farm.poll_finished() != set(farm.names) and time.time() < deadline:
            await asyncio.sleep(0.2)
        assert farm.finished == set(farm.names), "the farm did not finish its logs"
        await asyncio.sleep(1.0)  # the last records of the logs
        for name in ("w3", "w4"):  # their publishers send what waits, then exit
            assert await asyncio.to_thread(workers[name].terminate) == 0
        stored = await stream_records(url)
    finally:
        await stop_all(workers, farm, proxy, nats)
    print("figures (s):", {k: round(v, 2) for k, v in figures.items()})

    # SIGTERM hands over at once: not after a lease has lapsed
    assert figures["SIGTERM"] < TTL
    # the cut worker fenced itself and said so
    assert "stopped following it" in workers["w3"].err.read_text()

    records = [r for w in workers.values() for r in w.records()]
    calls = per_call(records)
    assert len(calls) > 100
    wrong = {f"{s} {c}": dict(n) for (s, c), n in calls.items()
             if n["on_hangup"] != 1 or n["on_b_dial"] > 1 or n["on_up"] > 1}
    assert not wrong, f"calls with a missing/second hangup or a second ring/answer: {wrong}"
    assert overlapping_publishers(records) == []
    ended_away = [r for r in records if r["event"] == "on_hangup"
                  and "disconnected" in str(r.get("hangup_by"))]
    print(f"{len(calls)} calls, {len(ended_away)} ended while disconnected")
    assert ended_away, "no call ended during a gap: the gaps did not test the checkpoint"
    assert {r["worker"] for r in records} == {"w1", "w2", "w3", "w4"}

    # the same holds for what JetStream stored (de-duplicated by Nats-Msg-Id)
    stored_calls = per_call(stored)
    assert set(stored_calls) == set(calls)
    # every record a worker wrote went through its checkpoint's outbox first:
    # what its publisher could not send (killed, cut), a successor sent
    unsent = {r["event_id"] for r in records} - {r["event_id"] for r in stored}
    assert not unsent, f"records written by a worker and never stored: {sorted(unsent)}"
    wrong = {f"{s} {c}": dict(n) for (s, c), n in stored_calls.items()
             if n["on_hangup"] != 1 or n["on_b_dial"] > 1 or n["on_up"] > 1}
    assert not wrong, f"stored calls with a missing/second hangup or ring/answer: {wrong}"
    assert {r["worker"] for r in stored} == {"w1", "w2", "w3", "w4"}
    # and in stream order: a fenced worker's unsent records were dropped by its
    # publisher (expired), not sent after its successor's
    assert overlapping_publishers(stored) == []


async def test_a_worker_killed_while_its_records_wait_unsent_loses_no_record(
        tmp_path: Path) -> None:
    """w1 follows the server but its publisher cannot reach NATS (a cut
    proxy): every record waits in its buffer. w1 is killed; its records are
    in its local output only. The successor w2 must still store every one
    of them, as w1 made it (same event id, same content), from the
    checkpoint's outbox, and end each call w1 saw end with w1's hangup."""
    from cacofonisk.testing import nats_server

    node = nats_server.single(tmp_path / "nats")
    proxy = TcpProxy(node.port)
    farm: Farm | None = None
    workers: dict[str, Worker] = {}
    try:
        proxy.start()
        proxy.cut()
        farm = Farm(tmp_path, servers=1, calls=24, in_flight=4, rate=40.0)
        workers["w1"] = Worker(tmp_path, "w1", node.url, farm.config, TTL, 1,
                               publish=f"nats://127.0.0.1:{proxy.port}")
        deadline = time.time() + 30
        while time.time() < deadline:
            if sum(r["event"] == "on_hangup" for r in workers["w1"].records()) >= 3:
                break
            await asyncio.sleep(0.1)
        workers["w1"].kill()
        made_by_w1 = workers["w1"].records()
        ended_by_w1 = {r["call_id"]: r["event_id"] for r in made_by_w1
                       if r["event"] == "on_hangup"}
        assert len(ended_by_w1) >= 3, "w1 saw too few calls end to test anything"

        killed = time.time()
        workers["w2"] = Worker(tmp_path, "w2", node.url, farm.config, TTL, 1)
        await wait_followed(node.url, TTL, farm.names, {"w2"}, killed, 2 * TTL + RESYNC + 10)
        deadline = time.time() + 40
        while farm.poll_finished() != set(farm.names) and time.time() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
        assert await asyncio.to_thread(workers["w2"].terminate) == 0
        stored = await stream_records(node.url)
    finally:
        await stop_all(workers, farm, proxy, node)

    assert not [r for r in stored if r["worker"] == "w1"], "w1's publisher was cut off"
    stored_hangups = {r["call_id"]: r["event_id"] for r in stored if r["event"] == "on_hangup"}
    missing = sorted(set(ended_by_w1) - set(stored_hangups))
    assert not missing, f"calls that ended under the killed w1 were never stored: {missing}"
    assert {c: stored_hangups[c] for c in ended_by_w1} == ended_by_w1
    calls = per_call(stored)
    assert all(n["on_hangup"] == 1 for n in calls.values())
    stamps = ("worker", "lease", "published")
    by_id = {r["event_id"]: {k: v for k, v in r.items() if k not in stamps} for r in stored}
    lost = [r["event_id"] for r in made_by_w1 if r["event_id"] not in by_id]
    assert not lost, f"records w1 made and never sent were not sent by w2 either: {lost}"
    assert all(by_id[r["event_id"]] == {k: v for k, v in r.items() if k not in stamps}
               for r in made_by_w1)
