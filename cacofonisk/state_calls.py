"""State call events: hold, park, queue and conference happenings of a call.

The records of the state hooks (new in 1.0; docs/state-hooks.md). Like the records in
``calls.py`` they are emitted only by the call machine (``fsm/call.py``),
name their reporter hook (``HOOK``) and give its positional arguments in
docs/state-hooks.md order (``args()``); ``as_dict()`` puts each argument under that page's
name (a CallerId as an object). They live in their own module to keep
``calls.py`` small; ``calls.py`` imports them so that ``calls.BUILD`` has
their fast constructors.

Fields beyond the hook's arguments:

* ``Park.timeout``: seconds the parked party may wait before Asterisk sends
  it back (None when unknown), so ``until`` = ``timestamp`` + ``timeout``;
* ``QueueLeave.position``: where the caller was when it left.
"""
from __future__ import annotations

from typing import Any, Literal

import attrs

from .callerid import CallerId
from .calls import CallEvent

ParkEndReason = Literal["retrieved", "timeout", "gave-up"]
QueueLeaveReason = Literal["answered", "abandoned", "timeout", "exit"]

#: on_park_end reasons, as docs/state-hooks.md names them
PARK_END_REASONS: tuple[str, ...] = ("retrieved", "timeout", "gave-up")
#: on_queue_leave reasons, as docs/state-hooks.md names them
QUEUE_LEAVE_REASONS: tuple[str, ...] = ("answered", "abandoned", "timeout", "exit")


@attrs.frozen(slots=True, kw_only=True)
class Hold(CallEvent):
    """``holder`` put the other side on hold: ``on_hold(call_id, caller, to_number, holder)``."""

    HOOK = "on_hold"
    TRIGGER = "hold"
    caller: CallerId
    to_number: str | None
    holder: CallerId

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, self.holder)


@attrs.frozen(slots=True, kw_only=True)
class Unhold(CallEvent):
    """``holder`` took the other side off hold: ``on_unhold(call_id, caller, to_number, holder)``.

    Also when a transfer the holder was keying (a DTMF feature code) is
    done or aborted: Asterisk then resumes the call without an Unhold.
    """

    HOOK = "on_unhold"
    TRIGGER = "unhold"
    caller: CallerId
    to_number: str | None
    holder: CallerId

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, self.holder)


@attrs.frozen(slots=True, kw_only=True)
class Park(CallEvent):
    """``parked`` waits in lot ``lot``, space ``space``, parked by ``parker``:
    ``on_park(call_id, caller, to_number, parked, parker, lot, space)``."""

    HOOK = "on_park"
    TRIGGER = "park"
    caller: CallerId
    to_number: str | None
    parked: CallerId
    parker: CallerId
    lot: str
    space: str
    timeout: float | None = None

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, self.parked, self.parker,
                self.lot, self.space)


@attrs.frozen(slots=True, kw_only=True)
class ParkEnd(CallEvent):
    """The park of ``parked`` ended:
    ``on_park_end(call_id, caller, to_number, parked, reason, retriever)``.

    ``reason``: 'retrieved' (``retriever`` dialled the space), 'timeout'
    (Asterisk sends it back), 'gave-up' (the parked party hung up);
    ``retriever`` is None unless retrieved.
    """

    HOOK = "on_park_end"
    TRIGGER = "park_end"
    caller: CallerId
    to_number: str | None
    parked: CallerId
    reason: str
    retriever: CallerId | None = None
    lot: str = ""
    space: str = ""

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, self.parked, self.reason,
                self.retriever)


@attrs.frozen(slots=True, kw_only=True)
class QueueJoin(CallEvent):
    """The caller waits in ``queue`` at ``position`` (1 = first):
    ``on_queue_join(call_id, caller, to_number, queue, position)``."""

    HOOK = "on_queue_join"
    TRIGGER = "queue_join"
    caller: CallerId
    to_number: str | None
    queue: str
    position: int

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, self.queue, self.position)


@attrs.frozen(slots=True, kw_only=True)
class QueueLeave(CallEvent):
    """The caller left ``queue``:
    ``on_queue_leave(call_id, caller, to_number, queue, reason)``.

    ``reason``: 'answered' (a member answered), 'abandoned' (the caller hung
    up), 'timeout' (anything else: the queue's timeout, or an exit Asterisk
    does not tell apart; 'exit' is reserved for an exit Asterisk names).
    """

    HOOK = "on_queue_leave"
    TRIGGER = "queue_leave"
    caller: CallerId
    to_number: str | None
    queue: str
    reason: str
    position: int | None = None

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, self.queue, self.reason)


@attrs.frozen(slots=True, kw_only=True)
class ConferenceJoin(CallEvent):
    """``party`` entered conference ``room``:
    ``on_conference_join(call_id, caller, to_number, party, room)``."""

    HOOK = "on_conference_join"
    TRIGGER = "conference_join"
    caller: CallerId
    to_number: str | None
    party: CallerId
    room: str

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, self.party, self.room)


@attrs.frozen(slots=True, kw_only=True)
class ConferenceLeave(CallEvent):
    """``party`` left conference ``room``:
    ``on_conference_leave(call_id, caller, to_number, party, room)``."""

    HOOK = "on_conference_leave"
    TRIGGER = "conference_leave"
    caller: CallerId
    to_number: str | None
    party: CallerId
    room: str

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, self.party, self.room)


#: every state record type, in the order of docs/state-hooks.md
STATE_RECORDS: tuple[type[CallEvent], ...] = (
    Hold, Unhold, Park, ParkEnd, QueueJoin, QueueLeave, ConferenceJoin, ConferenceLeave)
