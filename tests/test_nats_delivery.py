"""Durable delivery on real servers: nats-server -js (single and a 3-node
cluster), the publisher, the deliver side and a webhook receiver that fails
at random, all on free loopback ports.

The property every test checks: each call event of the replayed stream
arrives at the receiver exactly once after de-duplication by webhook-id,
with its JSON as ``replay --format jsonl`` prints it, and each call's
records arrive in the order the tracker made them, whatever NATS and the
receiver do meanwhile.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from nats_helpers import (NEEDS_NATS, SCHEME, SECRET, assert_exactly_once_in_order, expected_records,
                          feed, nodes, records_of)

from cacofonisk import ChannelManager
from cacofonisk.testing import nats_server
from cacofonisk.testing.call_streams import many_calls

pytestmark = NEEDS_NATS

nats = pytest.importorskip("nats", reason="nats-py is not installed: pip install -e .[testing]")

from cacofonisk.delivery.deliver import Deliverer  # noqa: E402
from cacofonisk.delivery.publisher import NatsPublisher  # noqa: E402
from cacofonisk.delivery.streams import StreamSettings  # noqa: E402
from cacofonisk.delivery.subjects import partition_of  # noqa: E402
from cacofonisk.delivery.webhook import WebhookPoster, parse_secret  # noqa: E402
from cacofonisk.testing.webhook_receiver import WebhookReceiver  # noqa: E402

__all__ = ["nodes"]  # the fixture, used by name


async def deliver_all(servers: list[str], receiver: WebhookReceiver,
                      expected: list[dict[str, Any]], stream: StreamSettings,
                      timeout: float = 40.0, processes: int = 2) -> Deliverer:
    """Run ``processes`` deliverers sharing one durable name until all arrived."""
    ids = {r["event_id"] for r in expected}
    deliverers = [Deliverer(servers, WebhookPoster(receiver.url, parse_secret(SECRET, "test"),
                                                   timeout=0.3),
                            scheme=SCHEME, stream=stream, backoff=0.02, backoff_cap=0.1,
                            ack_wait=5.0) for _ in range(processes)]
    tasks = [asyncio.create_task(d.run()) for d in deliverers]
    done = await receiver.until(lambda: ids <= {d.msg_id for d in receiver.deliveries},
                                timeout)
    for deliverer in deliverers:
        deliverer.stop()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    total = Deliverer([], deliverers[0].poster)
    for deliverer in deliverers:
        for key, value in deliverer.counts.items():
            total.counts[key] += value
    assert done, (f"{len(ids - {d.msg_id for d in receiver.deliveries})} records never "
                  f"arrived; deliverers {[d.health() for d in deliverers]}")
    return total


async def test_every_record_arrives_once_in_order_through_a_nats_restart_and_a_failing_receiver(
        tmp_path: Path, nodes: list[nats_server.NatsNode]) -> None:
    nodes.append(nats_server.single(tmp_path))
    node = nodes[0]
    stream = many_calls(40)
    expected = expected_records(stream, "pbx")
    receiver = await WebhookReceiver(secret=SECRET, fail=0.2, slow=0.1, drop=0.1,
                                     slow_delay=0.5, seed=13).start()
    settings = StreamSettings()
    publisher = NatsPublisher([node.url], scheme=SCHEME, stream=settings, ack_timeout=0.5)
    try:
        manager = ChannelManager(reporter=publisher, server="pbx")
        third = len(stream) // 3
        feed(manager, stream[:third])
        # NATS dies mid-stream, while the deliverer is already consuming
        deliverer_task = asyncio.create_task(deliver_all([node.url], receiver, expected,
                                                          settings))
        await asyncio.sleep(0.3)
        node.stop(kill=True)
        feed(manager, stream[third:2 * third])  # never blocks: buffered
        waiting = publisher.health()
        assert waiting["buffered"] + waiting["in_flight"] > 0
        node.start()
        feed(manager, stream[2 * third:])
        manager.flush()
        assert await asyncio.to_thread(publisher.flush, 20.0), publisher.health()
        deliverer = await deliverer_task
    finally:
        publisher.close()
        await receiver.stop()
    health = publisher.health()
    # a publish whose ack was lost is sent again; JetStream drops the copy
    assert health["acked"] + health["duplicates"] == health["published"] == len(expected)
    assert health["overflowed"] == health["lost"] == 0
    assert deliverer.counts["retries"] > 0 and deliverer.counts["dead"] == 0
    assert {"500", "drop", "slow"} <= receiver.answers.keys()
    assert_exactly_once_in_order(receiver, expected)


async def test_a_cluster_loses_nothing_when_its_stream_leader_is_killed(
        tmp_path: Path, nodes: list[nats_server.NatsNode]) -> None:
    nodes.extend(nats_server.cluster(tmp_path, 3))
    urls = [n.url for n in nodes]
    stream = many_calls(30, system="east")
    expected = expected_records(stream, "east")
    receiver = await WebhookReceiver(secret=SECRET, fail=0.15, drop=0.05, seed=7).start()
    settings = StreamSettings(replicas=3)
    publisher = NatsPublisher(urls, scheme=SCHEME, stream=settings, ack_timeout=1.0)
    try:
        manager = ChannelManager(reporter=publisher, server="east")
        half = len(stream) // 2
        feed(manager, stream[:half])
        assert await asyncio.to_thread(publisher.flush, 60.0), publisher.health()
        client = await nats.connect(urls)
        leader = None
        for _ in range(100):  # a leader is elected by now; ask until one answers
            leader = (await client.jetstream().stream_info(settings.name)).cluster.leader
            if leader is not None:
                break
            await asyncio.sleep(0.1)
        await client.close()
        victim = next(n for n in nodes if n.name == leader)
        victim.stop(kill=True)  # kill -9 mid-stream
        feed(manager, stream[half:])
        manager.flush()
        survivors = [n.url for n in nodes if n is not victim]
        deliverer = await deliver_all(survivors, receiver, expected, settings, timeout=45.0)
        assert await asyncio.to_thread(publisher.flush, 5.0), publisher.health()
    finally:
        publisher.close()
        await receiver.stop()
    assert publisher.health()["lost"] == 0
    assert deliverer.counts["dead"] == 0
    assert_exactly_once_in_order(receiver, expected)


async def test_records_a_receiver_keeps_refusing_go_to_the_dead_letter_stream_counted(
        tmp_path: Path, nodes: list[nats_server.NatsNode], caplog: Any) -> None:
    nodes.append(nats_server.single(tmp_path))
    url = nodes[0].url
    records = records_of(1)
    publisher = NatsPublisher([url], scheme=SCHEME)
    for record in records:
        publisher.on_call_event(record)
    assert await asyncio.to_thread(publisher.flush, 10.0)
    publisher.close()
    receiver = await WebhookReceiver(fail=1.0).start()
    deliverer = Deliverer([url], WebhookPoster(receiver.url, None, timeout=1.0), scheme=SCHEME,
                          max_attempts=3, backoff=0.01, backoff_cap=0.02)
    task = asyncio.create_task(deliverer.run())
    try:
        for _ in range(200):
            if deliverer.counts["dead"] == len(records):
                break
            await asyncio.sleep(0.05)
    finally:
        deliverer.stop()
        await asyncio.wait_for(task, 10)
        await receiver.stop()
    assert deliverer.counts["dead"] == len(records)
    assert receiver.answers["500"] == 3 * len(records)  # max_attempts each, then given up
    assert "gave up" in caplog.text
    client = await nats.connect(url)
    try:
        sub = await client.jetstream().pull_subscribe("cacofonisk.dead.>",
                                                      stream="CACOFONISK_DEAD")
        dead = await sub.fetch(len(records) + 1, timeout=1.0)
    except nats.errors.TimeoutError:
        dead = []
    finally:
        await client.close()
    assert sorted(json.loads(m.data)["event_id"] for m in dead) == \
        sorted(r.event_id for r in records)
    assert {m.headers["Cacofonisk-Dead-Reason"] for m in dead} == {"HTTP 500"}


async def test_deliver_waits_for_the_stream_and_follows_its_partition_count(
        tmp_path: Path, nodes: list[nats_server.NatsNode]) -> None:
    nodes.append(nats_server.single(tmp_path))
    url = nodes[0].url
    receiver = await WebhookReceiver().start()
    deliverer = Deliverer([url], WebhookPoster(receiver.url, None), scheme=SCHEME)
    task = asyncio.create_task(deliverer.run())
    client = await nats.connect(url)
    try:
        for _ in range(200):  # until it has looked for the stream
            if "waiting for" in deliverer.last_error:
                break
            await asyncio.sleep(0.05)
        assert "waiting for `cacofonisk listen --publish`" in deliverer.last_error
        with pytest.raises(nats.js.errors.NotFoundError):
            await client.jetstream().stream_info("CACOFONISK")
        # the publisher makes 16 partitions, the deliverer was told 4: it follows the stream
        publisher = NatsPublisher([url], stream=StreamSettings(max_age=3600))
        records = records_of(4)
        assert any(partition_of("pbx", r.call_id, 16) >= 4 for r in records)
        for record in records:
            publisher.on_call_event(record)
        publisher.close()
        assert await receiver.until(lambda: len(receiver.deliveries) == len(records), 15)
        dead = await client.jetstream().stream_info("CACOFONISK_DEAD")
        assert dead.config.max_age == 3600  # as the records' stream
    finally:
        deliverer.stop()
        await asyncio.wait_for(task, 10)
        await client.close()
        await receiver.stop()
