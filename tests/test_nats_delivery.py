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
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from cacofonisk import ChannelManager
from cacofonisk.calls import CallEvent
from cacofonisk.reporters.base import BaseReporter
from cacofonisk.testing import nats_server
from cacofonisk.testing.call_streams import many_calls

pytestmark = pytest.mark.skipif(nats_server.binary() is None, reason=nats_server.MISSING)

nats = pytest.importorskip("nats", reason="nats-py is not installed: pip install -e .[testing]")

from cacofonisk.delivery.deliver import Deliverer  # noqa: E402
from cacofonisk.delivery.publisher import NatsPublisher  # noqa: E402
from cacofonisk.delivery.streams import StreamSettings  # noqa: E402
from cacofonisk.delivery.subjects import SubjectScheme  # noqa: E402
from cacofonisk.delivery.webhook import WebhookPoster, parse_secret  # noqa: E402
from cacofonisk.testing.webhook_receiver import WebhookReceiver, new_secret  # noqa: E402

SCHEME = SubjectScheme(partitions=4)
SECRET = new_secret()


class Records(BaseReporter):
    def __init__(self) -> None:
        self.records: list[CallEvent] = []

    def on_call_event(self, record: CallEvent) -> None:
        if record.event_id:
            self.records.append(record)


def expected_records(stream: list[dict[str, Any]], server: str) -> list[dict[str, Any]]:
    """What a plain replay of the stream reports, as JSON objects."""
    rec = Records()
    manager = ChannelManager(reporter=rec, server=server)
    for event in stream:
        manager.on_event(event)
    manager.flush()
    return [json.loads(json.dumps(r.as_dict(), sort_keys=True, default=str))
            for r in rec.records]


def assert_exactly_once_in_order(receiver: WebhookReceiver,
                                 expected: list[dict[str, Any]]) -> None:
    seen: dict[str, dict[str, Any]] = {}
    per_call: dict[str, list[str]] = defaultdict(list)
    for delivery in receiver.deliveries:
        assert delivery.msg_id == delivery.body["event_id"]
        if delivery.msg_id in seen:
            assert seen[delivery.msg_id] == delivery.body  # a copy, never another record
            continue
        seen[delivery.msg_id] = delivery.body
        per_call[delivery.body["call_id"]].append(delivery.msg_id)
    assert receiver.bad_signatures == 0
    assert sorted(seen) == sorted(r["event_id"] for r in expected)  # nothing lost or extra
    assert all(seen[r["event_id"]] == r for r in expected)
    want: dict[str, list[str]] = defaultdict(list)
    for record in expected:
        want[record["call_id"]].append(record["event_id"])
    assert dict(per_call) == dict(want)  # every call in its own order


@pytest.fixture
def nodes(tmp_path: Path):
    started: list[nats_server.NatsNode] = []
    yield started
    for node in started:
        node.stop(kill=True)


def feed(manager: ChannelManager, events: list[dict[str, Any]]) -> None:
    for event in events:
        manager.on_event(event)


async def deliver_all(servers: list[str], receiver: WebhookReceiver,
                      expected: list[dict[str, Any]], stream: StreamSettings,
                      timeout: float = 40.0) -> Deliverer:
    ids = {r["event_id"] for r in expected}
    deliverer = Deliverer(servers, WebhookPoster(receiver.url, parse_secret(SECRET, "test"),
                                                 timeout=0.3),
                          scheme=SCHEME, stream=stream, backoff=0.02, backoff_cap=0.1,
                          ack_wait=5.0)
    task = asyncio.create_task(deliverer.run())
    done = await receiver.until(lambda: ids <= {d.msg_id for d in receiver.deliveries},
                                timeout)
    deliverer.stop()
    await asyncio.wait_for(task, 10)
    assert done, (f"{len(ids - {d.msg_id for d in receiver.deliveries})} records never "
                  f"arrived; deliverer {deliverer.health()}")
    return deliverer


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
        assert publisher.health()["buffered"] > 0
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
        assert await asyncio.to_thread(publisher.flush, 30.0), publisher.health()
        client = await nats.connect(urls)
        leader = (await client.jetstream().stream_info(settings.name)).cluster.leader
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
