"""Resync, the state half: rebuild parks, queue waiters and conferences.

Why: after a reconnect the live view (``ChannelManager.snapshot()``) must
show what Asterisk shows, not what we saw before the gap. The lists a
resync reads (``ParkedCalls``, ``QueueStatus``, ``ConfbridgeList``) set
each call's ``park``, ``queue`` and ``conference`` view directly; a call
that no longer appears in an answered list loses that state. A list
Asterisk did not answer (refused, module not loaded; an empty ConfBridge
list is an error in Asterisk too) leaves those states as they were.
No hook is called: the state hooks report what was seen happen. Pure: no
I/O, no clock; times come from the lists' durations and the last AMI
Timestamp.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .callerid import CallerId
from .dialects.common import caller_of
from .fsm.call import Call
from .snapshot import ParkState, QueueState
from .tracker import Tracker


def restore_states(tracker: Tracker, parked: Sequence[Mapping[str, Any]] | None,
                   queue_entries: Sequence[Mapping[str, Any]] | None,
                   members: Sequence[Mapping[str, Any]] | None) -> None:
    """Set the park / queue / conference view of every call in flight.

    Args:
        tracker: the server's state, already resynced against CoreShowChannels.
        parked: ``ParkedCall`` list entries, or None if not answered.
        queue_entries: ``QueueEntry`` entries, or None if not answered.
        members: ``ConfbridgeList`` entries, or None if not answered.
    """
    now = tracker.timestamp
    if parked is not None:
        found = _by_call(tracker, parked, "Parkee")
        for call in _live(tracker):
            entry = found.get(call.call_id)
            call.view.park = None if entry is None else _park(entry, now)
    if queue_entries is not None:
        found = _by_call(tracker, queue_entries, "")
        for call in _live(tracker):
            entry = found.get(call.call_id)
            call.view.queue = None if entry is None else QueueState(
                queue=str(entry.get("Queue", "")), position=_int(entry.get("Position")) or 1,
                since=_ago(now, entry.get("Wait")))
            anchor = tracker.channels.find(call.call_id, None)
            if anchor is not None:
                anchor.queue = "" if entry is None else str(entry.get("Queue", ""))
    if members is not None:
        found = _by_call(tracker, members, "")
        for call in _live(tracker):
            entry = found.get(call.call_id)
            call.view.conference = None if entry is None else (
                str(entry.get("Conference", "")), _caller_id(entry, ""), None)


def _live(tracker: Tracker) -> list[Call]:
    return [call for call in tracker.calls if not call.is_final]


def _by_call(tracker: Tracker, entries: Sequence[Mapping[str, Any]],
             prefix: str) -> dict[str, Mapping[str, Any]]:
    """Entries by the id of the call their channel is in (found by Uniqueid,
    else by channel name: AMI 1.x list entries may carry only the name)."""
    out: dict[str, Mapping[str, Any]] = {}
    for entry in entries:
        uniqueid = str(entry.get(f"{prefix}Uniqueid") or entry.get("Uniqueid") or "")
        name = str(entry.get(f"{prefix}Channel") or entry.get("Channel") or "")
        channel = tracker.channels.find(uniqueid, None) if uniqueid else None
        if channel is None and name:
            channel = tracker.channels.find(None, name)
        caller = caller_of(channel) if channel is not None else None
        if caller is not None:
            out.setdefault(caller.uniqueid, entry)
    return out


def _park(entry: Mapping[str, Any], now: float | None) -> ParkState:
    since = _ago(now, entry.get("ParkingDuration"))
    timeout = _int(entry.get("ParkingTimeout") or entry.get("Timeout"))  # 2+ / 1.x
    dial_string = str(entry.get("ParkerDialString") or "")
    parker = _caller_id(entry, "Parker")
    if parker.number is None and dial_string:
        parker = CallerId(number=dial_string.rsplit("/", 1)[-1] or None, is_public=True)
    parked = _caller_id(entry, "Parkee")
    if parked.number is None and not parked.name:
        parked = _caller_id(entry, "")  # 1.x: CallerIDNum / CallerIDName
    space = entry.get("ParkingSpace") or entry.get("Exten") or ""
    return ParkState(lot=str(entry.get("Parkinglot", "")), space=str(space),
                     parked=parked, parker=parker, since=since,
                     until=None if since is None or timeout is None else since + timeout)


def _caller_id(entry: Mapping[str, Any], prefix: str) -> CallerId:
    number = str(entry.get(f"{prefix}CallerIDNum") or "")
    name = str(entry.get(f"{prefix}CallerIDName") or "")
    unknown = ("", "<unknown>")
    return CallerId(name="" if name in unknown else name,
                    number=None if number in unknown else number, is_public=True)


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _ago(now: float | None, seconds: Any) -> float | None:
    elapsed = _int(seconds)
    return None if now is None or elapsed is None else now - elapsed


__all__ = ["restore_states"]
