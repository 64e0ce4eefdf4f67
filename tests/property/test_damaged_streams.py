"""Damaged input never raises and leaves nothing behind.

A manager that attaches mid-call misses a prefix, a dropped connection a
suffix, and events may be repeated or lost. With ``strict=True`` the
manager re-raises only unexpected (non-Cacofonisk) exceptions, so any
exception here is a bug. Once every channel the stream created has hung
up, the manager holds no channel, no call and no bridge.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cacofonisk import ChannelManager
from cacofonisk.reporters import SilentReporter
from cacofonisk.testing.strategies import concurrent_scenarios, damaged, interleavings


def _uid(event: Mapping[str, Any]) -> str:
    return str(event.get("Uniqueid") or event.get("UniqueID") or "")


@given(data=st.data(), dialect=st.sampled_from(["ami1", "ami2"]))
def test_truncated_duplicated_or_dropped_events_never_raise_and_leave_no_state(
        data: st.DataObject, dialect: str) -> None:
    calls = data.draw(concurrent_scenarios(dialect, min_calls=1, max_calls=2))
    events = data.draw(damaged(data.draw(interleavings(calls))), label="damaged")
    manager = ChannelManager(reporter=SilentReporter(), strict=True)
    for event in events:
        manager.on_event(event)
    manager.flush()  # the stream is over: nothing may stay held back
    created = {_uid(e) for e in events if e["Event"] == "Newchannel"}
    gone = {_uid(e) for e in events if e["Event"] == "Hangup"}
    if created <= gone:
        assert manager.is_idle(), (manager.channels, manager.calls, manager.bridges)
