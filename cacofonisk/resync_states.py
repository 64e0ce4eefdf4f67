"""Resync, the state half: rebuild parks, queue waiters and conferences.

Why: after a reconnect the live view (``ChannelManager.snapshot()``) must
show what Asterisk shows, not what we saw before the gap, and a consumer
that folds the call events (a parking panel, a queue wallboard) must see
the same: so each difference is reported as its state event, marked
``after_gap=True`` (its timestamp is the resync's), never set silently.

The lists a resync reads (``ParkedCalls``, ``QueueStatus``,
``ConfbridgeList``) are compared with each call's park, queue and
conference as reported so far:

* listed, not known: ``on_park`` / ``on_queue_join`` / ``on_conference_join``
  (a call that began while away included); the snapshot then takes its
  ``since`` (and a park's ``until``) from the list's durations;
* known, listed elsewhere (another space, queue or room): the old one
  ends (a park or a queue wait with reason 'timeout') and the new one begins;
* known, no longer listed (the call goes on): ``on_park_end`` ('retrieved'
  by the party the parked call now talks with, else 'timeout': which of
  the two it was cannot be seen after the fact), ``on_queue_leave``
  ('answered' if the caller now talks with someone, else 'timeout'),
  ``on_conference_leave``;
* a call that ended while away (``resync.py`` ends it) first ends its
  park ('gave-up'), queue wait ('abandoned') and conference membership
  (``end_states``), so no park or wait is left open in the event stream.

A list Asterisk did not answer (refused, module not loaded; an empty
ConfBridge list is an error in Asterisk too) leaves those states as they
were. Pure: no I/O, no clock; times come from the lists' durations and the
last AMI Timestamp.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .callerid import CallerId
from .callview import CallView
from .dialects.common import caller_of
from .fsm.channel import Channel
from .snapshot import ParkState, QueueState
from .topology import bridge_peers
from .tracker import Tracker

#: a list entry found for a call: (the call's caller channel, the listed channel, the entry)
_Hit = tuple[Channel, Channel, Mapping[str, Any]]


def restore_states(tracker: Tracker, parked: Sequence[Mapping[str, Any]] | None,
                   queue_entries: Sequence[Mapping[str, Any]] | None,
                   members: Sequence[Mapping[str, Any]] | None) -> None:
    """Report what differs between the lists and each call's park / queue / conference.

    Args:
        tracker: the server's state, already resynced against CoreShowChannels.
        parked: ``ParkedCall`` list entries, or None if not answered.
        queue_entries: ``QueueEntry`` entries, or None if not answered.
        members: ``ConfbridgeList`` entries, or None if not answered.
    """
    if parked is not None:
        found = _by_call(tracker, parked, "Parkee")
        for call_id in _calls(tracker, found):
            _restore_park(tracker, call_id, found.get(call_id))
    if queue_entries is not None:
        found = _by_call(tracker, queue_entries, "")
        for call_id in _calls(tracker, found):
            _restore_queue(tracker, call_id, found.get(call_id))
    if members is not None:
        found = _by_call(tracker, members, "")
        for call_id in _calls(tracker, found):
            _restore_conference(tracker, call_id, found.get(call_id))


def end_states(tracker: Tracker, call_id: str) -> None:
    """A call ended while away: end its park, queue wait and conference first.

    Called by the channel resync just before it reports the call's hangup:
    the parked party, the waiting caller or the member hung up.
    """
    view = _view(tracker, call_id)
    if view is None:
        return
    if view.park is not None:
        _end_park(tracker, call_id, view.park, "gave-up", None)
    if view.queue is not None:
        _end_queue(tracker, call_id, view.queue.queue, "abandoned")
    if view.conference is not None:
        _end_conference(tracker, call_id, view.conference[0], view.conference[1])


# -- which calls -----------------------------------------------------------------

def _view(tracker: Tracker, call_id: str) -> CallView | None:
    call = tracker.calls.find(call_id)
    return None if call is None or call.is_final else call.view


def _calls(tracker: Tracker, found: Mapping[str, _Hit]) -> list[str]:
    """The calls to compare: every call in flight, then those only the list names."""
    ids = [call.call_id for call in tracker.calls if not call.is_final]
    return list(dict.fromkeys([*ids, *found]))


def _by_call(tracker: Tracker, entries: Sequence[Mapping[str, Any]],
             prefix: str) -> dict[str, _Hit]:
    """Entries by the id of the call their channel is in (found by Uniqueid,
    else by channel name: AMI 1.x list entries may carry only the name)."""
    out: dict[str, _Hit] = {}
    for entry in entries:
        uniqueid = str(entry.get(f"{prefix}Uniqueid") or entry.get("Uniqueid") or "")
        name = str(entry.get(f"{prefix}Channel") or entry.get("Channel") or "")
        channel = tracker.channels.find(uniqueid, None) if uniqueid else None
        if channel is None and name:
            channel = tracker.channels.find(None, name)
        caller = caller_of(channel) if channel is not None else None
        if caller is not None and channel is not None:
            call = tracker.calls.find(caller.uniqueid)
            if call is None or not call.is_final:
                out.setdefault(caller.uniqueid, (caller, channel, entry))
    return out


def _lead(tracker: Tracker, call_id: str) -> tuple[CallerId, str | None]:
    """The caller and number to report a call's state event with."""
    channel = tracker.channels.get(call_id)
    if channel is not None:
        return channel.caller_id, channel.exten
    view = _view(tracker, call_id)
    return ((view.caller or CallerId(), view.to_number) if view is not None
            else (CallerId(), None))


def _talking_with(tracker: Tracker, call_id: str) -> Channel | None:
    """The one real party the call's caller channel talks with now, if any."""
    channel = tracker.channels.get(call_id)
    if channel is None or not channel.is_up:
        return None
    others = [peer for peer in bridge_peers(channel) if peer is not channel]
    return others[0] if len(others) == 1 else None


# -- parks -------------------------------------------------------------------------

def _restore_park(tracker: Tracker, call_id: str, hit: _Hit | None) -> None:
    view = _view(tracker, call_id)
    old = view.park if view is not None else None
    if hit is None:
        if old is not None:
            retriever = _talking_with(tracker, call_id)
            if retriever is not None:
                _end_park(tracker, call_id, old, "retrieved", retriever.caller_id)
            else:
                _end_park(tracker, call_id, old, "timeout", None)
        return
    new = _park(hit[2], tracker.timestamp)
    if old is not None and (old.lot, old.space) == (new.lot, new.space):
        return  # the park we reported: nothing changed
    if old is not None:
        _end_park(tracker, call_id, old, "timeout", None)  # parked again elsewhere
    caller, to_number = _lead(tracker, call_id)
    timeout = None if new.until is None or new.since is None else new.until - new.since
    if tracker.park(call_id, caller, to_number, new.parked, new.parker, new.lot, new.space,
                    timeout, after_gap=True):
        tracker.call_view(call_id).park = new  # Asterisk's since/until, not the resync's


def _end_park(tracker: Tracker, call_id: str, old: ParkState, reason: str,
              retriever: CallerId | None) -> None:
    caller, to_number = _lead(tracker, call_id)
    tracker.park_end(call_id, caller, to_number, old.parked, reason, retriever,
                     old.lot, old.space, after_gap=True)


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


# -- queues ------------------------------------------------------------------------

def _restore_queue(tracker: Tracker, call_id: str, hit: _Hit | None) -> None:
    view = _view(tracker, call_id)
    old = view.queue if view is not None else None
    anchor = tracker.channels.get(call_id)
    if hit is None:
        if old is not None:
            answered = _talking_with(tracker, call_id) is not None
            _end_queue(tracker, call_id, old.queue, "answered" if answered else "timeout")
        if anchor is not None:
            anchor.queue = ""
        return
    entry = hit[2]
    queue = str(entry.get("Queue", ""))
    if anchor is not None:
        anchor.queue = queue  # its QueueCallerLeave, after the gap, names this queue
    if old is not None and old.queue == queue:
        return  # positions move up as callers ahead leave: not an event
    if old is not None:
        _end_queue(tracker, call_id, old.queue, "timeout")  # moved to another queue
    caller, to_number = _lead(tracker, call_id)
    position = _int(entry.get("Position")) or 1
    if tracker.queue_join(call_id, caller, to_number, queue, position, after_gap=True):
        tracker.call_view(call_id).queue = QueueState(
            queue=queue, position=position, since=_ago(tracker.timestamp, entry.get("Wait")))


def _end_queue(tracker: Tracker, call_id: str, queue: str, reason: str) -> None:
    caller, to_number = _lead(tracker, call_id)
    tracker.queue_leave(call_id, caller, to_number, queue, reason, after_gap=True)


# -- conferences -------------------------------------------------------------------

def _restore_conference(tracker: Tracker, call_id: str, hit: _Hit | None) -> None:
    view = _view(tracker, call_id)
    old = view.conference if view is not None else None
    if hit is None:
        if old is not None:
            _end_conference(tracker, call_id, old[0], old[1])
        return
    _caller, member, entry = hit
    room = str(entry.get("Conference", ""))
    if old is not None and old[0] == room:
        return
    if old is not None:
        _end_conference(tracker, call_id, old[0], old[1])
    party = member.caller_id if member.caller_id.number else _caller_id(entry, "")
    caller, to_number = _lead(tracker, call_id)
    tracker.conference_join(call_id, caller, to_number, party, room, after_gap=True)


def _end_conference(tracker: Tracker, call_id: str, room: str, party: CallerId) -> None:
    caller, to_number = _lead(tracker, call_id)
    tracker.conference_leave(call_id, caller, to_number, party, room, after_gap=True)


# -- list fields -------------------------------------------------------------------

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


__all__ = ["end_states", "restore_states"]
