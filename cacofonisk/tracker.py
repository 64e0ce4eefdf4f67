"""The pure core's state and its two verbs: move a channel, report on a call.

A ``Tracker`` holds the registries of one Asterisk server and an outbox.
Dialect rules (``dialects/ami1.py``, ``dialects/ami2.py``) read records,
move channels with ``step`` and report call events with ``b_dial``, ``up``
... Those go through the call machine (``fsm/call.py``), whose transitions
append the records to the outbox; the manager drains the outbox to the
reporter only after the AMI event has been fully applied.

No I/O, no clock: the timestamp of the AMI event being applied is set by
the manager and copied onto every record.

Channels whose Hangup was lost are dropped honestly (``drop_channel``):
when a new channel takes their name, when they grow older than
``max_channel_age`` or more than ``max_channels`` are held, when Asterisk
restarted (``server_restarted``), or when a runner says so
(``ChannelManager.drop_channel``). (``resync.py`` ends the channels a
resync does not list with its own code.)
``counters`` counts what was dropped or refused (``ChannelManager.health_counters``).
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from . import calls
from .callerid import CallerId
from .callview import CallView, build_snapshot
from .snapshot import CallSnapshot
from .bridges import Bridge
from .errors import InvalidTransition
from .event_ids import EventIds
from .fsm.call import CALL_MACHINE, Call
from .fsm.channel import CHANNEL_MACHINE, Channel
from .fsm import engine
from .fsm.engine import fire, try_fire
from .registry import BridgeRegistry, CallRegistry, ChannelRegistry
from .topology import unlink

log = logging.getLogger(__name__)

_CHANNEL_TABLE = CHANNEL_MACHINE.table

#: Default bounds on channels whose Hangup never came (see ``Tracker``).
MAX_CHANNEL_AGE = 24 * 3600.0
MAX_CHANNELS = 50_000
#: The age bound is checked every this many Newchannels (and at each flush):
#: a look at the oldest channel costs more than the check of the count.
AGE_CHECK_EVERY = 64

#: The counters ``Tracker.counters`` starts with (all 0).
COUNTERS = ("stale_channels_dropped", "restarts_seen", "malformed_events",
            "unplaced_events", "hook_errors", "internal_errors")


class Tracker:
    """Channels, bridges and calls of one Asterisk server.

    Attributes:
        server: the server's name, copied onto every call event.
        channels / bridges / calls: the registries.
        outbox: (call, record) pairs waiting to be reported.
        traces: diagnostic messages waiting to be reported.
        timestamp: AMI Timestamp of the event being applied.
        sequence: call events reported so far (a count; not part of ids).
        event_ids: makes each record's stable ``event_id`` (event_ids.py).
        max_channel_age: a channel older than this (seconds, by the AMI
            Timestamps) is taken for one whose Hangup was lost and dropped;
            None: no age bound (and none without ``timestampevents``).
            Checked every ``AGE_CHECK_EVERY`` Newchannels and at each flush.
        max_channels: more channels than this: the oldest is dropped (at
            the Newchannel that makes one too many); None: no bound.
        channel_limit: ``max_channels`` as a number (sys.maxsize for None),
            for the one comparison each Newchannel makes.
        age_check_in: Newchannels left until the next age check.
        shutdown_seen: Asterisk sent Shutdown; the next FullyBooted means
            it restarted.
        counters: how many channels were dropped, restarts seen, events
            refused and hooks that raised (``COUNTERS``).
    """

    def __init__(self, server: str = "", *, max_channel_age: float | None = MAX_CHANNEL_AGE,
                 max_channels: int | None = MAX_CHANNELS) -> None:
        self.server = server
        self.channels = ChannelRegistry()
        self.bridges = BridgeRegistry()
        self.calls = CallRegistry()
        self.outbox: list[tuple[Call | None, calls.CallEvent]] = []
        self.traces: list[str] = []
        self.timestamp: float | None = None
        self.sequence = 0
        self.event_ids = EventIds()
        self.max_channel_age = max_channel_age
        self.max_channels = max_channels
        self.channel_limit = max_channels if max_channels is not None else sys.maxsize
        self.age_check_in = AGE_CHECK_EVERY
        self.shutdown_seen = False
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)

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
        call = self.calls.find(channel.uniqueid)
        if call is not None and (call.is_final or not channel.marks.hangup_reported):
            self.calls.remove(channel.uniqueid)
        # else: its transferer hung up before the transfer was reported (a
        # blind transfer rings later): the call stays until that transfer
        # merges it or its hangup is reported (both free it), so the calls
        # in flight never lose one the reported events have not ended
        if not len(self.channels):
            self.calls.clear()
            self.bridges.clear()
            self.trace("(no channels left)")

    # -- channels whose end we never saw --------------------------------------

    def drop_channel(self, channel: Channel, why: str) -> None:
        """A channel Asterisk no longer has, though its Hangup never came: end it honestly.

        If it is a caller whose call was not reported over, its call ends
        with on_hangup: reason 'completed' if it was answered, else
        'failed'; cause unknown; ``hangup_by`` ``'unknown: ' + why``. Then
        the channel is freed like after a Hangup, and counted
        (``stale_channels_dropped``). The manager's own bounds and
        ``ChannelManager.drop_channel`` end channels through here; a resync
        could too.

        Args:
            channel: the channel to drop.
            why: what showed it is gone, for the record and the trace
                ('its name was reused by a new channel', 'Asterisk restarted' ...).
        """
        if channel.side == "A" and channel.is_relevant and not channel.marks.hangup_reported:
            reason = "completed" if channel.is_up else "failed"
            self.hangup(channel.uniqueid, channel.caller_id, channel.exten, reason,
                        hangup_by=f"unknown: {why}")
        self.step_if_allowed(channel, "hang_up")
        self.forget(channel)
        self.counters["stale_channels_dropped"] += 1
        self.trace(f"channel {channel.name} ({channel.uniqueid}) dropped: {why}; "
                   f"its Hangup was lost")

    def bound_channels(self) -> None:
        """Drop the oldest channels while they break ``max_channel_age`` or ``max_channels``.

        Called when a Newchannel makes one channel too many, every
        ``AGE_CHECK_EVERY`` Newchannels and at each flush: the oldest
        channel is the first the registry holds, so one look is enough
        when nothing is to drop.
        """
        self.age_check_in = AGE_CHECK_EVERY
        channels = self.channels
        limit, max_age, now = self.max_channels, self.max_channel_age, self.timestamp
        while True:
            oldest = channels.oldest()
            if oldest is None:
                return
            if limit is not None and channels.count() > limit:
                self.drop_channel(oldest, f"more than {limit} channels held (max_channels)")
            elif (max_age is not None and now is not None and oldest.created is not None
                  and now - oldest.created > max_age):
                self.drop_channel(oldest, f"older than {max_age:g} s (max_channel_age)")
            else:
                return

    def server_restarted(self) -> None:
        """Asterisk restarted: every channel we hold is gone, and names start again.

        Each call in flight ends with an honest on_hangup (``hangup_by``
        'unknown: Asterisk restarted'); channels, calls and bridges are
        freed, and the recently-gone names forgotten, so a new channel that
        reuses a name never meets a ghost.
        """
        self.counters["restarts_seen"] += 1
        self.shutdown_seen = False
        for channel in self.channels:
            if channel.uniqueid in self.channels:  # forget() may have dropped it already
                self.drop_channel(channel, "Asterisk restarted")
        self.calls.clear()
        self.bridges.clear()
        self.channels.forget_gone()

    # -- call events --------------------------------------------------------

    def _report(self, call_id: str, cls: type[calls.CallEvent], at: float | None = None,
                **fields: Any) -> bool:
        """Emit one record through the call machine and fold it into the call's view.

        ``at``: the record's AMI time when it is not the current event's (a
        ring held back for its dial burst: when that ringing began).
        """
        call = self.calls.get_or_create(call_id)
        record = calls.BUILD[cls](call_id=call_id, server=self.server,
                                  event_id=self.event_ids.next_id(call_id, cls.HOOK,
                                                                  self.timestamp),
                                  timestamp=self.timestamp if at is None else at, **fields)
        before = call.state
        try:
            fire(CALL_MACHINE, call, cls.TRIGGER, record=record, outbox=self.outbox)
        except InvalidTransition as err:
            self.trace(str(err))
            return False
        if call.seq:
            call.view.apply(record, call.state is not before)
        else:
            call.view.begin(record, self._created(call_id))
        call.seq += 1
        self.sequence += 1
        if call.is_final and call_id not in self.channels:
            self.calls.remove(call_id)
        return True

    def _created(self, call_id: str) -> float | None:
        """AMI time the call's caller channel (Uniqueid = call id) was created, if known."""
        channel = self.channels.get(call_id)
        return channel.created if channel is not None else None

    def b_dial(self, call_id: str, caller: CallerId, to_number: str | None,
               targets: Sequence[CallerId], after_gap: bool = False,
               at: float | None = None) -> bool:
        """Report that the B side rings (on_b_dial); ``after_gap``: seen by a resync.

        ``at``: when the ringing began, for a ring reported after its dial burst.
        """
        return self._report(call_id, calls.BDial, at, caller=caller, to_number=to_number,
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

    def _live_others(self, ids: Sequence[str], call_id: str, merged_id: str) -> tuple[str, ...]:
        """Of ``ids``, the calls in flight a transfer ends besides ``merged_id``."""
        found = []
        for other in dict.fromkeys(ids):
            if other in (call_id, merged_id):
                continue
            call = self.calls.find(other)
            if call is not None and not call.is_final:
                found.append(other)
        return tuple(found)

    def warm_transfer(self, call_id: str, merged_id: str, redirector: CallerId,
                      caller: CallerId, destination: CallerId,
                      ends: Sequence[str] = ()) -> bool:
        """Report an attended transfer; the merged calls (and those of ``ends``) end silently."""
        also = self._live_others(ends, call_id, merged_id)
        done = self._report(call_id, calls.WarmTransfer, merged_id=merged_id,
                            redirector=redirector, caller=caller, destination=destination,
                            also_merged=also)
        if done:
            for other in (merged_id, *also):
                self.merge(other, call_id)
        return done

    def cold_transfer(self, call_id: str, merged_id: str, redirector: CallerId,
                      caller: CallerId, to_number: str | None,
                      targets: Sequence[CallerId], kind: str = "",
                      ends: Sequence[str] = (), after_gap: bool = False) -> bool:
        """Report a blind/blonde transfer; the merged calls (and those of ``ends``) end silently.

        ``after_gap``: observed by a resync, not seen as it happened."""
        also = self._live_others(ends, call_id, merged_id)
        done = self._report(call_id, calls.ColdTransfer, merged_id=merged_id,
                            redirector=redirector, caller=caller, to_number=to_number,
                            targets=tuple(targets), kind=kind, also_merged=also,
                            after_gap=after_gap)
        if done:
            for other in (merged_id, *also):
                self.merge(other, call_id)
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

    # -- state hooks (docs/state-hooks.md) ------------------------------------

    def _report_state(self, call_id: str, cls: type[calls.CallEvent], **fields: Any) -> bool:
        """Report a state happening of a call that is still in flight.

        Each state verb below takes ``after_gap``: True when a resync found
        the state (or its end) after a gap instead of seeing it happen.

        A state event about a call that already ended (or that no channel
        anchors any more) is dropped: reporting it would start a call that
        nothing would ever free.
        """
        call = self.calls.find(call_id)
        if call is None and call_id not in self.channels:
            return False
        if call is not None and call.is_final:
            return False
        return self._report(call_id, cls, **fields)

    def hold(self, call_id: str, caller: CallerId, to_number: str | None,
             holder: CallerId) -> bool:
        """Report that ``holder`` put the other side on hold (on_hold)."""
        return self._report_state(call_id, calls.Hold, caller=caller, to_number=to_number,
                                  holder=holder)

    def unhold(self, call_id: str, caller: CallerId, to_number: str | None,
               holder: CallerId) -> bool:
        """Report that ``holder`` took the other side off hold (on_unhold)."""
        return self._report_state(call_id, calls.Unhold, caller=caller, to_number=to_number,
                                  holder=holder)

    def park(self, call_id: str, caller: CallerId, to_number: str | None, parked: CallerId,
             parker: CallerId, lot: str, space: str, timeout: float | None = None,
             after_gap: bool = False) -> bool:
        """Report that ``parked`` waits in a parking space (on_park)."""
        return self._report_state(call_id, calls.Park, caller=caller, to_number=to_number,
                                  parked=parked, parker=parker, lot=lot, space=space,
                                  timeout=timeout, after_gap=after_gap)

    def park_end(self, call_id: str, caller: CallerId, to_number: str | None,
                 parked: CallerId, reason: str, retriever: CallerId | None,
                 lot: str = "", space: str = "", after_gap: bool = False) -> bool:
        """Report the end of a park (on_park_end)."""
        return self._report_state(call_id, calls.ParkEnd, caller=caller, to_number=to_number,
                                  parked=parked, reason=reason, retriever=retriever,
                                  lot=lot, space=space, after_gap=after_gap)

    def queue_join(self, call_id: str, caller: CallerId, to_number: str | None, queue: str,
                   position: int, after_gap: bool = False) -> bool:
        """Report that the caller waits in a queue (on_queue_join)."""
        return self._report_state(call_id, calls.QueueJoin, caller=caller,
                                  to_number=to_number, queue=queue, position=position,
                                  after_gap=after_gap)

    def queue_leave(self, call_id: str, caller: CallerId, to_number: str | None, queue: str,
                    reason: str, position: int | None = None,
                    after_gap: bool = False) -> bool:
        """Report that the caller left a queue (on_queue_leave)."""
        return self._report_state(call_id, calls.QueueLeave, caller=caller,
                                  to_number=to_number, queue=queue, reason=reason,
                                  position=position, after_gap=after_gap)

    def conference_join(self, call_id: str, caller: CallerId, to_number: str | None,
                        party: CallerId, room: str, after_gap: bool = False) -> bool:
        """Report that ``party`` entered a conference room (on_conference_join)."""
        return self._report_state(call_id, calls.ConferenceJoin, caller=caller,
                                  to_number=to_number, party=party, room=room,
                                  after_gap=after_gap)

    def conference_leave(self, call_id: str, caller: CallerId, to_number: str | None,
                         party: CallerId, room: str, after_gap: bool = False) -> bool:
        """Report that ``party`` left a conference room (on_conference_leave)."""
        return self._report_state(call_id, calls.ConferenceLeave, caller=caller,
                                  to_number=to_number, party=party, room=room,
                                  after_gap=after_gap)

    def user_event(self, name: str, raw: Any, uniqueid: str | None) -> None:
        """Pass a dialplan UserEvent through (not a call transition)."""
        self.outbox.append((None, calls.UserEventCall(
            call_id=uniqueid or "", server=self.server, event_id="",
            timestamp=self.timestamp, name=name, event=raw)))

    def call_view(self, call_id: str) -> CallView:
        """The view of a call (made if new).

        Setting a field on it reports nothing: resync only refines the
        times of a state it has just reported (a park's ``since`` from
        Asterisk's ParkingDuration), never the state itself.
        """
        return self.calls.get_or_create(call_id).view

    def snapshot(self) -> tuple[CallSnapshot, ...]:
        """Every call in flight, as its reported call events describe it (``callview.py``)."""
        return build_snapshot(self.calls, self.server)

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
