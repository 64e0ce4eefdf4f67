"""Concurrent calls do not disturb each other.

Asterisk orders the events within one call but interleaves calls freely,
so a tracker must report for each call what it reports for that call
alone. The interleavings are order-preserving merges (each call's order
kept, commuting pairs maybe swapped, dial bursts kept whole: see
``cacofonisk.testing.strategies``); the calls have distinct Uniqueids,
channels and numbers.
"""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cacofonisk.testing.recorder import replay
from cacofonisk.testing.strategies import concurrent_scenarios, interleavings


@given(data=st.data(), dialect=st.sampled_from(["ami1", "ami2"]))
def test_interleaved_calls_report_the_union_of_each_call_alone(data: st.DataObject,
                                                               dialect: str) -> None:
    calls = data.draw(concurrent_scenarios(dialect, min_calls=2, max_calls=3), label="calls")
    events = data.draw(interleavings(calls), label="events")
    recorder, manager = replay(events)
    reported = recorder.expects()
    total = 0
    for call in calls:
        alone = replay(call.events)[0].expects()
        assert alone == list(call.expected), call.flow
        mine = [e for e in reported if e.call_id in set(call.uniqueids)]
        assert mine == alone, call.flow
        total += len(alone)
    assert len(reported) == total
    assert manager.is_idle()
