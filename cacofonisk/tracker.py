"""The pure core's state and its two verbs: move a channel, report on a call.

A ``Tracker`` holds the registries of one Asterisk server and an outbox.
Dialect rules (``dialects/ami1.py``, ``dialects/ami2.py``) read records,
move channels with ``step`` and report call events with ``b_dial``, ``up``
... Those go through the call machine (``fsm/call.py``), whose transitions
append the records to the outbox; the manager drains the outbox to the
reporter only after the AMI event has been fully applied.

No I/O, no clock: the timestamp of the AMI event being applied is set by
the manager and copied onto every record.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from . import calls
from .callerid import CallerId
from .bridges import Bridge
from .errors import InvalidTransition
from .fsm.call import CALL_MACHINE, Call
from .fsm.channel import CHANNEL_MACHINE, Channel
from .fsm import engine
from .fsm.engine import fire, try_fire
from .registry import BridgeRegistry, CallRegistry, ChannelRegistry
from .topology import unlink

log = logging.getLogger(__name__)

_CHANNEL_TABLE = CHANNEL_MACHINE.table


class Tracker:
    """Channels, bridges and calls of one Asterisk server.

    Attributes:
        server: the server's name, copied onto every call event.
        channels / bridges / calls: the registries.
        outbox: (call, record) pairs waiting to be reported.
        traces: diagnostic messages waiting to be reported.
        timestamp: AMI Timestamp of the event being applied.
    """

    def __init__(self, server: str = "") -> None:
        self.server = server
        self.channels = ChannelRegistry()
        self.bridges = BridgeRegistry()
        self.calls = CallRegistry()
        self.outbox: list[tuple[Call | None, calls.CallEvent]] = []
        self.traces: list[str] = []
        self.timestamp: float | None = None
        self.sequence = 0

    # -- diagnostics ------------------------------------------------------

    def trace(self, msg: str) -> None:
        """Queue a diagnostic for the reporter's trace_msg."""
        self.traces.append(msg)

    # -- channels ---------------------------------------------------------

    def step(self, channel: Channel, trigger: str) -> bool:
        """Move a channel's machine; False (and a trace) if not allowed.

        The common case (an allowed rule without callbacks) is inlined, as
        in ``step_if_allowed``.
        """
        entry = _CHANNEL_TABLE.get((channel.state, trigger))
        if entry is not None and not entry[1] and not engine.USE_TRANSITIONS:
            channel.state = entry[0]  # type: ignore[assignment]
            return True
        try:
            fire(CHANNEL_MACHINE, channel, trigger)
        except InvalidTransition as err:
            self.trace(str(err))
            return False
        return True

    def step_if_allowed(self, channel: Channel, trigger: str) -> bool:
        """Move a channel's machine when its table allows it; silent otherwise.

        The common case (a rule without callbacks) is inlined from
        ``try_fire``: this runs for most events.
        """
        entry = _CHANNEL_TABLE.get((channel.state, trigger))
        if entry is None:
            return False
        if entry[1] or engine.USE_TRANSITIONS:
            return try_fire(CHANNEL_MACHINE, channel, trigger)
        channel.state = entry[0]  # type: ignore[assignment]
        return True

    def leave_bridge(self, channel: Channel, bridge: Bridge) -> None:
        """Take a channel out of a bridge; a bridge nobody is in is forgotten."""
        bridge.discard(channel)
        if not bridge.peers:
            self.bridges.remove(bridge.uniqueid)

    def forget(self, channel: Channel) -> None:
        """A channel is gone: unlink it, drop it, free what it anchored."""
        if channel.bridge is not None:
            self.leave_bridge(channel, channel.bridge)
        unlink(channel)
        self.channels.remove(channel)
        self.calls.remove(channel.uniqueid)
        if not len(self.channels):
            self.calls.clear()
            self.bridges.clear()
            self.trace("(no channels left)")

    # -- call events --------------------------------------------------------

    def _report(self, call_id: str, cls: type[calls.CallEvent], **fields: Any) -> bool:
        call = self.calls.get_or_create(call_id)
        record = calls.BUILD[cls](call_id=call_id, server=self.server,
                                  event_id=f"{call_id}#{self.sequence}",
                                  timestamp=self.timestamp, **fields)
        try:
            fire(CALL_MACHINE, call, cls.TRIGGER, record=record, outbox=self.outbox)
        except InvalidTransition as err:
            self.trace(str(err))
            return False
        call.seq += 1
        self.sequence += 1
        if call.is_final and call_id not in self.channels:
            self.calls.remove(call_id)
        return True

    def b_dial(self, call_id: str, caller: CallerId, to_number: str | None,
               targets: Sequence[CallerId], after_gap: bool = False) -> bool:
        """Report that the B side rings (on_b_dial); ``after_gap``: seen by a resync."""
        return self._report(call_id, calls.BDial, caller=caller, to_number=to_number,
                            targets=tuple(targets), after_gap=after_gap)

    def b_dial_end(self, call_id: str, caller: CallerId, to_number: str | None,
                   targets: Sequence[CallerId], reason: str) -> bool:
        """Report that some targets stopped ringing (on_b_dial_end)."""
        return self._report(call_id, calls.BDialEnd, caller=caller,
                            to_number=to_number, targets=tuple(targets), reason=reason)

    def up(self, call_id: str, caller: CallerId, to_number: str | None,
           callee: CallerId, after_gap: bool = False) -> bool:
        """Report that the call is answered (on_up); ``after_gap``: seen by a resync."""
        return self._report(call_id, calls.Up, caller=caller, to_number=to_number,
                            callee=callee, after_gap=after_gap)

    def warm_transfer(self, call_id: str, merged_id: str, redirector: CallerId,
                      caller: CallerId, destination: CallerId) -> bool:
        """Report an attended transfer; the merged call ends silently."""
        done = self._report(call_id, calls.WarmTransfer, merged_id=merged_id,
                            redirector=redirector, caller=caller, destination=destination)
        if done:
            self.merge(merged_id, call_id)
        return done

    def cold_transfer(self, call_id: str, merged_id: str, redirector: CallerId,
                      caller: CallerId, to_number: str | None,
                      targets: Sequence[CallerId], kind: str = "") -> bool:
        """Report a blind/blonde transfer; the merged call ends silently."""
        done = self._report(call_id, calls.ColdTransfer, merged_id=merged_id,
                            redirector=redirector, caller=caller, to_number=to_number,
                            targets=tuple(targets), kind=kind)
        if done:
            self.merge(merged_id, call_id)
        return done

    def hangup(self, call_id: str, caller: CallerId, to_number: str | None, reason: str,
               **details: Any) -> bool:
        """Report the end of a call for the caller (on_hangup)."""
        return self._report(call_id, calls.Hangup, caller=caller,
                            to_number=to_number, reason=reason, **details)

    def queue_caller_abandon(self, call_id: str, caller: CallerId, to_number: str | None,
                             queue: str = "") -> bool:
        """Report a caller who left a queue unanswered."""
        return self._report(call_id, calls.QueueCallerAbandon, caller=caller,
                            to_number=to_number, queue=queue)

    def user_event(self, name: str, raw: Any, uniqueid: str | None) -> None:
        """Pass a dialplan UserEvent through (not a call transition)."""
        self.outbox.append((None, calls.UserEventCall(
            call_id=uniqueid or "", server=self.server, event_id="",
            timestamp=self.timestamp, name=name, event=raw)))

    def merge(self, merged_id: str, into: str) -> None:
        """End a call silently because a transfer joined it into ``into``."""
        if merged_id == into:
            return
        call = self.calls.find(merged_id)
        if call is None or call.is_final:
            return
        fire(CALL_MACHINE, call, "merge", into=into)
        if merged_id not in self.channels:
            self.calls.remove(merged_id)
