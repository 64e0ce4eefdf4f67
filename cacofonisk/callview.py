"""What a call's reported events say it is now: the fold behind ``snapshot()``.

Every call event the call machine emits is folded into its call's
``CallView`` (``Tracker._report``), and ``ChannelManager.snapshot()`` turns
the views into frozen ``snapshot.CallSnapshot`` records. Because the view is
made from exactly the records the reporter receives, a snapshot can never
disagree with the events reported up to that moment.

The fold, record by record (times are the records' AMI timestamps):

* any record with ``caller`` / ``to_number``: the call's caller and number;
* ``BDial``: its targets ring (added to ``targets``); ``BDialEnd``: they stop;
* ``Up``: ``callee`` is the answering party, nothing rings any more;
* ``WarmTransfer``: the destination is the callee, nothing rings;
  ``ColdTransfer``: no callee, the transfer's targets ring;
* ``Hold``/``Unhold``: ``hold`` set (the held party is the side that is not
  the holder) / cleared; ``Park``/``ParkEnd``, ``QueueJoin``/``QueueLeave``,
  ``ConferenceJoin``/``ConferenceLeave``: ``park``, ``queue``,
  ``conference`` set / cleared; a park or a conference join also ends the
  ringing (a transfer to the parking or conference extension rings nobody).

A call that ended (``Hangup``) or was merged into another by a transfer is
not in the snapshot: the registry frees it.

Resync (after a reconnect) reports the parks, queue waits and conferences
it finds as their state records (``after_gap``), folded here like any
other; it then only refines their times from Asterisk's durations
(``resync_states.py``).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import calls
from .callerid import CallerId
from .snapshot import CallSnapshot, ConferenceState, HoldState, ParkState, QueueState


class CallView:
    """The parties, times and state details of one call, as reported so far.

    Attributes:
        caller / to_number: the call's caller and the number it dialled.
        targets: the parties ringing now.
        callee: the connected party (None before an answer).
        began: AMI time the call began: its caller channel's creation
            (Newchannel), else its first reported event's time.
        state_since: AMI time the call machine entered its current state.
        hold / park / queue: the current hold, park, queue wait (or None).
        conference: (room, party, since) while the call is in a conference
            room; ``snapshot()`` adds the other members of the room.
    """

    __slots__ = ("caller", "to_number", "targets", "callee", "began", "state_since",
                 "hold", "park", "queue", "conference")

    def __init__(self) -> None:
        self.caller: CallerId | None = None
        self.to_number: str | None = None
        self.targets: tuple[CallerId, ...] = ()
        self.callee: CallerId | None = None
        self.began: float | None = None
        self.state_since: float | None = None
        self.hold: HoldState | None = None
        self.park: ParkState | None = None
        self.queue: QueueState | None = None
        self.conference: tuple[str, CallerId, float | None] | None = None

    def begin(self, record: calls.CallEvent, created: float | None) -> None:
        """Fold the call's first reported record.

        Args:
            record: the call's first call event.
            created: AMI time its caller channel was created (the call
                began then, not when it was first reported: a ring is only
                reported once the phone rings), None if unknown; the
                record's own time is used then.
        """
        self.began = created if created is not None else record.timestamp
        self.state_since = record.timestamp
        handler = _FOLD.get(record.__class__)
        if handler is not None:
            handler(self, record)

    def apply(self, record: calls.CallEvent, state_changed: bool) -> None:
        """Fold a later record into the view.

        Args:
            record: the call event just emitted for this call.
            state_changed: the record moved the call machine to another state.
        """
        if state_changed:
            self.state_since = record.timestamp
        handler = _FOLD.get(record.__class__)
        if handler is not None:
            handler(self, record)


def _remove(targets: tuple[CallerId, ...], gone: tuple[CallerId, ...]) -> tuple[CallerId, ...]:
    left = list(targets)
    for target in gone:
        if target in left:
            left.remove(target)
    return tuple(left)


def _parties(view: CallView, record: Any) -> None:
    """Every record folded here names the caller and the number it dialled."""
    view.caller = record.caller
    view.to_number = record.to_number


def _b_dial(view: CallView, record: Any) -> None:
    _parties(view, record)
    view.targets = view.targets + tuple(t for t in record.targets if t not in view.targets)


def _b_dial_end(view: CallView, record: Any) -> None:
    _parties(view, record)
    view.targets = _remove(view.targets, record.targets)


def _up(view: CallView, record: Any) -> None:
    _parties(view, record)
    view.callee = record.callee
    view.targets = ()


def _warm(view: CallView, record: Any) -> None:
    view.caller = record.caller  # the transferee leads the call now
    view.callee = record.destination
    view.targets = ()


def _cold(view: CallView, record: Any) -> None:
    _parties(view, record)
    view.callee = None
    view.targets = tuple(record.targets)


def _hold(view: CallView, record: Any) -> None:
    _parties(view, record)
    held = view.callee if record.holder == view.caller else view.caller
    view.hold = HoldState(holder=record.holder, held=held or CallerId(),
                          since=record.timestamp)


def _unhold(view: CallView, record: Any) -> None:
    _parties(view, record)
    view.hold = None


def _park(view: CallView, record: Any) -> None:
    _parties(view, record)
    until = (record.timestamp + record.timeout
             if record.timestamp is not None and record.timeout is not None else None)
    view.park = ParkState(lot=record.lot, space=record.space, parked=record.parked,
                          parker=record.parker, since=record.timestamp, until=until)
    view.targets = ()  # a transfer to the parking extension rings nobody


def _park_end(view: CallView, record: Any) -> None:
    _parties(view, record)
    view.park = None


def _queue_join(view: CallView, record: Any) -> None:
    _parties(view, record)
    view.queue = QueueState(queue=record.queue, position=record.position,
                            since=record.timestamp)


def _queue_leave(view: CallView, record: Any) -> None:
    _parties(view, record)
    view.queue = None


def _conference_join(view: CallView, record: Any) -> None:
    _parties(view, record)
    view.conference = (record.room, record.party, record.timestamp)
    view.targets = ()  # nor does a transfer into a conference room


def _conference_leave(view: CallView, record: Any) -> None:
    _parties(view, record)
    view.conference = None


_FOLD = {
    calls.QueueCallerAbandon: _parties,
    calls.BDial: _b_dial, calls.BDialEnd: _b_dial_end, calls.Up: _up,
    calls.WarmTransfer: _warm, calls.ColdTransfer: _cold,
    calls.Hold: _hold, calls.Unhold: _unhold, calls.Park: _park, calls.ParkEnd: _park_end,
    calls.QueueJoin: _queue_join, calls.QueueLeave: _queue_leave,
    calls.ConferenceJoin: _conference_join, calls.ConferenceLeave: _conference_leave,
}


def build_snapshot(calls_in_flight: Iterable[Any], server: str) -> tuple[CallSnapshot, ...]:
    """One ``CallSnapshot`` per call that is not over, in the order they began.

    Args:
        calls_in_flight: the tracker's ``Call`` models (``fsm/call.py``).
        server: the manager's server name, copied onto each snapshot.

    A conference's ``members`` are the parties of every call in the same
    room, in the order they joined.
    """
    live = [call for call in calls_in_flight if not call.is_final]
    rooms: dict[str, list[tuple[float, int, CallerId]]] = {}
    for order, call in enumerate(live):
        conference = call.view.conference
        if conference is not None:
            room, party, since = conference
            rooms.setdefault(room, []).append(
                (since if since is not None else float("-inf"), order, party))
    members = {room: tuple(party for _since, _order, party in sorted(found, key=_by_join))
               for room, found in rooms.items()}
    out = []
    for call in live:
        view: CallView = call.view
        conference = None
        if view.conference is not None:
            room, _party, since = view.conference
            conference = ConferenceState(room=room, members=members[room], since=since)
        out.append(CallSnapshot(
            call_id=call.call_id, server=server, state=call.state.value,
            caller=view.caller or CallerId(), to_number=view.to_number,
            targets=view.targets, callee=view.callee, began=view.began,
            state_since=view.state_since, hold=view.hold, park=view.park, queue=view.queue,
            conference=conference))
    return tuple(out)


def _by_join(item: tuple[float, int, CallerId]) -> tuple[float, int]:
    return (item[0], item[1])
