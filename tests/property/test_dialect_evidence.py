"""A damaged start cannot lock a manager into the wrong dialect (issue 11, item 19).

Before the fix the first event whose name (or a ``Linkedid`` header)
belonged to one dialect decided the dialect before it was parsed: one stray
``BridgeEnter`` at the start of an Asterisk 11 stream, or one malformed
``Dial`` at the start of an Asterisk 22 one, and every later call was
misreported. Here a manager first gets a damaged prefix (single stray events
of the other dialect, and events of either dialect with headers torn off),
then a clean recording; what it reports for the recording's calls must be
what a fresh manager reports for them.

The clean recordings are the project's own scenarios (``scenarios/``) and
the simulator's flows; the third-party recordings in ../shared are added
when present (``test_shared_recordings_...`` says loudly when they are not).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cacofonisk import ChannelManager
from cacofonisk.testing.recorder import RecordingReporter
from cacofonisk.testing.scenarios import Ids, build, flow_names

from conformance import SKIP_REASON, logs

ROOT = Path(__file__).resolve().parents[2]
DIALECTS = ("ami1", "ami2")
OTHER = {"ami1": "ami2", "ami2": "ami1"}


def _load(path: Path) -> list[dict[str, Any]]:
    return [e for e in json.loads(path.read_text(encoding="utf-8")) if isinstance(e, dict)]


def _project_logs(dialect: str) -> list[Path]:
    folder = ROOT / "scenarios" / dialect
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".expected.json"))


def _shared_logs(dialect: str) -> list[Path]:
    return logs(f"conformance/{dialect}")


# -- the damage -----------------------------------------------------------------------

@st.composite
def stray_event(draw: st.DrawFn, dialect: str, index: int) -> dict[str, Any]:
    """One event that does not belong in a ``dialect`` stream.

    Either an event of the other dialect, whole (a stray), or an event of
    either dialect with some headers torn off (malformed, or well-formed
    but missing a telling header such as ``Linkedid``). Each stray comes
    from its own simulated server (its own Uniqueids and numbers), so two
    strays never name the same channel, nor a channel of the clean call.
    """
    source = draw(st.sampled_from([OTHER[dialect], dialect]), label="source dialect")
    flow = draw(st.sampled_from(flow_names(source)), label="stray flow")
    numbers = [f"8{index % 10}{n}" for n in range(1, 9)]
    events = build(flow, source, numbers=numbers,
                   ids=Ids(system=f"stray{index}-{source}")).events
    telling = [e for e in events if e["Event"] in ChannelManager.INTERESTING_EVENTS]
    event = dict(draw(st.sampled_from(telling), label="stray event"))
    headers = sorted(k for k in event if k != "Event")
    if source == dialect:
        torn = draw(st.lists(st.sampled_from(headers), min_size=1, unique=True), label="torn")
    else:
        torn = draw(st.lists(st.sampled_from(headers), unique=True), label="torn")
    for header in torn:
        del event[header]
    return event


@st.composite
def damaged_prefix(draw: st.DrawFn, dialect: str) -> list[dict[str, Any]]:
    """One to five stray or malformed events (see ``stray_event``)."""
    count = draw(st.integers(min_value=1, max_value=5), label="strays")
    return [draw(stray_event(dialect, index)) for index in range(count)]


# -- the measure ----------------------------------------------------------------------

def _reports(events: Sequence[Mapping[str, Any]], prefix: Sequence[Mapping[str, Any]] = ()
             ) -> list[Any]:
    """What a manager reports for the calls of ``events`` after it was fed ``prefix``."""
    reporter = RecordingReporter()
    manager = ChannelManager(reporter=reporter)
    for event in prefix:
        manager.on_event(event)
    reporter.clear()
    for event in events:
        manager.on_event(event)
    manager.flush()
    call_ids = {str(e.get("Uniqueid") or e.get("UniqueID") or "") for e in events}
    return [expect for expect in reporter.expects() if expect.call_id in call_ids]


def _clean_sources(dialect: str) -> list[str]:
    return [f"file:{path}" for path in _project_logs(dialect)] + [
        f"flow:{flow}" for flow in flow_names(dialect)]


def _clean(source: str, dialect: str) -> list[dict[str, Any]]:
    kind, _, name = source.partition(":")
    if kind == "file":
        return _load(Path(name))
    return [dict(e) for e in build(name, dialect).events]


@settings(max_examples=120)
@given(data=st.data(), dialect=st.sampled_from(DIALECTS))
def test_a_damaged_start_leaves_the_reports_of_a_clean_recording_unchanged(
        data: st.DataObject, dialect: str) -> None:
    source = data.draw(st.sampled_from(_clean_sources(dialect)), label="clean recording")
    events = _clean(source, dialect)
    fresh = _reports(events)
    assert fresh, f"{source} reports nothing: the comparison would check nothing"
    prefix = data.draw(damaged_prefix(dialect), label="damaged prefix")
    assert _reports(events, prefix) == fresh


def _own_ids(event: Mapping[str, Any], tag: str) -> dict[str, Any]:
    """A copy of a stray event whose Uniqueids are its own (each stray a channel apart)."""
    return {key: (tag + value if isinstance(value, str) and value.startswith("stray") else value)
            for key, value in event.items()}


def _misreported(dialect: str, clean_logs: Sequence[list[dict[str, Any]]], managers: int,
                 seed: int) -> int:
    """How many of ``managers`` damaged-start managers misreport a clean log (the issue's measure)."""
    import random

    rng = random.Random(seed)
    strays = [[dict(e) for e in build(flow, source, numbers=[f"8{n}{m}" for m in range(1, 9)],
                                      ids=Ids(system=f"stray{n}-{source}")).events
               if e["Event"] in ChannelManager.INTERESTING_EVENTS]
              for n, (source, flow) in enumerate(
                  (source, flow) for source in DIALECTS for flow in flow_names(source))]
    wrong = 0
    for _ in range(managers):
        events = rng.choice(clean_logs)
        prefix = []
        for index in range(rng.randint(1, 5)):
            event = _own_ids(rng.choice(rng.choice(strays)), f"damage{index}-")
            for header in rng.sample(sorted(k for k in event if k != "Event"),
                                     rng.randint(0, 3)):
                del event[header]
            prefix.append(event)
        wrong += _reports(events, prefix) != _reports(events)
    return wrong


@pytest.mark.parametrize("dialect", DIALECTS)
def test_no_manager_of_300_with_a_damaged_start_misreports_a_project_scenario(
        dialect: str) -> None:
    clean = [_load(path) for path in _project_logs(dialect)]
    assert clean, f"scenarios/{dialect} holds no recording"
    assert _misreported(dialect, clean, 300, seed=11) == 0


@pytest.mark.skipif(not _shared_logs("ami1"), reason=SKIP_REASON)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_shared_recordings_no_manager_of_300_with_a_damaged_start_misreports_them(
        dialect: str) -> None:
    clean = [_load(path) for path in _shared_logs(dialect)]
    assert _misreported(dialect, clean, 300, seed=19) == 0
