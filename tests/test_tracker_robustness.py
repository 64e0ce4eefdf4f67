"""The tracker's robustness (issue 11, items 5, 20 and 26).

* 5: ``strict=True`` re-raises an exception of the reporter's own hook,
  once every hook of the event ran; BaseTestCase users get a strict manager.
* 20: a channel whose Hangup was lost does not stay forever: a new channel
  taking its name, ``max_channel_age`` and ``max_channels`` drop it with an
  honest on_hangup, counted in ``health_counters()``.
* 26: after a Shutdown, the next FullyBooted (or ``server_restarted()``)
  ends the calls from before the restart; a FullyBooted alone ends nothing.
"""
from __future__ import annotations

import unittest
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest

from cacofonisk import ChannelManager, calls
from cacofonisk.reporters.base import BaseReporter
from cacofonisk.testing.recorder import RecordingReporter
from cacofonisk.testing.scenarios import Ids, build
from cacofonisk.utils.testcases import BaseTestCase


def _answered(system: str = "sim", dialect: str = "ami2", numbers: Sequence[str] = ("201", "202")
              ) -> list[dict[str, Any]]:
    """201 calls 202, who answers; then both hang up (simulated, names from 0)."""
    return [dict(e) for e in build("answered", dialect, numbers=list(numbers),
                                   ids=Ids(system=system)).events]


def _without_hangups(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The call as a lossy link delivers it: every Hangup lost."""
    return [dict(e) for e in events if e["Event"] != "Hangup"]


def _feed(events: Iterable[Mapping[str, Any]], **options: Any
          ) -> tuple[ChannelManager, RecordingReporter]:
    reporter = RecordingReporter()
    manager = ChannelManager(reporter=reporter, strict=True, **options)
    for event in events:
        manager.on_event(event)
    return manager, reporter


def _hangups(reporter: RecordingReporter) -> list[calls.Hangup]:
    return [r for r in reporter.records if isinstance(r, calls.Hangup)]


def _timed(events: Sequence[dict[str, Any]], start: float) -> list[dict[str, Any]]:
    return [{**event, "Timestamp": f"{start + n:.6f}"} for n, event in enumerate(events)]


# -- 5: strict mode and the reporter's own hooks -------------------------------------

class _BrokenOnUp(RecordingReporter):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def on_call_event(self, record: calls.CallEvent) -> None:
        super().on_call_event(record)
        if isinstance(record, calls.Up):
            raise ValueError("reporter bug in on_up")

    def on_event(self, event: Any) -> None:
        self.seen.append(event["Event"])


def test_strict_manager_reraises_a_hook_exception_once_every_hook_of_the_event_ran():
    reporter = _BrokenOnUp()
    manager = ChannelManager(reporter=reporter, strict=True)
    manager.declare_dialect("ami2")
    events = _answered()
    raised = []
    for event in events:
        try:
            manager.on_event(event)
        except ValueError as err:
            raised.append((event["Event"], str(err)))
            assert reporter.seen[-1] == event["Event"]  # its on_event ran first
    assert [message for _name, message in raised] == ["reporter bug in on_up"]
    assert reporter.hooks() == ["on_b_dial", "on_b_dial_end", "on_up", "on_hangup"]
    assert manager.is_idle()
    assert manager.health_counters()["hook_errors"] == 1


@pytest.mark.parametrize("hook", ["trace_ami", "on_event", "trace_msg"])
def test_strict_manager_reraises_an_exception_of_trace_ami_on_event_or_trace_msg(hook):
    class Broken(BaseReporter):
        pass

    def broken(*args: Any) -> None:
        raise RuntimeError(f"{hook} broke")

    setattr(Broken, hook, broken)
    manager = ChannelManager(reporter=Broken(), strict=True)
    with pytest.raises(RuntimeError, match=f"{hook} broke"):
        manager.on_event({"Event": "Newstate"})  # malformed: traced


def test_lenient_manager_logs_a_hook_exception_and_goes_on():
    reporter = _BrokenOnUp()
    manager = ChannelManager(reporter=reporter)
    for event in _answered():
        manager.on_event(event)
    assert reporter.hooks() == ["on_b_dial", "on_b_dial_end", "on_up", "on_hangup"]
    assert any("on_up" in trace for trace in reporter.traces)
    assert manager.health_counters()["hook_errors"] == 1


def test_a_base_test_case_with_a_broken_reporter_fails():
    events = _answered()

    class UsersTest(BaseTestCase):
        def test_call(self) -> None:
            manager = self.channel_manager(_BrokenOnUp())
            for event in events:
                manager.on_event(event)

    result = unittest.TestResult()
    UsersTest("test_call").run(result)
    assert len(result.errors) == 1 and "reporter bug in on_up" in result.errors[0][1]


# -- 20: channels whose Hangup was lost ---------------------------------------------

@pytest.mark.parametrize("dialect", ["ami1", "ami2"])
def test_a_new_channel_taking_the_name_of_one_whose_hangup_was_lost_ends_its_call(dialect):
    first = _without_hangups(_answered("before", dialect))
    again = _answered("after", dialect)  # same channel names, new Uniqueids
    manager, reporter = _feed(first + again)
    ended = _hangups(reporter)
    assert [(h.call_id, h.reason) for h in ended] == [
        ("before-1600000000.0", "completed"), ("after-1600000000.0", "completed")]
    assert ended[0].hangup_by.startswith("unknown: its name ")
    assert " was taken by new channel after-" in ended[0].hangup_by
    # only a 1.x masquerade's zombie may stay: no new channel takes a <ZOMBIE> name,
    # so its lost Hangup waits for max_channel_age / max_channels
    assert manager.calls == []
    assert all(c.name.endswith("<ZOMBIE>") for c in manager.channels), manager.channels
    assert manager.health_counters()["stale_channels_dropped"] >= 2


@pytest.mark.parametrize("dialect", ["ami1", "ami2"])
def test_the_call_after_a_lost_hangup_is_reported_as_a_fresh_manager_reports_it(dialect):
    again = _answered("after", dialect)
    _, fresh = _feed(again)
    _, reporter = _feed(_without_hangups(_answered("before", dialect)) + again)
    after = [r.args() for r in reporter.records if r.call_id.startswith("after")]
    assert after == [r.args() for r in fresh.records]


def test_a_channel_older_than_max_channel_age_is_dropped_at_the_next_flush():
    ringing = _timed([e for e in _answered("old") if e["Event"] not in
                      ("Hangup", "BridgeEnter", "BridgeLeave")][:9], start=1000.0)
    late = _timed(_answered("new", numbers=("203", "204")), start=1000.0 + 3700)
    manager, reporter = _feed(ringing + late[:1], max_channel_age=3600)
    assert _hangups(reporter) == []  # checked every AGE_CHECK_EVERY Newchannels, or:
    manager.flush()
    assert [(h.call_id, h.hangup_by) for h in _hangups(reporter)] == [
        ("old-1600000000.0", "unknown: older than 3600 s (max_channel_age)")]
    assert [c.uniqueid for c in manager.channels] == ["new-1600000000.0"]


def test_channels_younger_than_max_channel_age_are_kept():
    ringing = _timed(_without_hangups(_answered("old")), start=1000.0)
    late = _timed(_answered("new", numbers=("203", "204")), start=1000.0 + 3599)
    manager, reporter = _feed(ringing + late[:1], max_channel_age=3600)
    manager.flush()
    assert _hangups(reporter) == []
    assert len(manager.channels) == 3


def test_more_than_max_channels_drops_the_oldest_first():
    events: list[dict[str, Any]] = []
    for n in range(5):
        events += _without_hangups(_answered(f"s{n}"))
        for event in events:  # each server's names apart: only the bound drops
            if event.get("Channel", "").startswith("PJSIP/20"):
                event["Channel"] = event["Channel"].replace("PJSIP/", f"PJSIP/s{n}-", 1)
    manager, reporter = _feed(events, max_channels=4)
    assert len(manager.channels) == 4
    assert [h.call_id for h in _hangups(reporter)] == [
        "s0-1600000000.0", "s1-1600000000.0", "s2-1600000000.0"]
    assert manager.health_counters()["stale_channels_dropped"] == 6


def test_no_bound_keeps_every_channel():
    events = _without_hangups(_answered("s0"))
    manager, _ = _feed(events, max_channels=None, max_channel_age=None)
    assert len(manager.channels) == 2


def test_drop_channel_ends_a_callers_call_and_frees_it():
    manager, reporter = _feed(_without_hangups(_answered()))
    assert manager.drop_channel("sim-1600000000.1", "not listed by CoreShowChannels")
    assert _hangups(reporter) == []  # a callee: its caller's call goes on
    assert manager.drop_channel("sim-1600000000.0", "not listed by CoreShowChannels")
    (hangup,) = _hangups(reporter)
    assert (hangup.reason, hangup.hangup_by) == (
        "completed", "unknown: not listed by CoreShowChannels")
    assert manager.is_idle()
    assert not manager.drop_channel("sim-1600000000.0", "again")


def test_health_counters_count_malformed_and_unplaced_events():
    manager, _ = _feed([{"Event": "Newstate"},
                        {"Event": "Hangup", "Uniqueid": "x.1", "Channel": "SIP/x-1"}],
                       dialect="ami2")
    counters = manager.health_counters()
    assert (counters["malformed_events"], counters["unplaced_events"]) == (1, 1)
    assert set(counters) >= {"stale_channels_dropped", "restarts_seen", "hook_errors",
                             "internal_errors", "held_events", "channels", "calls"}


# -- 26: an Asterisk restart -----------------------------------------------------------

SHUTDOWN = {"Event": "Shutdown", "Shutdown": "Cleanly", "Restart": "True"}
BOOTED = {"Event": "FullyBooted", "Status": "Fully Booted"}


def _up_then(system: str) -> list[dict[str, Any]]:
    """A call answered and still up: the events until both are bridged."""
    events = _answered(system)
    return events[:events.index(next(e for e in events if e["Event"] == "HangupRequest"))]


@pytest.mark.parametrize("dialect", ["ami1", "ami2"])
def test_fully_booted_after_a_shutdown_ends_the_calls_from_before_the_restart(dialect):
    before = [e for e in _answered("before", dialect) if e["Event"] not in ("Hangup",)]
    before = before[:len(before) * 2 // 3]
    after = _answered("after", dialect)
    manager, reporter = _feed([*before, SHUTDOWN, BOOTED])
    (ended,) = _hangups(reporter)
    assert ended.call_id == "before-1600000000.0"
    assert ended.hangup_by == "unknown: Asterisk restarted"
    assert manager.is_idle()
    assert manager.health_counters()["restarts_seen"] == 1
    _, fresh = _feed(after)
    for event in after:
        manager.on_event(event)
    assert [r.args() for r in reporter.records if r.call_id.startswith("after")] == [
        r.args() for r in fresh.records]


def test_fully_booted_without_a_shutdown_ends_nothing():
    manager, reporter = _feed([BOOTED, *_up_then("a"), BOOTED])
    assert _hangups(reporter) == []
    assert len(manager.channels) == 2
    assert manager.health_counters()["restarts_seen"] == 0


def test_server_restarted_ends_every_call_in_flight_and_forgets_recent_names():
    manager, reporter = _feed(_up_then("a"))
    manager.server_restarted()
    assert [(h.call_id, h.reason, h.hangup_by) for h in _hangups(reporter)] == [
        ("a-1600000000.0", "completed", "unknown: Asterisk restarted")]
    assert manager.is_idle()
    assert any("restarted" in trace for trace in reporter.traces)


@pytest.mark.parametrize("options", [{"max_channels": 0}, {"max_channels": -3},
                                     {"max_channel_age": 0}, {"max_channel_age": -1.5}])
def test_a_bound_that_would_drop_every_channel_is_refused_clearly(options):
    from cacofonisk.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="(or None: no bound)"):
        ChannelManager(reporter=RecordingReporter(), **options)


def test_the_age_bound_is_also_checked_every_age_check_every_newchannels():
    from cacofonisk.tracker import AGE_CHECK_EVERY

    old = _timed([{"Event": "Newchannel", "Uniqueid": "old.1", "Channel": "PJSIP/old-1",
                   "Linkedid": "old.1", "ChannelState": "0"}], start=1000.0)
    young = _timed([{"Event": "Newchannel", "Uniqueid": f"y.{n}", "Channel": f"PJSIP/y-{n}",
                     "Linkedid": f"y.{n}", "ChannelState": "0"}
                    for n in range(AGE_CHECK_EVERY)], start=5000.0)
    manager, _ = _feed(old + young[:AGE_CHECK_EVERY - 2], dialect="ami2", max_channel_age=3600)
    assert "old.1" in {c.uniqueid for c in manager.channels}  # 63 Newchannels so far
    manager.on_event(young[AGE_CHECK_EVERY - 2])
    assert "old.1" not in {c.uniqueid for c in manager.channels}
