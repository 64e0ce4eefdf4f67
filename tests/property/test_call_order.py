"""The order of a call's events, and its one hangup (see callcheck.py for the rules).

Checked on several concurrent calls of every simulated flow, interleaved.
"""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cacofonisk.testing.recorder import replay
from cacofonisk.testing.strategies import concurrent_scenarios, interleavings

from callcheck import hangup_violations, order_violations


@given(data=st.data(), dialect=st.sampled_from(["ami1", "ami2"]))
def test_each_call_reports_b_dial_before_up_before_hangup_and_nothing_after(
        data: st.DataObject, dialect: str) -> None:
    calls = data.draw(concurrent_scenarios(dialect, min_calls=1, max_calls=3))
    recorder, _manager = replay(data.draw(interleavings(calls)))
    assert order_violations(recorder.expects()) == []


@given(data=st.data(), dialect=st.sampled_from(["ami1", "ami2"]))
def test_each_call_reports_exactly_one_hangup(data: st.DataObject, dialect: str) -> None:
    calls = data.draw(concurrent_scenarios(dialect, min_calls=1, max_calls=3))
    recorder, manager = replay(data.draw(interleavings(calls)))
    assert manager.is_idle()
    assert hangup_violations(recorder.expects(), calls) == []
