"""Lost Hangups cannot make a manager grow without bound (issue 11, item 20).

A lossy link loses Hangup events; the channels they would have freed used to
stay forever. Here simulated calls follow one another (each batch from its
own server id, so channel names start again from 0 and get reused, as after
a wrap or a restart), with any subset of their Hangups lost; the manager,
bounded by ``max_channels``, must never hold more channels than that, and
never end a call twice.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cacofonisk import ChannelManager, calls
from cacofonisk.testing.recorder import RecordingReporter
from cacofonisk.testing.scenarios import Ids, build, flow_names


@st.composite
def lossy_batches(draw: st.DrawFn, dialect: str) -> list[dict[str, Any]]:
    """One to four simulated calls in a row, each losing a drawn subset of its Hangups."""
    events: list[dict[str, Any]] = []
    for batch in range(draw(st.integers(min_value=1, max_value=4), label="calls")):
        flow = draw(st.sampled_from(flow_names(dialect)), label="flow")
        call = [dict(e) for e in build(flow, dialect, ids=Ids(system=f"b{batch}")).events]
        hangups = [n for n, e in enumerate(call) if e["Event"] == "Hangup"]
        assert hangups, f"flow {flow} has no Hangup: nothing to lose"
        lost = set(draw(st.lists(st.sampled_from(hangups), unique=True), label="lost"))
        events += [e for n, e in enumerate(call) if n not in lost]
    return events


@given(data=st.data(), dialect=st.sampled_from(["ami1", "ami2"]),
       limit=st.integers(min_value=1, max_value=4))
def test_with_hangups_lost_a_manager_holds_at_most_max_channels_and_ends_each_call_once(
        data: st.DataObject, dialect: str, limit: int) -> None:
    events = data.draw(lossy_batches(dialect), label="events")
    reporter = RecordingReporter()
    manager = ChannelManager(reporter=reporter, strict=True, dialect=dialect,
                             max_channels=limit)
    for event in events:
        manager.on_event(event)
        assert len(manager.channels) <= limit
    manager.flush()
    ended = Counter(r.call_id for r in reporter.records if isinstance(r, calls.Hangup))
    assert all(count == 1 for count in ended.values()), ended
