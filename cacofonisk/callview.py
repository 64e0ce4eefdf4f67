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
  ``conference`` set / cleared.

A call that ended (``Hangup``) or was merged into another by a transfer is
not in the snapshot: the registry frees it.

Resync (after a reconnect) may set ``hold``, ``park``, ``queue`` and
``conference`` directly: they are plain attributes.
"""
from __future__ import annotations

from typing import Any

from . import calls
from .callerid import CallerId
from .snapshot import ConferenceState, HoldState, ParkState, QueueState


class CallView:
    """The parties, times and state details of one call, as reported so far.

    Attributes:
        caller / to_number: the call's caller and the number it dialled.
        targets: the parties ringing now.
        callee: the connected party (None before an answer).
        began: AMI time of the call's first reported event.
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

    def apply(self, record: calls.CallEvent, state_changed: bool, first: bool) -> None:
        """Fold one reported record into the view.

        Args:
            record: the call event just emitted for this call.
            state_changed: the record moved the call machine to another state.
            first: it is the call's first reported event.
        """
        stamp = record.timestamp
        if first:
            self.began = self.state_since = stamp
        elif state_changed:
            self.state_since = stamp
        caller = getattr(record, "caller", None)
        if caller is not None:
            self.caller = caller
        if hasattr(record, "to_number"):
            self.to_number = record.to_number
        handler = _FOLD.get(type(record))
        if handler is not None:
            handler(self, record)


def _remove(targets: tuple[CallerId, ...], gone: tuple[CallerId, ...]) -> tuple[CallerId, ...]:
    left = list(targets)
    for target in gone:
        if target in left:
            left.remove(target)
    return tuple(left)


def _b_dial(view: CallView, record: Any) -> None:
    view.targets = view.targets + tuple(t for t in record.targets if t not in view.targets)


def _b_dial_end(view: CallView, record: Any) -> None:
    view.targets = _remove(view.targets, record.targets)


def _up(view: CallView, record: Any) -> None:
    view.callee = record.callee
    view.targets = ()


def _warm(view: CallView, record: Any) -> None:
    view.callee = record.destination
    view.targets = ()


def _cold(view: CallView, record: Any) -> None:
    view.callee = None
    view.targets = tuple(record.targets)


def _hold(view: CallView, record: Any) -> None:
    held = view.callee if record.holder == view.caller else view.caller
    view.hold = HoldState(holder=record.holder, held=held or CallerId(),
                          since=record.timestamp)


def _unhold(view: CallView, record: Any) -> None:
    view.hold = None


def _park(view: CallView, record: Any) -> None:
    until = (record.timestamp + record.timeout
             if record.timestamp is not None and record.timeout is not None else None)
    view.park = ParkState(lot=record.lot, space=record.space, parked=record.parked,
                          parker=record.parker, since=record.timestamp, until=until)


def _park_end(view: CallView, record: Any) -> None:
    view.park = None


def _queue_join(view: CallView, record: Any) -> None:
    view.queue = QueueState(queue=record.queue, position=record.position,
                            since=record.timestamp)


def _queue_leave(view: CallView, record: Any) -> None:
    view.queue = None


def _conference_join(view: CallView, record: Any) -> None:
    view.conference = (record.room, record.party, record.timestamp)


def _conference_leave(view: CallView, record: Any) -> None:
    view.conference = None


_FOLD = {
    calls.BDial: _b_dial, calls.BDialEnd: _b_dial_end, calls.Up: _up,
    calls.WarmTransfer: _warm, calls.ColdTransfer: _cold,
    calls.Hold: _hold, calls.Unhold: _unhold, calls.Park: _park, calls.ParkEnd: _park_end,
    calls.QueueJoin: _queue_join, calls.QueueLeave: _queue_leave,
    calls.ConferenceJoin: _conference_join, calls.ConferenceLeave: _conference_leave,
}
