"""The publisher on a real nats-server: records past the buffer wait in the
spill file and a new publisher sends them first; without a file, overflow
and loss are counted, never silent."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from nats_helpers import (NEEDS_NATS, nodes, records_of, sigpipe_ignored)

from cacofonisk.testing import nats_server

pytestmark = NEEDS_NATS

nats = pytest.importorskip("nats", reason="nats-py is not installed: pip install -e .[testing]")

from cacofonisk.delivery.publisher import NatsPublisher  # noqa: E402

__all__ = ["nodes", "sigpipe_ignored"]  # fixtures, used by name


async def stored_ids(url: str, subject: str = "cacofonisk.calls.>") -> list[str]:
    client = await nats.connect(url)
    try:
        sub = await client.jetstream().pull_subscribe(subject, stream="CACOFONISK")
        ids: list[str] = []
        while True:
            try:
                batch = await sub.fetch(100, timeout=0.5)
            except asyncio.TimeoutError:  # nats-py raises its subclass or, late, the plain one
                return ids
            ids.extend(json.loads(m.data)["event_id"] for m in batch)
            for message in batch:
                await message.ack()
    finally:
        await client.close()


async def test_records_past_the_buffer_wait_in_the_spill_file_and_a_new_publisher_sends_them_first(
        tmp_path: Path, nodes: list[nats_server.NatsNode]) -> None:
    node = nats_server.NatsNode(tmp_path / "n1")  # its port is free: NATS is down
    records = records_of(6)
    spill = tmp_path / "spill.jsonl"
    first = NatsPublisher([node.url], buffer_size=5, spill_path=spill, close_timeout=0.2)
    for record in records[:-3]:
        first.on_call_event(record)
    health = first.health()
    assert (health["buffered"], health["spill_waiting"]) == (5, len(records) - 8)
    first.close()
    assert first.health()["lost"] == first.health()["overflowed"] == 0
    assert len(spill.read_text().splitlines()) == len(records) - 3
    nodes.append(node.start())
    second = NatsPublisher([node.url], buffer_size=5, spill_path=spill)
    for record in records[-3:]:
        second.on_call_event(record)
    try:
        assert await asyncio.to_thread(second.flush, 10.0), second.health()
    finally:
        second.close()
    stored = await stored_ids(node.url)
    assert sorted(stored) == sorted(r.event_id for r in records)  # all, once
    for call_id in {r.call_id for r in records}:  # each call in its order
        assert [i for i in stored if i.startswith(call_id + ":")] == \
            [r.event_id for r in records if r.call_id == call_id]
    assert spill.read_text() == ""


def test_without_a_spill_file_overflow_and_loss_are_counted_not_silent(
        tmp_path: Path, caplog: Any) -> None:
    down = nats_server.NatsNode(tmp_path / "n1")
    publisher = NatsPublisher([down.url], buffer_size=4, close_timeout=0.2)
    for record in records_of(3)[:10]:
        publisher.on_call_event(record)
    assert publisher.health()["overflowed"] == 6
    publisher.close()
    assert publisher.health()["lost"] == 4
    assert "dropped" in caplog.text and "lost" in caplog.text


async def test_lease_bound_messages_past_their_deadline_are_dropped_and_counted_never_sent_late(
        tmp_path: Path, nodes: list[nats_server.NatsNode]) -> None:
    """A cut cluster worker's records wait while NATS is away; once its fence
    closed they must not reach the stream after its successor's records."""
    import attrs

    node = nats_server.NatsNode(tmp_path / "n1")  # its port is free: NATS is down
    records = records_of(2)
    half = len(records) // 2
    fence = [float("inf")]  # the cut worker's lease: valid until the test closes it
    publisher = NatsPublisher([node.url], close_timeout=2.0)
    acked: list[str] = []  # on_stored of the messages that were stored

    def noting(msg_id: str | None) -> Any:
        return lambda: acked.append(str(msg_id))
    try:
        for record in records[:half]:
            message = publisher.scheme.record_message(record)
            publisher.submit(attrs.evolve(message, deadline=lambda: fence[0],
                                          on_stored=noting(message.msg_id)))
        fence[0] = 0.0  # the fence closed before NATS came back
        for record in records[half:]:  # the successor's (no deadline of its own here)
            message = publisher.scheme.record_message(record)
            publisher.submit(attrs.evolve(message, on_stored=noting(message.msg_id)))
        nodes.append(node.start())
        assert await asyncio.to_thread(publisher.flush, 20.0), publisher.health()
        assert publisher.health()["expired"] == half
    finally:
        publisher.close()
    assert sorted(await stored_ids(node.url)) == sorted(r.event_id for r in records[half:])
    # each stored message said so, once; the dropped ones never did
    assert sorted(acked) == sorted(f"{r.server}/{r.event_id}" for r in records[half:])


async def test_lease_bound_messages_whose_lease_is_renewed_are_sent(
        tmp_path: Path, nodes: list[nats_server.NatsNode]) -> None:
    import time

    import attrs

    node = nats_server.NatsNode(tmp_path / "n1")
    nodes.append(node.start())
    valid_until = [time.monotonic() + 60.0]
    publisher = NatsPublisher([node.url])
    records = records_of(2)
    try:
        for record in records:
            message = publisher.scheme.record_message(record)
            publisher.submit(attrs.evolve(message, deadline=lambda: valid_until[0]))
        assert await asyncio.to_thread(publisher.flush, 20.0), publisher.health()
        assert publisher.health()["expired"] == 0
    finally:
        publisher.close()
    assert sorted(await stored_ids(node.url)) == sorted(r.event_id for r in records)
