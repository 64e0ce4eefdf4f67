"""ChannelManager.snapshot(): what is happening now, agreeing with what was reported.

The property: after ANY prefix of a stream, the snapshot's calls, states,
parties, hold, park, queue and conference equal a fold of the call events
reported so far (``snapshot_fold.py``, written from API.md alone), and once
no channel is left the snapshot is empty. It is checked on every event of
every recording (the project's scenarios always; the lab and conformance
recordings of ../shared when present) and on simulated concurrent calls.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cacofonisk import CallerId, ChannelManager
from cacofonisk.testing.recorder import RecordingReporter
from cacofonisk.testing.strategies import concurrent_scenarios, interleavings

from conformance import SKIP_REASON, logs
from snapshot_fold import fold, project_fold, project_snapshot

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*/*.json")
                   if not p.name.endswith(".expected.json"))
SHARED = logs("lab") + logs("conformance/ami1") + logs("conformance/ami2")


def _check_every_prefix(events: Iterable[Mapping[str, Any]]) -> ChannelManager:
    recorder = RecordingReporter()
    manager = ChannelManager(reporter=recorder, strict=True)
    for index, event in enumerate(events):
        manager.on_event(event)
        got = project_snapshot(manager.snapshot())
        assert got == project_fold(fold(recorder.records)), f"after event {index}"
        if not manager.channels:
            assert manager.snapshot() == ()
    manager.flush()
    assert project_snapshot(manager.snapshot()) == project_fold(fold(recorder.records))
    return manager


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.stem}" for p in paths]


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids(SCENARIOS))
def test_snapshot_after_any_prefix_of_a_scenario_agrees_with_reported_events(
        path: Path) -> None:
    manager = _check_every_prefix(json.loads(path.read_text()))
    assert manager.snapshot() == ()  # every scenario ends with all channels gone


@pytest.mark.skipif(not SHARED, reason=SKIP_REASON)
@pytest.mark.parametrize("path", SHARED, ids=_ids(SHARED))
def test_snapshot_after_any_prefix_of_a_recording_agrees_with_reported_events(
        path: Path) -> None:
    _check_every_prefix(json.loads(path.read_text()))


@given(data=st.data(), dialect=st.sampled_from(["ami1", "ami2"]))
def test_snapshot_after_any_prefix_of_simulated_concurrent_calls_agrees_with_reported_events(
        data: st.DataObject, dialect: str) -> None:
    calls = data.draw(concurrent_scenarios(dialect, min_calls=1, max_calls=3), label="calls")
    events = data.draw(interleavings(calls), label="events")
    manager = _check_every_prefix(events)
    assert not manager.channels and manager.snapshot() == ()


# -- what the records hold -------------------------------------------------------------

def _stream(name: str) -> list[dict[str, Any]]:
    return json.loads((ROOT / "scenarios" / name).read_text())  # type: ignore[no-any-return]


def test_snapshot_of_a_ringing_then_answered_call_names_its_parties_and_times() -> None:
    events = _stream("ami2/answered.json")
    manager = ChannelManager(reporter=RecordingReporter())
    seen: list[tuple[str, tuple[str | None, ...], str | None]] = []
    for number, event in enumerate(events):
        event = dict(event, Timestamp=f"{1600000000 + number}.5")
        manager.on_event(event)
        for call in manager.snapshot():
            entry = (call.state, tuple(t.number for t in call.targets),
                     call.callee.number if call.callee else None)
            if not seen or seen[-1] != entry:
                seen.append(entry)
            assert call.began is not None and call.state_since is not None
            assert call.began <= call.state_since <= 1600000000 + number + 0.5
            assert call.caller.number == "201" and call.to_number == "202"
    # DialEnd ANSWER (on_b_dial_end) comes before the bridge (on_up)
    assert seen == [("ringing", ("202",), None), ("ringing", (), None), ("up", (), "202")]
    assert manager.snapshot() == ()


def test_snapshot_record_is_frozen_and_as_dict_gives_caller_ids_as_objects() -> None:
    manager = ChannelManager(reporter=RecordingReporter())
    for event in _stream("ami2/answered.json"):
        manager.on_event(event)
        if manager.snapshot() and manager.snapshot()[0].state == "up":
            break
    (call,) = manager.snapshot()
    with pytest.raises(AttributeError):
        call.state = "ended"  # type: ignore[misc]
    shape = call.as_dict()
    assert shape["callee"]["number"] == "202" and shape["targets"] == []
    assert CallerId(**shape["caller"]) == call.caller


def _timed(name: str) -> list[dict[str, Any]]:
    """A scenario with one AMI Timestamp per event: event n at 1600000000 + n."""
    return [dict(event, Timestamp=f"{1600000000 + number}")
            for number, event in enumerate(_stream(name))]


def _at(events: list[dict[str, Any]], event: str, **fields: str) -> float:
    """The Timestamp of the first event named ``event`` with these fields."""
    return next(float(e["Timestamp"]) for e in events
                if e["Event"] == event and all(e.get(k) == v for k, v in fields.items()))


def test_snapshot_began_is_the_callers_channel_creation_and_ringing_since_its_first_dial() -> None:
    """A ring group's ring is held back until the burst ends (the caller's
    DialState); the call began when its caller's channel was made, and
    rings since Asterisk dialed its first target, not since that release."""
    events = _timed("ami2/ring_group.json")
    caller_id = events[1]["Uniqueid"]
    manager = ChannelManager(reporter=RecordingReporter())
    for event in events:
        manager.on_event(event)
        if manager.snapshot() and manager.snapshot()[0].state == "ringing":
            break
    call = manager.snapshot()[0]
    assert call.began == _at(events, "Newchannel", Uniqueid=caller_id)
    assert call.state_since == _at(events, "DialBegin", Uniqueid=caller_id)
    assert call.state_since < float(event["Timestamp"])  # reported later than it began


def test_held_back_ring_record_carries_the_time_its_dial_began() -> None:
    events = _timed("ami2/ring_group.json")
    caller_id = events[1]["Uniqueid"]
    first_dial = _at(events, "DialBegin", Uniqueid=caller_id)
    # released by the event that ends the burst
    recorder = RecordingReporter()
    manager = ChannelManager(reporter=recorder, strict=True)
    for event in events:
        manager.on_event(event)
    b_dials = [r for r in recorder.records if r.HOOK == "on_b_dial"]
    assert [r.timestamp for r in b_dials] == [first_dial]
    # released by flush() (the stream went idle) after the first ring
    ringing = next(n for n, e in enumerate(events)
                   if e["Event"] == "Newstate" and e.get("ChannelState") == "5")
    recorder = RecordingReporter()
    manager = ChannelManager(reporter=recorder, strict=True)
    for event in events[:ringing + 1]:
        manager.on_event(event)
    assert recorder.records == []
    manager.flush()
    assert [(r.HOOK, r.timestamp) for r in recorder.records] == [("on_b_dial", first_dial)]
