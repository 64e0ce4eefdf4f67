"""What is happening now: an immutable picture of every call in flight.

``ChannelManager.snapshot()`` returns one ``CallSnapshot`` per call of its
server; ``AmiRunner.snapshot()`` the calls of every server. The records are
built from the same machines that report the call events, so a snapshot
taken after any prefix of a stream agrees with the events reported up to
that point. Times are AMI ``Timestamp`` values (seconds since the epoch, as
Asterisk sent them), never the wall clock; None when the server sends none.

These are plain data (frozen attrs); ``as_dict()`` gives the JSON shape the
HTTP API serves (documented in ``docs/live-view.md``).
"""
from __future__ import annotations

from typing import Any

import attrs

from .callerid import CallerId


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a snapshot field (CallerId -> dict, tuple -> list)."""
    if isinstance(value, CallerId):
        return value.as_dict()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return value


def _as_dict(record: Any) -> dict[str, Any]:
    return {field.name: _plain(getattr(record, field.name))
            for field in attrs.fields(type(record))}


@attrs.frozen(slots=True, kw_only=True)
class HoldState:
    """The call is on hold: ``holder`` put ``held`` on hold at ``since``."""

    holder: CallerId
    held: CallerId
    since: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@attrs.frozen(slots=True, kw_only=True)
class ParkState:
    """``parked`` waits in parking lot ``lot``, space ``space``.

    ``parker`` parked it at ``since``; ``until`` is when Asterisk will send
    it back (``since`` + the lot's timeout), None when unknown.
    """

    lot: str
    space: str
    parked: CallerId
    parker: CallerId
    since: float | None = None
    until: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@attrs.frozen(slots=True, kw_only=True)
class QueueState:
    """The caller waits in ``queue`` at ``position`` (1 = first) since ``since``."""

    queue: str
    position: int
    since: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@attrs.frozen(slots=True, kw_only=True)
class ConferenceState:
    """The call is in conference ``room`` with ``members`` (everyone in the room)."""

    room: str
    members: tuple[CallerId, ...] = ()
    since: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(self)


@attrs.frozen(slots=True, kw_only=True)
class CallSnapshot:
    """One call in flight, as the tracker sees it now.

    Attributes:
        call_id: the call's id (as on its call events).
        server: the server name of the manager that follows it.
        state: the call machine's state name ('new', 'ringing', 'up', ...).
        caller: the calling party.
        to_number: the number dialled ('' or None when unknown).
        targets: the parties ringing now (empty unless ringing).
        callee: the connected party, None before an answer.
        began: AMI time the call began: its caller channel's creation
            (else its first reported event's time).
        state_since: AMI time the call entered ``state`` (ringing: the
            DialBegin of its first target, as the BDial record says).
        hold: set while one side holds the other.
        park: set while the call waits in a parking space.
        queue: set while the caller waits in a queue.
        conference: set while the call is in a conference room.
    """

    call_id: str
    server: str = ""
    state: str
    caller: CallerId
    to_number: str | None = None
    targets: tuple[CallerId, ...] = ()
    callee: CallerId | None = None
    began: float | None = None
    state_since: float | None = None
    hold: HoldState | None = None
    park: ParkState | None = None
    queue: QueueState | None = None
    conference: ConferenceState | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, CallerIds as objects (the ``GET /calls`` shape)."""
        return _as_dict(self)
