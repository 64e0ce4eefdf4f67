"""Shared by the tests that run real nats-server processes: the expected
records of a stream, the exactly-once-in-order check, the node fixture and
the command runner.

Why a module: test_nats_delivery.py, test_nats_publisher.py and
test_nats_commands.py assert the same property (every record arrives exactly
once after de-duplication by id, each call in its order) on different paths.
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
from cacofonisk.delivery.subjects import SubjectScheme
from cacofonisk.reporters.base import BaseReporter
from cacofonisk.testing import nats_server
from cacofonisk.testing.call_streams import many_calls
from cacofonisk.testing.webhook_receiver import WebhookReceiver, new_secret

ROOT = Path(__file__).resolve().parent.parent
SCHEME = SubjectScheme(partitions=4)
SECRET = new_secret()
#: every test module that starts nats-server skips with this when it is missing
NEEDS_NATS = pytest.mark.skipif(nats_server.binary() is None, reason=nats_server.MISSING)


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


def records_of(calls: int, server: str = "pbx") -> list[CallEvent]:
    rec = Records()
    manager = ChannelManager(reporter=rec, server=server)
    for event in many_calls(calls):
        manager.on_event(event)
    manager.flush()
    return rec.records


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
def nodes(tmp_path: Path):  # noqa: ARG001 - one store per test
    started: list[nats_server.NatsNode] = []
    yield started
    for node in started:
        node.stop(kill=True)


def feed(manager: ChannelManager, events: list[dict[str, Any]]) -> None:
    for event in events:
        manager.on_event(event)


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
