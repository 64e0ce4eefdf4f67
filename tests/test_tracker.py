"""tracker.py alone: reports go through the call machine; registries are freed."""
from __future__ import annotations

import pytest

from cacofonisk import calls
from cacofonisk.callerid import CallerId
from cacofonisk.fsm.call import CallState
from cacofonisk.fsm.channel import Channel, ChannelState
from cacofonisk.tracker import Tracker

ALICE = CallerId(15001, "Alice", "201", True)
BOB = CallerId(15001, "Bob", "202", True)
CAROL = CallerId(15001, "Carol", "203", True)


def tracker_with(*uniqueids: str, server: str = "pbx-1") -> Tracker:
    tracker = Tracker(server)
    for n, uniqueid in enumerate(uniqueids):
        tracker.channels.add(Channel(uniqueid, f"SIP/20{n}-0000000{n}"))
    return tracker


def records(tracker: Tracker) -> list[calls.CallEvent]:
    return [record for _call, record in tracker.outbox]


def test_b_dial_up_hangup_emit_three_numbered_records():
    tracker = tracker_with("a.1", "a.2")
    tracker.timestamp = 1501851189.5
    assert tracker.b_dial("a.1", ALICE, "202", [BOB])
    assert tracker.up("a.1", ALICE, "202", BOB)
    tracker.timestamp = 1501851200.0
    assert tracker.hangup("a.1", ALICE, "202", "completed", cause=16)
    got = records(tracker)
    assert [type(r) for r in got] == [calls.BDial, calls.Up, calls.Hangup]
    assert [r.event_id for r in got] == ["a.1:on_b_dial:1501851189.500000",
                                         "a.1:on_up:1501851189.500000",
                                         "a.1:on_hangup:1501851200.000000"]
    assert {r.server for r in got} == {"pbx-1"}
    assert [r.timestamp for r in got] == [1501851189.5, 1501851189.5, 1501851200.0]
    assert got[0].targets == (BOB,)
    assert got[1].callee == BOB
    assert (got[2].reason, got[2].cause) == ("completed", 16)


def test_reports_move_the_call_machine_and_its_path():
    tracker = tracker_with("a.1")
    tracker.b_dial("a.1", ALICE, "202", [BOB])
    call = tracker.calls.find("a.1")
    assert call is not None and call.state is CallState.RINGING
    tracker.up("a.1", ALICE, "202", BOB)
    tracker.hangup("a.1", ALICE, "202", "completed")
    assert call.state is CallState.ENDED
    assert call.path == ["ring", "answer", "end"]
    assert call.seq == 3
    assert all(c is call for c, _r in tracker.outbox)


def test_up_after_hangup_is_refused_with_a_trace_and_no_record():
    tracker = tracker_with("a.1")
    tracker.b_dial("a.1", ALICE, "202", [BOB])
    tracker.hangup("a.1", ALICE, "202", "cancelled")
    before = list(tracker.outbox)
    traces = len(tracker.traces)
    assert tracker.up("a.1", ALICE, "202", BOB) is False
    assert tracker.outbox == before
    assert len(tracker.traces) == traces + 1
    assert "answer" in tracker.traces[-1]
    assert tracker.calls.find("a.1").seq == 2  # numbering not consumed


def test_second_hangup_is_refused():
    tracker = tracker_with("a.1")
    assert tracker.hangup("a.1", ALICE, "202", "cancelled")
    assert not tracker.hangup("a.1", ALICE, "202", "cancelled")
    assert len(records(tracker)) == 1


def test_b_dial_end_keeps_the_call_ringing():
    tracker = tracker_with("a.1")
    tracker.b_dial("a.1", ALICE, "202", [BOB, CAROL])
    assert tracker.b_dial_end("a.1", ALICE, "202", [CAROL], "busy")
    assert tracker.calls.find("a.1").state is CallState.RINGING
    assert records(tracker)[-1].reason == "busy"
    assert records(tracker)[-1].targets == (CAROL,)


def test_event_ids_are_unique_across_the_calls_of_a_server():
    tracker = tracker_with("a.1", "b.1")
    tracker.b_dial("a.1", ALICE, "202", [BOB])
    tracker.b_dial("b.1", CAROL, "202", [BOB])
    tracker.up("a.1", ALICE, "202", BOB)
    assert [r.event_id for r in records(tracker)] == ["a.1:on_b_dial:#0", "b.1:on_b_dial:#0",
                                                      "a.1:on_up:#0"]


def test_event_ids_do_not_depend_on_what_the_tracker_saw_before():
    # a tracker that attaches mid-stream (failover) gives the same ids for
    # the same timestamped AMI events as one that saw everything
    full, late = tracker_with("a.1", "b.1"), tracker_with("b.1")
    full.timestamp = 100.0
    full.b_dial("a.1", ALICE, "202", [BOB])
    for tracker in (full, late):
        tracker.timestamp = 101.25
        tracker.b_dial("b.1", CAROL, "202", [BOB])
        tracker.b_dial_end("b.1", CAROL, "202", [BOB], "busy")
        tracker.b_dial_end("b.1", CAROL, "202", [ALICE], "busy")
    assert [r.event_id for r in records(full)][1:] == [r.event_id for r in records(late)] == [
        "b.1:on_b_dial:101.250000", "b.1:on_b_dial_end:101.250000",
        "b.1:on_b_dial_end:101.250000:1"]


def test_user_event_is_passed_through_without_a_call():
    tracker = tracker_with("a.1")
    raw = {"Event": "UserEvent", "UserEvent": "Note", "Uniqueid": "a.1"}
    tracker.user_event("Note", raw, "a.1")
    ((call, record),) = tracker.outbox
    assert call is None
    assert isinstance(record, calls.UserEventCall)
    assert record.event is raw and record.name == "Note" and record.call_id == "a.1"
    assert tracker.calls.find("a.1") is None


def test_forgetting_the_anchor_channel_frees_its_call():
    tracker = tracker_with("a.1", "a.2")
    tracker.b_dial("a.1", ALICE, "202", [BOB])
    tracker.forget(tracker.channels.by_id("a.1"))
    assert tracker.calls.find("a.1") is None
    assert "a.2" in tracker.channels


def test_forgetting_another_channel_keeps_the_call():
    tracker = tracker_with("a.1", "a.2", "a.3")
    tracker.b_dial("a.1", ALICE, "202", [BOB])
    tracker.forget(tracker.channels.by_id("a.2"))
    assert tracker.calls.find("a.1") is not None


def test_ended_call_without_anchor_channel_is_freed_at_once():
    tracker = tracker_with("other")
    tracker.b_dial("gone.1", ALICE, "202", [BOB])
    tracker.hangup("gone.1", ALICE, "202", "cancelled")
    assert tracker.calls.find("gone.1") is None


def test_warm_transfer_merges_the_transferers_call():
    tracker = tracker_with("a.1", "a.2", "c.1", "c.2")
    tracker.up("a.1", ALICE, "202", BOB)
    tracker.up("c.1", BOB, "203", CAROL)
    tracker.outbox.clear()
    assert tracker.warm_transfer("a.1", "c.1", BOB, ALICE, CAROL)
    merged = tracker.calls.find("c.1")
    assert merged is not None and merged.state is CallState.MERGED
    assert merged.path[-1] == "merge"
    assert tracker.calls.find("a.1").state is CallState.TRANSFERRED
    (record,) = records(tracker)  # the merge itself reports nothing
    assert isinstance(record, calls.WarmTransfer)
    assert (record.call_id, record.merged_id) == ("a.1", "c.1")
    # the merged call takes no more events, and is freed with its anchor
    assert not tracker.hangup("c.1", BOB, "203", "completed")
    tracker.forget(tracker.channels.by_id("c.1"))
    assert tracker.calls.find("c.1") is None


def test_cold_transfer_merges_and_frees_a_call_without_anchor_channel():
    tracker = tracker_with("a.1", "a.2")
    tracker.up("a.1", ALICE, "202", BOB)
    tracker.up("x.1", BOB, "203", CAROL)  # its anchor is not a live channel
    assert tracker.cold_transfer("a.1", "x.1", BOB, ALICE, "203", [CAROL], kind="blind")
    assert tracker.calls.find("x.1") is None
    record = records(tracker)[-1]
    assert isinstance(record, calls.ColdTransfer)
    assert (record.kind, record.targets) == ("blind", (CAROL,))


def test_refused_transfer_does_not_merge():
    tracker = tracker_with("a.1", "c.1")
    tracker.hangup("a.1", ALICE, "202", "completed")
    tracker.up("c.1", BOB, "203", CAROL)
    assert not tracker.warm_transfer("a.1", "c.1", BOB, ALICE, CAROL)
    assert tracker.calls.find("c.1").state is CallState.UP


def test_merge_into_itself_does_nothing():
    tracker = tracker_with("a.1")
    tracker.up("a.1", ALICE, "202", BOB)
    tracker.merge("a.1", "a.1")
    assert tracker.calls.find("a.1").state is CallState.UP


def test_registries_are_empty_after_the_last_channel_is_forgotten():
    tracker = tracker_with("a.1", "a.2")
    bridge = tracker.bridges.ensure("br-1", "basic")
    tracker.bridges.ensure("br-empty")
    for channel in tracker.channels:
        bridge.add(channel)
        channel.bridge = bridge
    tracker.b_dial("a.1", ALICE, "202", [BOB])
    tracker.up("a.2", BOB, "201", ALICE)  # a call anchored on a.2 too
    tracker.forget(tracker.channels.by_id("a.2"))
    assert len(tracker.channels) == 1
    tracker.forget(tracker.channels.by_id("a.1"))
    assert (len(tracker.channels), len(tracker.calls), len(tracker.bridges)) == (0, 0, 0)
    assert "(no channels left)" in tracker.traces


def test_forget_unlinks_dial_and_local_links():
    tracker = tracker_with("a.1", "l.1", "l.2")
    a, one, two = (tracker.channels.by_id(u) for u in ("a.1", "l.1", "l.2"))
    one.fwd_local_bridge, two.back_local_bridge = two, one
    one.back_dial = a
    a.fwd_dials.append(one)
    tracker.forget(one)
    assert two.back_local_bridge is None
    assert a.fwd_dials == []
    assert "l.1" not in tracker.channels


def test_step_moves_a_channel_or_traces_a_refusal():
    tracker = tracker_with("a.1")
    channel = tracker.channels.by_id("a.1")
    assert tracker.step(channel, "ring")
    assert channel.state is ChannelState.RINGING
    assert not tracker.step(channel, "dial_out")
    assert channel.state is ChannelState.RINGING
    assert "dial_out" in tracker.traces[-1]


def test_step_if_allowed_is_silent_on_refusal():
    tracker = tracker_with("a.1")
    channel = tracker.channels.by_id("a.1")
    channel.state = ChannelState.UP
    assert not tracker.step_if_allowed(channel, "ring")
    assert tracker.traces == []
    assert tracker.step_if_allowed(channel, "bridge")
    assert channel.state is ChannelState.BRIDGED


@pytest.mark.parametrize("report", ["b_dial", "up", "hangup", "abandon"])
def test_nothing_is_reported_for_an_ended_call(report):
    tracker = tracker_with("a.1")
    tracker.hangup("a.1", ALICE, "202", "completed")
    n = len(tracker.outbox)
    done = {
        "b_dial": lambda: tracker.b_dial("a.1", ALICE, "202", [BOB]),
        "up": lambda: tracker.up("a.1", ALICE, "202", BOB),
        "hangup": lambda: tracker.hangup("a.1", ALICE, "202", "completed"),
        "abandon": lambda: tracker.queue_caller_abandon("a.1", ALICE, "202"),
    }[report]()
    assert done is False
    assert len(tracker.outbox) == n


# -- the call-event records' fast constructor ------------------------------------

from typing import Any  # noqa: E402

import attrs  # noqa: E402
from hypothesis import given, strategies as st  # noqa: E402

from cacofonisk.callerid import CallerId as _Cid  # noqa: E402

_CIDS = st.builds(_Cid, st.integers(0, 99), st.text(max_size=3),
                  st.one_of(st.none(), st.text(max_size=3)), st.one_of(st.none(), st.booleans()))


def _value_for(field: attrs.Attribute) -> st.SearchStrategy[Any]:
    if field.name in ("caller", "callee", "redirector", "destination"):
        return _CIDS
    if field.name == "targets":
        return st.lists(_CIDS, max_size=3)
    if field.name in ("timestamp",):
        return st.one_of(st.none(), st.floats(0, 2e9))
    if field.name in ("cause", "tech_cause"):
        return st.one_of(st.none(), st.integers(0, 127))
    if field.name == "event":
        return st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2)
    return st.text(max_size=4)


@st.composite
def _call_event_kwargs(draw: Any) -> tuple[type, dict[str, Any]]:
    record_type = draw(st.sampled_from(sorted(calls.BUILD, key=lambda t: t.__name__)))
    kwargs = {}
    for field in attrs.fields(record_type):
        if field.default is attrs.NOTHING or draw(st.booleans()):
            kwargs[field.name] = draw(_value_for(field))
    return record_type, kwargs


@given(_call_event_kwargs())
def test_fast_call_event_constructor_builds_what_the_attrs_init_builds(case: Any) -> None:
    record_type, kwargs = case
    fast, slow = calls.BUILD[record_type](**kwargs), record_type(**kwargs)
    assert type(fast) is record_type
    assert attrs.asdict(fast, recurse=False) == attrs.asdict(slow, recurse=False)
    assert fast == slow and repr(fast) == repr(slow)


def test_every_call_event_type_has_a_fast_constructor() -> None:
    concrete = {calls.BDial, calls.BDialEnd, calls.Up, calls.WarmTransfer, calls.ColdTransfer,
                calls.Hangup, calls.QueueCallerAbandon, calls.UserEventCall}
    assert concrete <= set(calls.BUILD)
