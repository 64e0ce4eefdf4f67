"""Call timelines (cacofonisk.diagrams): collected from a replay, drawn as SVG, read back.

The SVG is parsed with xml.etree and its marks (``<g class="mark"
data-kind data-party data-seq data-x>``) are compared by position: what a
person sees left of something happened before it.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from cacofonisk.diagrams import CallCollector, build_timeline, render_svg
from cacofonisk.diagrams.timeline import MIN_GAP, positions
from cacofonisk.manager import ChannelManager
from cacofonisk.reporters import MultiReporter
from cacofonisk.reporters.base import BaseReporter
from cacofonisk.runners.file_runner import FileRunner

from conformance import SHARED, SKIP_REASON

SVG = "{http://www.w3.org/2000/svg}"
#: the project's own blind transfer (a simulation of lab/blind_transfer.json): these
#: tests check the drawing, not a third-party recording, so they need no ../shared
BLIND = Path(__file__).resolve().parent.parent / "scenarios" / "ami2" / "blind_transfer.json"
needs_blind = pytest.mark.skipif(not BLIND.is_file(), reason=f"{BLIND} is missing")


def _chan(event: str, uid: str, name: str, num: str, who: str, state: int,
          **extra: str) -> dict[str, str]:
    raw = {"Event": event, "Channel": name, "Uniqueid": uid, "Linkedid": "t.1",
           "CallerIDNum": num, "CallerIDName": who, "ChannelState": str(state),
           "Exten": "202", "Context": "internal"}
    raw.update(extra)
    return raw


def simple_call() -> list[dict[str, str]]:
    """AMI 2 events of 201 calling 202, answered, 201 hangs up (no shared data needed)."""
    a = ("t.1", "SIP/201-1", "201", "Alice")
    b = ("t.2", "SIP/202-2", "202", "Bob")
    return [
        _chan("Newchannel", *a, 4), _chan("Newchannel", *b, 0),
        _chan("DialBegin", *a, 4, DestUniqueid="t.2", DestChannel="SIP/202-2"),
        _chan("Newstate", *b, 5),
        _chan("DialState", *a, 4, DestUniqueid="t.2", DialStatus="RINGING"),
        _chan("Newstate", *b, 6),
        _chan("DialEnd", *a, 4, DestUniqueid="t.2", DialStatus="ANSWER"),
        _chan("Newstate", *a, 6),
        {"Event": "BridgeCreate", "BridgeUniqueid": "br1"},
        _chan("BridgeEnter", *b, 6, BridgeUniqueid="br1"),
        _chan("BridgeEnter", *a, 6, BridgeUniqueid="br1"),
        _chan("BridgeLeave", *a, 6, BridgeUniqueid="br1"),
        _chan("Hangup", *a, 6, Cause="16", **{"Cause-txt": "Normal Clearing"}),
        _chan("BridgeLeave", *b, 6, BridgeUniqueid="br1"),
        {"Event": "BridgeDestroy", "BridgeUniqueid": "br1"},
        _chan("Hangup", *b, 6, Cause="16"),
    ]


def collect(events: list[dict[str, Any]], name: str = "synthetic") -> CallCollector:
    collector = CallCollector()
    collector.start_log(name)
    manager = ChannelManager(MultiReporter([BaseReporter(), collector]), strict=True)
    for event in events:
        manager.on_event(event)
    return collector


def marks(svg: str) -> list[dict[str, str]]:
    """Every mark of a rendered timeline, with its attributes, in document order."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [dict(g.attrib) for g in root.iter(f"{SVG}g") if g.get("class") == "mark"]


def lane_titles(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") == "lt"]


def x_of(found: list[dict[str, str]], **want: str) -> list[float]:
    return [float(m["data-x"]) for m in found
            if all(m.get(f"data-{key}") == value for key, value in want.items())]


# -- without shared data ----------------------------------------------------------

def test_simple_call_lanes_marks_and_states() -> None:
    (call,) = collect(simple_call()).calls
    assert call.path == ["ring", "dial_end", "answer", "end"]
    timeline = build_timeline(call)
    assert [lane.key for lane in timeline.lanes] == ["call", "t.1", "t.2"]
    callee = timeline.lanes[2]
    assert [m.kind for m in callee.marks] == ["created", "ringing", "up", "bridge", "unbridge",
                                              "hangup"]
    assert [state for _start, _stop, state in callee.spans] == ["down", "ringing", "up",
                                                               "bridged", "up"]
    caller = timeline.lanes[1]
    assert [m.kind for m in caller.marks] == ["created", "dial", "dial_end", "up", "bridge",
                                              "unbridge", "hangup"]
    assert caller.marks[1].label == "dial → 202"
    assert "Normal Clearing" in caller.marks[-1].detail
    assert not timeline.uses_time and "no Timestamp" in timeline.axis


def test_svg_is_self_contained_and_ordered() -> None:
    (call,) = collect(simple_call()).calls
    svg = render_svg(build_timeline(call))
    assert "<script" not in svg and "href" not in svg
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    found = marks(svg)
    assert [m["data-kind"] for m in found if m["data-lane"] == "call"] == \
        ["ring", "dial_end", "answer", "end"]
    # x grows with the event number, on every lane
    for lane in {m["data-lane"] for m in found}:
        pairs = [(int(m["data-seq"]), float(m["data-x"])) for m in found
                 if m["data-lane"] == lane]
        assert [x for _s, x in sorted(pairs)] == sorted(x for _s, x in pairs)
    assert lane_titles(svg)[1:] == ['201 "Alice"', '202 "Bob"']


def test_positions_keep_order_and_a_minimum_gap() -> None:
    xs = positions([5.0, 1.0, 1.0, 2.0, 100.0, 1.5])
    ordered = [xs[k] for k in sorted(xs)]
    assert len(ordered) == 5
    assert all(b - a >= MIN_GAP - 0.1 for a, b in zip(ordered, ordered[1:]))
    # far-apart moments stay far apart (proportional beyond the minimum gap)
    assert xs[100.0] - xs[5.0] > 10 * MIN_GAP
    assert positions([]) == {}


def test_a_reused_call_id_starts_a_new_call() -> None:
    events = simple_call()
    calls = collect(events + [dict(e) for e in events]).calls  # the ids are reused
    assert [c.name for c in calls] == ["t.1", "t.1~2"]
    assert calls[0].closed and calls[1].path == ["ring", "dial_end", "answer", "end"]


# -- the blind transfer recording -------------------------------------------------

def _blind_svg(path: Path = BLIND) -> tuple[str, Any]:
    collector = CallCollector()
    collector.start_log(path.name)
    FileRunner([str(path)], MultiReporter([BaseReporter(), collector])).run()
    (call,) = collector.calls
    return render_svg(build_timeline(call)), call


@needs_blind
def test_blind_transfer_shows_three_parties_and_the_transfer_in_between() -> None:
    svg, call = _blind_svg()
    titles = lane_titles(svg)
    assert titles == [f"call {call.call_id}", '201 "Alice"', '202 "Bob"', '203 "Carol"']
    found = marks(svg)
    assert {m["data-party"] for m in found} >= {"201", "202", "203"}
    (bob_up,) = x_of(found, kind="up", party="202")
    (carol_up,) = x_of(found, kind="up", party="203")
    (bob_transfers,) = x_of(found, kind="transfer", party="202")
    (call_transfer,) = x_of(found, kind="transfer", lane="call")
    assert bob_up < bob_transfers < carol_up
    assert bob_up < call_transfer < carol_up
    # on the call's own lane: answered by 202, transferred, answered by 203
    answers = x_of(found, kind="answer", lane="call")
    assert len(answers) == 2 and answers[0] < call_transfer < answers[1]
    labels = {m["data-label"] for m in found if m["data-lane"] == "call"}
    assert {"up: 201 ↔ 202", "blind transfer by 202 → 203", "up: 201 ↔ 203"} <= labels
    # the same order by event number (the recording has no Timestamp)
    seq = {(m["data-lane"], m["data-kind"], m["data-party"]): int(m["data-seq"])
           for m in found if m["data-kind"] in ("up", "transfer")}
    assert seq[("call", "transfer", "201")] > seq[(call.call_id, "up", "201")]


@needs_blind
def test_timestamps_put_seconds_on_the_axis(tmp_path: Path) -> None:
    events = json.loads(BLIND.read_text())
    for number, event in enumerate(events):
        event["Timestamp"] = f"{1700000000 + number * 0.25:.6f}"
    stamped = tmp_path / "blind_stamped.json"
    stamped.write_text(json.dumps(events))
    svg, call = _blind_svg(stamped)
    assert "AMI Timestamp" in svg and "+0.00s" in svg
    found = marks(svg)
    (bob_up,) = x_of(found, kind="up", party="202")
    (carol_up,) = x_of(found, kind="up", party="203")
    (call_transfer,) = x_of(found, kind="transfer", lane="call")
    assert bob_up < call_transfer < carol_up
    assert call.records[0][1].timestamp is not None


@pytest.mark.skipif(not SHARED.is_dir(), reason=SKIP_REASON)
def test_every_recorded_call_draws_with_its_anchor_lane() -> None:
    logs = sorted(p for folder in ("lab", "conformance/ami1", "conformance/ami2")
                  for p in (SHARED / folder).glob("*.json")
                  if not p.name.endswith(".expected.json"))
    drawn = 0
    for log in logs:
        collector = CallCollector()
        collector.start_log(log.name)
        FileRunner([str(log)], MultiReporter([BaseReporter(), collector])).run()
        for call in collector.calls:
            timeline = build_timeline(call)
            found = marks(render_svg(timeline))
            assert any(m["data-lane"] == "call" for m in found), (log.name, call.name)
            keys = {lane.key for lane in timeline.lanes}
            if call.call_id in call.log.channels:
                assert call.call_id in keys, (log.name, call.name)
            drawn += 1
    assert drawn > 50
