"""Asterisk 12-22 (AMI 2+): dials, bridges and transfer events.

In AMI 2+ the call's meaning comes from explicit events:

* ``DialBegin`` links a caller to a target (a channel created by an
  Originate has a DialBegin without a source);
* a target that rings (Newstate Ringing, or DialState RINGING/PROGRESS for
  early media) reports ``on_b_dial`` once for its caller; targets dialed
  in the same burst are reported together;
* ``DialEnd`` reports ``on_b_dial_end`` with the DialStatus;
* a bridge exists for the tracker while a channel is in it (BridgeEnter to
  the last BridgeLeave or BridgeDestroy): BridgeCreate is not consumed, so
  a lost BridgeDestroy cannot leave one behind;
* ``BridgeEnter`` that puts a caller and exactly one other real party
  together (following Local channel pairs) reports ``on_up``;
* ``AttendedTransfer``, ``BlindTransfer`` report transfers; a transfer
  whose Result is not Success reports nothing;
* the caller's ``Hangup`` reports ``on_hangup``.

Call ids: a call's id is the Uniqueid of its caller's channel. After a
transfer the surviving call is the one whose caller remains (the
transferee becomes the caller); ``merged_id`` is the transferer's call.
"""
from __future__ import annotations

from typing import Any

import attrs

from .. import events as ami
from ..constants import AST_STATE_DOWN, AST_STATE_RING, AST_STATE_RINGING, AST_STATE_UP
from ..fsm.channel import Channel
from ..topology import bridge_peers, creation_order, dialed_channels, dialing_channel
from .common import UNKNOWN_CAUSES_AMI2, hangup_details, hangup_reason, set_caller_id
from .transfers2 import TransferRules


#: record fields that name a channel by Uniqueid (to tell which call a record is about)
_CHANNEL_FIELDS = ("uniqueid", "dest_uniqueid", "transferee", "transferer", "orig_transferer",
                   "second_transferer", "one_uniqueid", "two_uniqueid", "target_uniqueid")


def _channel_fields(record_type: type[ami.AmiEvent]) -> tuple[str, ...]:
    """The _CHANNEL_FIELDS a record type has, in that order."""
    names = {field.name for field in attrs.fields(record_type)}
    return tuple(name for name in _CHANNEL_FIELDS if name in names)


#: the fields of a record type that names one channel, by its ``uniqueid``
_UNIQUEID_ONLY = ("uniqueid",)
#: per record type, the fields that name a channel (computed once, not per
#: event; the one _UNIQUEID_ONLY tuple for the common case)
_FIELDS_BY_TYPE: dict[type[ami.AmiEvent], tuple[str, ...]] = {
    record_type: (_UNIQUEID_ONLY if fields == _UNIQUEID_ONLY else fields)
    for record_type in ami.RECORD_TYPES.values()
    for fields in (_channel_fields(record_type),)}


def _dialed(channel: Channel) -> list[Channel]:
    return dialed_channels(channel, through_own_local=False)


def _rang_at(targets: list[Channel]) -> float | None:
    """When Asterisk started ringing ``targets``: their first DialBegin's AMI time.

    A ring held back for its dial burst is reported later (at the event
    that ends the burst, or at ``flush``); its record still says when the
    ringing began. None (the current event's time) if no DialBegin had one.
    """
    times = [target.dial_began for target in targets if target.dial_began is not None]
    return min(times) if times else None


class Ami2Rules(TransferRules):
    """The AMI 2+ dialect."""

    NAME = "ami2"

    def __init__(self, tracker: Any) -> None:
        super().__init__(tracker)
        #: per call (Linkedid), the first target that rang while its
        #: caller's dial burst is still going on (see _continues_burst);
        #: the same dict as ``held``
        self.pending_rings: dict[str, Channel] = self.held
        self.consultations: dict[str, tuple[Channel, str]] = {}
        self.handlers.update({
            ami.NewCallerid: self.on_new_callerid_2,
            ami.Newstate: self.on_newstate,
            ami.LocalBridge: self.on_local_bridge,
            ami.Hangup: self.on_hangup,
            ami.DialBegin: self.on_dial_begin,
            ami.DialState: self.on_dial_state,
            ami.DialEnd: self.on_dial_end,
            ami.BridgeEnter: self.on_bridge_enter,
            ami.BridgeLeave: self.on_bridge_leave,
            ami.BridgeDestroy: self.on_bridge_destroy,
            ami.BridgeMerge: self.on_bridge_merge,
            ami.AttendedTransfer: self.on_attended_transfer,
            ami.BlindTransfer: self.on_blind_transfer,
            ami.QueueCallerAbandon: self.on_queue_caller_abandon,
            ami.AgentCalled: self.on_agent_called,
            ami.LocalOptimizationBegin: self.on_local_optimization_begin,
            ami.Pickup: self.on_pickup,
        })
        self.handlers.update(self.state_handlers())  # type: ignore[arg-type]

    def release(self, record: ami.AmiEvent) -> None:
        """Report the held-back rings of the calls this record ends a dial burst of.

        Runs before the record is applied, for every record that names a
        channel (``may_release``) while a ring is held, so it only looks at
        the fields of this record type that name one; most name a single
        channel by ``uniqueid``, read directly.
        """
        fields = _FIELDS_BY_TYPE.get(record.__class__)
        if fields is None:
            fields = _FIELDS_BY_TYPE[record.__class__] = _channel_fields(record.__class__)
        if fields is _UNIQUEID_ONLY:
            self._release_for(record, record.uniqueid)  # type: ignore[attr-defined]
            return
        for name in fields:
            self._release_for(record, getattr(record, name))

    def _release_for(self, record: ami.AmiEvent, uniqueid: str | None) -> None:
        """Report the held-back ring of the call of channel ``uniqueid``
        (named by ``record``), unless ``record`` continues its dial burst."""
        if uniqueid:
            channel = self._channel_by_id(uniqueid)
            if channel is not None:
                linkedid = channel.linkedid
                pending = self.pending_rings.get(linkedid)
                if pending is not None and not self._continues_burst(record, pending):
                    self._flush_ring(linkedid)

    def may_release(self, record_type: type[ami.AmiEvent]) -> bool:
        """Only a record that names a channel can end a dial burst."""
        return bool(_FIELDS_BY_TYPE.get(record_type) or _channel_fields(record_type))

    # -- channel identity -------------------------------------------------------

    def on_newchannel(self, record: ami.Newchannel) -> Channel | None:
        channel = super().on_newchannel(record)
        if channel is not None and channel.uniqueid == channel.linkedid:
            channel.side = "A"
        return channel

    def on_new_callerid_2(self, record: ami.NewCallerid) -> None:
        set_caller_id(self.channel(record), record.caller_id_name, record.caller_id_num,
                      "Allowed" in record.cid_calling_pres if record.cid_calling_pres else True)

    def on_local_bridge(self, record: ami.LocalBridge) -> None:
        one = self.tracker.channels.by_id(record.one_uniqueid, "LocalBridge")
        two = self.tracker.channels.by_id(record.two_uniqueid, "LocalBridge")
        one.fwd_local_bridge = two
        two.back_local_bridge = one

    # -- ringing ----------------------------------------------------------------

    def on_newstate(self, record: ami.Newstate) -> None:
        channel = self._channel_by_id(record.uniqueid) or self.channel(record)
        old, new = channel.ami_state, record.state
        if old == new:
            return
        channel.ami_state = new
        if new == AST_STATE_UP:
            self.tracker.step_if_allowed(channel, "answer")
        elif new == AST_STATE_RINGING:
            self.tracker.step_if_allowed(channel, "ring")
        elif new == AST_STATE_RING or new == 3:
            self.tracker.step_if_allowed(channel, "dial_out")
        if channel.is_local:
            return
        if old == AST_STATE_DOWN and new in (AST_STATE_RINGING, AST_STATE_UP):
            if channel.back_dial is not None:
                self._b_ringing(channel)

    def on_dial_state(self, record: ami.DialState) -> None:
        """14+: RINGING/PROGRESS/PROCEEDING of a dial; early media rings too."""
        target = self.tracker.channels.by_id(record.dest_uniqueid, "DialState")
        status = record.dial_status.upper()
        if status in ("RINGING", "PROGRESS") and not target.is_local:
            target.early_media = target.early_media or status == "PROGRESS"
            if target.back_dial is not None and not target.marks.b_dial_reported:
                if target.ami_state != AST_STATE_UP:
                    self.tracker.step_if_allowed(target, "ring")
                self._b_ringing(target)

    def on_dial_begin(self, record: ami.DialBegin) -> None:
        registry = self.tracker.channels
        destination = (self._channel_by_id(record.dest_uniqueid)
                       or registry.by_id(record.dest_uniqueid, "DialBegin"))
        if not record.uniqueid:
            destination.is_originated = True
            return
        channel = self._channel_by_id(record.uniqueid) or registry.by_id(record.uniqueid, "DialBegin")
        channel.side = "A"
        if channel.exten in ("", "s") and record.exten not in ("", "s"):
            # An originated channel starts at 's'; by the time it dials, the
            # dialplan has put it on the number it is dialing.
            channel.exten = record.exten
        if destination.back_dial is not None and destination.back_dial is not channel:
            self.tracker.trace(f"{destination.name} was already dialed by "
                               f"{destination.back_dial.name}")
            if destination in destination.back_dial.fwd_dials:
                destination.back_dial.fwd_dials.remove(destination)
        if destination not in channel.fwd_dials:
            channel.fwd_dials.append(destination)
        destination.back_dial = channel
        destination.was_dialed = True
        destination.dial_began = record.timestamp
        if not destination.is_local and destination.ami_state == AST_STATE_RINGING:
            self._b_ringing(destination)

    def on_agent_called(self, record: ami.AgentCalled) -> None:
        """Queues dial members through Local channels; DialBegin links them too."""

    def _b_ringing(self, channel: Channel) -> None:
        """A target rings: hold the b_dial until the dial burst is over."""
        if channel.marks.b_dial_reported:
            return
        held = self.pending_rings.get(channel.linkedid)
        if held is not None and held.back_dial is not channel.back_dial:
            self._flush_ring(channel.linkedid)  # another caller of the same call
        self.pending_rings.setdefault(channel.linkedid, channel)

    def _continues_burst(self, record: ami.AmiEvent, pending: Channel) -> bool:
        """Whether a record about the held-back ring's call leaves its dial burst open.

        Dial() and Queue() create and dial all their targets in a tight
        loop, and a fast phone can ring before the next target is dialed.
        Further dials (or queue AgentCalled) from the same caller and the
        ringing of its other targets (Newstate, from the phones' threads)
        continue the burst; records about other calls (another Linkedid) or
        about no known channel (new channels) are not even asked. Anything
        else about this call ends it, notably the caller's DialState (14+): the
        dialing thread sends it only once it waits, after its last
        DialBegin. An idle stream ends it too (``flush``).
        """
        source = pending.back_dial
        if isinstance(record, (ami.DialBegin, ami.AgentCalled)):
            if source is not None and record.uniqueid == source.uniqueid:
                return True
        if isinstance(record, ami.Newstate) and source is not None:
            channel = self.tracker.channels.get(record.uniqueid)
            if channel is not None and channel.back_dial is source:
                return bool(record.state == AST_STATE_RINGING)
        return False

    def flush(self) -> None:
        """The stream is idle or over: report the rings held back for their dial bursts."""
        for key in list(self.pending_rings):
            self._flush_ring(key)

    def _flush_ring(self, key: str) -> None:
        channel = self.pending_rings.pop(key, None)
        if channel is None or channel.marks.b_dial_reported or channel.uniqueid not in self.tracker.channels:
            return
        a_chan = dialing_channel(channel)
        if a_chan.marks.pending_blind_transfer is not None:
            self._blind_transfer_rings(channel, a_chan)
        elif a_chan.is_originated and a_chan.fwd_dials and a_chan.fwd_local_bridge is not None:
            self._originate_rings(channel, a_chan)
        elif not a_chan.is_local:
            ringing = [dial for dial in _dialed(a_chan) if not dial.marks.b_dial_reported
                       and (dial.ami_state == AST_STATE_RINGING or dial.early_media
                            or dial is channel or dial.back_dial is channel.back_dial)]
            if not ringing:
                return
            for b_chan in ringing:
                b_chan.marks.b_dial_reported = True
            self.tracker.b_dial(a_chan.uniqueid, a_chan.caller_id, a_chan.exten,
                                [dial.caller_id for dial in ringing], at=_rang_at(ringing))

    def _originate_rings(self, channel: Channel, originating: Channel) -> None:
        """Originate: the party called first is shown as the caller."""
        local_two = originating.fwd_local_bridge
        bridge = local_two.bridge if local_two is not None else None
        callers = [peer for peer in (bridge.peers if bridge else []) if not peer.is_local]
        if not callers:
            return
        a_chan = callers[0]
        a_chan.exten = originating.fwd_dials[0].exten
        a_chan.side = "A"
        channel.marks.b_dial_reported = True
        self.tracker.b_dial(a_chan.uniqueid, a_chan.caller_id, a_chan.exten, [channel.caller_id],
                            at=_rang_at([channel]))

    def on_dial_end(self, record: ami.DialEnd) -> None:
        registry = self.tracker.channels
        if not record.uniqueid:
            return  # an Originate's dial: nothing to pull apart
        channel = self._channel_by_id(record.uniqueid) or registry.by_id(record.uniqueid, "DialEnd")
        destination = (self._channel_by_id(record.dest_uniqueid)
                       or registry.by_id(record.dest_uniqueid, "DialEnd"))
        if destination.back_dial is not channel:
            # Asterisk repeats the CANCEL of the other queue members; the dial
            # is already closed, so there is nothing left to end.
            return
        destination.dial_status = record.dial_status
        if not destination.is_local:
            a_chan = dialing_channel(destination)
            if a_chan.queue and record.dial_status == "ANSWER":
                a_chan.queue_outcome = "answered"
            # Only targets that on_b_dial (or a transfer) announced end ringing.
            if (not a_chan.is_local and record.dial_status
                    and destination.marks.b_dial_reported):
                self.tracker.b_dial_end(a_chan.uniqueid, a_chan.caller_id, a_chan.exten,
                                        [destination.caller_id], record.dial_status.lower())
            a_chan.dial_status = record.dial_status
        destination.back_dial = None
        if destination in channel.fwd_dials:
            channel.fwd_dials.remove(destination)

    # -- bridges ------------------------------------------------------------------

    def on_bridge_enter(self, record: ami.BridgeEnter) -> None:
        channel = self._channel_by_id(record.uniqueid) or self.channel(record)
        bridge = self.tracker.bridges.ensure(record.bridge_uniqueid, record.bridge_type,
                                             record.technology)
        if channel.bridge is not None and channel.bridge is not bridge:
            channel.bridge.discard(channel)
        bridge.add(channel)
        channel.bridge = bridge
        self.tracker.step_if_allowed(channel, "bridge")
        if channel.on_hold and channel.hold_bridge is bridge:
            self.end_hold(channel)  # back from an aborted DTMF transfer
        if bridge.is_holding or bridge.is_conference:
            return
        self.adopt_consultation(bridge)
        self._maybe_up(channel)

    def _maybe_up(self, channel: Channel) -> None:
        if not channel.is_local and len(channel.bridge.peers) < 2:  # type: ignore[union-attr]
            return  # alone in its bridge: the first half of every BridgeEnter pair
        peers = bridge_peers(channel)
        if len(peers) < 2:
            return
        callers = {peer for peer in peers if peer.side == "A"}
        targets = peers - callers
        if len(callers) > 1:
            # A-B, C-B, A-C style transfers (and pickups) leave two callers:
            # the channel created first stays the caller.
            ordered = sorted(callers, key=creation_order)
            caller = ordered.pop(0)
            for other in ordered:
                targets.add(other)
                other.side = ""
        elif not callers:
            self.tracker.trace(f"bridge of {channel.name}: no caller among its parties")
            return
        else:
            caller = next(iter(callers))
        if len(targets) != 1:
            self.tracker.trace(f"bridge of {channel.name}: {len(targets)} parties besides the "
                               f"caller; a conference is not reported as a call")
            return
        target = next(iter(targets))
        if not caller.marks.up_reported:
            caller.marks.up_reported = True
            self.tracker.up(caller.uniqueid, caller.caller_id, caller.exten, target.caller_id)

    def on_bridge_leave(self, record: ami.BridgeLeave) -> None:
        channel = self._channel_by_id(record.uniqueid) or self.channel(record)
        bridge = self.tracker.bridges.find(record.bridge_uniqueid)
        if bridge is not None:
            self.tracker.leave_bridge(channel, bridge)
        if channel.bridge is bridge:
            channel.bridge = None
            self.tracker.step_if_allowed(channel, "unbridge")

    def on_bridge_destroy(self, record: ami.BridgeDestroy) -> None:
        bridge = self.tracker.bridges.remove(record.bridge_uniqueid)
        if bridge is not None:
            for peer in list(bridge.peers):
                if peer.bridge is bridge:
                    peer.bridge = None

    def on_bridge_merge(self, record: ami.BridgeMerge) -> None:
        source = self.tracker.bridges.find(record.from_bridge)
        target = self.tracker.bridges.ensure(record.to_bridge)
        if source is None:
            return
        for peer in list(source.peers):
            source.discard(peer)
            target.add(peer)
            peer.bridge = target

    def on_local_optimization_begin(self, record: ami.LocalOptimizationBegin) -> None:
        """A Local pair is optimized away; bridges will move the real channels."""

    def on_pickup(self, record: ami.Pickup) -> None:
        """Someone picked up a ringing target; the bridge that follows reports on_up."""

    # -- endings ------------------------------------------------------------------

    def on_queue_caller_abandon(self, record: ami.QueueCallerAbandon) -> None:
        channel = self._channel_by_id(record.uniqueid) or self.channel(record)
        self.on_queue_abandon_state(channel)
        self.tracker.queue_caller_abandon(channel.uniqueid, channel.caller_id, channel.exten,
                                          record.queue or channel.queue)

    def on_hangup(self, record: ami.Hangup) -> None:
        channel = self._channel_by_id(record.uniqueid) or self.channel(record)
        if channel.is_relevant:
            self._report_hangup(channel, record)
        elif self.consultations and channel.is_local:
            self.end_consultation(channel)
        self.tracker.step(channel, "hang_up")
        self.tracker.forget(channel)

    def _report_hangup(self, channel: Channel, record: ami.Hangup) -> None:
        if channel.side != "A" and channel.marks.pending_blind_transfer is None:
            return  # only a caller's hangup (or an unreached blind transfer) is reported
        details = hangup_details(channel, record)
        if channel.marks.pending_blind_transfer is not None:
            redirector = channel.marks.pending_blind_transfer
            channel.marks.pending_blind_transfer = None
            a_chan = redirector if redirector.side == "A" else channel
            self.tracker.hangup(a_chan.uniqueid, a_chan.caller_id, a_chan.exten, "completed",
                                **details)
        elif channel.marks.hangup_reported:
            pass
        elif channel.side == "A":
            reason = hangup_reason(record.cause, channel.ami_state == AST_STATE_UP,
                                   unknown_causes=UNKNOWN_CAUSES_AMI2)
            self.tracker.hangup(channel.uniqueid, channel.caller_id, channel.exten, reason,
                                **details)
