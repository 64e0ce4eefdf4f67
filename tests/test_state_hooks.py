"""The state hooks of API.md: hold, park, queue and conference, from AMI events.

Each story is built by hand (``ami2_builder`` for AMI 2+, plain dicts for
1.x) so these run from a bare clone; the lab recordings of ../shared are
checked against their ``state_facts`` in test_conformance.py.
"""
from __future__ import annotations

import io
import json
from typing import Any

from cacofonisk import BaseReporter, ChannelManager
from cacofonisk.reporters.json import JsonLinesReporter

from ami2_builder import Ami2


class States(BaseReporter):
    """Records every hook it is given as (hook, positional arguments...)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_") and name not in ("on_event", "on_call_event"):
            calls = object.__getattribute__(self, "calls")

            def record(*args: Any) -> None:
                calls.append((name, *args))
            return record
        return object.__getattribute__(self, name)

    def seen(self, *hooks: str) -> list[tuple[Any, ...]]:
        """The calls of ``hooks`` (all if none), numbers for caller IDs, call ids dropped."""
        out = []
        for name, *args in self.calls:
            if hooks and name not in hooks:
                continue
            out.append((name, *[_plain(a) for a in args[1:]]))
        return out


def _plain(value: Any) -> Any:
    if hasattr(value, "number") and hasattr(value, "is_public"):
        return value.number
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _run(events: list[dict[str, Any]], dialect: str | None = None) -> tuple[States, ChannelManager]:
    states = States()
    manager = ChannelManager(reporter=states, strict=True, dialect=dialect)
    for event in events:
        manager.on_event(event)
    manager.flush()
    return states, manager


_STATE_HOOKS = ("on_hold", "on_unhold", "on_park", "on_park_end", "on_queue_join",
                "on_queue_leave", "on_conference_join", "on_conference_leave")


def test_hold_and_unhold_by_the_callee_are_reported_on_the_callers_call_in_api_order() -> None:
    story = Ami2().answered_call("a", "201", "b", "202", "br1")
    snap = story._snap("b", 6)
    story.add("Unhold", **snap)  # no hold yet: nothing to end
    story.add("Hold", **snap).add("Hold", **snap).add("Unhold", **snap)
    story.hangup("a").hangup("b")
    states, _manager = _run(story.events)
    holds = [call for call in states.calls if call[0] in ("on_hold", "on_unhold")]
    assert [(name, call_id, caller.number, to_number, holder.number)
            for name, call_id, caller, to_number, holder in holds] == [
        ("on_hold", story.uid("a"), "201", "202", "202"),
        ("on_unhold", story.uid("a"), "201", "202", "202")]


def _parked_story(extension: str = "700") -> Ami2:
    story = Ami2().answered_call("a", "201", "b", "202", "br1")
    story.add("BlindTransfer", Result="Success", TransfererUniqueid=story.uid("b"),
              TransfereeUniqueid=story.uid("a"), Extension=extension, IsExternal="Yes",
              BridgeUniqueid="br1")
    story.add("ParkedCall", ParkeeUniqueid=story.uid("a"), ParkeeChannel=story.names["a"],
              ParkerDialString="PJSIP/202", Parkinglot="default", ParkingSpace="711",
              ParkingTimeout="45")
    story.leave("br1", "a").enter("park1", "a", bridge_type="parking")
    story.leave("br1", "b").destroy("br1").hangup("b")
    return story


def test_refer_to_the_parking_extension_is_a_blind_transfer_to_it_then_a_park() -> None:
    story = _parked_story()
    story.add("ParkedCallGiveUp", ParkeeUniqueid=story.uid("a"), Parkinglot="default",
              ParkingSpace="711")
    story.hangup("a")
    states, manager = _run(story.events)
    assert states.seen("on_blind_transfer", *_STATE_HOOKS, "on_hangup") == [
        ("on_blind_transfer", story.uid("b"), "202", "201", "700", ["700"]),
        ("on_park", "201", "700", "201", "202", "default", "711"),
        ("on_park_end", "201", "700", "201", "gave-up", None),
        ("on_hangup", "201", "700", "completed")]
    assert manager.snapshot() == ()


def test_retrieved_park_ends_with_the_retriever_who_then_is_the_callee() -> None:
    story = _parked_story()
    story.channel("r", "203", exten="711").state("r", 6)
    story.add("UnParkedCall", ParkeeUniqueid=story.uid("a"), Parkinglot="default",
              ParkingSpace="711", RetrieverUniqueid=story.uid("r"),
              RetrieverChannel=story.names["r"])
    story.leave("park1", "a").bridge("br2", "r", "a")
    states, manager = _run(story.events)
    assert states.seen("on_park_end", "on_up")[-2:] == [
        ("on_park_end", "201", "700", "201", "retrieved", "203"),
        ("on_up", "201", "700", "203")]
    (call,) = manager.snapshot()
    assert call.park is None and call.callee is not None and call.callee.number == "203"


def test_parked_call_in_the_snapshot_says_where_and_until_when() -> None:
    story = _parked_story()
    for number, event in enumerate(story.events):
        event["Timestamp"] = f"{1600000000 + number}"
    _states, manager = _run(story.events)
    (call,) = manager.snapshot()
    assert call.park is not None and call.targets == ()
    assert (call.park.lot, call.park.space, call.park.parker.number) == ("default", "711", "202")
    assert call.park.since is not None and call.park.until == call.park.since + 45


def _queue_caller(story: Ami2, key: str, number: str, position: int) -> None:
    story.channel(key, number, exten="501").state(key, 4)
    story.add("QueueCallerJoin", Uniqueid=story.uid(key), Channel=story.names[key],
              Queue="support", Position=position, Count=position)


def test_queue_waits_end_answered_abandoned_or_timed_out() -> None:
    story = Ami2()
    _queue_caller(story, "a", "201", 1)
    _queue_caller(story, "c", "206", 2)
    _queue_caller(story, "d", "207", 3)
    story.channel("m", "204", linked="a").dial("a", "m").state("m", 5).dial_state("a", "m")
    story.state("m", 6).dial_end("a", "m")
    story.add("QueueCallerLeave", Uniqueid=story.uid("a"), Queue="support", Position=1)
    story.state("a", 6).bridge("br1", "m", "a")
    story.add("QueueCallerAbandon", Uniqueid=story.uid("c"), Queue="support", Position=1)
    story.add("QueueCallerLeave", Uniqueid=story.uid("c"), Queue="support", Position=1)
    story.hangup("c", cause=127, state=4)
    story.add("QueueCallerLeave", Uniqueid=story.uid("d"), Queue="support", Position=1)
    states, manager = _run(story.events)
    assert states.seen("on_queue_join", "on_queue_leave") == [
        ("on_queue_join", "201", "501", "support", 1),
        ("on_queue_join", "206", "501", "support", 2),
        ("on_queue_join", "207", "501", "support", 3),
        ("on_queue_leave", "201", "501", "support", "answered"),
        ("on_queue_leave", "206", "501", "support", "abandoned"),
        ("on_queue_leave", "207", "501", "support", "timeout")]
    assert [(c.caller.number, c.queue) for c in manager.snapshot()] == [
        ("201", None), ("207", None)]


def test_conference_parties_each_have_their_own_call_and_no_answer_between_them() -> None:
    story = Ami2()
    for key, number in (("a", "201"), ("b", "202")):
        story.channel(key, number, exten="900").state(key, 6)
    story.add("BridgeCreate", BridgeUniqueid="conf", BridgeType="base",
              BridgeTechnology="softmix")
    story.add("BridgeEnter", BridgeUniqueid="conf", BridgeType="base",
              BridgeTechnology="softmix", **story._snap("a", 6))
    story.add("ConfbridgeStart", BridgeUniqueid="conf", Conference="900")
    story.add("ConfbridgeJoin", BridgeUniqueid="conf", Conference="900", **story._snap("a", 6))
    story.add("BridgeEnter", BridgeUniqueid="conf", BridgeType="base",
              BridgeTechnology="softmix", **story._snap("b", 6))
    story.add("ConfbridgeJoin", BridgeUniqueid="conf", Conference="900", **story._snap("b", 6))
    states, manager = _run(story.events)
    snapshot = manager.snapshot()
    assert [(c.caller.number, c.state, [m.number for m in c.conference.members])  # type: ignore[union-attr]
            for c in snapshot] == [("201", "new", ["201", "202"]), ("202", "new", ["201", "202"])]
    story.events.clear()
    story.add("ConfbridgeLeave", BridgeUniqueid="conf", Conference="900", **story._snap("b", 6))
    story.leave("conf", "b").hangup("b")
    story.add("ConfbridgeLeave", BridgeUniqueid="conf", Conference="900", **story._snap("a", 6))
    story.leave("conf", "a").hangup("a")
    for event in story.events:
        manager.on_event(event)
    assert states.seen() == [
        ("on_conference_join", "201", "900", "201", "900"),
        ("on_conference_join", "202", "900", "202", "900"),
        ("on_conference_leave", "202", "900", "202", "900"),
        ("on_hangup", "202", "900", "completed"),
        ("on_conference_leave", "201", "900", "201", "900"),
        ("on_hangup", "201", "900", "completed")]


def _ami1(event: str, **fields: Any) -> dict[str, Any]:
    return {"Event": event, "Privilege": "call,all", **{k: str(v) for k, v in fields.items()}}


def test_ami1_hold_status_queue_join_leave_and_parking_are_reported() -> None:
    events = [
        _ami1("Newchannel", Channel="SIP/201-00000001", Uniqueid="1.1", ChannelState=4,
              CallerIDNum="201", CallerIDName="A", Exten="501", AccountCode=""),
        _ami1("Newstate", Channel="SIP/201-00000001", Uniqueid="1.1", ChannelState=6,
              CallerIDNum="201", CallerIDName="A"),
        _ami1("Join", Channel="SIP/201-00000001", Uniqueid="1.1", Queue="support",
              Position=1, Count=1),
        _ami1("Leave", Channel="SIP/201-00000001", Uniqueid="1.1", Queue="support", Count=0),
        _ami1("Hold", Status="On", Channel="SIP/201-00000001", Uniqueid="1.1"),
        _ami1("Hold", Status="Off", Channel="SIP/201-00000001", Uniqueid="1.1"),
        _ami1("ParkedCall", Exten="701", Channel="SIP/201-00000001", Parkinglot="default",
              From="SIP/202-00000002", Timeout=45, Uniqueid="1.1"),
        _ami1("ParkedCallTimeOut", Exten="701", Channel="SIP/201-00000001",
              Parkinglot="default", UniqueID="1.1"),
    ]
    states, _manager = _run(events, dialect="ami1")
    assert states.seen(*_STATE_HOOKS) == [
        ("on_queue_join", "201", "501", "support", 1),
        ("on_queue_leave", "201", "501", "support", "timeout"),
        ("on_hold", "201", "501", "201"),
        ("on_unhold", "201", "501", "201"),
        ("on_park", "201", "501", "201", "202", "default", "701"),
        ("on_park_end", "201", "501", "201", "timeout", None)]


def test_jsonl_prints_a_state_hook_with_its_api_argument_names() -> None:
    story = Ami2().answered_call("a", "201", "b", "202", "br1")
    story.add("Hold", **story._snap("b", 6))
    out = io.StringIO()
    manager = ChannelManager(reporter=JsonLinesReporter(out), strict=True)
    for event in story.events:
        manager.on_event(event)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    hold = next(line for line in lines if line["event"] == "on_hold")
    assert hold["call_id"] == story.uid("a") and hold["to_number"] == "202"
    assert hold["caller"]["number"] == "201"
    assert hold["holder"] == {"code": 0, "name": "Name 202", "number": "202", "is_public": True}


def test_a_reporter_written_for_the_2017_hooks_sees_nothing_new() -> None:
    class Old:  # duck-typed, as 2017 user code may be: no state hooks at all
        def __init__(self) -> None:
            self.hooks: list[str] = []
            self.traces: list[str] = []

        def trace_msg(self, msg: str) -> None:
            self.traces.append(msg)

        def on_up(self, *args: Any) -> None:
            self.hooks.append("on_up")

        def on_hangup(self, *args: Any) -> None:
            self.hooks.append("on_hangup")

    story = Ami2().answered_call("a", "201", "b", "202", "br1")
    story.add("Hold", **story._snap("b", 6)).hangup("a").hangup("b")
    old = Old()
    manager = ChannelManager(reporter=old, strict=True)
    for event in story.events:
        manager.on_event(event)
    assert old.hooks == ["on_up", "on_hangup"]
    assert not [t for t in old.traces if "raised" in t]
    subclass = BaseReporter()
    assert subclass.on_hold("1", None, None, None) is None  # type: ignore[arg-type,func-returns-value]


def test_attended_transfer_into_a_conference_room_goes_to_the_rooms_extension() -> None:
    story = Ami2().answered_call("a", "201", "b", "202", "br1")
    story.channel("b2", "202", exten="900").state("b2", 6)
    story.add("BridgeEnter", BridgeUniqueid="conf", BridgeType="base",
              BridgeTechnology="softmix", **story._snap("b2", 6))
    story.add("ConfbridgeStart", BridgeUniqueid="conf", Conference="900")
    story.add("ConfbridgeJoin", BridgeUniqueid="conf", Conference="900", **story._snap("b2", 6))
    story.add("AttendedTransfer", Result="Success", DestType="Bridge",
              OrigTransfererUniqueid=story.uid("b"), OrigBridgeUniqueid="br1",
              SecondTransfererUniqueid=story.uid("b2"), SecondTransfererExten="900",
              SecondBridgeUniqueid="conf", DestBridgeUniqueid="conf",
              TransfereeUniqueid=story.uid("a"))
    states, _manager = _run(story.events)
    assert states.seen("on_warm_transfer") == [("on_warm_transfer", story.uid("b2"), "202",
                                                "201", "900")]


def test_a_hold_seen_on_a_local_channel_half_is_no_party_holding() -> None:
    story = Ami2().answered_call("a", "201", "b", "202", "br1")
    story.channel("l", "202", linked="a", tech="Local")
    story.add("Hold", **story._snap("l", 6))
    states, _manager = _run(story.events)
    assert states.seen("on_hold") == []


def _dtmf_consultation(story: Ami2) -> Ami2:
    """B (in call br1 with A) keys *2 203: Asterisk holds A and calls 203 for B via Local."""
    story.add("Hold", **story._snap("b", 6))
    story.channel("l1", "203", exten="203", linked="a", tech="Local")
    story.channel("l2", "203", exten="203", linked="a", tech="Local")
    story.add("LocalBridge", LocalOneUniqueid=story.uid("l1"), LocalTwoUniqueid=story.uid("l2"))
    story.bridge("br2", "l1").leave("br1", "b").enter("br2", "b")
    story.channel("c", "203", linked="a").dial("l2", "c").state("c", 5).dial_state("l2", "c")
    return story


def test_aborted_dtmf_attended_transfer_ends_the_consultation_and_the_hold() -> None:
    story = _dtmf_consultation(Ami2().answered_call("a", "201", "b", "202", "br1"))
    story.dial_end("l2", "c", "CANCEL").hangup("c", state=5)
    story.leave("br2", "b").enter("br1", "b")  # B is back with A
    story.leave("br2", "l1").hangup("l2").hangup("l1")
    states, manager = _run(story.events)
    (call,) = manager.snapshot()
    assert (call.call_id, call.state, call.hold) == (story.uid("a"), "up", None)
    assert call.callee is not None and call.callee.number == "202"
    story.events.clear()
    story.hangup("a").hangup("b")
    for event in story.events:
        manager.on_event(event)
    assert states.seen("on_b_dial", "on_up", "on_hold", "on_unhold", "on_hangup") == [
        ("on_b_dial", "201", "202", ["202"]), ("on_up", "201", "202", "202"),
        ("on_hold", "201", "202", "202"),
        ("on_b_dial", "202", "203", ["203"]),
        ("on_unhold", "201", "202", "202"),
        ("on_hangup", "202", "203", "cancelled"),
        ("on_hangup", "201", "202", "completed")]
    assert manager.snapshot() == ()
