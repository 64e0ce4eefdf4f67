"""Events no rule uses change nothing.

VarSet, Newexten, RTCPSent and DeviceStateChange (naming real channels of
the stream, at random places) leave the reported call events unchanged;
so does skipping every event not in ``ChannelManager.INTERESTING_EVENTS``,
which the API allows callers to do.
"""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cacofonisk import ChannelManager
from cacofonisk.testing.recorder import replay
from cacofonisk.testing.strategies import concurrent_scenarios, interleavings, with_noise


@given(data=st.data(), dialect=st.sampled_from(["ami1", "ami2"]))
def test_noise_events_change_nothing(data: st.DataObject, dialect: str) -> None:
    calls = data.draw(concurrent_scenarios(dialect, min_calls=1, max_calls=2))
    events = data.draw(interleavings(calls))
    noisy = data.draw(with_noise(events, max_size=20), label="noisy")
    quiet = replay(events)[0].expects()
    assert replay(noisy)[0].expects() == quiet
    interesting = ChannelManager.INTERESTING_EVENTS
    assert replay([e for e in noisy if e["Event"] in interesting])[0].expects() == quiet
