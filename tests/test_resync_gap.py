"""A resync after a gap: what changed while away is reported, marked ``after_gap``.

The manager is fed a prefix of a simulated call, then the resync a runner
feeds after a reconnect (the CoreShowChannel list Asterisk would answer
after the gap, computed by the test AMI server's own log state, then the
barrier UserEvent), then the rest of the call. No socket: this is the pure
half; tests/test_resync_live.py runs the same through a real runner.
"""
from __future__ import annotations

import ast
import collections
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from cacofonisk.calls import CallEvent
from cacofonisk.manager import ChannelManager
from cacofonisk.reporters.base import BaseReporter
from cacofonisk.resync import BARRIER_PREFIX, GONE_WHILE_AWAY
from cacofonisk.testing.ami_lists import LogState
from cacofonisk.testing.scenarios import build, flow_names


class Tap(BaseReporter):
    def __init__(self) -> None:
        self.records: list[CallEvent] = []
        self.user_events: list[Any] = []

    def on_call_event(self, record: CallEvent) -> None:
        if record.HOOK == "on_user_event":
            self.user_events.append(record.args()[0])
        else:
            self.records.append(record)


def resync_events(events: Sequence[Mapping[str, Any]], action_id: str = "r1") -> list[dict[str, Any]]:
    """What a runner feeds after a reconnect once ``events`` happened: the
    CoreShowChannels answer, then the barrier."""
    state = LogState()
    for event in events:
        state.feed(event)
    listed = [{"Event": "CoreShowChannel", "ActionID": action_id, **chan}
              for chan in state.channels.snapshot()]
    return [*listed, {"Event": "CoreShowChannelsComplete", "ActionID": action_id,
                      "EventList": "Complete", "ListItems": str(len(listed))},
            {"Event": "UserEvent", "UserEvent": BARRIER_PREFIX + "0123abcd"}]


def with_gap(events: Sequence[Mapping[str, Any]], start: int, end: int) -> list[dict[str, Any]]:
    """The stream a runner hands its manager when events[start:end] were
    missed: the prefix, the resync, the rest."""
    return [*map(dict, events[:start]), *resync_events(events[:end]), *map(dict, events[end:])]


def replay(events: Sequence[Mapping[str, Any]], dialect: str | None = None) -> Tap:
    tap = Tap()
    manager = ChannelManager(tap, strict=True)
    for event in events:
        manager.on_event(event)
    manager.flush()
    return tap


def summary(records: Sequence[CallEvent]) -> list[tuple[Any, ...]]:
    out = []
    for r in records:
        other = getattr(r, "callee", None) or getattr(r, "redirector", None)
        out.append((r.HOOK, getattr(r.caller, "number", None) if hasattr(r, "caller") else None,
                    other.number if other is not None else None,
                    tuple(t.number for t in getattr(r, "targets", ())), r.after_gap))
    return out


def index_of(events: Sequence[Mapping[str, Any]], name: str, nth: int = 0, **fields: str) -> int:
    found = [i for i, e in enumerate(events) if e["Event"] == name
             and all(e.get(k) == v for k, v in fields.items())]
    return found[nth]


def test_a_call_answered_while_away_gets_its_on_up_marked_after_the_gap():
    events = build("answered", "ami2").events
    rung = index_of(events, "Newstate", ChannelState="5") + 1
    bridged = index_of(events, "BridgeEnter", 1) + 1
    tap = replay(with_gap(events, rung, bridged))
    assert summary(tap.records) == [
        ("on_b_dial", "201", None, ("202",), False),
        ("on_up", "201", "202", (), True),
        ("on_hangup", "201", None, (), False)]
    hangup = tap.records[-1]
    assert hangup.reason == "completed" and hangup.dial_status == "ANSWER"


def test_a_blind_transfer_while_away_is_reported_with_the_new_party_marked():
    events = build("blind_transfer", "ami2").events
    talking = index_of(events, "BridgeEnter", 1) + 1
    settled = index_of(events, "BridgeEnter", 3) + 1  # 201 now talks with 203
    tap = replay(with_gap(events, talking, settled))
    assert summary(tap.records)[3:] == [
        ("on_cold_transfer", "201", "202", ("203",), True),
        ("on_up", "201", "203", (), True),
        ("on_hangup", "201", None, (), False)]
    assert all(not r.after_gap for r in tap.records[:3])


def test_a_call_begun_and_answered_while_away_gets_its_ring_and_answer_marked():
    events = build("answered", "ami2").events
    bridged = index_of(events, "BridgeEnter", 1) + 1
    tap = replay(with_gap(events, 0, bridged))
    assert summary(tap.records) == [
        ("on_b_dial", "201", None, ("202",), True),
        ("on_up", "201", "202", (), True),
        ("on_hangup", "201", None, (), False)]


def _method_doc(cls: type, name: str) -> str:
    """A method's docstring read from its source file: the compiled build
    (mypyc) drops the docstrings of the methods it compiles."""
    import cacofonisk
    source = Path(cacofonisk.__file__).parent / f"{cls.__module__.split('.', 1)[1]}.py"
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == name:
                    return ast.get_docstring(item) or ""
    raise AssertionError(f"{cls.__name__}.{name} not found in {source}")


def test_a_call_first_seen_by_a_resync_began_when_asterisk_says_its_channel_was_made():
    """CoreShowChannel's Duration (HH:MM:SS) dates the channel: the snapshot's
    ``began`` is the resync's time less it, not the time of the resync."""
    from cacofonisk.testing.scenarios import Ids

    ids = Ids(system="bg")
    other = [dict(e, Timestamp="1600000100")
             for e in build("answered", "ami2", ids=ids).events[:3]]
    events = build("answered", "ami2", numbers=["204", "205"], ids=ids).events
    bridged = index_of(events, "BridgeEnter", 1) + 1
    resync = resync_events(events[:bridged])
    for entry in resync:
        if entry["Event"] == "CoreShowChannel":
            entry["Duration"] = "00:01:05"
    manager = ChannelManager(Tap(), strict=True)
    for event in [*other, *resync]:  # the last event before the gap: at 1600000100
        manager.on_event(event)
    (view,) = [s for s in manager.snapshot() if s.caller.number == "204"]
    assert view.state == "up" and view.began == 1600000100 - 65


def test_a_call_that_ended_while_away_ends_as_the_resync_docstring_says():
    events = build("answered", "ami2").events
    bridged = index_of(events, "BridgeEnter", 1) + 1
    tap = replay(with_gap(events, bridged, len(events)))
    hangup = tap.records[-1]
    assert (hangup.HOOK, hangup.reason, hangup.hangup_by) == (
        "on_hangup", "completed", GONE_WHILE_AWAY)
    doc = " ".join(_method_doc(ChannelManager, "resync").split())
    assert f"hangup_by '{GONE_WHILE_AWAY}'" in doc and "'completed' if it had been answered" in doc


def test_the_barrier_is_never_a_user_event_and_a_foreign_barrier_changes_nothing():
    events = build("answered", "ami2").events
    bridged = index_of(events, "BridgeEnter", 1) + 1
    foreign = {"Event": "UserEvent", "UserEvent": BARRIER_PREFIX + "another-runner"}
    plain = replay(events)
    tap = replay([*events[:bridged], foreign, *events[bridged:]])
    assert tap.user_events == [] and summary(tap.records) == summary(plain.records)
    gap = replay(with_gap(events, bridged, bridged))
    assert gap.user_events == [] and summary(gap.records) == summary(plain.records)


#: what a resync may report as observed after a gap: the call's ring, answer or
#: transfer, and its parks, queue waits and conferences begun or ended while away
AFTER_GAP_HOOKS = ("on_b_dial", "on_up", "on_cold_transfer", "on_park", "on_park_end",
                   "on_queue_join", "on_queue_leave", "on_conference_join",
                   "on_conference_leave")


@pytest.mark.parametrize("dialect", ["ami2", "ami1"])
def test_a_resync_at_any_gap_never_raises_nor_ends_a_call_twice_and_marks_only_after_a_real_gap(dialect):
    for flow in flow_names(dialect):
        events = build(flow, dialect).events
        for start in range(0, len(events) + 1, 5):
            for end in range(start, len(events) + 1, 7):
                records = replay(with_gap(events, start, end)).records
                hangups = collections.Counter(r.call_id for r in records if r.HOOK == "on_hangup")
                assert all(n == 1 for n in hangups.values()), (flow, start, end)
                marked = [r for r in records if r.after_gap]
                assert all(r.HOOK in AFTER_GAP_HOOKS for r in marked), (flow, start, end)
                if start == end:  # nothing missed: nothing observed after a gap
                    assert not marked, (flow, start, end)


def _three_calls_then_states_while_away() -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                  list[dict[str, Any]]]:
    """Three answered calls (201, 204, 207); while away 201 is parked, 204 waits
    in a queue, 207 joins room 900. Returns (events seen, what happened while
    away, the resync a runner feeds after the gap)."""
    from cacofonisk.testing.scenarios import Ids

    ids = Ids(system="st")
    calls = [build("answered", "ami2", numbers=[a, b], ids=ids).events
             for a, b in (("201", "202"), ("204", "205"), ("207", "208"))]
    talking = [e for events in calls for e in events[:index_of(events, "BridgeEnter", 1) + 1]]
    a, b, c = (events[0] for events in calls)
    while_away = [
        {"Event": "ParkedCall", "ParkeeChannel": a["Channel"], "ParkeeUniqueid": a["Uniqueid"],
         "ParkeeCallerIDNum": "201", "ParkeeCallerIDName": "Alice", "Parkinglot": "default",
         "ParkingSpace": "701", "ParkingTimeout": "45", "ParkingDuration": "5",
         "ParkerDialString": "PJSIP/202"},
        {"Event": "QueueCallerJoin", "Channel": b["Channel"], "Uniqueid": b["Uniqueid"],
         "CallerIDNum": "204", "Queue": "support", "Position": "1", "Count": "1"},
        {"Event": "ConfbridgeJoin", "Conference": "900", "Channel": c["Channel"],
         "Uniqueid": c["Uniqueid"], "CallerIDNum": "207", "CallerIDName": "Grace"},
    ]
    return talking, while_away, state_resync([*talking, *while_away])


def state_resync(events: Sequence[Mapping[str, Any]], channels: bool = True) -> list[dict[str, Any]]:
    """Every list a runner asks after a reconnect (channels, parks, queues, rooms),
    as the test AMI server answers them once ``events`` happened, then the barrier."""
    state = LogState()
    for event in events:
        state.feed(event)
    return [
        *({"ActionID": "c", **chan, "Event": "CoreShowChannel"} for chan in state.channels.snapshot()),
        {"Event": "CoreShowChannelsComplete", "ActionID": "c"},
        *({"ActionID": "p", **e} for e in state.parked_calls()),
        {"Event": "ParkedCallsComplete", "ActionID": "p"},
        *({"ActionID": "q", **e} for e in state.queue_status()),
        {"Event": "QueueStatusComplete", "ActionID": "q"},
        *({"ActionID": "r", **e} for e in state.conference_rooms()),
        {"Event": "ConfbridgeListRoomsComplete", "ActionID": "r"},
        *({"ActionID": "m", **e} for e in state.conference_members("900") or []),
        {"Event": "ConfbridgeListComplete", "ActionID": "m"},
        {"Event": "UserEvent", "UserEvent": BARRIER_PREFIX + "1"}]


def _states(records: Sequence[CallEvent]) -> list[tuple[Any, ...]]:
    """(hook, caller, the state's detail, after_gap) of each state record."""
    out = []
    for r in records:
        detail = (getattr(r, "space", None) or getattr(r, "queue", None)
                  or getattr(r, "room", None))
        out.append((r.HOOK, r.caller.number, detail, getattr(r, "reason", None), r.after_gap))
    return [row for row in out if row[0] in AFTER_GAP_HOOKS[3:] or row[0] == "on_park"]


def test_parks_queue_waits_and_conferences_seen_by_a_resync_rebuild_the_snapshot():
    talking, _while_away, lists = _three_calls_then_states_while_away()
    tap = Tap()
    manager = ChannelManager(tap, strict=True)
    for event in [*talking, *lists]:
        manager.on_event(event)
    views = {s.caller.number: s for s in manager.snapshot()}
    park = views["201"].park
    assert park is not None and (park.lot, park.space, park.parker.number) == ("default", "701", "202")
    queue = views["204"].queue
    assert queue is not None and (queue.queue, queue.position) == ("support", 1)
    conference = views["207"].conference
    assert conference is not None and conference.room == "900"
    assert [m.number for m in conference.members] == ["207"]
    assert views["201"].queue is None and views["204"].park is None
    # a later resync whose lists no longer show them clears those states
    empty = [e for e in lists if e["Event"] not in ("ParkedCall", "QueueEntry", "ConfbridgeList")]
    for event in empty:
        manager.on_event(event)
    assert all(s.park is None and s.queue is None and s.conference is None
               for s in manager.snapshot())


def test_states_found_or_gone_at_a_resync_are_reported_as_their_events_marked_after_the_gap():
    """A consumer folding the events sees what the snapshot shows (the fold of
    tests/snapshot_fold.py, after every event), and each state begun or
    ended while away is its state event with after_gap=True."""
    from snapshot_fold import fold, project_fold, project_snapshot

    talking, _while_away, lists = _three_calls_then_states_while_away()
    empty = [e for e in lists if e["Event"] not in ("ParkedCall", "QueueEntry", "ConfbridgeList")]
    tap = Tap()
    manager = ChannelManager(tap, strict=True)
    for event in [*talking, *lists, *empty]:
        manager.on_event(event)
        assert project_snapshot(manager.snapshot()) == project_fold(fold(tap.records))
    assert _states(tap.records) == [
        ("on_park", "201", "701", None, True),
        ("on_queue_join", "204", "support", None, True),
        ("on_conference_join", "207", "900", None, True),
        # gone at the second resync; the calls go on, still talking: a park
        # that ends while its party talks again was retrieved, a queue wait answered
        ("on_park_end", "201", "701", "retrieved", True),
        ("on_queue_leave", "204", "support", "answered", True),
        ("on_conference_leave", "207", "900", None, True)]
    (ended,) = [r for r in tap.records if r.HOOK == "on_park_end"]
    assert ended.retriever is not None and ended.retriever.number == "202"
    # a resync that finds the same states again reports nothing more
    before = len(tap.records)
    for event in lists + lists:
        manager.on_event(event)
    assert len([r for r in tap.records[before:] if r.HOOK == "on_park"]) == 1


def test_a_parked_call_that_hung_up_while_away_ends_its_park_before_its_hangup():
    talking, while_away, lists = _three_calls_then_states_while_away()
    tap = Tap()
    manager = ChannelManager(tap, strict=True)
    for event in [*talking, *while_away]:  # the park, the wait and the join seen live
        manager.on_event(event)
    gone = {talking[0]["Uniqueid"]}  # then, while away, 201 hangs up in its parking space
    after = [e for e in lists if e.get("Uniqueid") not in gone
             and e.get("ParkeeUniqueid") not in gone]
    for event in after:
        manager.on_event(event)
    tail = [(r.HOOK, getattr(r, "reason", None), r.after_gap)
            for r in tap.records if r.call_id in gone][-2:]
    assert tail == [("on_park_end", "gave-up", True), ("on_hangup", "completed", False)]
    assert all(s.park is None for s in manager.snapshot())


def test_an_ami1_park_list_entry_is_matched_by_its_channel_name():
    events = build("answered", "ami1").events
    settled = len(events) - 8  # talking, before the hangups
    resync = resync_events(events[:settled])
    caller = events[0]
    park_list = [{"Event": "ParkedCall", "ActionID": "p", "Exten": "701",
                  "Channel": caller["Channel"], "From": "SIP/150010002-00000001",
                  "Timeout": "40", "CallerIDNum": "201", "CallerIDName": "Alice"},
                 {"Event": "ParkedCallsComplete", "ActionID": "p"}]
    tap = Tap()
    manager = ChannelManager(tap, strict=True)
    for event in [*events[:settled], *resync[:-1], *park_list, resync[-1]]:
        manager.on_event(event)
    (view,) = [s for s in manager.snapshot() if s.caller.number == "201"]
    assert view.park is not None and (view.park.space, view.park.parked.number) == ("701", "201")
