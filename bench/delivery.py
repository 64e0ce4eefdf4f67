"""Durable delivery: throughput of publish and deliver, latency AMI event -> webhook.

    python bench/delivery.py [--calls N] [--partitions P] [--rate EVENTS_PER_S]

A benchmark, not a test (nothing here runs in CI). Needs nats-server
(scripts/install-system-deps.sh) and the testing extra (nats-py, aiohttp).
It starts its own ``nats-server -js`` (file storage, one node) on a free
loopback port and a local webhook receiver that answers 204 at once, and
feeds a simulated stream of N independent calls (cacofonisk.testing.
call_streams, runs from a bare clone) through the real ChannelManager:

1. publish: every record through NatsPublisher, from the first record
   handed over to the last ack (JetStream acks awaited, window 256);
2. deliver: the stored records through Deliverer (P partitions, one POST in
   flight per partition) to the receiver, from start to the last 2xx;
3. latency: the whole pipeline live. The stream is fed at --rate AMI events
   per second, each event stamped with the time it is fed (as Asterisk's
   ``Timestamp``); the receiver notes when each record arrives; latency is
   arrival minus the Timestamp of the AMI event that produced the record.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# run as a script: the repository root first, so this folder shadows no package
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from cacofonisk import BaseReporter, ChannelManager  # noqa: E402
from cacofonisk.delivery.deliver import Deliverer  # noqa: E402
from cacofonisk.delivery.publisher import NatsPublisher  # noqa: E402
from cacofonisk.delivery.streams import StreamSettings  # noqa: E402
from cacofonisk.delivery.subjects import SubjectScheme  # noqa: E402
from cacofonisk.delivery.webhook import WebhookPoster  # noqa: E402
from cacofonisk.testing import nats_server  # noqa: E402
from cacofonisk.testing.call_streams import many_calls  # noqa: E402
from cacofonisk.testing.webhook_receiver import WebhookReceiver  # noqa: E402


def count_records(stream: list[dict[str, Any]]) -> int:
    class Count(BaseReporter):
        n = 0

        def on_call_event(self, record: Any) -> None:
            Count.n += bool(record.event_id)
    manager = ChannelManager(reporter=Count(), server="pbx")
    for event in stream:
        manager.on_event(event)
    manager.flush()
    return Count.n


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def deliver_until(url: str, receiver: WebhookReceiver, scheme: SubjectScheme,
                        want: int, durable: str) -> tuple[float, Deliverer]:
    deliverer = Deliverer([url], WebhookPoster(receiver.url, None, timeout=5.0),
                          scheme=scheme, durable=durable)
    started = time.perf_counter()
    task = asyncio.create_task(deliverer.run())
    await receiver.until(lambda: len(receiver.deliveries) >= want, 600)
    elapsed = time.perf_counter() - started
    deliverer.stop()
    await task
    return elapsed, deliverer


async def main(args: argparse.Namespace) -> None:
    scheme = SubjectScheme(partitions=args.partitions)
    stream = many_calls(args.calls, window=32)
    records = count_records(stream)
    with tempfile.TemporaryDirectory() as tmp:
        node = nats_server.single(Path(tmp))
        try:
            # 1. publish
            publisher = NatsPublisher([node.url], scheme=scheme, stream=StreamSettings())
            manager = ChannelManager(reporter=publisher, server="pbx")
            started = time.perf_counter()
            for event in stream:
                manager.on_event(event)
            manager.flush()
            fed = time.perf_counter() - started
            await asyncio.to_thread(publisher.flush, 600)
            published = time.perf_counter() - started
            publisher.close()
            print(f"stream: {args.calls} calls, {len(stream)} AMI events, {records} records")
            print(f"publish: {records / published:,.0f} records/s with acks "
                  f"({len(stream) / published:,.0f} AMI events/s; the tracker alone fed them "
                  f"in {fed:.2f} s); health {publisher.health()['acked']} acked")
            # 2. deliver
            receiver = await WebhookReceiver().start()
            elapsed, _ = await deliver_until(node.url, receiver, scheme, records, "bench")
            print(f"deliver: {records / elapsed:,.0f} records/s to a local webhook "
                  f"({args.partitions} partitions, one POST in flight each)")
            await receiver.stop()
        finally:
            node.stop()
        # 3. latency, on a fresh server
        node = nats_server.NatsNode(Path(tmp) / "latency").start()
        try:
            receiver = await WebhookReceiver().start()
            publisher = NatsPublisher([node.url], scheme=scheme)
            manager = ChannelManager(reporter=publisher, server="pbx")
            deliver = asyncio.create_task(deliver_until(node.url, receiver, scheme, records,
                                                        "latency"))
            await asyncio.sleep(0.5)  # consumers created
            interval = 1.0 / args.rate
            started = time.perf_counter()
            for n, event in enumerate(stream):
                due = started + n * interval
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                manager.on_event({**event, "Timestamp": f"{time.time():.6f}"})
            manager.flush()
            await deliver
            latencies = [(d.received_at - float(d.body["timestamp"])) * 1000
                         for d in receiver.deliveries if d.body.get("timestamp")]
            print(f"latency AMI event -> webhook at {args.rate:,} events/s: "
                  f"p50 {statistics.median(latencies):.1f} ms, "
                  f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms "
                  f"({len(latencies)} records)")
            publisher.close()
            await receiver.stop()
        finally:
            node.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--rate", type=int, default=1000, help="AMI events/s for the latency run")
    if nats_server.binary() is None:
        sys.exit(nats_server.MISSING)
    asyncio.run(main(parser.parse_args()))
