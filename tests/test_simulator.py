"""The scenario simulator against real recordings and against the tracker.

* Each flow's events, filtered to ``ChannelManager.INTERESTING_EVENTS``, are
  the same event types in the same order as the recording of that flow in
  ``../shared`` (ids and timestamps aside); the differences that remain are
  listed in ``KNOWN_DIFFERENCES`` and in docs/property-testing.md.
* The expectations a builder states agree with what people wrote down for
  the same recordings (lab facts; the 0.4.0 reports of the ami1 set).
* Replayed through ``ChannelManager(strict=True)``, each builder's stream
  reports exactly the builder's expected call events and leaves no state.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from cacofonisk import ChannelManager
from cacofonisk.testing.recorder import replay
from cacofonisk.testing.scenarios import FLOWS, build, default_parties, flow_names
from cacofonisk.testing.sim_base import Expect, Ids

from conformance import SHARED, SKIP_REASON

#: (dialect, flow, recording) -> why the event types cannot be identical.
KNOWN_DIFFERENCES = {
    ("ami2", "ring_group", "lab/ring_group_one_busy.json"):
        "three phones race: the recording has Newstate 203, Newstate 204, DialState 204, "
        "DialState 203 where the simulator has each phone's pair together; and the "
        "cancelled phone's Hangup comes after the answering phone's BridgeEnter",
    ("ami1", "attended_transfer_by_caller", "conformance/ami1/xfer_attended__xfer_abacbc.json"):
        "an Asterisk 1.8 recording (2015): one NewCallerid per calling phone instead of "
        "two, a NewCallerid of the ;2 Local half, and two more Bridge Link events",
}

#: (dialect, flow) -> the tracker bug the builder's stream exposes.
KNOWN_TRACKER_BUGS: dict[tuple[str, str], str] = {}

RECORDED = [(dialect, name, path, options)
            for name, spec in FLOWS.items()
            for dialect, recordings in spec.recordings.items()
            for path, options in recordings]


def _types(events: Sequence[Mapping[str, Any]]) -> list[str]:
    interesting = ChannelManager.INTERESTING_EVENTS - {"FullyBooted"}
    return [str(e.get("Event")) for e in events if e.get("Event") in interesting]


def _load(path: str) -> list[dict[str, Any]]:
    return json.loads((SHARED / path).read_text())


@pytest.mark.skipif(not (SHARED / "lab").is_dir(), reason=SKIP_REASON)
@pytest.mark.parametrize("dialect,flow,path,options", RECORDED,
                         ids=[f"{d}-{f}-{p.rsplit('/', 1)[-1][:-5]}" for d, f, p, _ in RECORDED])
def test_simulated_flow_has_the_event_types_of_its_recording(
        dialect: str, flow: str, path: str, options: dict[str, Any]) -> None:
    simulated = _types(build(flow, dialect, **options).events)
    recorded = _types(_load(path))
    known = KNOWN_DIFFERENCES.get((dialect, flow, path))
    if known:
        assert simulated != recorded, f"no difference left: drop KNOWN_DIFFERENCES entry ({known})"
        assert sorted(simulated) == sorted(recorded) or dialect == "ami1", known
        return
    assert simulated == recorded


LAB = [(d, f, p, o) for d, f, p, o in RECORDED if p.startswith("lab/")]


@pytest.mark.skipif(not (SHARED / "lab").is_dir(), reason=SKIP_REASON)
@pytest.mark.parametrize("dialect,flow,path,options", LAB,
                         ids=[f"{f}-{p[4:-5]}" for _d, f, p, _o in LAB])
def test_expected_facts_equal_the_lab_facts_of_the_recorded_flow(
        dialect: str, flow: str, path: str, options: dict[str, Any]) -> None:
    facts = json.loads((SHARED / path.replace(".json", ".expected.json")).read_text())["facts"]
    assert build(flow, dialect, **options).facts() == facts


def _canonical(items: Sequence[Expect]) -> list[tuple[Any, ...]]:
    """Expectations with call ids replaced by their order of first appearance."""
    order: dict[str, int] = {}

    def idx(call_id: str) -> int | None:
        return order.setdefault(call_id, len(order)) if call_id else None

    return [(e.hook, idx(e.call_id), e.caller, e.targets, e.reason, e.redirector,
             idx(e.merged_id), e.name) for e in items]


def _ami1_expect(item: Mapping[str, Any]) -> Expect:
    def num(cid: Mapping[str, Any]) -> str:
        return str(cid.get("number") or "")

    hook = item["event"]
    if hook == "on_user_event":
        return Expect(hook, str(item["data"].get("Uniqueid", "")),
                      name=str(item["data"].get("UserEvent", "")))
    targets: tuple[str, ...] = ()
    if "targets" in item:
        targets = tuple(num(t) for t in item["targets"])
    elif "callee" in item:
        targets = (num(item["callee"]),)
    elif "destination" in item:
        targets = (num(item["destination"]),)
    return Expect(hook, item["call_id"], num(item["caller"]), True, targets,
                  reason=item.get("reason", ""),
                  redirector=num(item["redirector"]) if "redirector" in item else "",
                  merged_id=item.get("merged_id", ""))


AMI1 = [(d, f, p, o) for d, f, p, o in RECORDED if d == "ami1"]


@pytest.mark.skipif(not (SHARED / "conformance").is_dir(), reason=SKIP_REASON)
@pytest.mark.parametrize("dialect,flow,path,options", AMI1,
                         ids=[f"{f}-{p.rsplit('/', 1)[-1][:-5]}" for _d, f, p, _o in AMI1])
def test_expected_events_equal_the_0_4_0_reports_of_the_recorded_ami1_flow(
        dialect: str, flow: str, path: str, options: dict[str, Any]) -> None:
    reports = json.loads((SHARED / path.replace(".json", ".expected.json")).read_text())
    mine = [e for e in build(flow, dialect, **options).expected]
    theirs = [_ami1_expect(item) for item in reports]
    simplified = [Expect(e.hook, e.call_id, e.caller, True, e.targets, e.reason, "",
                         e.redirector, e.merged_id, e.name) for e in mine]
    assert _canonical(simplified) == _canonical(theirs)


ALL_FLOWS = [(dialect, name) for dialect in ("ami2", "ami1") for name in flow_names(dialect)]


@pytest.mark.parametrize("dialect,flow", ALL_FLOWS, ids=[f"{d}-{f}" for d, f in ALL_FLOWS])
def test_replaying_a_flow_reports_exactly_its_expected_call_events(
        dialect: str, flow: str, request: pytest.FixtureRequest) -> None:
    bug = KNOWN_TRACKER_BUGS.get((dialect, flow))
    if bug:
        request.applymarker(pytest.mark.xfail(reason=bug, strict=True))
    scenario = build(flow, dialect)
    recorder, manager = replay(scenario.events)
    assert recorder.expects() == list(scenario.expected)
    assert manager.is_idle()


@pytest.mark.parametrize("dialect,flow", ALL_FLOWS, ids=[f"{d}-{f}" for d, f in ALL_FLOWS])
def test_every_channel_a_flow_creates_hangs_up_once(dialect: str, flow: str) -> None:
    scenario = build(flow, dialect)
    created = [e.get("Uniqueid") for e in scenario.events if e["Event"] == "Newchannel"]
    gone = [e.get("Uniqueid") for e in scenario.events if e["Event"] == "Hangup"]
    assert sorted(created) == sorted(gone) == sorted(scenario.uniqueids)


@pytest.mark.parametrize("dialect,flow", ALL_FLOWS, ids=[f"{d}-{f}" for d, f in ALL_FLOWS])
def test_swapping_a_commuting_pair_changes_no_call_event(dialect: str, flow: str) -> None:
    scenario = build(flow, dialect)
    expected = replay(scenario.events)[0].expects()
    for index in scenario.swappable:
        events = list(scenario.events)
        events[index], events[index + 1] = events[index + 1], events[index]
        assert replay(events)[0].expects() == expected, index


def test_scenarios_built_with_one_allocator_share_no_identifier() -> None:
    ids = Ids()
    first, second = build("blind_transfer", ids=ids), build("ring_group", ids=ids)

    def identifiers(events: Sequence[Mapping[str, Any]]) -> set[str]:
        return {str(e[k]) for e in events for k in ("Uniqueid", "Channel", "BridgeUniqueid")
                if k in e}

    assert not identifiers(first.events) & identifiers(second.events)
    assert not set(first.uniqueids) & set(second.uniqueids)


def test_values_are_strings_as_ami_sends_them() -> None:
    for dialect, flow in ALL_FLOWS:
        for event in build(flow, dialect).events:
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in event.items()), \
                (flow, event)


def test_unknown_flow_or_dialect_is_refused_with_the_list() -> None:
    with pytest.raises(KeyError):
        build("no_such_flow")
    with pytest.raises(KeyError, match="ring_group"):
        build("queue", "ami1")
    with pytest.raises(ValueError, match="at least 3"):
        build("blind_transfer", parties=default_parties(2))
