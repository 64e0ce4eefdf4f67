"""What both AMI dialects share: channel identity, caller IDs, user events.

A dialect is a ``Rules`` subclass with a dispatch table from record type to
handler. Handlers read a record, look channels up in the tracker, move
channel machines and report call events. They raise ``CacofoniskError``
subclasses (e.g. ``UnknownChannel``) for input they cannot place; the
manager turns those into trace messages.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

from .. import events as ami
from ..callerid import make_caller_id
from ..constants import (AST_CAUSE_ANSWERED_ELSEWHERE, AST_CAUSE_CALL_REJECTED,
                         AST_CAUSE_INTERWORKING, AST_CAUSE_NO_ANSWER,
                         AST_CAUSE_NO_USER_RESPONSE, AST_CAUSE_NORMAL_CLEARING,
                         AST_CAUSE_UNKNOWN, AST_CAUSE_USER_BUSY)
from ..errors import MalformedEvent
from ..fsm.channel import Channel
from ..topology import bridge_peers, dialing_channel
from ..tracker import Tracker

log = logging.getLogger(__name__)

Handler = Callable[[Any], object]


def account_code(value: str) -> int:
    """AccountCode as the int CallerId.code holds (0 when not numeric)."""
    if value.isdecimal():  # not isdigit: int() refuses superscripts such as '²'
        return int(value)
    value = value.strip()
    return int(value) if value.isdecimal() else 0


def hangup_details(channel: Channel, record: ami.Hangup) -> dict[str, Any]:
    """The on_hangup record's extra fields: cause, SIP cause, who hung up, last DialStatus."""
    return {"cause": record.cause, "cause_txt": record.cause_txt,
            "tech_cause": record.tech_cause, "hangup_by": channel.hangup_requested_by,
            "dial_status": channel.dial_status}


def set_caller_id(channel: Channel, name: str, number: str | None,
                  is_public: bool | None) -> None:
    """Give a channel a new caller ID (same code), unless nothing changed.

    Asterisk repeats NewCallerid with the same values; keeping the object
    saves an allocation and keeps identity for reporters that compare.
    """
    cid = channel.caller_id
    if cid.name != name or cid.number != number or cid.is_public != is_public:
        channel.caller_id = make_caller_id(cid.code, name, number, is_public)


def hangup_reason(cause: int, is_up: bool, *, unknown_causes: tuple[int, ...]) -> str:
    """Map Asterisk's hangup cause to the hook's reason word.

    Args:
        cause: Q.850 cause of the caller's Hangup.
        is_up: whether the caller's channel was answered.
        unknown_causes: causes that mean "no real cause given" (1.x: 0;
            2+: 0 and 127), read as completed when up, else cancelled.
    """
    if cause == AST_CAUSE_NORMAL_CLEARING:
        return "completed" if is_up else "no-answer"
    if cause == AST_CAUSE_USER_BUSY:
        return "busy"
    if cause in (AST_CAUSE_NO_USER_RESPONSE, AST_CAUSE_NO_ANSWER):
        return "no-answer"
    if cause == AST_CAUSE_ANSWERED_ELSEWHERE:
        return "answered-elsewhere"
    if cause == AST_CAUSE_CALL_REJECTED:
        return "rejected"
    if cause in unknown_causes:
        return "completed" if is_up else "cancelled"
    return "failed"


UNKNOWN_CAUSES_AMI1 = (AST_CAUSE_UNKNOWN,)
UNKNOWN_CAUSES_AMI2 = (AST_CAUSE_UNKNOWN, AST_CAUSE_INTERWORKING)


def caller_of(channel: Channel) -> Channel | None:
    """The caller's channel of the call ``channel`` is in (itself if it is the caller)."""
    if channel.side == "A":
        return channel
    dialing = dialing_channel(channel)
    if dialing.side == "A" and not dialing.is_local:
        return dialing  # the usual answer: walk the bridges only when it is not
    for chan in (*channel.linked, *bridge_peers(channel)):
        if chan.side == "A" and not chan.is_local:
            return chan
    return None


class Rules:
    """Handlers shared by both dialects; subclasses add their own table.

    Attributes:
        tracker: the state being changed.
        handlers: record type -> handler; the manager indexes it by event
            name once, so it is complete after ``__init__``.
        held: call events held back, keyed by call (empty unless the
            dialect holds some back); while it is not empty, every record
            goes through ``release`` before its handler.
        name_first: look channels up by name before Uniqueid (1.x, where
            events name channels and masquerades swap identities).
    """

    NAME: ClassVar[str] = ""
    name_first: ClassVar[bool] = False
    #: Events that mean nothing to this dialect when a header has a value:
    #: event name -> (header, value). The manager skips them before parsing.
    IGNORE_WHEN: ClassVar[dict[str, tuple[str, str]]] = {}

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.held: dict[str, Any] = {}
        self._channel_by_id = tracker.channels.get
        self._channel_by_name = tracker.channels.get_by_name
        self.handlers: dict[type[ami.AmiEvent], Handler] = {
            ami.FullyBooted: self.on_fully_booted,
            ami.Shutdown: self.on_shutdown,
            ami.Newchannel: self.on_newchannel,
            ami.NewCallerid: self.on_new_callerid,
            ami.NewAccountCode: self.on_new_account_code,
            ami.Rename: self.on_rename,
            ami.UserEvent: self.on_user_event,
            ami.HangupRequest: self.on_hangup_request,
            ami.SoftHangupRequest: self.on_hangup_request,
        }

    def handle(self, record: ami.AmiEvent) -> None:
        """Apply one record (a no-op for types this dialect ignores).

        The manager does the same through its own index of ``handlers``.
        """
        if self.held and self.may_release(record.__class__):
            self.release(record)
        handler = self.handlers.get(record.__class__)
        if handler is not None:
            handler(record)

    def release(self, record: ami.AmiEvent) -> None:
        """Report what ``held`` keeps back and this record, about to apply, ends."""

    def may_release(self, record_type: type[ami.AmiEvent]) -> bool:
        """Whether a record of this type can end something ``held`` (False: skip ``release``)."""
        return False

    def flush(self) -> None:
        """The stream is idle or over: report anything held back (nothing, by default)."""

    # -- lookups ------------------------------------------------------------

    def channel(self, record: Any, event: str = "") -> Channel:
        """The channel a record is about (by Uniqueid/name as the dialect prefers).

        The first lookup is the dialect's key (a name for 1.x, a Uniqueid
        for 2+); the other key is the fallback. The busiest handlers try
        the first lookup inline (``self._channel_by_name(record.channel) or
        self.channel(record)``) to save a call.
        """
        if self.name_first:
            name = getattr(record, "channel", None)
            found = self._channel_by_name(name) if name else None
            if found is not None:
                return found
        else:
            found = self._channel_by_id(record.uniqueid)
            if found is not None:
                return found
        uniqueid = getattr(record, "uniqueid", None)
        name = getattr(record, "channel", None)
        registry = self.tracker.channels
        found = registry.find(uniqueid, None if self.name_first else name)
        if found is None:
            raise registry.missing(uniqueid or name or "?", event or type(record).__name__)
        return found

    # -- shared handlers ------------------------------------------------------

    def on_fully_booted(self, record: ami.FullyBooted) -> None:
        """Every new AMI login starts with FullyBooted: only note it, unless Asterisk restarted.

        On its own it does not mean Asterisk restarted (a recording has
        one per login), so state is kept; the AmiRunner resyncs explicitly
        after a reconnect. After a Shutdown in the stream it does: the
        calls from before end (``Tracker.server_restarted``).
        """
        tracker = self.tracker
        if tracker.shutdown_seen:
            self.flush()
            tracker.server_restarted()
            tracker.trace("Asterisk restarted: the calls from before it ended")
        tracker.trace("Connected to Asterisk")

    def on_shutdown(self, record: ami.Shutdown) -> None:
        """Asterisk is going down; its channels end with it, seen at the next FullyBooted."""
        self.tracker.shutdown_seen = True
        self.tracker.trace(f"Asterisk is shutting down ({record.shutdown or 'no reason given'}"
                           f", restart: {record.restart or 'unknown'})")

    def on_newchannel(self, record: ami.Newchannel) -> Channel | None:
        """Register the new channel; return it (None for a duplicate)."""
        registry = self.tracker.channels
        if not record.uniqueid:
            raise MalformedEvent(record.raw, "Uniqueid", "empty")
        if self._channel_by_id(record.uniqueid) is not None:
            self.tracker.trace(f"duplicate Newchannel for {record.uniqueid}: ignored")
            return None
        reused = self._channel_by_name(record.channel)
        if reused is not None:
            self.tracker.drop_channel(reused, f"its name {record.channel} was taken by "
                                              f"new channel {record.uniqueid}")
        channel = Channel(
            record.uniqueid, record.channel, ami_state=record.state,
            caller_id=make_caller_id(account_code(record.account_code),
                                     record.caller_id_name, record.caller_id_num, True),
            exten=record.exten, linkedid=record.linkedid, created=record.timestamp,
        )
        registry.add(channel)
        tracker = self.tracker
        tracker.age_check_in -= 1
        if tracker.age_check_in <= 0 or registry.count() > tracker.channel_limit:
            tracker.bound_channels()
        return channel

    def on_new_callerid(self, record: ami.NewCallerid) -> None:
        channel = ((self._channel_by_name(record.channel) if self.name_first
                    else self._channel_by_id(record.uniqueid)) or self.channel(record))
        cid = channel.caller_id
        if cid.number and record.caller_id_num == str(cid.code):
            # A pickup sets CallerIDNum to the account code; showing that
            # would leak it, so keep the number we had (if we had one: a
            # phone whose account code is its own number keeps it).
            number = cid.number
        else:
            number = record.caller_id_num
        set_caller_id(channel, record.caller_id_name, number,
                      "Allowed" in record.cid_calling_pres)

    def on_new_account_code(self, record: ami.NewAccountCode) -> None:
        channel = ((self._channel_by_name(record.channel) if self.name_first
                    else self._channel_by_id(record.uniqueid)) or self.channel(record))
        cid = channel.caller_id
        if not cid.code:
            code = account_code(record.account_code)
            if code:
                channel.caller_id = make_caller_id(code, cid.name, cid.number, cid.is_public)

    def on_rename(self, record: ami.Rename) -> None:
        channel = ((self._channel_by_name(record.channel) if self.name_first
                    else self._channel_by_id(record.uniqueid)) or self.channel(record))
        self.tracker.channels.rename(channel, record.new_name)

    def on_user_event(self, record: ami.UserEvent) -> None:
        self.tracker.user_event(record.user_event, record.raw, record.uniqueid)

    def on_hangup_request(self, record: ami.HangupRequest) -> None:
        """Remember who ended the call, on the caller's channel (for on_hangup's record).

        A HangupRequest comes from the party on that channel (a BYE or
        CANCEL); a SoftHangupRequest from Asterisk itself. The first party
        to hang up wins.
        """
        channel = self.tracker.channels.find(record.uniqueid, record.channel or None)
        if channel is None:
            return  # harmless: it only enriches the hangup record
        caller = caller_of(channel)
        if isinstance(record, ami.SoftHangupRequest):
            for chan in (channel, caller):
                if chan is not None and not chan.hangup_requested_by:
                    chan.hangup_requested_by = "asterisk"
            return
        who = "caller" if channel.side == "A" else "callee"
        for chan in (channel, caller):
            if chan is not None and chan.hangup_requested_by in ("", "asterisk"):
                chan.hangup_requested_by = who
