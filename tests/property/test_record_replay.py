"""What JsonReporter records while following calls replays to the same call events.

The manager follows a stream with a JsonReporter (recording every raw
event, as ``cacofonisk replay --record`` and users' live recorders do) and
a RecordingReporter side by side; FileRunner then replays the recorded
file: the call events, whole records included, are the same.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cacofonisk import ChannelManager, FileRunner, JsonReporter
from cacofonisk.reporters import MultiReporter
from cacofonisk.testing.recorder import RecordingReporter
from cacofonisk.testing.strategies import concurrent_scenarios, interleavings, with_noise


@given(data=st.data(), dialect=st.sampled_from(["ami1", "ami2"]))
def test_record_then_replay_gives_the_same_call_events(data: st.DataObject,
                                                       dialect: str) -> None:
    calls = data.draw(concurrent_scenarios(dialect, min_calls=1, max_calls=2))
    events = data.draw(with_noise(data.draw(interleavings(calls)), max_size=5))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recorded.json"
        live, recording = RecordingReporter(), JsonReporter(str(path))
        manager = ChannelManager(reporter=MultiReporter([recording, live]), strict=True)
        for event in events:
            manager.on_event(event)
        recording.close()
        again = RecordingReporter()
        FileRunner([str(path)], again).run()
    assert again.expects() == live.expects()
    assert [r.as_dict() for r in again.records] == [r.as_dict() for r in live.records]
