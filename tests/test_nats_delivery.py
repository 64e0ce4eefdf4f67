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
import contextlib
import json
import os
import signal
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from cacofonisk import ChannelManager
from cacofonisk.calls import CallEvent
from cacofonisk.cli import main
from cacofonisk.reporters.base import BaseReporter
from cacofonisk.runners.file_runner import FileRunner
from cacofonisk.testing import nats_server
from cacofonisk.testing.ami_server import AmiTestServer
from cacofonisk.testing.call_streams import many_calls

pytestmark = pytest.mark.skipif(nats_server.binary() is None, reason=nats_server.MISSING)

nats = pytest.importorskip("nats", reason="nats-py is not installed: pip install -e .[testing]")

from cacofonisk.delivery.deliver import Deliverer  # noqa: E402
from cacofonisk.delivery.publisher import NatsPublisher  # noqa: E402
from cacofonisk.delivery.streams import StreamSettings  # noqa: E402
from cacofonisk.delivery.subjects import SubjectScheme, partition_of  # noqa: E402
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
    assert all(d.counts["delivered"] for d in deliverers)  # both took a share
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


# -- the commands, as a user runs them ------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


async def command(*args: str, env: dict[str, str], stdout: int = asyncio.subprocess.DEVNULL
                  ) -> asyncio.subprocess.Process:
    """``python -m cacofonisk ARGS`` with its errors captured."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CACOFONISK_")}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT),
                                                          full_env.get("PYTHONPATH")]))
    full_env.update(env)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cacofonisk", *args, cwd=str(ROOT), env=full_env,
        stdout=stdout, stderr=asyncio.subprocess.PIPE)


async def stopped(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(proc.communicate(), 20)
    return proc.returncode or 0, err.decode()


async def test_listen_publish_and_deliver_move_every_call_event_while_nats_and_receiver_restart(
        tmp_path: Path, nodes: list[nats_server.NatsNode]) -> None:
    nodes.append(nats_server.single(tmp_path))
    node = nodes[0]
    stream = many_calls(12, system="demo")
    expected = expected_records(stream, "pbx")
    receiver = await WebhookReceiver(secret=SECRET, fail=0.1, seed=3).start()
    partitions = ["--partitions", "4"]
    async with AmiTestServer(stream, secret="ami-secret", rate=600) as ami:
        listen = await command(
            "listen", "--host", f"tcp://u@127.0.0.1:{ami.port}?name=pbx",
            "--publish", node.url, *partitions, "--spill-file", str(tmp_path / "spill.jsonl"),
            "--publish-raw", "--health", "0.5",
            env={"CACOFONISK_AMI_PASSWORD": "ami-secret"})
        deliver = await command(
            "deliver", "--from", node.url, "--webhook", receiver.url, *partitions,
            "--backoff", "0.05", "--backoff-cap", "0.3", "--timeout", "1", "--ack-wait", "3",
            env={"CACOFONISK_WEBHOOK_SECRET": SECRET})
        try:
            await asyncio.wait_for(ami.wait_until_sent(len(stream) // 3), 30)
            node.stop(kill=True)          # NATS crashes mid-stream ...
            await receiver.stop()         # ... and so does the receiver
            await asyncio.sleep(0.5)
            node.start()
            await asyncio.sleep(0.5)
            await receiver.start()
            ids = {r["event_id"] for r in expected}
            arrived = await receiver.until(
                lambda: ids <= {d.msg_id for d in receiver.deliveries}, 40)
        finally:
            listen_rc, listen_err = await stopped(listen)
            deliver_rc, deliver_err = await stopped(deliver)
            await receiver.stop()
    assert arrived, f"missing {len(ids - {d.msg_id for d in receiver.deliveries})}: " \
        f"{listen_err[-2000:]} {deliver_err[-2000:]}"
    assert (listen_rc, deliver_rc) == (0, 0), (listen_err, deliver_err)
    assert "Traceback" not in listen_err + deliver_err
    assert "health nats: up acked=" in listen_err  # --health shows the publisher too
    assert_exactly_once_in_order(receiver, expected)
    # the raw AMI events were stored too: a replay of them gives the same records
    replay = await command("replay", node.url, "--format", "jsonl", env={},
                           stdout=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(replay.communicate(), 30)
    assert replay.returncode == 0, err.decode()
    replayed = [json.loads(line) for line in out.decode().splitlines()]
    assert [r for r in replayed if r["event"] != "on_user_event"] == expected


@pytest.mark.parametrize("args, words", [
    (["deliver", "--from", "http://127.0.0.1:4222", "--webhook", "http://h/x"], "nats://"),
    (["deliver", "--from", "nats://127.0.0.1:70000", "--webhook", "http://h/x"], "bad port"),
    (["deliver", "--from", "nats://127.0.0.1:4222", "--webhook", "ftp://h/x"], "http(s)"),
    (["listen", "--host", "tcp://u@127.0.0.1:5038", "--publish", "nats//oops"], "nats://"),
    (["replay", "nats://127.0.0.1:4222", "--since", "yesterday"], "--since"),
    (["listen", "--host", "tcp://u@127.0.0.1:5038", "--publish-raw"], "--publish"),
    (["deliver", "--from", "nats://127.0.0.1:4222", "--webhook", "http://h/x",
      "--timeout", "30s", "--ack-wait", "10s"], "--ack-wait"),
])
def test_bad_nats_or_webhook_urls_give_one_line_and_exit_2(args: list[str], words: str,
                                                            capsys: Any) -> None:
    import os as _os
    _os.environ.setdefault("CACOFONISK_AMI_PASSWORD", "x")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err


def test_a_webhook_secret_that_is_not_base64_exits_2_without_echoing_it(
        tmp_path: Path, capsys: Any) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("not base64 at all!\n")
    assert main(["deliver", "--from", "nats://127.0.0.1:1", "--webhook", "http://h/x",
                 "--webhook-secret-file", str(secret_file)]) == 2
    err = capsys.readouterr().err
    assert "not base64" in err and "at all!" not in err


# -- buffering while NATS is away ---------------------------------------------------------

def records_of(calls: int, server: str = "pbx") -> list[CallEvent]:
    rec = Records()
    manager = ChannelManager(reporter=rec, server=server)
    for event in many_calls(calls):
        manager.on_event(event)
    manager.flush()
    return rec.records


async def stored_ids(url: str, subject: str = "cacofonisk.calls.>") -> list[str]:
    client = await nats.connect(url)
    try:
        sub = await client.jetstream().pull_subscribe(subject, stream="CACOFONISK")
        ids: list[str] = []
        while True:
            try:
                batch = await sub.fetch(100, timeout=0.5)
            except nats.errors.TimeoutError:
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


def test_replay_reads_the_raw_events_back_from_jetstream_as_from_the_file(
        tmp_path: Path, nodes: list[nats_server.NatsNode], capsys: Any) -> None:
    nodes.append(nats_server.single(tmp_path))
    log = ROOT / "scenarios" / "ami2" / "blind_transfer.json"
    publisher = NatsPublisher([nodes[0].url])
    FileRunner([str(log)], publisher, publisher.raw_tap()).run()
    assert main(["replay", str(log), "--format", "jsonl"]) == 0
    from_file = capsys.readouterr().out
    assert main(["replay", nodes[0].url, "--format", "jsonl", "--start-seq", "1"]) == 0
    from_nats = capsys.readouterr().out
    assert from_nats == from_file and from_file.count("\n") >= 5
    assert main(["replay", nodes[0].url, "--format", "jsonl",
                 "--subject", "cacofonisk.ami._.>"]) == 0  # the file runner's server: ''
    assert capsys.readouterr().out == from_file
    assert main(["replay", nodes[0].url, "--format", "jsonl",
                 "--subject", "cacofonisk.ami.elsewhere.>"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["replay", nodes[0].url, "--subject", "other.>"]) == 2


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
