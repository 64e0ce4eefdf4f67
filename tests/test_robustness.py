"""Bad input never takes the manager down, and finished calls leave nothing behind.

For every real recording: replaying it with the first k events removed
(attaching to a running Asterisk, k = 1..n-1) and with any one event
duplicated raises nothing, even with ``strict=True``, and afterwards the
manager holds exactly the channels that were created and not hung up in
what it saw; with none of those, no call or bridge state either.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from cacofonisk import ChannelManager
from cacofonisk.reporters import SilentReporter
from cacofonisk.runners.file_runner import load_events

from conformance import SKIP_REASON, logs

ALL = logs("conformance/ami1") + logs("conformance/ami2") + logs("lab")


def _uid(event: Mapping[str, Any]) -> str:
    return str(event.get("Uniqueid") or event.get("UniqueID") or "")


def _check(events: Sequence[Mapping[str, Any]]) -> None:
    manager = ChannelManager(reporter=SilentReporter(), strict=True)
    for event in events:
        manager.on_event(event)
    created = {_uid(e) for e in events if e["Event"] == "Newchannel"}
    gone = {_uid(e) for e in events if e["Event"] == "Hangup"}
    alive = {channel.uniqueid for channel in manager.channels}
    assert alive == created - gone
    if not alive:
        assert manager.is_idle(), (manager.calls, manager.bridges)


def _interesting(log: Path) -> list[Mapping[str, Any]]:
    return [e for e in load_events(log) if e.get("Event") in ChannelManager.INTERESTING_EVENTS]


@pytest.mark.skipif(not ALL, reason=SKIP_REASON)
@pytest.mark.parametrize("log", ALL, ids=[f"{p.parent.name}/{p.name[:-5]}" for p in ALL])
def test_every_suffix_of_a_recording_replays_without_error_or_leftover_state(log: Path) -> None:
    events = _interesting(log)
    for k in range(len(events)):
        _check(events[k:])


@pytest.mark.skipif(not ALL, reason=SKIP_REASON)
@pytest.mark.parametrize("log", ALL, ids=[f"{p.parent.name}/{p.name[:-5]}" for p in ALL])
def test_any_duplicated_event_replays_without_error_or_leftover_state(log: Path) -> None:
    events = _interesting(log)
    for i in range(len(events)):
        _check(events[: i + 1] + events[i:])
