"""AMI events parsed once into immutable records.

This is the only module that knows AMI header names and the differences
between AMI 1.x (Asterisk 1.8-11: ``UniqueID``, ``Channel1``) and AMI 2+
(Asterisk 12-22: ``Uniqueid``, ``LocalOneUniqueid``). Everything after
``parse()`` works with snake_case attributes.

A record holds the fields some rule (or the diagrams) reads, and no more:
every field costs a lookup and a store on every event of a busy server.
Anything else is in ``record.raw``.

Each record class declares its fields with ``ami(...)``: the AMI header(s)
it is read from (first present wins), a converter and a default. A field
without a default is required: if it is missing, or its converter fails,
``parse`` raises ``MalformedEvent`` naming the header. Header values may be
lists (panoramisk turns a repeated header into a list); scalar fields take
the first element.

Records have no behaviour beyond construction: build them in tests directly
(``Newstate(uniqueid='1.1', channel='SIP/a-1', state=4)``) or from AMI with
``parse(raw)`` / ``Newstate.from_ami(raw)``.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from .errors import GeneratedCodeOutOfDate, MalformedEvent

_REQUIRED = attrs.NOTHING
_T = TypeVar("_T", bound="AmiEvent")


def ami(*keys: str, conv: Callable[[str], Any] = str, default: Any = _REQUIRED,
        often_absent: bool | None = None) -> Any:
    """Declare a record field read from AMI header ``keys`` (first present wins).

    ``often_absent`` marks a header that events of this type often lack
    (a sub-event's field, a newer Asterisk's addition); it is implied by a
    None default. The parser reads those one by one, and all the others
    with one call that falls back to the careful path when one is missing.
    """
    if often_absent is None:
        often_absent = default is None
    metadata = {"ami": keys, "conv": conv, "required": default is _REQUIRED,
                "often_absent": often_absent}
    if default is _REQUIRED:
        return attrs.field(metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else ""
    return value


def _opt_int(value: str) -> int | None:
    return int(value) if value not in ("", None) else None


def _opt_float(value: str) -> float | None:
    return float(value) if value not in ("", None) else None


def _yes(value: str) -> bool:
    return str(value).strip().lower() in ("yes", "true", "1")


def _lines(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return tuple(str(value).splitlines()) if value else ()


@attrs.frozen(slots=True, kw_only=True)
class AmiEvent:
    """Base of all records: the raw mapping and the AMI Timestamp.

    Attributes:
        raw: the event as received (kept for reporters; not compared).
        timestamp: AMI ``Timestamp`` (seconds since the epoch) when the
            server sends one (``timestampevents=yes``), else None.
    """

    EVENT: ClassVar[str] = ""
    _SPEC: ClassVar[tuple[tuple[str, tuple[str, ...], Callable[[str], Any], bool], ...]] = ()

    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False, kw_only=True)
    timestamp: float | None = attrs.field(default=None, kw_only=True)

    @classmethod
    def from_ami(cls: type[_T], raw: Mapping[str, Any]) -> _T:
        """Build the record from one AMI event; MalformedEvent if a field is bad.

        Each record class gets its own parser, generated from its field
        declarations into parsers_generated.py (``python -m
        cacofonisk.parsergen``; compiled with the core by the mypyc build)
        and installed below: one dict lookup per header and plain attribute
        stores, since this runs for every event a busy server sends.
        """
        raise NotImplementedError  # replaced per class by _install_parsers


def _builder(cls: type[Any]) -> type[Any]:
    """A private mutable twin of record class ``cls``, for the code that makes its instances.

    The parsers (``parsers_generated.py``), ``make_caller_id`` and the call
    events' keyword constructors (``calls.BUILD``) fill one per record.

    The twin is a subclass that adds no slot (the same memory layout) and
    puts back ``object``'s own ``__setattr__``, so a parser fills it with
    plain attribute stores, then sets ``__class__`` to the frozen record
    class: the result is an ordinary frozen, slotted ``cls`` instance. That
    costs about half of calling each slot's ``__set__`` (a method-wrapper
    that allocates an argument tuple per call), interpreted or compiled.
    """
    return type(f"{cls.__name__}Builder", (cls,), {
        "__slots__": (), "__module__": cls.__module__,
        "__qualname__": f"{cls.__qualname__}Builder",
        # both: CPython uses the C setter only if neither is a Python function
        "__setattr__": object.__setattr__, "__delattr__": object.__delattr__,
        "__init__": object.__init__,  # the twin is made empty, then filled
        "BUILDER_OF": cls,  # a twin, not a record type (see calls._all_record_types)
    })


def _coerce(conv: Callable[[str], Any], value: Any, raw: Mapping[str, Any], key: str,
            required: bool, default: Any) -> Any:
    """The slow path of a generated parser: a missing, listed or odd value.

    Missing: the default, or MalformedEvent for a required field. A list
    (panoramisk's repeated header): its first element. Then the converter;
    its TypeError/ValueError becomes MalformedEvent naming the header.
    """
    if value is None:
        if required:
            raise MalformedEvent(raw, key)
        return default
    if value.__class__ is list:
        value = value[0] if value else ""
    if conv is str:
        return value if isinstance(value, str) else str(value)
    try:
        return conv(value)
    except (TypeError, ValueError) as err:
        raise MalformedEvent(raw, key, f"not valid ({value!r})") from err


def _fields(cls: type) -> list[Any]:
    """The ``ami(...)`` fields of a record class, in order."""
    return [field for field in attrs.fields(cls) if "ami" in field.metadata]


def field_table_digest(cls: type) -> str:
    """A short digest of what a record class's parsers are generated from.

    parsers_generated.py stores it per class; at import a class whose
    ``ami(...)`` fields changed since the file was generated gets a parser
    that says to regenerate, instead of one that silently misreads events.
    """
    table: list[tuple[Any, ...]] = [(cls.__name__, getattr(cls, "EVENT", ""))]
    for field in _fields(cls):
        md, conv = field.metadata, field.metadata["conv"]
        table.append((field.name, md["ami"], f"{conv.__module__}.{conv.__qualname__}",
                      md["required"], None if md["required"] else field.default,
                      md["often_absent"]))
    return hashlib.sha256(repr(table).encode()).hexdigest()[:16]


def _register(cls: type[_T]) -> type[_T]:
    spec = []
    for field in attrs.fields(cls):
        if "ami" in field.metadata:
            md = field.metadata
            spec.append((field.name, md["ami"], md["conv"], md["required"]))
    cls._SPEC = tuple(spec)
    RECORD_TYPES[cls.EVENT] = cls
    return cls


RECORD_TYPES: dict[str, type[AmiEvent]] = {}


@attrs.frozen(slots=True, kw_only=True)
class GenericEvent(AmiEvent):
    """Any event type we do not model; kept so reporters still see it."""

    name: str = ""


# -- channel life cycle (both dialects) ------------------------------------

@_register
@attrs.frozen(slots=True, kw_only=True)
class FullyBooted(AmiEvent):
    """Asterisk finished booting, or we (re)connected: ``Event: FullyBooted``."""

    EVENT = "FullyBooted"
    status: str = ami("Status", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class Shutdown(AmiEvent):
    """Asterisk is shutting down: ``Event: Shutdown, Shutdown: Cleanly, Restart: True``."""

    EVENT = "Shutdown"
    shutdown: str = ami("Shutdown", default="")
    restart: str = ami("Restart", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class Newchannel(AmiEvent):
    """A channel was created.

    1.x: ``Channel: SIP/201-00000001, ChannelState: 0, CallerIDNum: 201,
    AccountCode: 15001, Exten: 202, Uniqueid: host-1501851189.231``.
    2+ adds ``Linkedid``, ``ConnectedLineNum`` and the rest of the snapshot.
    """

    EVENT = "Newchannel"
    uniqueid: str = ami("Uniqueid", "UniqueID")
    channel: str = ami("Channel")
    state: int = ami("ChannelState", conv=int, default=0)
    caller_id_num: str = ami("CallerIDNum", default="")
    caller_id_name: str = ami("CallerIDName", default="")
    account_code: str = ami("AccountCode", default="")
    exten: str = ami("Exten", default="")
    linkedid: str | None = ami("Linkedid", default=None)


@_register
@attrs.frozen(slots=True, kw_only=True)
class Newstate(AmiEvent):
    """A channel changed state: ``ChannelState: 4`` (Ring), 5 (Ringing), 6 (Up)."""

    EVENT = "Newstate"
    uniqueid: str = ami("Uniqueid", "UniqueID")
    channel: str = ami("Channel")
    state: int = ami("ChannelState", conv=int)
    caller_id_num: str = ami("CallerIDNum", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class NewCallerid(AmiEvent):
    """Caller ID changed: ``CallerIDNum``, ``CallerIDName``, ``CID-CallingPres``."""

    EVENT = "NewCallerid"
    uniqueid: str = ami("Uniqueid", "UniqueID")
    channel: str = ami("Channel")
    caller_id_num: str = ami("CallerIDNum", default="")
    caller_id_name: str = ami("CallerIDName", default="")
    cid_calling_pres: str = ami("CID-CallingPres", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class NewAccountCode(AmiEvent):
    """Account code changed: ``AccountCode: 15001``."""

    EVENT = "NewAccountCode"
    uniqueid: str = ami("Uniqueid", "UniqueID")
    channel: str = ami("Channel")
    account_code: str = ami("AccountCode", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class NewConnectedLine(AmiEvent):
    """Connected line changed (2+): ``ConnectedLineNum``, ``ConnectedLineName``."""

    EVENT = "NewConnectedLine"
    uniqueid: str = ami("Uniqueid")
    channel: str = ami("Channel")
    connected_line_num: str = ami("ConnectedLineNum", default="")
    connected_line_name: str = ami("ConnectedLineName", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class Rename(AmiEvent):
    """A channel got a new name (1.x masquerades): ``Newname``."""

    EVENT = "Rename"
    uniqueid: str = ami("Uniqueid", "UniqueID")
    channel: str = ami("Channel", "Oldname")
    new_name: str = ami("Newname")


@_register
@attrs.frozen(slots=True, kw_only=True)
class Hangup(AmiEvent):
    """A channel is gone: ``Cause: 16``, ``Cause-txt``, and (22+) ``TechCause``."""

    EVENT = "Hangup"
    uniqueid: str = ami("Uniqueid", "UniqueID")
    channel: str = ami("Channel")
    cause: int = ami("Cause", conv=int, default=0)
    cause_txt: str = ami("Cause-txt", default="")
    tech_cause: int | None = ami("TechCause", conv=_opt_int, default=None)


@_register
@attrs.frozen(slots=True, kw_only=True)
class HangupRequest(AmiEvent):
    """A hangup was asked for from the channel's own side (the party hung up)."""

    EVENT = "HangupRequest"
    uniqueid: str = ami("Uniqueid", "UniqueID")
    channel: str = ami("Channel", default="")
    cause: int | None = ami("Cause", conv=_opt_int, default=None)
    tech_cause: int | None = ami("TechCause", conv=_opt_int, default=None)


@_register
@attrs.frozen(slots=True, kw_only=True)
class SoftHangupRequest(HangupRequest):
    """A hangup was asked for by Asterisk (dialplan, bridge, transfer)."""

    EVENT = "SoftHangupRequest"


@_register
@attrs.frozen(slots=True, kw_only=True)
class UserEvent(AmiEvent):
    """A ``UserEvent(Name,...)`` from the dialplan, passed through to reporters."""

    EVENT = "UserEvent"
    user_event: str = ami("UserEvent", default="")
    uniqueid: str | None = ami("Uniqueid", "UniqueID", default=None)


@_register
@attrs.frozen(slots=True, kw_only=True)
class LocalBridge(AmiEvent):
    """The two halves of a Local channel were joined.

    1.x: ``Channel1/Channel2``, ``Uniqueid1/Uniqueid2``.
    2+: ``LocalOneChannel/LocalTwoChannel``, ``LocalOneUniqueid/LocalTwoUniqueid``.
    """

    EVENT = "LocalBridge"
    # The two dialects name these differently: read each name in turn.
    one_uniqueid: str = ami("LocalOneUniqueid", "Uniqueid1", often_absent=True)
    two_uniqueid: str = ami("LocalTwoUniqueid", "Uniqueid2", often_absent=True)
    one_channel: str = ami("LocalOneChannel", "Channel1", default="", often_absent=True)
    two_channel: str = ami("LocalTwoChannel", "Channel2", default="", often_absent=True)
    optimization: bool = ami("LocalOptimization", conv=_yes, default=False)


# -- AMI 1.x only ----------------------------------------------------------

@_register
@attrs.frozen(slots=True, kw_only=True)
class Dial(AmiEvent):
    """1.x dial: ``SubEvent: Begin`` (``UniqueID``, ``DestUniqueID``) or ``End``."""

    EVENT = "Dial"
    sub_event: str = ami("SubEvent")
    uniqueid: str = ami("UniqueID", "Uniqueid")
    channel: str = ami("Channel", default="")
    dest_uniqueid: str = ami("DestUniqueID", "DestUniqueid", default="", often_absent=True)
    destination: str = ami("Destination", default="", often_absent=True)
    dial_status: str = ami("DialStatus", default="", often_absent=True)


@_register
@attrs.frozen(slots=True, kw_only=True)
class Bridge(AmiEvent):
    """1.x two-party bridge: ``Bridgestate: Link`` or ``Unlink``."""

    EVENT = "Bridge"
    bridge_state: str = ami("Bridgestate")
    channel1: str = ami("Channel1")
    channel2: str = ami("Channel2")
    uniqueid1: str = ami("Uniqueid1", default="")
    uniqueid2: str = ami("Uniqueid2", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class Link(Bridge):
    """Asterisk 1.4-style ``Event: Link`` (same fields as Bridge)."""

    EVENT = "Link"
    bridge_state: str = ami("Bridgestate", default="Link")


@_register
@attrs.frozen(slots=True, kw_only=True)
class Unlink(Bridge):
    """Asterisk 1.4-style ``Event: Unlink``."""

    EVENT = "Unlink"
    bridge_state: str = ami("Bridgestate", default="Unlink")


@_register
@attrs.frozen(slots=True, kw_only=True)
class Masquerade(AmiEvent):
    """1.x: the Clone's guts move into the Original (pickup, transfers)."""

    EVENT = "Masquerade"
    clone: str = ami("Clone")
    clone_state: str = ami("CloneState", default="")
    original: str = ami("Original")
    original_state: str = ami("OriginalState", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class Transfer(AmiEvent):
    """1.x transfer: ``TransferType: Attended`` or ``Blind``, ``TargetChannel``."""

    EVENT = "Transfer"
    transfer_type: str = ami("TransferType")
    channel: str = ami("Channel")
    uniqueid: str = ami("Uniqueid", "UniqueID", default="")
    target_channel: str = ami("TargetChannel")
    target_uniqueid: str = ami("TargetUniqueid", default="")
    transfer_exten: str = ami("TransferExten", default="", often_absent=True)


# -- queues and agents (both dialects) -------------------------------------

@_register
@attrs.frozen(slots=True, kw_only=True)
class AgentCalled(AmiEvent):
    """A queue rings a member.

    1.x: ``ChannelCalling`` (the caller), ``DestinationChannel`` (the member leg).
    2+: ``Uniqueid`` (caller), ``DestUniqueid`` (member leg).
    """

    EVENT = "AgentCalled"
    channel: str = ami("ChannelCalling", "Channel", default="")
    dest_channel: str = ami("DestinationChannel", "DestChannel", default="")
    uniqueid: str = ami("Uniqueid", default="", often_absent=True)  # 2+ only
    dest_uniqueid: str = ami("DestUniqueid", default="", often_absent=True)  # 2+ only
    queue: str = ami("Queue", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class AgentConnect(AmiEvent):
    """A queue member answered."""

    EVENT = "AgentConnect"
    uniqueid: str = ami("Uniqueid", default="")
    dest_uniqueid: str = ami("DestUniqueid", default="")
    queue: str = ami("Queue", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class AgentComplete(AgentConnect):
    """A queue member's call ended: ``Reason: caller|agent|transfer``."""

    EVENT = "AgentComplete"
    reason: str = ami("Reason", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class QueueCallerJoin(AmiEvent):
    """A caller entered a queue at ``Position`` (1 = first).

    2+: ``Event: QueueCallerJoin``; 1.x: ``Event: Join`` (same headers:
    Channel, Uniqueid, Queue, Position, Count).
    """

    EVENT = "QueueCallerJoin"
    uniqueid: str = ami("Uniqueid", "UniqueID")
    channel: str = ami("Channel", default="")
    queue: str = ami("Queue", default="")
    position: int | None = ami("Position", conv=_opt_int, default=None)


@_register
@attrs.frozen(slots=True, kw_only=True)
class QueueCallerLeave(QueueCallerJoin):
    """A caller left a queue (answered, or abandoned: see QueueCallerAbandon)."""

    EVENT = "QueueCallerLeave"


@_register
@attrs.frozen(slots=True, kw_only=True)
class QueueCallerAbandon(QueueCallerJoin):
    """A caller hung up while waiting in a queue."""

    EVENT = "QueueCallerAbandon"


@_register
@attrs.frozen(slots=True, kw_only=True)
class Join(QueueCallerJoin):
    """1.x: a caller entered a queue (2+: QueueCallerJoin)."""

    EVENT = "Join"


@_register
@attrs.frozen(slots=True, kw_only=True)
class Leave(QueueCallerLeave):
    """1.x: a caller left a queue (2+: QueueCallerLeave)."""

    EVENT = "Leave"


# -- parking and conferences (both dialects) -------------------------------

@_register
@attrs.frozen(slots=True, kw_only=True)
class ParkedCall(AmiEvent):
    """A channel was parked in lot ``Parkinglot``, space ``ParkingSpace``.

    2+: ``ParkeeUniqueid``, ``ParkeeChannel``, ``ParkingSpace``,
    ``Parkinglot``, ``ParkingTimeout`` (seconds left), ``ParkerDialString``
    (``PJSIP/202``) and, when Asterisk knows the parker's channel,
    ``ParkerUniqueid``/``ParkerChannel``. 1.x: ``Uniqueid``, ``Channel``,
    ``Exten`` (the space), ``Parkinglot``, ``Timeout``, ``From`` (the
    parker's channel).
    """

    EVENT = "ParkedCall"
    uniqueid: str = ami("ParkeeUniqueid", "Uniqueid", "UniqueID", default="")
    channel: str = ami("ParkeeChannel", "Channel", default="")
    space: str = ami("ParkingSpace", "Exten", default="")
    lot: str = ami("Parkinglot", default="")
    timeout: float | None = ami("ParkingTimeout", "Timeout", conv=_opt_float, default=None)
    parker_dial_string: str = ami("ParkerDialString", default="", often_absent=True)
    parker_uniqueid: str = ami("ParkerUniqueid", default="", often_absent=True)
    parker_channel: str = ami("ParkerChannel", "From", default="", often_absent=True)


@_register
@attrs.frozen(slots=True, kw_only=True)
class UnParkedCall(ParkedCall):
    """Someone retrieved a parked channel: 2+ ``RetrieverUniqueid``/``RetrieverChannel``;
    1.x ``From`` (the retriever's channel)."""

    EVENT = "UnParkedCall"
    retriever_uniqueid: str = ami("RetrieverUniqueid", default="", often_absent=True)
    retriever_channel: str = ami("RetrieverChannel", "From", default="", often_absent=True)


@_register
@attrs.frozen(slots=True, kw_only=True)
class ParkedCallTimeOut(ParkedCall):
    """The parking time of a parked channel ran out (Asterisk sends it back)."""

    EVENT = "ParkedCallTimeOut"


@_register
@attrs.frozen(slots=True, kw_only=True)
class ParkedCallGiveUp(ParkedCall):
    """A parked channel hung up while waiting."""

    EVENT = "ParkedCallGiveUp"


@_register
@attrs.frozen(slots=True, kw_only=True)
class ConfbridgeStart(AmiEvent):
    """2+: ConfBridge room ``Conference`` began, in bridge ``BridgeUniqueid``."""

    EVENT = "ConfbridgeStart"
    conference: str = ami("Conference", default="")
    bridge_uniqueid: str = ami("BridgeUniqueid", default="", often_absent=True)


@_register
@attrs.frozen(slots=True, kw_only=True)
class ConfbridgeJoin(AmiEvent):
    """A channel entered ConfBridge room ``Conference`` (Asterisk 10+).

    2+ also names the bridge (``BridgeUniqueid``); 10/11 give Channel,
    Uniqueid and Conference only.
    """

    EVENT = "ConfbridgeJoin"
    uniqueid: str = ami("Uniqueid", "UniqueID", default="")
    channel: str = ami("Channel", default="")
    conference: str = ami("Conference", default="")
    bridge_uniqueid: str = ami("BridgeUniqueid", default="", often_absent=True)


@_register
@attrs.frozen(slots=True, kw_only=True)
class ConfbridgeLeave(ConfbridgeJoin):
    """A channel left ConfBridge room ``Conference``."""

    EVENT = "ConfbridgeLeave"


# -- AMI 2+ only -----------------------------------------------------------

@_register
@attrs.frozen(slots=True, kw_only=True)
class DialBegin(AmiEvent):
    """2+: ``Uniqueid`` (absent for an Originate) starts dialing ``DestUniqueid``."""

    EVENT = "DialBegin"
    dest_uniqueid: str = ami("DestUniqueid")
    uniqueid: str | None = ami("Uniqueid", default=None)
    exten: str = ami("Exten", default="")
    dest_channel: str = ami("DestChannel", default="")
    dial_string: str = ami("DialString", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class DialState(AmiEvent):
    """14+: progress of a dial: ``DialStatus: RINGING|PROCEEDING|PROGRESS``."""

    EVENT = "DialState"
    dest_uniqueid: str = ami("DestUniqueid")
    uniqueid: str | None = ami("Uniqueid", default=None)
    dial_status: str = ami("DialStatus", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class DialEnd(AmiEvent):
    """2+: a dial ended: ``DialStatus: ANSWER|BUSY|CANCEL|NOANSWER|CHANUNAVAIL...``."""

    EVENT = "DialEnd"
    dest_uniqueid: str = ami("DestUniqueid")
    uniqueid: str | None = ami("Uniqueid", default=None)
    dial_status: str = ami("DialStatus", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class BridgeCreate(AmiEvent):
    """2+: a bridge exists: ``BridgeUniqueid``, ``BridgeType: basic|holding``."""

    EVENT = "BridgeCreate"
    bridge_uniqueid: str = ami("BridgeUniqueid")
    bridge_type: str = ami("BridgeType", default="")
    technology: str = ami("BridgeTechnology", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class BridgeDestroy(BridgeCreate):
    """2+: a bridge is gone."""

    EVENT = "BridgeDestroy"


@_register
@attrs.frozen(slots=True, kw_only=True)
class BridgeEnter(BridgeCreate):
    """2+: ``Uniqueid`` joined ``BridgeUniqueid``."""

    EVENT = "BridgeEnter"
    uniqueid: str = ami("Uniqueid", default="")
    channel: str = ami("Channel", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class BridgeLeave(BridgeEnter):
    """2+: ``Uniqueid`` left ``BridgeUniqueid``."""

    EVENT = "BridgeLeave"


@_register
@attrs.frozen(slots=True, kw_only=True)
class BridgeMerge(AmiEvent):
    """2+: every channel of ``FromBridgeUniqueid`` moved into ``ToBridgeUniqueid``."""

    EVENT = "BridgeMerge"
    to_bridge: str = ami("ToBridgeUniqueid")
    from_bridge: str = ami("FromBridgeUniqueid")


@_register
@attrs.frozen(slots=True, kw_only=True)
class AttendedTransfer(AmiEvent):
    """2+: an attended (or blonde) transfer ended.

    ``Result: Success|Fail|Invalid|Not Permitted``; ``DestType: Bridge|App|
    Link|Threeway|Fail``; the original call's transferer
    (``OrigTransferer*``), the consultation call's (``SecondTransferer*``),
    and where Asterisk tells them the transferee and the target.
    """

    EVENT = "AttendedTransfer"
    result: str = ami("Result", default="")
    dest_type: str = ami("DestType", default="")
    dest_app: str = ami("DestApp", default="")
    dest_bridge: str = ami("DestBridgeUniqueid", default="")
    orig_transferer: str = ami("OrigTransfererUniqueid", default="")
    orig_transferer_exten: str = ami("OrigTransfererExten", default="")
    orig_transferer_linkedid: str = ami("OrigTransfererLinkedid", default="")
    orig_bridge: str = ami("OrigBridgeUniqueid", default="")
    second_transferer: str = ami("SecondTransfererUniqueid", default="")
    second_transferer_exten: str = ami("SecondTransfererExten", default="")
    second_bridge: str = ami("SecondBridgeUniqueid", default="")
    transferee: str = ami("TransfereeUniqueid", default="")
    transfer_target: str = ami("TransferTargetUniqueid", default="")
    transfer_target_num: str = ami("TransferTargetCallerIDNum", default="")
    local_one: str = ami("LocalOneUniqueid", default="")
    local_two: str = ami("LocalTwoUniqueid", default="")
    is_external: bool = ami("IsExternal", conv=_yes, default=False)


@_register
@attrs.frozen(slots=True, kw_only=True)
class BlindTransfer(AmiEvent):
    """2+: ``TransfererUniqueid`` sent ``TransfereeUniqueid`` to ``Extension``."""

    EVENT = "BlindTransfer"
    result: str = ami("Result", default="")
    transferer: str = ami("TransfererUniqueid", default="")
    transferee: str = ami("TransfereeUniqueid", default="")
    extension: str = ami("Extension", default="")
    context: str = ami("Context", default="")
    bridge_uniqueid: str = ami("BridgeUniqueid", default="")
    is_external: bool = ami("IsExternal", conv=_yes, default=False)


@_register
@attrs.frozen(slots=True, kw_only=True)
class LocalOptimizationBegin(AmiEvent):
    """2+: a Local channel pair is being optimized out of the path."""

    EVENT = "LocalOptimizationBegin"
    one_uniqueid: str = ami("LocalOneUniqueid")
    two_uniqueid: str = ami("LocalTwoUniqueid")
    source_uniqueid: str = ami("SourceUniqueid", default="")
    dest_uniqueid: str = ami("DestUniqueId", "DestUniqueid", default="")
    id: str = ami("Id", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class LocalOptimizationEnd(AmiEvent):
    """2+: the optimization finished (``Success: Yes|No``)."""

    EVENT = "LocalOptimizationEnd"
    one_uniqueid: str = ami("LocalOneUniqueid")
    two_uniqueid: str = ami("LocalTwoUniqueid")
    success: bool = ami("Success", conv=_yes, default=False)
    id: str = ami("Id", default="")


@_register
@attrs.frozen(slots=True, kw_only=True)
class Pickup(AmiEvent):
    """2+: ``Uniqueid`` picked up the ringing ``TargetUniqueid``."""

    EVENT = "Pickup"
    uniqueid: str = ami("Uniqueid")
    target_uniqueid: str = ami("TargetUniqueid")


@_register
@attrs.frozen(slots=True, kw_only=True)
class Hold(AmiEvent):
    """A channel put its call on hold (its phone sent a=sendonly).

    2+: ``Event: Hold`` / ``Event: Unhold``. 1.x (chan_sip): ``Event: Hold``
    with ``Status: On`` or ``Status: Off`` (there is no Unhold event).
    """

    EVENT = "Hold"
    uniqueid: str = ami("Uniqueid", "UniqueID")
    channel: str = ami("Channel", default="")
    status: str = ami("Status", default="", often_absent=True)


@_register
@attrs.frozen(slots=True, kw_only=True)
class Unhold(Hold):
    """2+: a channel took its call off hold."""

    EVENT = "Unhold"


# Events that exist in only one dialect; the first one seen decides.
AMI1_ONLY = frozenset({"Dial", "Bridge", "Link", "Unlink", "Masquerade", "Transfer"})
AMI2_ONLY = frozenset({
    "DialBegin", "DialEnd", "DialState", "BridgeCreate", "BridgeEnter", "BridgeLeave",
    "BridgeDestroy", "BridgeMerge", "AttendedTransfer", "BlindTransfer",
    "LocalOptimizationBegin", "LocalOptimizationEnd", "NewConnectedLine", "Pickup",
})


def event_name(raw: Mapping[str, Any]) -> str:
    """The ``Event`` header of a raw AMI event ('' when absent)."""
    name = raw.get("Event")
    if name is None:
        name = raw.get("event")
    return str(_first(name)) if name is not None else ""


def parse(raw: Mapping[str, Any]) -> AmiEvent:
    """Turn one raw AMI event into its record.

    Returns a ``GenericEvent`` for event types we do not model.

    Raises:
        MalformedEvent: a required field is missing or not valid.
    """
    name = event_name(raw)
    cls = RECORD_TYPES.get(name)
    if cls is None:
        return GenericEvent(raw=raw, name=name)
    return cls.from_ami(raw)


def _out_of_date(cls: type[_T]) -> Callable[[type[_T], Mapping[str, Any]], _T]:
    """The parser of a class whose field table changed since the parsers were written."""
    def from_ami(_cls: type[_T], _raw: Mapping[str, Any]) -> _T:
        raise GeneratedCodeOutOfDate(
            f"cacofonisk/parsers_generated.py is out of date for {cls.__name__} "
            f"(its ami(...) fields changed): run python -m cacofonisk.parsergen")
    return from_ami


def install_parsers(record_types: Mapping[str, type[AmiEvent]],
                    generated: Mapping[str, tuple[Any, Any, str]]) -> dict[str, Any]:
    """Make each record class's ``from_ami`` its generated parser.

    ``generated`` is parsers_generated.PARSERS: event name -> (fast parser,
    careful parser, digest of the field table it was written from). A class
    it does not know, or knows with another field table (events.py changed,
    the generator was not run), gets a parser that raises
    GeneratedCodeOutOfDate naming the command to run, instead of one that
    silently misreads events; this module still imports, so that the
    generator itself can run.

    Returns:
        event name -> its careful parser (every header with its fallbacks).
    """
    careful_parsers: dict[str, Any] = {}
    for name, cls in record_types.items():
        fast, careful, digest = generated.get(name, (None, None, ""))
        if fast is None or careful is None or digest != field_table_digest(cls):
            fast = careful = _out_of_date(cls)
        cls.from_ami = classmethod(fast)  # type: ignore[assignment]
        careful_parsers[name] = careful
    return careful_parsers


def _generated_parsers() -> Mapping[str, tuple[Any, Any, str]]:
    """parsers_generated.PARSERS; none if it names a record class that is gone."""
    try:
        from . import parsers_generated  # it reads this module's classes: import it last
    except AttributeError:  # a class was renamed or removed: every parser says regenerate
        return {}
    return parsers_generated.PARSERS


#: event name -> the careful parser (every header with its fallbacks), for tests
CAREFUL_PARSERS: dict[str, Callable[[type[Any], Mapping[str, Any]], Any]] = \
    install_parsers(RECORD_TYPES, _generated_parsers())
