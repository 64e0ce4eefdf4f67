"""Call events: the immutable records the tracker emits, one per hook call.

Every record names its reporter hook (``HOOK``) and gives the hook's
positional arguments in the order docs/api.md gives (``args()``). It also carries what the
2017 hooks have no argument for:

* ``server``: which Asterisk it came from (the manager's ``server`` name);
* ``event_id``: made from Asterisk's data (call id, hook, AMI Timestamp; see
  event_ids.py): unique per server, the same on every replay of a log and
  for a worker that takes the server over mid-stream (de-duplication key);
* ``timestamp``: the AMI ``Timestamp`` of the event that caused it (None
  when the server does not send timestamps; the core never reads a clock);
* hangups: the Q.850 ``cause``, ``cause_txt``, SIP ``tech_cause``, who hung
  up (``hangup_by``) and the last ``dial_status``;
* transfers: ``kind`` ('attended', 'blind', 'blonde' or '' when AMI did not
  say) and ``also_merged``: the ids of other calls the transfer ended
  (besides ``merged_id``), so that a fold of the records knows every call
  that is over;
* ``after_gap``: True when the event was not seen happen but observed after
  a gap in the stream (a resync after a reconnect found the call answered,
  talking to someone else, or begun while we were away); its ``timestamp``
  is then that of the last event before the resync, not of the change.

``as_dict()`` gives a JSON-ready dict (used by the JSON-lines reporter).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal, TypeVar

import attrs

from .callerid import CallerId
from .events import _builder
from .record_makers import as_targets as _targets

HangupReason = Literal["completed", "no-answer", "busy", "cancelled", "failed", "rejected",
                       "answered-elsewhere"]


@attrs.frozen(slots=True, kw_only=True)
class CallEvent:
    """Fields every call event has."""

    HOOK: ClassVar[str] = ""
    #: the call-machine trigger whose transition emits this record (fsm/call.py)
    TRIGGER: ClassVar[str] = ""

    call_id: str
    server: str = ""
    event_id: str = ""
    timestamp: float | None = None
    #: observed after a gap (a resync), not seen as it happened
    after_gap: bool = False

    def args(self) -> tuple[Any, ...]:
        """The positional arguments of the hook (docs/api.md), in order."""
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"event": hook, field: value ...}``."""
        out: dict[str, Any] = {"event": self.HOOK}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if isinstance(value, CallerId):
                value = value.as_dict()
            elif isinstance(value, tuple) and value and isinstance(value[0], CallerId):
                value = [v.as_dict() for v in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[field.name] = value
        return out


@attrs.frozen(slots=True, kw_only=True)
class BDial(CallEvent):
    """Asterisk starts ringing the B side: ``on_b_dial(call_id, caller, to_number, targets)``."""

    HOOK = "on_b_dial"
    TRIGGER = "ring"
    caller: CallerId
    to_number: str | None
    targets: tuple[CallerId, ...] = attrs.field(converter=_targets)

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, list(self.targets))


@attrs.frozen(slots=True, kw_only=True)
class BDialEnd(CallEvent):
    """Some targets stopped ringing: ``on_b_dial_end(call_id, caller, to_number, targets, reason)``."""

    HOOK = "on_b_dial_end"
    TRIGGER = "dial_end"
    caller: CallerId
    to_number: str | None
    targets: tuple[CallerId, ...] = attrs.field(converter=_targets)
    reason: str

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, list(self.targets), self.reason)


@attrs.frozen(slots=True, kw_only=True)
class Up(CallEvent):
    """The call is answered: ``on_up(call_id, caller, to_number, callee)``."""

    HOOK = "on_up"
    TRIGGER = "answer"
    caller: CallerId
    to_number: str | None
    callee: CallerId

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, self.callee)


@attrs.frozen(slots=True, kw_only=True)
class WarmTransfer(CallEvent):
    """An attended transfer completed:
    ``on_warm_transfer(call_id, merged_id, redirector, caller, destination)``."""

    HOOK = "on_warm_transfer"
    TRIGGER = "transfer"
    merged_id: str
    redirector: CallerId
    caller: CallerId
    destination: CallerId
    kind: str = "attended"
    #: other calls the transfer ended silently besides ``merged_id`` (the
    #: second transferer's call when the caller transfers): they are over too
    also_merged: tuple[str, ...] = ()

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.merged_id, self.redirector, self.caller, self.destination)


@attrs.frozen(slots=True, kw_only=True)
class ColdTransfer(CallEvent):
    """A blind or blonde transfer completed:
    ``on_cold_transfer`` / ``on_blind_transfer`` / ``on_blonde_transfer``
    ``(call_id, merged_id, redirector, caller, to_number, targets)``.

    ``kind`` is 'blind', 'blonde', or '' when AMI does not say (then the
    generic on_cold_transfer hook is called).
    """

    HOOK = "on_cold_transfer"
    TRIGGER = "transfer"
    merged_id: str
    redirector: CallerId
    caller: CallerId
    to_number: str | None
    targets: tuple[CallerId, ...] = attrs.field(converter=_targets)
    kind: str = ""
    #: other calls the transfer ended silently besides ``merged_id``
    also_merged: tuple[str, ...] = ()

    @property
    def hook(self) -> str:
        """The most specific hook for this transfer."""
        if self.kind == "blind":
            return "on_blind_transfer"
        if self.kind == "blonde":
            return "on_blonde_transfer"
        return "on_cold_transfer"

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.merged_id, self.redirector, self.caller, self.to_number,
                list(self.targets))


@attrs.frozen(slots=True, kw_only=True)
class Hangup(CallEvent):
    """The call ended for the caller: ``on_hangup(call_id, caller, to_number, reason)``."""

    HOOK = "on_hangup"
    TRIGGER = "end"
    caller: CallerId
    to_number: str | None
    reason: str
    cause: int | None = None
    cause_txt: str = ""
    tech_cause: int | None = None
    hangup_by: str = ""
    dial_status: str = ""

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number, self.reason)


@attrs.frozen(slots=True, kw_only=True)
class QueueCallerAbandon(CallEvent):
    """The caller left a queue unanswered: ``on_queue_caller_abandon(call_id, caller, to_number)``."""

    HOOK = "on_queue_caller_abandon"
    TRIGGER = "abandon"
    caller: CallerId
    to_number: str | None
    queue: str = ""

    def args(self) -> tuple[Any, ...]:
        return (self.call_id, self.caller, self.to_number)


@attrs.frozen(slots=True, kw_only=True)
class UserEventCall(CallEvent):
    """A dialplan UserEvent, passed through: ``on_user_event(event)``.

    ``call_id`` is the Uniqueid of the channel that sent it ('' if none).
    """

    HOOK = "on_user_event"
    name: str = ""
    event: Any = attrs.field(default=None, eq=False)

    def args(self) -> tuple[Any, ...]:
        return (self.event,)

    def as_dict(self) -> dict[str, Any]:
        out = CallEvent.as_dict(self)
        out["event"] = self.HOOK
        out["data"] = dict(self.event) if self.event is not None else None
        return out


def hook_of(record: CallEvent) -> str:
    """The reporter hook a record is delivered to."""
    if isinstance(record, ColdTransfer):
        return record.hook
    return record.HOOK


_T = TypeVar("_T", bound=CallEvent)


def _compile_build(cls: type[_T]) -> Callable[..., _T]:
    """Generate a keyword-only constructor that fills the record's mutable twin.

    Same arguments, defaults and converters as the attrs ``__init__`` (no
    record type has validators), about three times as fast: the tracker
    makes one record per call event, and a frozen attrs ``__init__`` goes
    through ``object.__setattr__`` per field; the twin (``events._builder``)
    takes plain attribute stores, then gets the frozen class.
    """
    env: dict[str, Any] = {"twin": _builder(cls), "cls": cls}
    params: list[str] = []
    body: list[str] = ["    self = twin()"]
    for field in attrs.fields(cls):
        name = field.name
        if field.default is attrs.NOTHING:
            params.append(name)
        else:
            env[f"default_{name}"] = field.default
            params.append(f"{name}=default_{name}")
        value = name
        if field.converter is not None:
            env[f"convert_{name}"] = field.converter
            value = f"convert_{name}({name})"
        body.append(f"    self.{name} = {value}")
    body.append("    self.__class__ = cls")
    source = f"def build(*, {', '.join(params)}):\n" + "\n".join(body) + "\n    return self"
    exec(source, env)  # noqa: S102 - generated from our own field table
    return env["build"]  # type: ignore[no-any-return]


def _all_record_types(base: type[CallEvent]) -> list[type[CallEvent]]:
    found = []
    for sub in base.__subclasses__():
        if "BUILDER_OF" in sub.__dict__:
            continue  # a record type's mutable twin (events._builder)
        found.append(sub)
        found.extend(_all_record_types(sub))
    return found


#: record type -> its fast keyword-only constructor (``BUILD[Up](call_id=..., ...)``)
BUILD: dict[type[CallEvent], Callable[..., CallEvent]] = {}


def register_builders() -> None:
    """Compile ``BUILD`` entries for every CallEvent subclass defined so far."""
    for record_type in _all_record_types(CallEvent):
        if record_type not in BUILD:
            BUILD[record_type] = _compile_build(record_type)


register_builders()

# The state records (hold, park, queue, conference) live in their own module;
# importing it here makes them part of ``calls`` and of ``BUILD``.
from .state_calls import (ConferenceJoin, ConferenceLeave, Hold, ParkEnd, Park,  # noqa: E402
                          QueueJoin, QueueLeave, Unhold)

register_builders()

__all__ = ["CallEvent", "BDial", "BDialEnd", "Up", "WarmTransfer", "ColdTransfer", "Hangup",
           "QueueCallerAbandon", "UserEventCall", "Hold", "Unhold", "Park", "ParkEnd",
           "QueueJoin", "QueueLeave", "ConferenceJoin", "ConferenceLeave", "BUILD", "hook_of",
           "HangupReason"]
