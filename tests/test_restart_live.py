"""An Asterisk restart seen at a reconnect, and the tracker's counters in health.

Issue 11 items 20 and 26, through the real runner and the project's test
AMI server: at each login the runner asks ``CoreStatus``; when Asterisk's
startup time moved while we were away, the calls from before end with
``hangup_by`` 'unknown: Asterisk restarted' BEFORE the resync (which would
otherwise call them 'ended while disconnected'), the restart is counted,
and ``health()``, ``listen --health``, ``/health`` and ``/metrics`` show it.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from cacofonisk.calls import CallEvent
from cacofonisk.commands.listen import format_health
from cacofonisk.reporters.json import JsonReporter
from cacofonisk.reporters.multi import MultiReporter
from cacofonisk.resync import GONE_WHILE_AWAY
from cacofonisk.runners.ami_runner import AmiRunner
from cacofonisk.runners.file_runner import FileRunner
from cacofonisk.testing.ami_server import AmiTestServer
from cacofonisk.testing.scenarios import Ids, build
from cacofonisk.web.app import LiveView
from test_resync_live import FAST, SECRET, Tap, comparable, host, nth, running
from web_helpers import client_for

RESTARTED = "unknown: Asterisk restarted"


def before_and_after() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A call answered before the restart (still in flight), and the log the
    restarted Asterisk sends: a new call whose channels reuse the old names."""
    old = build("answered", "ami2", numbers=["201", "202"], ids=Ids(system="old")).events
    new = build("answered", "ami2", numbers=["201", "203"], ids=Ids(system="new")).events
    assert old[0]["Channel"] == new[0]["Channel"]  # names start from 0 again
    return list(old[:nth(old, "BridgeEnter", 1)]), list(new)


def hangups(records: list[CallEvent]) -> list[tuple[str, str]]:
    return [(r.call_id, r.hangup_by) for r in records if r.HOOK == "on_hangup"]


async def follow_a_restart(reporter: Any, tap: Tap, **server: Any) -> tuple[
        dict[str, Any], str, dict[str, Any]]:
    """Follow a call, restart the server, follow the new call; return the
    runner's health, the /metrics page and the /health body at the end."""
    old, new = before_and_after()
    async with AmiTestServer(old, secret=SECRET, **server) as srv:
        runner = AmiRunner(host(srv), reporter, **FAST)
        view = LiveView()
        view.attach(runner)
        async with running(runner), client_for(view) as client:
            await tap.until(lambda: any(r.HOOK == "on_up" for r in tap.records))
            await srv.restart(new)
            await tap.until(lambda: len(hangups(tap.records)) == 2)
            health = runner.health()["pbx"]
            metrics = await (await client.get("/metrics")).text()
            body = await (await client.get("/health")).json()
    return health, metrics, body


async def test_a_restart_seen_at_reconnect_ends_the_old_calls_first_and_is_counted_everywhere(
        tmp_path: Path) -> None:
    tap, record = Tap(), tmp_path / "live.json"
    health, metrics, body = await follow_a_restart(
        MultiReporter([tap, JsonReporter(str(record))]), tap)
    assert hangups(tap.records) == [("old-1600000000.0", RESTARTED),
                                    ("new-1600000000.0", "caller")]
    assert health["restarts_seen"] == 1
    assert health["stale_channels_dropped"] == 2  # both channels of the old call
    assert "dropped=2 restarts=1 hook_errors=0" in format_health({"pbx": health})
    assert 'cacofonisk_restarts_total{server="pbx"} 1' in metrics.splitlines()
    assert 'cacofonisk_stale_channels_dropped_total{server="pbx"} 2' in metrics.splitlines()
    assert body["servers"]["pbx"]["restarts_seen"] == 1
    assert body["servers"]["pbx"]["stale_channels_dropped"] == 2
    replayed = Tap()  # the recording holds the restart where the live run saw it
    FileRunner(str(record), replayed).run()
    assert comparable(replayed.records) == comparable(tap.records)


async def test_a_refused_core_status_breaks_nothing_and_is_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    tap = Tap()
    with caplog.at_level(logging.WARNING, logger="cacofonisk.runners.ami_restart"):
        health, _, _ = await follow_a_restart(tap, tap, refuse=["CoreStatus"])
    # without CoreStatus the old call still ends, as before: the new channel
    # that takes its name, or the resync that does not list it, ends it
    (old_id, old_by), new = hangups(tap.records)
    assert old_id == "old-1600000000.0" and old_by != RESTARTED
    assert old_by == GONE_WHILE_AWAY or "was taken by new channel" in old_by
    assert new == ("new-1600000000.0", "caller")
    assert health["restarts_seen"] == 0 and health["reconnects"] == 1
    refusals = [r for r in caplog.records if "CoreStatus refused" in r.getMessage()]
    assert len(refusals) == 1 and "Permission denied" in refusals[0].getMessage()


class BrokenOnUp(Tap):
    """A user's reporter whose on_up raises (not wrapped by the live view)."""

    def on_call_event(self, record: CallEvent) -> None:
        super().on_call_event(record)
        if record.HOOK == "on_up":
            raise RuntimeError("reporter bug")


async def test_hook_errors_the_manager_caught_reach_health_and_metrics() -> None:
    old, _ = before_and_after()
    tap = BrokenOnUp()
    async with AmiTestServer(old, secret=SECRET) as srv:
        runner = AmiRunner(host(srv), tap, **FAST)
        view = LiveView()
        view.attach(runner)
        async with running(runner), client_for(view) as client:
            await tap.until(lambda: any(r.HOOK == "on_up" for r in tap.records))
            health = runner.health()["pbx"]
            metrics = (await (await client.get("/metrics")).text()).splitlines()
    assert health["hook_errors"] == 1
    assert "hook_errors=1" in format_health({"pbx": health})
    assert "cacofonisk_hook_errors_total 1" in metrics
