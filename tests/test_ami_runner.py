"""AmiRunner against the AMI test server over loopback, with a fake manager.

The fake manager records what the runner hands it, so these tests do not
depend on the real ChannelManager.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from conformance import SHARED, SKIP_REASON

from runner_helpers import eventually as _eventually, running as _running
from cacofonisk.errors import AuthenticationFailed, ConfigurationError
from cacofonisk.resync import LIST_EVENTS as RESYNC_LIST_EVENTS
from cacofonisk.runners.ami_runner import BARRIER_PREFIX, AmiHost, AmiRunner
from cacofonisk.testing.ami_server import AmiTestServer

TIMEOUT = 5.0
SECRET = "Xyzzy-s3cr3t"
FAST = dict(reconnect_delay=0.01, reconnect_max_delay=0.05, ping_interval=5.0,
            ping_timeout=1.0, action_timeout=2.0)

def running(runner: AmiRunner) -> contextlib.AbstractAsyncContextManager[asyncio.Task[None]]:
    return _running(runner, TIMEOUT)


async def eventually(predicate: Callable[[], bool]) -> None:
    await _eventually(predicate, TIMEOUT, poll=0.005)



class FakeManager:
    """Records on_event and resync calls in one ordered log."""

    INTERESTING_EVENTS = frozenset({"FullyBooted", "Newchannel", "Newstate", "Hangup",
                                    "BridgeEnter", "BridgeLeave", "UserEvent"})
    instances: list[FakeManager] = []

    def __init__(self, reporter: Any, server: str = "") -> None:
        self.reporter = reporter
        self.server = server
        self.log: list[tuple[str, Any]] = []
        self.calls: list[str] = ["call-1"]
        self._listed: list[str] = []
        self._changed = asyncio.Event()
        FakeManager.instances.append(self)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events received, as dicts without panoramisk's empty 'content'."""
        return [plain(item) for kind, item in self.log if kind == "event"]

    def on_event(self, event: Any) -> None:
        """A resync arrives as its list answers then its barrier: logged as
        one ("resync", uniqueids) entry, as ChannelManager applies it."""
        name = event.get("Event")
        if name in RESYNC_LIST_EVENTS:
            if name == "CoreShowChannel":
                self._listed.append(event["Uniqueid"])
        elif name == "UserEvent" and str(event.get("UserEvent")).startswith(BARRIER_PREFIX):
            self.log.append(("resync", self._listed))
            self._listed = []
        else:
            self.log.append(("event", event))
        self._changed.set()

    def resync(self, channels: list[dict[str, Any]]) -> None:
        """Present, so the runner resyncs (it feeds the lists to on_event)."""

    async def until(self, predicate: Callable[[FakeManager], bool]) -> None:
        async with asyncio.timeout(TIMEOUT):
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()


def plain(event: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(event).items() if not (k == "content" and v == "")}


class Reporter:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def chan(event: str, uid: str, seq: int, **fields: str) -> dict[str, str]:
    return {"Event": event, "Channel": f"SIP/{uid}", "Uniqueid": uid, "Seq": str(seq),
            **fields}


def call_log(calls: int) -> list[dict[str, str]]:
    """``calls`` overlapping calls: all start, then all end; VarSet as noise."""
    log: list[dict[str, str]] = []
    for n in range(calls):
        uid = f"1.{n}"
        log += [chan("Newchannel", uid, 0, Linkedid=uid, ChannelState="0"),
                chan("VarSet", uid, 0, Variable="X", Value=str(n)),
                chan("Newstate", uid, 0, ChannelState="6")]
    for n in range(calls):
        log.append(chan("Hangup", f"1.{n}", 0, Cause="16"))
    for seq, event in enumerate(log):
        event["Seq"] = str(seq)
    return log


def interesting(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["Event"] in FakeManager.INTERESTING_EVENTS]




def host(srv: AmiTestServer, **more: Any) -> dict[str, Any]:
    return {"host": srv.host, "port": srv.port, "username": "u", "password": SECRET, **more}


@pytest.fixture(autouse=True)
def _forget_instances() -> None:
    FakeManager.instances.clear()


async def test_runner_feeds_interesting_events_in_order_and_filters_on_the_server():
    log = call_log(2)
    reporter = Reporter()
    async with AmiTestServer(log, secret=SECRET) as srv:
        runner = AmiRunner([host(srv, name="pbx1")], reporter, channel_manager=FakeManager,
                           **FAST)
        (fake,) = runner.channel_managers
        assert fake.server == "pbx1" and fake.reporter is reporter
        async with running(runner):
            await fake.until(lambda m: len(m.events) == 1 + len(interesting(log)))
            assert [e["Event"] for e in fake.events][0] == "FullyBooted"
            assert fake.events[1:] == interesting(log)
            # CoreStatus: Asterisk's startup time, to tell a restart at a reconnect
            assert srv.actions[:3] == ["Login", "CoreStatus", "Filter"]
            health = runner.health()["pbx1"]
            assert health["connected"] is True and health["calls_in_flight"] == 1
            assert health["last_event_age"] is not None and health["reconnects"] == 0
    assert reporter.closed == 1
    assert runner.health()["pbx1"]["connected"] is False


async def test_md5_login_from_a_url():
    async with AmiTestServer(call_log(1), secret=SECRET) as srv:
        url = f"tcp://u:{SECRET}@{srv.host}:{srv.port}?auth=md5&name=box"
        runner = AmiRunner(url, Reporter(), channel_manager=FakeManager, **FAST)
        (fake,) = runner.channel_managers
        async with running(runner):
            await fake.until(lambda m: any(e["Event"] == "Hangup" for e in m.events))
        assert srv.actions[:2] == ["Challenge", "Login"] and srv.logins == ["u"]
        assert fake.server == "box"


async def test_wrong_secret_raises_authentication_failed_without_retrying(caplog):
    caplog.set_level(logging.DEBUG)
    reporter = Reporter()
    async with AmiTestServer(call_log(1), secret="the-right-one") as srv:
        runner = AmiRunner([host(srv)], reporter, channel_manager=FakeManager, **FAST)
        with pytest.raises(AuthenticationFailed) as info:
            await asyncio.wait_for(runner.run_async(), TIMEOUT)
        assert f"{srv.host}:{srv.port}" in str(info.value) and "'u'" in str(info.value)
        assert SECRET not in str(info.value)
        assert srv.actions.count("Login") == 1 and srv.logins == []
    assert reporter.closed == 1
    assert not any(SECRET in r.getMessage() for r in caplog.records)


async def test_secrets_never_reach_logs_or_reprs(caplog):
    caplog.set_level(logging.DEBUG)
    async with AmiTestServer(call_log(1), secret=SECRET) as srv:
        runner = AmiRunner([host(srv), f"tcp://u:{SECRET}@{srv.host}:{srv.port}?name=b"],
                           Reporter(), channel_manager=FakeManager, **FAST)
        async with running(runner):
            await eventually(lambda: len(srv.logins) == 2)
            await srv.drop_connections()
            await eventually(lambda: len(srv.logins) >= 4)
        texts = [repr(runner), repr(runner.hosts), str(runner.hosts[0]), repr(srv),
                 str(runner.health())]
        assert not any(SECRET in t for t in texts)
        assert caplog.records, "expected some logging to check"
        assert not any(SECRET in r.getMessage() for r in caplog.records)


async def test_reporter_is_closed_exactly_once():
    reporter = Reporter()
    async with AmiTestServer(call_log(1), secret=SECRET) as srv:
        runner = AmiRunner(host(srv), reporter, channel_manager=FakeManager, **FAST)
        async with running(runner):
            await FakeManager.instances[0].until(lambda m: len(m.events) > 0)
        runner.stop()
    assert reporter.closed == 1
    early = Reporter()
    stopped = AmiRunner({"host": "127.0.0.1", "port": 1, "username": "u", "password": ""},
                        early, channel_manager=FakeManager)
    stopped.stop()
    await asyncio.wait_for(stopped.run_async(), TIMEOUT)
    assert early.closed == 1


async def test_reconnect_resyncs_then_replays_held_events_in_order():
    log = call_log(3)  # 9 start events, then 3 hangups
    async with AmiTestServer(log, secret=SECRET) as srv:
        srv.pause(after=9)
        runner = AmiRunner(host(srv), Reporter(), channel_manager=FakeManager, **FAST)
        (fake,) = runner.channel_managers
        async with running(runner):
            await fake.until(lambda m: len(m.events) == 1 + len(interesting(log[:9])))
            await srv.drop_connections()
            srv.skip(1)  # the hangup of 1.0 happens while we are away
            srv.resume()
            await fake.until(lambda m: any(e.get("Uniqueid") == "1.2" and e["Event"] ==
                                           "Hangup" for e in m.events))
            await eventually(srv.finished.is_set)
        kinds = [kind for kind, _ in fake.log]
        assert kinds.count("resync") == 1
        cut = kinds.index("resync")
        before = [plain(item) for kind, item in fake.log[:cut] if kind == "event"]
        # the channel list matches what was delivered before it, plus what we missed
        seen = {e["Seq"] for e in before if "Seq" in e}
        alive = {e["Uniqueid"] for e in log[:10] if e["Event"] == "Newchannel"}
        alive -= {e["Uniqueid"] for e in log[:10] if e["Event"] == "Hangup"}
        alive -= {e["Uniqueid"] for e in log if e["Event"] == "Hangup" and e["Seq"] in seen}
        assert set(fake.log[cut][1]) == alive
        # every log event arrives once, in order, except the one missed while away
        replayed = [e for e in fake.events if e["Event"] != "FullyBooted"]
        assert replayed == interesting(log[:9] + log[10:])
        assert [e["Event"] for e in fake.events].count("FullyBooted") == 2
        assert not any(e.get("UserEvent", "").startswith(BARRIER_PREFIX) for e in fake.events)
        second = srv.actions[srv.actions.index("Login", 1):]
        assert second[:8] == ["Login", "CoreStatus", "Filter", "CoreShowChannels",
                              "ParkedCalls", "QueueStatus", "ConfbridgeListRooms", "UserEvent"]
        assert runner.health()[f"{srv.host}:{srv.port}"]["reconnects"] == 1


async def test_events_during_the_resync_wait_until_it_is_done():
    log = call_log(2)
    async with AmiTestServer(log, secret=SECRET) as srv:
        srv.pause(after=3)
        runner = AmiRunner(host(srv), Reporter(), channel_manager=FakeManager, **FAST)
        (fake,) = runner.channel_managers
        async with running(runner):
            await fake.until(lambda m: len(m.events) == 1 + len(interesting(log[:3])))
            await srv.drop_connections()
            srv.resume()  # events flow while the runner is resyncing
            await fake.until(lambda m: len(m.events) == 2 + len(interesting(log)))
        cut = [kind for kind, _ in fake.log].index("resync")
        seen = {plain(item).get("Seq") for kind, item in fake.log[:cut] if kind == "event"}
        alive = [e["Uniqueid"] for e in log if e["Event"] == "Newchannel" and e["Seq"] in seen]
        ended = {e["Uniqueid"] for e in log if e["Event"] == "Hangup" and e["Seq"] in seen}
        assert fake.log[cut][1] == [uid for uid in alive if uid not in ended]
        replayed = [e for e in fake.events if e["Event"] != "FullyBooted"]
        assert replayed == interesting(log)


async def test_no_answer_to_ping_counts_as_a_dead_connection(caplog):
    async with AmiTestServer(call_log(1), secret=SECRET) as srv:
        runner = AmiRunner(host(srv), Reporter(), channel_manager=FakeManager,
                           **{**FAST, "ping_interval": 0.05, "ping_timeout": 0.1})
        async with running(runner):
            await eventually(lambda: "Ping" in srv.actions)  # past login and setup
            srv.hang_connections()
            await eventually(lambda: len(srv.logins) == 2)
            await eventually(lambda: runner.health()[f"{srv.host}:{srv.port}"]["connected"])
        assert srv.logins == ["u", "u"]
        assert any("no answer to Ping within 0.1 s" in r.getMessage() for r in caplog.records)


async def test_a_manager_that_raises_does_not_stop_the_stream(caplog):
    class Exploding(FakeManager):
        def on_event(self, event: Any) -> None:
            super().on_event(event)
            if event["Event"] == "Newchannel":
                raise RuntimeError("boom")

    log = call_log(2)
    async with AmiTestServer(log, secret=SECRET) as srv:
        runner = AmiRunner(host(srv), Reporter(), channel_manager=Exploding, **FAST)
        (fake,) = runner.channel_managers
        async with running(runner):
            await fake.until(lambda m: len(m.events) == 1 + len(interesting(log)))
        assert srv.logins == ["u"]
    assert any("boom" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


async def test_old_style_manager_without_server_keyword_still_works():
    class OldStyle(FakeManager):
        def __init__(self, reporter: Any) -> None:
            super().__init__(reporter)

    runner = AmiRunner({"host": "h", "port": 5038, "username": "u", "password": "p"},
                       Reporter(), channel_manager=OldStyle)
    assert isinstance(runner.channel_managers[0], OldStyle)


async def test_health_reports_lag_and_calls_the_callback():
    seen: list[dict[str, Any]] = []
    async with AmiTestServer(call_log(1), secret=SECRET, restamp=True) as srv:
        runner = AmiRunner(host(srv, name="x"), Reporter(), channel_manager=FakeManager,
                           on_health=seen.append, health_interval=0.01, **FAST)
        async with running(runner):
            await FakeManager.instances[0].until(lambda m: len(m.events) > 2)
            await eventually(lambda: any(h["x"]["lag"] is not None for h in seen))
        lag = runner.health()["x"]["lag"]
        assert lag is not None and -1.0 < lag < 5.0
        assert seen[-1]["x"]["connected"] is False  # reported on disconnect too


async def test_many_servers_in_one_runner():
    async with AmiTestServer(call_log(1), secret=SECRET) as one, \
            AmiTestServer(call_log(2), secret=SECRET) as two:
        runner = AmiRunner([host(one, name="one"), host(two, name="two")], Reporter(),
                           channel_manager=FakeManager, **FAST)
        first, second = runner.channel_managers
        async with running(runner):
            await first.until(lambda m: len(m.events) == 1 + len(interesting(call_log(1))))
            await second.until(lambda m: len(m.events) == 1 + len(interesting(call_log(2))))
        assert (first.server, second.server) == ("one", "two")


async def test_unreachable_server_is_retried_with_backoff(caplog):
    caplog.set_level(logging.INFO)
    async with AmiTestServer([], secret=SECRET) as srv:
        port = srv.port
    runner = AmiRunner({"host": "127.0.0.1", "port": port, "username": "u",
                        "password": SECRET}, Reporter(), channel_manager=FakeManager, **FAST)
    async with running(runner):
        await eventually(lambda: sum("retrying in" in r.getMessage()
                                     for r in caplog.records) >= 3)
    delays = [float(r.getMessage().split("retrying in ")[1].split()[0])
              for r in caplog.records if "retrying in" in r.getMessage()]
    assert delays[:3] == [0.01, 0.02, 0.04] and max(delays) <= 0.05


@pytest.mark.parametrize("config,problem", [
    ({"host": "h", "username": "u"}, "'password'"),
    ({"port": 1, "username": "u", "password": SECRET}, "'host'"),
    ({"host": "h", "port": "x", "username": "u", "password": SECRET}, "'port'"),
    (f"http://u:{SECRET}@h:1", "tcp://"),
    (f"tcp://u:{SECRET}@h:99999", "URL"),
    ({"host": "h", "username": "u", "password": SECRET, "auth": "digest"}, "'auth'"),
])
def test_bad_host_config_is_reported_without_the_secret(config, problem):
    with pytest.raises(ConfigurationError) as info:
        AmiRunner(config, Reporter(), channel_manager=FakeManager)
    assert problem in str(info.value) and SECRET not in str(info.value)


def test_unknown_option_and_duplicate_names_are_refused():
    hosts = {"host": "h", "username": "u", "password": "p"}
    with pytest.raises(ConfigurationError, match="ping_intervall"):
        AmiRunner(hosts, Reporter(), channel_manager=FakeManager, ping_intervall=3)
    with pytest.raises(ConfigurationError, match="name"):
        AmiRunner([hosts, hosts], Reporter(), channel_manager=FakeManager)


def test_url_hosts_parse_with_escapes_and_tls():
    parsed = AmiHost.parse("tls://ami%40x:p%3Ass@pbx.example:5039?name=main")
    assert (parsed.host, parsed.port, parsed.username, parsed.secret, parsed.name,
            parsed.ssl) == ("pbx.example", 5039, "ami@x", "p:ss", "main", True)
    assert "p:ss" not in repr(parsed)
    assert AmiHost.parse({"host": "h", "username": "u", "password": ""}).name == "h:5038"


CONFORMANCE = SHARED / "conformance" / "ami2"


async def test_a_recorded_asterisk_log_arrives_whole_and_in_order():
    if not CONFORMANCE.is_dir():
        pytest.skip(SKIP_REASON)
    path = CONFORMANCE / "xfer_attended__xfer_abcbac.json"
    log = json.loads(path.read_text())

    class Recorded(FakeManager):
        INTERESTING_EVENTS = frozenset({"Newchannel", "Newstate", "Hangup", "DialBegin",
                                        "DialEnd", "BridgeEnter", "BridgeLeave",
                                        "AttendedTransfer", "VarSet", "UserEvent"})

    wanted = [plain(e) for e in log if e["Event"] in Recorded.INTERESTING_EVENTS]
    async with AmiTestServer(str(path), secret=SECRET) as srv:
        runner = AmiRunner(host(srv), Reporter(), channel_manager=Recorded, **FAST)
        (fake,) = runner.channel_managers
        async with running(runner):
            await fake.until(lambda m: len(m.events) == len(wanted))
            await eventually(srv.finished.is_set)
        assert fake.events == wanted
        assert "Filter" in srv.actions


class _Hangups:
    """Counts the Hangup events applied (every test log ends with them)."""

    def __init__(self) -> None:
        self.hangups = 0

    def on_event(self, event: Any) -> None:
        self.hangups += event.get("Event") == "Hangup"


async def test_a_live_recording_holds_every_event_asterisk_sent_not_only_tracked_ones(tmp_path):
    """Issue 11 item 3, live: ``listen --record`` wrote only the events the
    runner let through (no VarSet, NewConnectedLine ...). A reporter that
    records raw events gets every event; no server-side Filter is asked."""
    from cacofonisk import ChannelManager, JsonReporter
    from cacofonisk.reporters import MultiReporter

    log = call_log(2)  # VarSet between the tracked events
    assert any(e["Event"] not in ChannelManager.INTERESTING_EVENTS for e in log)
    path, counter = tmp_path / "live.json", _Hangups()
    async with AmiTestServer(log, secret=SECRET) as srv:
        runner = AmiRunner([host(srv)], MultiReporter([JsonReporter(str(path)), counter]),
                           **FAST)
        async with running(runner):
            await eventually(lambda: counter.hangups == 2)
    recorded = [plain(e) for e in json.loads(path.read_text(encoding="utf-8"))]
    assert [e for e in recorded if e["Event"] != "FullyBooted"] == log
    assert "Filter" not in srv.actions


async def test_without_a_raw_event_reporter_the_runner_keeps_filtering_by_name():
    from cacofonisk import BaseReporter, ChannelManager

    seen: list[str] = []

    class Calls(BaseReporter):
        def on_hangup(self, call_id: str, *args: Any) -> None:
            seen.append(call_id)

    log = call_log(2)
    async with AmiTestServer(log, secret=SECRET) as srv:
        runner = AmiRunner([host(srv)], Calls(), **FAST)
        assert runner._links[0].interesting == {
            n.lower() for n in ChannelManager.INTERESTING_EVENTS}
        async with running(runner):
            await eventually(lambda: len(seen) == 2)
    assert "Filter" in srv.actions
