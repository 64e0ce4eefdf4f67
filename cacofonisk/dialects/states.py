"""State happenings of both dialects: hold, parking, queue waits, conferences.

These rules report the state hooks of docs/state-hooks.md (``on_hold`` ... ``on_conference_leave``)
through the tracker; they never change what the 2017 hooks report, so the
AMI 1.x conformance with cacofonisk 0.4.0 stays exact.

* ``Hold``/``Unhold`` (2+), ``Hold`` with ``Status: On|Off`` (1.x chan_sip):
  the event's channel is the holder (its phone sent a=sendonly). A repeated
  Hold, or an Unhold with no hold, is not reported. A hold also ends,
  reported as ``on_unhold`` by the holder, when a transfer by the holder
  completes (a DTMF atxfer resumes the transferee without an Unhold) or
  when the holder comes back into the bridge it left (an aborted DTMF
  transfer).
* ``ParkedCall`` -> ``on_park``; ``UnParkedCall`` -> ``on_park_end``
  'retrieved', ``ParkedCallTimeOut`` -> 'timeout', ``ParkedCallGiveUp`` ->
  'gave-up'. The parker is the transferer of the blind transfer that sent
  the call to the parking extension, else the channel Asterisk names, else
  the device of ``ParkerDialString``.
* ``QueueCallerJoin``/``Join`` -> ``on_queue_join`` at Asterisk's
  position; ``QueueCallerLeave``/``Leave`` -> ``on_queue_leave``:
  'abandoned' after a QueueCallerAbandon, 'answered' once a member answered
  (a DialEnd ANSWER, or a dialed member that is up), else 'timeout'.
* ``ConfbridgeJoin``/``ConfbridgeLeave`` -> ``on_conference_join``/``leave``
  (room = the conference name); ``ConfbridgeStart``/``Join`` mark the 2+
  bridge as a conference, whose parties form no call with each other.

Each is reported on the call the channel is in (``caller_of``).
"""
from __future__ import annotations

from ..callerid import CallerId
from .. import events as ami
from ..constants import AST_STATE_UP
from ..fsm.channel import Channel
from ..topology import dialed_channels
from .common import Rules, caller_of


def _device_caller_id(device: str) -> CallerId:
    """A caller ID from a device or channel name: the last resort.

    ``PJSIP/202`` (a ParkerDialString) and ``SIP/202-00000002`` (a 1.x
    channel we never saw) both give number 202.
    """
    number = device.rsplit("/", 1)[-1]
    head, dash, tail = number.rpartition("-")
    if dash and head and len(tail) == 8 and all(c in "0123456789abcdef" for c in tail):
        number = head
    return CallerId(number=number or None, is_public=True)


class StateRules(Rules):
    """The state-hook handlers, the base class of both dialects' rules.

    A base class rather than a mixin: a compiled (mypyc) class may have
    one base only, and the method resolution order is the same.
    """

    def state_handlers(self) -> dict[type[ami.AmiEvent], object]:
        """Record type -> handler, for the dialect's ``handlers`` table."""
        return {
            ami.Hold: self.on_hold_state, ami.Unhold: self.on_hold_state,
            ami.QueueCallerJoin: self.on_queue_join_state, ami.Join: self.on_queue_join_state,
            ami.QueueCallerLeave: self.on_queue_leave_state,
            ami.Leave: self.on_queue_leave_state,
            ami.ParkedCall: self.on_parked_call, ami.UnParkedCall: self.on_park_end,
            ami.ParkedCallTimeOut: self.on_park_end, ami.ParkedCallGiveUp: self.on_park_end,
            ami.ConfbridgeStart: self.on_confbridge_start,
            ami.ConfbridgeJoin: self.on_confbridge, ami.ConfbridgeLeave: self.on_confbridge,
        }

    def _find(self, uniqueid: str | None, name: str | None) -> Channel | None:
        return self.tracker.channels.find(uniqueid or None, name or None)

    def _leader(self, channel: Channel) -> Channel:
        """The caller's channel of the call ``channel`` is in (itself if none)."""
        return caller_of(channel) or channel

    # -- hold ---------------------------------------------------------------

    def on_hold_state(self, record: ami.Hold) -> None:
        channel = self._find(record.uniqueid, record.channel)
        if channel is None or not channel.is_relevant:
            return  # a Local half passing its peer's hold on is not a party holding
        holding = not (isinstance(record, ami.Unhold) or record.status.lower() == "off")
        if holding:
            self.start_hold(channel)
        else:
            self.end_hold(channel)

    def start_hold(self, channel: Channel) -> None:
        """``channel`` puts its call on hold (once)."""
        if channel.on_hold:
            return
        channel.on_hold = True
        channel.hold_bridge = channel.bridge
        lead = channel.hold_lead = self._leader(channel)
        self.tracker.hold(lead.uniqueid, lead.caller_id, lead.exten, channel.caller_id)

    def end_hold(self, channel: Channel) -> None:
        """``channel`` no longer holds its call (reported only if it held it)."""
        if not channel.on_hold:
            return
        channel.on_hold = False
        channel.hold_bridge = None
        lead, channel.hold_lead = channel.hold_lead, None
        if lead is None or lead.uniqueid not in self.tracker.channels:
            lead = self._leader(channel)
        self.tracker.unhold(lead.uniqueid, lead.caller_id, lead.exten, channel.caller_id)

    # -- queues -------------------------------------------------------------

    def on_queue_join_state(self, record: ami.QueueCallerJoin) -> None:
        channel = self._find(record.uniqueid, record.channel)
        if channel is None:
            return
        channel.queue = record.queue
        channel.queue_outcome = ""
        lead = self._leader(channel)
        self.tracker.queue_join(lead.uniqueid, lead.caller_id, lead.exten, record.queue,
                                record.position if record.position is not None else 1)

    def on_queue_abandon_state(self, channel: Channel) -> None:
        """The caller hung up while waiting: its leave is 'abandoned'."""
        channel.queue_outcome = "abandoned"

    def on_queue_leave_state(self, record: ami.QueueCallerLeave) -> None:
        channel = self._find(record.uniqueid, record.channel)
        if channel is None:
            return
        reason = channel.queue_outcome
        if not reason:
            answered = any(dial.ami_state == AST_STATE_UP
                           for dial in dialed_channels(channel, through_own_local=False))
            reason = "answered" if answered else "timeout"
        channel.queue = ""
        channel.queue_outcome = ""
        lead = self._leader(channel)
        self.tracker.queue_leave(lead.uniqueid, lead.caller_id, lead.exten,
                                 record.queue, reason, record.position)

    # -- parking ------------------------------------------------------------

    def park_transfer(self, parkee: Channel) -> Channel | None:
        """Report the transfer that sent ``parkee`` to the parking extension; its transferer.

        AMI 1.x reports no such transfer (cacofonisk 0.4.0 did not);
        Ami2Rules overrides this.
        """
        return None

    def on_parked_call(self, record: ami.ParkedCall) -> None:
        parkee = self._find(record.uniqueid, record.channel)
        if parkee is None:
            return
        parker_chan = self.park_transfer(parkee)
        if parker_chan is None:
            parker_chan = self._find(record.parker_uniqueid, record.parker_channel)
        if parker_chan is not None:
            parker = parker_chan.caller_id
        else:
            parker = _device_caller_id(record.parker_dial_string or record.parker_channel)
        lead = self._leader(parkee)
        self.tracker.park(lead.uniqueid, lead.caller_id, lead.exten, parkee.caller_id, parker,
                          record.lot, record.space, record.timeout)

    def on_park_end(self, record: ami.ParkedCall) -> None:
        parkee = self._find(record.uniqueid, record.channel)
        if parkee is None:
            return
        retriever: CallerId | None = None
        if isinstance(record, ami.UnParkedCall):
            reason = "retrieved"
            found = self._find(record.retriever_uniqueid, record.retriever_channel)
            retriever = (found.caller_id if found is not None
                         else _device_caller_id(record.retriever_channel))
        elif isinstance(record, ami.ParkedCallTimeOut):
            reason = "timeout"
        else:
            reason = "gave-up"
        lead = self._leader(parkee)
        self.tracker.park_end(lead.uniqueid, lead.caller_id, lead.exten, parkee.caller_id,
                              reason, retriever, record.lot, record.space)

    # -- conferences --------------------------------------------------------

    def on_confbridge_start(self, record: ami.ConfbridgeStart) -> None:
        bridge = self.tracker.bridges.find(record.bridge_uniqueid)
        if bridge is not None:
            bridge.conference = record.conference

    def conference_transfer(self, channel: Channel) -> None:
        """Report the transfer that sent ``channel`` to the conference (Ami2Rules)."""

    def on_confbridge(self, record: ami.ConfbridgeJoin) -> None:
        channel = self._find(record.uniqueid, record.channel)
        if channel is None:
            return
        bridge = self.tracker.bridges.find(record.bridge_uniqueid)
        if bridge is not None:
            bridge.conference = record.conference
        lead = self._leader(channel)
        if isinstance(record, ami.ConfbridgeLeave):
            self.tracker.conference_leave(lead.uniqueid, lead.caller_id, lead.exten,
                                          channel.caller_id, record.conference)
        else:
            self.conference_transfer(channel)
            lead = self._leader(channel)
            self.tracker.conference_join(lead.uniqueid, lead.caller_id, lead.exten,
                                         channel.caller_id, record.conference)
