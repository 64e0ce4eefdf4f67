"""Resync after a reconnect: make the tracker agree with Asterisk's channel list.

``CoreShowChannels`` tells which channels exist now. Channels we tracked
that are gone ended while we were away: their calls end with an honest
record (reason 'completed' if they were answered, else 'failed'; cause
unknown; hangup_by 'unknown: ended while disconnected'). Channels still
there are kept, marked ``resumed``, and their state number updated; no
on_b_dial/on_up is repeated. Channels we did not know are added, marked
``resumed``, so later events about them can be placed.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .callerid import CallerId
from .fsm.channel import Channel
from .tracker import Tracker

GONE_WHILE_AWAY = "unknown: ended while disconnected"


def _state_of(entry: Mapping[str, Any]) -> int:
    value = str(entry.get("ChannelState", "0"))
    return int(value) if value.isdigit() else 0


def resync_tracker(tracker: Tracker, entries: Sequence[Mapping[str, Any]]) -> None:
    """Apply one CoreShowChannels answer (one mapping per channel) to ``tracker``."""
    alive: dict[str, Mapping[str, Any]] = {}
    for entry in entries:
        uniqueid = str(entry.get("Uniqueid") or entry.get("UniqueID") or "")
        if uniqueid:
            alive[uniqueid] = entry
    for channel in tracker.channels:
        if channel.uniqueid in alive:
            continue
        if channel.side == "A" and channel.is_relevant and not channel.marks.hangup_reported:
            reason = "completed" if channel.is_up else "failed"
            tracker.hangup(channel.uniqueid, channel.caller_id, channel.exten, reason,
                           hangup_by=GONE_WHILE_AWAY)
        tracker.step_if_allowed(channel, "hang_up")
        tracker.forget(channel)
    for uniqueid, entry in alive.items():
        known = tracker.channels.find(uniqueid, None)
        state = _state_of(entry)
        if known is None:
            known = Channel(
                uniqueid, str(entry.get("Channel", "")), ami_state=state,
                caller_id=CallerId(name=str(entry.get("CallerIDName", "")),
                                   number=str(entry.get("CallerIDNum", "")) or None,
                                   is_public=True),
                exten=str(entry.get("Exten", "")),
                linkedid=str(entry.get("Linkedid") or uniqueid),
            )
            tracker.channels.add(known)
            if state == 6:
                tracker.step_if_allowed(known, "answer")
                known.marks.up_reported = True
            elif state == 5:
                tracker.step_if_allowed(known, "ring")
                known.marks.b_dial_reported = True
            elif state in (3, 4):
                tracker.step_if_allowed(known, "dial_out")
            if known.uniqueid == known.linkedid:
                known.side = "A"
        else:
            known.ami_state = state
            if state == 6:
                tracker.step_if_allowed(known, "answer")
        known.resumed = True
        bridge_id = str(entry.get("BridgeId") or "")
        if bridge_id and known.bridge is None:
            bridge = tracker.bridges.ensure(bridge_id)
            bridge.add(known)
            known.bridge = bridge
            tracker.step_if_allowed(known, "bridge")
