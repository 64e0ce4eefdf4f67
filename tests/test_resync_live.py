"""A real runner across a dropped connection, against the test AMI server.

While the runner is away, one call is answered, one is transferred and one
begins and is answered; after the reconnect the records must say what is
true (marked ``after_gap``), ``--record`` must hold the resync so that a
replay of the recording gives the same records, and the parks, queue
waiters and conference members are asked for (a refused action is logged
once and does not stop the resync).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from runner_helpers import running as _running
from cacofonisk import ChannelManager
from cacofonisk.calls import CallEvent
from cacofonisk.commands.demo import expected_events
from cacofonisk.reporters.base import BaseReporter
from cacofonisk.reporters.json import JsonReporter
from cacofonisk.reporters.multi import MultiReporter
from cacofonisk.resync import BARRIER_PREFIX
from cacofonisk.runners.ami_runner import AmiRunner
from cacofonisk.runners.file_runner import FileRunner
from cacofonisk.testing.ami_server import AmiTestServer
from cacofonisk.testing.scenarios import Ids, build

TIMEOUT = 10.0
SECRET = "Gap-s3cr3t"
FAST: dict[str, Any] = {"reconnect_delay": 0.02, "reconnect_max_delay": 0.1,
                        "ping_interval": 5.0, "ping_timeout": 2.0, "action_timeout": 2.0}

def running(runner: AmiRunner) -> contextlib.AbstractAsyncContextManager[asyncio.Task[None]]:
    return _running(runner, TIMEOUT)



CONSUMED = {name.lower() for name in ChannelManager.INTERESTING_EVENTS}


class Tap(BaseReporter):
    """Call-event records, user events and raw events, as they come."""

    def __init__(self) -> None:
        self.records: list[CallEvent] = []
        self.user_events: list[dict[str, Any]] = []
        self.applied = 0
        self.barriers = 0
        self.changed = asyncio.Event()

    def on_call_event(self, record: CallEvent) -> None:
        if record.HOOK == "on_user_event":
            self.user_events.append(dict(record.args()[0]))
        else:
            self.records.append(record)
        self.changed.set()

    def on_event(self, event: Any) -> None:
        # only the events the manager consumes: beside a JsonReporter the
        # runner hands every event over (a complete recording)
        self.applied += str(event.get("Event", "")).lower() in CONSUMED
        self.barriers += str(event.get("UserEvent", "")).startswith(BARRIER_PREFIX)
        self.changed.set()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(TIMEOUT):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()



def host(srv: AmiTestServer) -> dict[str, Any]:
    return {"host": srv.host, "port": srv.port, "username": "u", "password": SECRET,
            "name": "pbx"}


def nth(events: Sequence[dict[str, Any]], name: str, n: int = 0, **fields: str) -> int:
    """Index just after the n-th ``name`` event with ``fields``."""
    return [i for i, e in enumerate(events) if e["Event"] == name
            and all(e.get(k) == v for k, v in fields.items())][n] + 1


def three_calls() -> tuple[list[dict[str, Any]], int, int]:
    """A stream where events[start:end] hold: A's answer, B's blind transfer
    and the whole start of C (rung and answered)."""
    ids = Ids(system="gap")
    a = build("answered", "ami2", numbers=["201", "202"], ids=ids).events
    b = build("blind_transfer", "ami2", numbers=["204", "205", "206"], ids=ids).events
    c = build("answered", "ami2", numbers=["207", "208"], ids=ids).events
    a_rung, a_up = nth(a, "Newstate", ChannelState="5"), nth(a, "BridgeEnter", 1)
    b_talking, b_settled = nth(b, "BridgeEnter", 1), nth(b, "BridgeEnter", 3)
    c_up = nth(c, "BridgeEnter", 1)
    before = [*a[:a_rung], *b[:b_talking]]
    gap = [*a[a_rung:a_up], *b[b_talking:b_settled], *c[:c_up]]
    after = [*a[a_up:], *b[b_settled:], *c[c_up:]]
    return [*before, *gap, *after], len(before), len(before) + len(gap)


async def follow_with_gap(events: list[dict[str, Any]], start: int, end: int,
                          reporter: Any, tap: Tap, **server: Any) -> AmiTestServer:
    """Serve ``events``; the runner misses events[start:end] (dropped connection)."""
    async with AmiTestServer(events, secret=SECRET, **server) as srv:
        srv.pause(after=start)
        runner = AmiRunner(host(srv), reporter, **FAST)
        async with running(runner):
            await tap.until(lambda: tap.applied >= expected_events(events[:start]) + 1)
            await srv.drop_connections()
            srv.skip(end - start)  # still paused: the rest waits for the resync
            await tap.until(lambda: tap.barriers == 1)
            srv.resume()
            await tap.until(lambda: sum(r.HOOK == "on_hangup" for r in tap.records) == 3)
        return srv


def summary(records: Sequence[CallEvent]) -> list[tuple[Any, ...]]:
    out = []
    for r in records:
        other = getattr(r, "callee", None) or getattr(r, "redirector", None)
        out.append((r.HOOK, r.caller.number if hasattr(r, "caller") else None,
                    other.number if other is not None else None,
                    tuple(t.number for t in getattr(r, "targets", ())), r.after_gap))
    return out


def comparable(records: Sequence[CallEvent]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.as_dict().items() if k != "server"} for r in records]


async def test_what_happened_while_away_is_reported_marked_and_a_recording_replays_the_same(
        tmp_path: Path) -> None:
    events, start, end = three_calls()
    tap, record = Tap(), tmp_path / "live.json"
    await follow_with_gap(events, start, end, MultiReporter([tap, JsonReporter(str(record))]), tap)
    by_caller: dict[str, list[tuple[Any, ...]]] = {}
    for item in summary(tap.records):
        by_caller.setdefault(item[1], []).append(item[:1] + item[2:])
    assert by_caller["201"] == [("on_b_dial", None, ("202",), False),
                                ("on_up", "202", (), True),
                                ("on_hangup", None, (), False)]
    assert by_caller["204"][-3:] == [("on_cold_transfer", "205", ("206",), True),
                                     ("on_up", "206", (), True),
                                     ("on_hangup", None, (), False)]
    assert not any(marked for *_, marked in by_caller["204"][:-3])
    assert by_caller["207"] == [("on_b_dial", None, ("208",), True),
                                ("on_up", "208", (), True),
                                ("on_hangup", None, (), False)]
    assert tap.user_events == []  # the barrier is never a user event
    recorded = json.loads(record.read_text())
    names = [e["Event"] for e in recorded]
    assert "CoreShowChannel" in names and "CoreShowChannelsComplete" in names
    assert any(str(e.get("UserEvent", "")).startswith(BARRIER_PREFIX) for e in recorded)
    replayed = Tap()
    FileRunner(str(record), replayed).run()
    assert comparable(replayed.records) == comparable(tap.records)
    assert replayed.user_events == []


def dialplan_user_event() -> list[dict[str, Any]]:
    events = build("answered", "ami2").events
    up = nth(events, "BridgeEnter", 1)
    uid = events[0]["Uniqueid"]
    note = {"Event": "UserEvent", "Privilege": "user,all", "UserEvent": "CallNote",
            "Channel": events[0]["Channel"], "Uniqueid": uid, "Linkedid": uid,
            "Note": "VIP caller", "Empty": ""}
    return [*events[:up], note, *events[up:]]


async def test_live_user_event_data_equals_replay_with_no_content_key(tmp_path: Path) -> None:
    events = dialplan_user_event()
    tap = Tap()
    async with AmiTestServer(events, secret=SECRET) as srv:
        runner = AmiRunner(host(srv), tap, **FAST)
        async with running(runner):
            await tap.until(lambda: any(r.HOOK == "on_hangup" for r in tap.records))
    log = tmp_path / "log.json"
    log.write_text(json.dumps(events))
    replayed = Tap()
    FileRunner(str(log), replayed).run()
    assert len(tap.user_events) == 1 and "content" not in tap.user_events[0]
    assert tap.user_events == replayed.user_events


def parked_queued_conferencing() -> tuple[list[dict[str, Any]], int]:
    """Three answered calls; then 201 is parked, 204 waits in a queue and
    207 is in conference 900. Returns the events and the index after them."""
    ids = Ids(system="st")
    calls = [build("answered", "ami2", numbers=[a, b], ids=ids).events
             for a, b in (("201", "202"), ("204", "205"), ("207", "208"))]
    up = [nth(events, "BridgeEnter", 1) for events in calls]
    first = [e for events, n in zip(calls, up) for e in events[:n]]
    a, b, c = (events[0] for events in calls)
    states = [
        {"Event": "ParkedCall", "ParkeeChannel": a["Channel"], "ParkeeUniqueid": a["Uniqueid"],
         "ParkeeCallerIDNum": "201", "Parkinglot": "default", "ParkingSpace": "701",
         "ParkingTimeout": "45", "ParkingDuration": "0"},
        {"Event": "QueueCallerJoin", "Channel": b["Channel"], "Uniqueid": b["Uniqueid"],
         "CallerIDNum": "204", "Queue": "support", "Position": "1", "Count": "1"},
        {"Event": "ConfbridgeJoin", "Conference": "900", "Channel": c["Channel"],
         "Uniqueid": c["Uniqueid"], "CallerIDNum": "207", "Admin": "No"},
    ]
    rest = [e for events, n in zip(calls, up) for e in events[n:]]
    return [*first, *states, *rest], len(first) + len(states)


async def test_a_resync_asks_parks_queues_and_conferences_and_a_refusal_is_logged_once(
        tmp_path: Path, caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    events, stop_at = parked_queued_conferencing()
    tap, record = Tap(), tmp_path / "rec.json"
    reporter = MultiReporter([tap, JsonReporter(str(record))])
    async with AmiTestServer(events, secret=SECRET, refuse=["QueueStatus"]) as srv:
        srv.pause(after=stop_at)
        runner = AmiRunner(host(srv), reporter, **FAST)
        async with running(runner):
            await tap.until(lambda: tap.applied >= expected_events(events[:stop_at]) + 1)
            for resyncs in (1, 2):  # two reconnects, two resyncs
                await srv.drop_connections()
                await tap.until(lambda: tap.barriers == resyncs)
            views = {s.caller.number: s for s in runner.snapshot()}
            srv.resume()
            await tap.until(lambda: sum(r.HOOK == "on_hangup" for r in tap.records) == 3)
    asked = srv.actions
    assert asked.count("ParkedCalls") == 2 and asked.count("QueueStatus") == 2
    assert asked.count("ConfbridgeListRooms") == 2 and asked.count("ConfbridgeList") == 2
    refusals = [r for r in caplog.records if "refused QueueStatus" in r.getMessage()]
    assert len(refusals) == 1 and "Permission denied" in refusals[0].getMessage()
    recorded = json.loads(record.read_text())
    parked = [e for e in recorded if e["Event"] == "ParkedCall" and e.get("ActionID")]
    members = [e for e in recorded if e["Event"] == "ConfbridgeList"]
    assert [e["ParkingSpace"] for e in parked] == ["701", "701"]
    assert [(e["Conference"], e["CallerIDNum"]) for e in members] == [("900", "207")] * 2
    assert [r.HOOK for r in tap.records].count("on_hangup") == 3
    assert set(views) == {"201", "204", "207"} and all(v.server == "pbx" for v in views.values())
    assert views["201"].park is not None and views["201"].park.space == "701"
    assert views["204"].queue is not None  # seen live; QueueStatus was refused
    assert views["207"].conference is not None and views["207"].conference.room == "900"
    # seen live, then found again by both resyncs: reported once, never as after-gap
    states = [r.HOOK for r in tap.records if r.HOOK in (
        "on_park", "on_queue_join", "on_conference_join")]
    assert sorted(states) == ["on_conference_join", "on_park", "on_queue_join"]
    assert not [r.HOOK for r in tap.records if r.after_gap]


async def _cli(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    import os
    import sys
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cacofonisk", *args,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_listen_record_across_a_reconnect_then_replay_prints_what_listen_printed(
        tmp_path: Path) -> None:
    import signal

    events, start, end = three_calls()
    record = tmp_path / "across.json"
    async with AmiTestServer(events, secret=SECRET) as srv:
        srv.pause(after=start)
        proc = await _cli("listen", "--host", f"tcp://u@{srv.host}:{srv.port}?name=pbx",
                          "--format", "jsonl", "--record", str(record),
                          env={"CACOFONISK_AMI_PASSWORD": SECRET})
        assert proc.stdout is not None
        printed: list[dict[str, Any]] = []

        async def read_until(done: Callable[[], bool]) -> None:
            async with asyncio.timeout(TIMEOUT):
                while not done():
                    printed.append(json.loads(await proc.stdout.readline()))

        # B's answer is the last record of what came before the gap
        await read_until(lambda: any(p["event"] == "on_up" for p in printed))
        await srv.drop_connections()
        srv.skip(end - start)
        async with asyncio.timeout(TIMEOUT):
            while srv.actions.count("UserEvent") < 1:  # its barrier: the lists were read
                await asyncio.sleep(0.01)
        srv.resume()
        await read_until(lambda: sum(p["event"] == "on_hangup" for p in printed) == 3)
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode == 0, err.decode()
    live = [*printed, *(json.loads(line) for line in out.decode().splitlines())]
    assert sum(item["event"] == "on_hangup" for item in live) == 3
    assert any(item["after_gap"] for item in live)
    replay = await _cli("replay", "--format", "jsonl", str(record))
    again, err = await asyncio.wait_for(replay.communicate(), TIMEOUT)
    assert replay.returncode == 0, err.decode()
    replayed = [json.loads(line) for line in again.decode().splitlines()]

    def without_server(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in item.items() if k != "server"} for item in items]

    assert without_server(replayed) == without_server(live)
