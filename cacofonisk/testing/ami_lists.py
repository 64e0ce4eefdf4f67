"""What Asterisk's list actions answer, as of the log position replayed so far.

Why: a reconnecting client resyncs against ``CoreShowChannels``,
``ParkedCalls``, ``QueueStatus`` and ``ConfbridgeListRooms`` /
``ConfbridgeList``; the test AMI server must answer them for the point of
the log the client has reached, as a live Asterisk would. ``LogState``
follows the replayed events and gives each answer's entries (the event
bodies, without ActionID); the server adds the framing.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .ami_wire import get_field

#: CoreShowChannel fields copied from any event about a known channel.
_SNAPSHOT_FIELDS = (
    "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
    "ConnectedLineNum", "ConnectedLineName", "AccountCode", "Context",
    "Exten", "Priority", "Linkedid",
)
_PARK_ENDS = frozenset({"UnParkedCall", "ParkedCallTimeOut", "ParkedCallGiveUp"})
#: QueueEntry fields, from the QueueCallerJoin event (2+) or Join (1.x).
_ENTRY_FIELDS = ("Channel", "Uniqueid", "CallerIDNum", "CallerIDName",
                 "ConnectedLineNum", "ConnectedLineName")


class ChannelTracker:
    """Which channels are alive after the events replayed so far.

    Why: CoreShowChannels must answer for the point of the log the client
    has reached, so a reconnecting client can resync against it. Follows
    Newchannel, Rename, Newstate, Newexten, Hangup, BridgeEnter/BridgeLeave
    (2.x) and Bridge Link/Unlink (1.x), with both Uniqueid spellings.
    """

    def __init__(self) -> None:
        self._channels: dict[str, dict[str, str]] = {}

    def feed(self, event: Mapping[str, Any]) -> None:
        """Apply one replayed event."""
        name = get_field(event, "Event")
        if name == "Bridge":
            self._bridge_1x(event)
            return
        uid = get_field(event, "Uniqueid") or self._by_name(get_field(event, "Channel", "Oldname"))
        if name == "Newchannel" and uid:
            self._channels[uid] = self._new(event, uid)
            return
        chan = self._channels.get(uid)
        if chan is None:
            return
        if name == "Hangup":
            del self._channels[uid]
            return
        for field in _SNAPSHOT_FIELDS:
            value = get_field(event, field)
            if value:
                chan[field] = value
        if name == "Rename":
            chan["Channel"] = get_field(event, "Newname") or chan["Channel"]
        elif name == "Newexten":
            chan["Exten"] = get_field(event, "Exten", "Extension") or chan["Exten"]
            chan["Application"] = get_field(event, "Application")
            chan["ApplicationData"] = get_field(event, "AppData")
        elif name == "BridgeEnter":
            chan["BridgeId"] = get_field(event, "BridgeUniqueid")
        elif name == "ConfbridgeJoin":  # what CoreShowChannels shows for a member
            chan["Application"] = "ConfBridge"
            chan["ApplicationData"] = get_field(event, "Conference")
        elif name == "BridgeLeave":
            chan["BridgeId"] = ""

    def snapshot(self) -> list[dict[str, str]]:
        """The live channels as CoreShowChannel bodies, oldest first."""
        return [dict(chan) for chan in self._channels.values()]

    def _new(self, event: Mapping[str, Any], uid: str) -> dict[str, str]:
        chan = {"Channel": get_field(event, "Channel"), "Uniqueid": uid}
        for field in _SNAPSHOT_FIELDS:
            chan[field] = get_field(event, field)
        chan["Linkedid"] = chan["Linkedid"] or uid
        chan.update(Application="", ApplicationData="", BridgeId="")
        return chan

    def _by_name(self, channel: str) -> str:
        for uid, chan in self._channels.items():
            if channel and chan["Channel"] == channel:
                return uid
        return ""

    def _bridge_1x(self, event: Mapping[str, Any]) -> None:
        linked = get_field(event, "Bridgestate") == "Link"
        one = (get_field(event, "Uniqueid1"), get_field(event, "Channel1"))
        two = (get_field(event, "Uniqueid2"), get_field(event, "Channel2"))
        for (uid, _), (other_uid, other_name) in ((one, two), (two, one)):
            chan = self._channels.get(uid)
            if chan is not None:
                chan["BridgedChannel"] = other_name if linked else ""
                chan["BridgedUniqueid"] = other_uid if linked else ""


class LogState:
    """Channels, parks, queue waiters and conference members after the
    events replayed so far; one per replayed log (per username)."""

    def __init__(self) -> None:
        self.channels = ChannelTracker()
        self._parked: dict[str, dict[str, str]] = {}
        self._queues: dict[str, list[dict[str, str]]] = {}
        self._rooms: dict[str, dict[str, dict[str, str]]] = {}

    def feed(self, event: Mapping[str, Any]) -> None:
        """Apply one replayed event."""
        self.channels.feed(event)
        name = get_field(event, "Event")
        if name == "ParkedCall":
            self._parked[get_field(event, "ParkeeUniqueid", "Uniqueid")] = _strings(event)
        elif name in _PARK_ENDS:
            self._parked.pop(get_field(event, "ParkeeUniqueid", "Uniqueid"), None)
        elif name in ("QueueCallerJoin", "Join"):
            entry = {f: get_field(event, f) for f in _ENTRY_FIELDS}
            self._queues.setdefault(get_field(event, "Queue"), []).append(entry)
        elif name in ("QueueCallerLeave", "Leave"):
            uid = get_field(event, "Uniqueid")
            waiting = self._queues.get(get_field(event, "Queue"), [])
            waiting[:] = [e for e in waiting if e["Uniqueid"] != uid]
        elif name == "ConfbridgeJoin":
            room = self._rooms.setdefault(get_field(event, "Conference"), {})
            room[get_field(event, "Uniqueid")] = _strings(event)
        elif name == "ConfbridgeLeave":
            self._rooms.get(get_field(event, "Conference"), {}).pop(
                get_field(event, "Uniqueid"), None)
        elif name == "ConfbridgeEnd":
            self._rooms.pop(get_field(event, "Conference"), None)
        elif name == "Hangup":
            self._forget(get_field(event, "Uniqueid"))

    def parked_calls(self) -> list[dict[str, str]]:
        """``ParkedCall`` bodies, as ParkedCalls answers them."""
        return [{**entry, "Event": "ParkedCall"} for entry in self._parked.values()]

    def queue_status(self) -> list[dict[str, str]]:
        """``QueueParams`` then ``QueueEntry`` bodies per queue (no members:
        the log does not say who they are)."""
        answer: list[dict[str, str]] = []
        for queue, waiting in self._queues.items():
            answer.append({"Event": "QueueParams", "Queue": queue, "Calls": str(len(waiting))})
            answer += [{"Event": "QueueEntry", "Queue": queue, "Position": str(n), **entry}
                       for n, entry in enumerate(waiting, 1)]
        return answer

    def conference_rooms(self) -> list[dict[str, str]]:
        """``ConfbridgeListRooms`` bodies, one per room with someone in it."""
        return [{"Event": "ConfbridgeListRooms", "Conference": room,
                 "Parties": str(len(members)), "Marked": "0", "Locked": "No", "Muted": "No"}
                for room, members in self._rooms.items() if members]

    def conference_members(self, room: str) -> list[dict[str, str]] | None:
        """``ConfbridgeList`` bodies of ``room``; None when there is no such room."""
        members = self._rooms.get(room)
        if not members:
            return None
        return [{**member, "Event": "ConfbridgeList", "Conference": room}
                for member in members.values()]

    def _forget(self, uniqueid: str) -> None:
        self._parked.pop(uniqueid, None)
        for waiting in self._queues.values():
            waiting[:] = [e for e in waiting if e["Uniqueid"] != uniqueid]
        for members in self._rooms.values():
            members.pop(uniqueid, None)


def list_answer(state: LogState, action: str,
                conference: str = "") -> tuple[str, str, list[dict[str, str]]] | str:
    """What Asterisk answers to list ``action``: (message, complete event
    name, entries), or the error message it gives instead."""
    key = action.lower()
    if key == "coreshowchannels":
        return ("Channels will follow", "CoreShowChannelsComplete",
                [{"Event": "CoreShowChannel", **chan} for chan in state.channels.snapshot()])
    if key == "parkedcalls":
        return "Parked calls will follow", "ParkedCallsComplete", state.parked_calls()
    if key == "queuestatus":
        return "Queue status will follow", "QueueStatusComplete", state.queue_status()
    if key == "confbridgelistrooms":
        rooms = state.conference_rooms()
        if not rooms:  # Asterisk answers an empty list with an error
            return "No active conferences."
        return "Confbridge conferences will follow", "ConfbridgeListRoomsComplete", rooms
    members = state.conference_members(conference)
    if members is None:
        return "No Conference by that name found."
    return "Confbridge user list will follow", "ConfbridgeListComplete", members


def _strings(event: Mapping[str, Any]) -> dict[str, str]:
    """The str headers of an event, without the ones a list answer lacks."""
    return {k: v for k, v in event.items()
            if isinstance(v, str) and k not in ("Event", "Privilege", "Timestamp")}


__all__ = ["ChannelTracker", "LogState", "list_answer"]
