"""Resync after a reconnect: make the tracker agree with what Asterisk shows.

Why this is pure: the same resync must happen live (AmiRunner) and on a
replay of the recording (FileRunner), so both feed the same AMI events
(the list answers and the runner's barrier UserEvent) to the manager, which
applies them here. No I/O, no clock.

What a resync reads (all answered before the barrier ``CacofoniskResyncDone-<hex>``):

* ``CoreShowChannels`` (one ``CoreShowChannel`` per channel): which
  channels exist now, their state, bridge, connected line and Linkedid;
* ``ParkedCalls``, ``QueueStatus`` and ``ConfbridgeList``: parks, queue
  waiters and conference members, which rebuild each call's park, queue
  and conference (``resync_states.py``, reported as state events marked
  ``after_gap``) when Asterisk answered them.

What it reports (see ``resync_tracker``):

* channels we tracked that are gone ended while we were away: their calls
  first end their park, queue wait or conference (``end_states``), then
  end with their real reason ('completed' if they were answered, else
  'failed'), no cause, hangup_by ``unknown: ended while disconnected``;
* what changed while we were away is reported as call events marked
  ``after_gap=True``: a call answered while away gets its on_up (dial
  status 'answer'); a call now talking to someone else (a transfer while
  away) gets on_cold_transfer (redirector: the party it talked with
  before; merged_id: its own id, the other call is unknown; kind '') and
  a new on_up naming the new party; a call that began (or was only
  known, not yet rung) before the gap gets on_b_dial, and on_up if it is
  answered;
* nothing is repeated: a call whose ring or answer was already reported
  gets no second on_b_dial/on_up.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .callerid import CallerId
from .fsm.call import CallState
from .fsm.channel import Channel
from .resync_states import end_states, restore_states
from .tracker import Tracker

GONE_WHILE_AWAY = "unknown: ended while disconnected"
#: UserEvent names starting with this are resync barriers: never reported.
BARRIER_PREFIX = "CacofoniskResyncDone-"
#: List answers a resync reads, by the list they fill (None: an end marker).
LIST_EVENTS: dict[str, str | None] = {
    "CoreShowChannel": "channels", "CoreShowChannelsComplete": None,
    "ParkedCall": "parked", "ParkedCallsComplete": None,
    "QueueEntry": "queue_entries", "QueueParams": None, "QueueMember": None,
    "QueueStatusComplete": None,
    "ConfbridgeList": "conference_members", "ConfbridgeListComplete": None,
    "ConfbridgeListRooms": None, "ConfbridgeListRoomsComplete": None,
}
#: Every event name the manager must look at for a resync.
RESYNC_EVENTS = frozenset(LIST_EVENTS) | {"UserEvent"}
#: The list each ``...Complete`` event closes.
_COMPLETES = {"CoreShowChannelsComplete": "channels", "ParkedCallsComplete": "parked",
              "QueueStatusComplete": "queue_entries",
              "ConfbridgeListRoomsComplete": "conference_members"}
#: List event names that are also live events: a list answer carries an ActionID.
_ALSO_LIVE = frozenset({"ParkedCall"})
_UP, _RINGING, _RING = 6, 5, 4
#: Applications whose bridge is not a conversation between the channels in it.
_NOT_CONVERSATIONS = frozenset({"ConfBridge", "MeetMe", "Park", "ParkedCall",
                                "ParkAndAnnounce"})


def is_barrier(event: Mapping[str, Any]) -> bool:
    """True for a runner's resync barrier UserEvent (never the dialplan's)."""
    return str(event.get("UserEvent", "")).startswith(BARRIER_PREFIX)


@attrs.frozen
class ResyncLists:
    """What Asterisk answered to a resync's actions, one mapping per entry."""

    channels: tuple[Mapping[str, Any], ...] = ()
    parked: tuple[Mapping[str, Any], ...] = ()
    queue_entries: tuple[Mapping[str, Any], ...] = ()
    conference_members: tuple[Mapping[str, Any], ...] = ()
    #: the lists Asterisk answered in full (their ``...Complete`` event came)
    answered: frozenset[str] = frozenset()


class ResyncCollector:
    """Gathers list answers until the barrier says they are all in.

    Why: live and in a recording, a resync is a run of list-answer events
    followed by the barrier; the manager hands every event here first.
    A barrier with no channel list before it (another runner's, or one
    whose CoreShowChannels was refused) changes nothing.
    """

    def __init__(self) -> None:
        self._lists: dict[str, list[Mapping[str, Any]]] = {}
        self._answered: set[str] = set()

    def take(self, name: str, event: Mapping[str, Any]) -> ResyncLists | bool:
        """Consume ``event`` if it belongs to a resync.

        Returns:
            False if it is not a resync event (the manager handles it);
            True if it was taken; the collected lists at a barrier that
            follows a channel list.
        """
        if name == "UserEvent":
            if not is_barrier(event):
                return False
            return self._finish()
        if name in _ALSO_LIVE and not event.get("ActionID"):
            return False
        target = LIST_EVENTS.get(name)
        if name in _COMPLETES:
            self._answered.add(_COMPLETES[name])
        if target is not None:
            self._lists.setdefault(target, []).append(event)
            if target == "channels":
                self._answered.add(target)
        return True

    def _finish(self) -> ResyncLists | bool:
        lists, answered = self._lists, frozenset(self._answered)
        self._lists, self._answered = {}, set()
        if "channels" not in answered:
            return True
        return ResyncLists(**{key: tuple(value) for key, value in lists.items()},
                           answered=answered)


def _state_of(entry: Mapping[str, Any]) -> int:
    value = str(entry.get("ChannelState", "0"))
    return int(value) if value.isdigit() else 0


def _uniqueid(entry: Mapping[str, Any]) -> str:
    return str(entry.get("Uniqueid") or entry.get("UniqueID") or "")


def _caller_id(entry: Mapping[str, Any], prefix: str = "CallerID") -> CallerId | None:
    number = str(entry.get(f"{prefix}Num", "") or "")
    name = str(entry.get(f"{prefix}Name", "") or "")
    if number in ("", "<unknown>") and name in ("", "<unknown>"):
        return None
    return CallerId(name="" if name == "<unknown>" else name,
                    number=None if number in ("", "<unknown>") else number, is_public=True)


def _peers_now(alive: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Per channel, the channels it shares a bridge with now (2+ BridgeId,
    1.x BridgedUniqueid)."""
    by_bridge: dict[str, list[str]] = {}
    for uid, entry in alive.items():
        bridge_id = str(entry.get("BridgeId") or entry.get("BridgeID") or "")
        if bridge_id:
            by_bridge.setdefault(bridge_id, []).append(uid)
    peers: dict[str, list[str]] = {}
    for members in by_bridge.values():
        for uid in members:
            peers[uid] = [other for other in members if other != uid]
    for uid, entry in alive.items():
        other = str(entry.get("BridgedUniqueid") or entry.get("BridgedUniqueID") or "")
        if other and other in alive and other not in peers.get(uid, []):
            peers.setdefault(uid, []).append(other)
    return peers


def _peers_before(tracker: Tracker) -> dict[str, dict[str, CallerId]]:
    """Per channel, the parties it was talking with before (uniqueid -> who)."""
    before: dict[str, dict[str, CallerId]] = {}
    for channel in tracker.channels:
        peers = {peer.uniqueid: peer.caller_id for peer in channel.linked}
        if channel.bridge is not None:
            peers.update((peer.uniqueid, peer.caller_id)
                         for peer in channel.bridge.peers if peer is not channel)
        before[channel.uniqueid] = peers
    return before


def resync_tracker(tracker: Tracker, entries: Sequence[Mapping[str, Any]],
                   lists: ResyncLists | None = None) -> None:
    """Apply one resync to ``tracker`` (see the module docstring).

    Args:
        tracker: the server's state.
        entries: the CoreShowChannels answer, one mapping per channel.
        lists: the other list answers (parks, queue waiters, conference
            members): each answered list rebuilds that state of every call.
    """
    alive = {_uniqueid(entry): entry for entry in entries if _uniqueid(entry)}
    before = _peers_before(tracker)
    _end_the_vanished(tracker, alive)
    for uniqueid, entry in alive.items():
        _update_channel(tracker, uniqueid, entry)
    _report_the_gap(tracker, alive, before)
    if lists is not None:
        def answered(name: str, entries: tuple[Mapping[str, Any], ...]) -> Any:
            return entries if name in lists.answered else None
        restore_states(tracker, answered("parked", lists.parked),
                       answered("queue_entries", lists.queue_entries),
                       answered("conference_members", lists.conference_members))


def _end_the_vanished(tracker: Tracker, alive: Mapping[str, Mapping[str, Any]]) -> None:
    for channel in list(tracker.channels):
        if channel.uniqueid in alive:
            continue
        if channel.side == "A" and channel.is_relevant and not channel.marks.hangup_reported:
            end_states(tracker, channel.uniqueid)  # its park, queue wait, conference first
            reason = "completed" if channel.is_up else "failed"
            tracker.hangup(channel.uniqueid, channel.caller_id, channel.exten, reason,
                           hangup_by=GONE_WHILE_AWAY, dial_status=channel.dial_status)
        tracker.step_if_allowed(channel, "hang_up")
        tracker.forget(channel)


def _created(now: float | None, duration: Any) -> float | None:
    """When a channel first seen by a resync was created: now less its ``Duration``.

    CoreShowChannel gives ``Duration: HH:MM:SS`` (how long the channel has
    existed); None when either time is unknown, so the snapshot's ``began``
    falls back to the call's first reported record.
    """
    parts = str(duration or "").strip().split(":")
    if now is None or len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    hours, minutes, seconds = (int(part) for part in parts)
    return now - (hours * 3600 + minutes * 60 + seconds)


def _update_channel(tracker: Tracker, uniqueid: str, entry: Mapping[str, Any]) -> None:
    known = tracker.channels.find(uniqueid, None)
    state = _state_of(entry)
    if known is None:
        known = Channel(
            uniqueid, str(entry.get("Channel", "")), ami_state=state,
            caller_id=_caller_id(entry) or CallerId(is_public=True),
            exten=str(entry.get("Exten", "")),
            linkedid=str(entry.get("Linkedid") or uniqueid),
            created=_created(tracker.timestamp, entry.get("Duration")),
        )
        tracker.channels.add(known)
        if state == _UP:
            tracker.step_if_allowed(known, "answer")
        elif state == _RINGING:
            tracker.step_if_allowed(known, "ring")
        elif state in (3, _RING):
            tracker.step_if_allowed(known, "dial_out")
        if known.uniqueid == known.linkedid:
            known.side = "A"
    else:
        known.ami_state = state
        if state == _UP:
            tracker.step_if_allowed(known, "answer")
    known.resumed = True
    bridge_id = str(entry.get("BridgeId") or "")
    if known.bridge is not None and known.bridge.uniqueid != bridge_id:
        tracker.leave_bridge(known, known.bridge)  # moved (a transfer) or left while away
        known.bridge = None
    if bridge_id and known.bridge is None:
        bridge = tracker.bridges.ensure(bridge_id)
        bridge.add(known)
        known.bridge = bridge
        tracker.step_if_allowed(known, "bridge")


def _report_the_gap(tracker: Tracker, alive: Mapping[str, Mapping[str, Any]],
                    before: Mapping[str, Mapping[str, CallerId]]) -> None:
    """Report, marked ``after_gap``, what changed for each caller still here."""
    peers = _peers_now(alive)
    for uniqueid, entry in alive.items():
        channel = tracker.channels.find(uniqueid, None)
        if channel is None or channel.side != "A" or not channel.is_relevant:
            continue
        call = tracker.calls.find(uniqueid)
        if call is not None and call.is_final:
            continue
        state = call.state if call is not None else CallState.NEW
        if _not_a_conversation(channel, entry):
            continue  # a conference room or a parking lot: no one answered it
        talking = [p for p in peers.get(uniqueid, []) if p != uniqueid]
        if state is CallState.NEW:  # begun (or rung) while away
            _report_begun(tracker, channel, entry, alive, talking)
            continue
        if not talking or _state_of(entry) != _UP:
            continue
        callee = _callee(entry, alive, talking)
        if state is CallState.RINGING:
            _report_up(tracker, channel, callee)
            continue
        was_talking_with = before.get(uniqueid, {})
        if was_talking_with and not set(talking) & set(was_talking_with):
            # someone else now: a transfer while away, by the party it left
            redirector = next(iter(was_talking_with.values()))
            tracker.cold_transfer(uniqueid, uniqueid, redirector, channel.caller_id,
                                  callee.number, [callee], after_gap=True)
            _report_up(tracker, channel, callee)


def _not_a_conversation(channel: Channel, entry: Mapping[str, Any]) -> bool:
    """In a ConfBridge room or parked: each party has its own call with the
    PBX, so sharing a bridge is no answer nor transfer."""
    bridge = channel.bridge
    if bridge is not None and (bridge.is_conference or bridge.is_holding):
        return True
    return str(entry.get("Application", "")) in _NOT_CONVERSATIONS


def _callee(entry: Mapping[str, Any], alive: Mapping[str, Mapping[str, Any]],
            talking: list[str]) -> CallerId:
    """Who the caller talks with: its connected line, else the peer's caller ID."""
    return (_caller_id(entry, "ConnectedLine") or _caller_id(alive[talking[0]])
            or CallerId(is_public=True))


def _report_up(tracker: Tracker, channel: Channel, callee: CallerId) -> None:
    channel.dial_status = channel.dial_status or "ANSWER"
    if tracker.up(channel.uniqueid, channel.caller_id, channel.exten, callee,
                  after_gap=True):
        channel.marks.up_reported = True


def _report_begun(tracker: Tracker, channel: Channel, entry: Mapping[str, Any],
                  alive: Mapping[str, Mapping[str, Any]], talking: list[str]) -> None:
    """A call that began while we were away: its ring, and its answer if any."""
    ringing = [uid for uid, other in alive.items()
               if uid != channel.uniqueid and str(other.get("Linkedid", "")) == channel.uniqueid
               and _state_of(other) in (_RINGING, _UP)]
    targets = [_caller_id(alive[uid]) or CallerId(is_public=True)
               for uid in (talking or ringing)]
    if not targets:
        return
    if tracker.b_dial(channel.uniqueid, channel.caller_id, channel.exten, targets,
                      after_gap=True):
        channel.marks.b_dial_reported = True
    if talking and _state_of(entry) == _UP:
        _report_up(tracker, channel, _callee(entry, alive, talking))


__all__ = ["BARRIER_PREFIX", "GONE_WHILE_AWAY", "LIST_EVENTS", "RESYNC_EVENTS",
           "ResyncCollector", "ResyncLists", "is_barrier", "resync_tracker"]
