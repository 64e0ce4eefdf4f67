"""The delivery commands as a user runs them, on real processes:
``listen --publish`` and ``deliver`` while NATS and the receiver are killed
and restarted, and ``replay nats://``."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from nats_helpers import (NEEDS_NATS, ROOT, SECRET, assert_exactly_once_in_order, command,
                          expected_records, nodes, stopped)

from cacofonisk.cli import main
from cacofonisk.runners.file_runner import FileRunner
from cacofonisk.testing import nats_server
from cacofonisk.testing.ami_server import AmiTestServer
from cacofonisk.testing.call_streams import many_calls

pytestmark = NEEDS_NATS

nats = pytest.importorskip("nats", reason="nats-py is not installed: pip install -e .[testing]")

from cacofonisk.delivery.publisher import NatsPublisher  # noqa: E402
from cacofonisk.testing.webhook_receiver import WebhookReceiver  # noqa: E402

__all__ = ["nodes"]  # the fixture, used by name


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
