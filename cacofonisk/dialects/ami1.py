"""Asterisk 1.8-11 (AMI 1.x): what Dial, Bridge, Masquerade and Transfer mean.

In AMI 1.x the call's meaning is read from channel states:

* a channel going Down -> Ring/Dialing/Up is a caller (side A);
* Down -> Ringing is a callee that rings: report on_b_dial once for all
  the targets its caller dials (following Local channel pairs);
* Ring -> Up on the caller or Ringing -> Up on a callee, with the other
  side up too: on_up;
* the caller's Hangup: on_hangup, with the reason from its cause.

Transfers: ``Transfer`` (Attended: the redirector is already bridged with
the target, else it is blonde; Blind: remembered until the target rings,
then on_b_dial + on_cold_transfer). Pickups show up as a Masquerade of a
ringing channel. VoIPGRID's "ConnectAB" click-to-dial (a Local channel
that dials both parties) is reported as a call from the first party.

These rules reproduce cacofonisk 0.4.0's reports on real Asterisk 11
recordings exactly (tests/test_conformance.py), without its crashes.
"""
from __future__ import annotations

from typing import Any, ClassVar

from .. import events as ami
from ..constants import AST_STATE_DOWN, AST_STATE_RING, AST_STATE_RINGING, AST_STATE_UP
from ..errors import MalformedEvent
from ..fsm.channel import Channel
from ..topology import cut_local_links, dialed_channels, dialing_channel
from .common import UNKNOWN_CAUSES_AMI1, hangup_details, hangup_reason
from .states import StateRules

_A_DIAL_STATES = (3, AST_STATE_RING, AST_STATE_UP)  # Dialing, Ring, Up


def _dialed(channel: Channel) -> list[Channel]:
    return dialed_channels(channel, through_own_local=True)


def _is_connectab(a_chan: Channel) -> bool:
    """A Local ``;1`` that dials one party while its ``;2`` dials the other."""
    local_a = dialing_channel(a_chan)
    local_b = local_a.fwd_local_bridge
    return bool(local_b is not None and local_a.fwd_dials and local_b.fwd_dials)


class Ami1Rules(StateRules):
    """The AMI 1.x dialect."""

    NAME = "ami1"
    name_first = True
    #: a Dial End changes nothing here (the Hangup that follows does), and
    #: it is half of all Dial events
    IGNORE_WHEN: ClassVar[dict[str, tuple[str, str]]] = {"Dial": ("SubEvent", "End")}

    def __init__(self, tracker: Any) -> None:
        super().__init__(tracker)
        self.handlers.update({
            ami.Newstate: self.on_newstate,
            ami.LocalBridge: self.on_local_bridge,
            ami.Bridge: self.on_bridge,
            ami.Link: self.on_bridge,
            ami.Unlink: self.on_bridge,
            ami.Masquerade: self.on_masquerade,
            ami.Hangup: self.on_hangup,
            ami.Dial: self.on_dial,
            ami.Transfer: self.on_transfer,
            ami.AgentCalled: self.on_agent_called,
            ami.QueueCallerAbandon: self.on_queue_caller_abandon,
        })
        self.handlers.update(self.state_handlers())  # type: ignore[arg-type]

    def on_queue_caller_abandon(self, record: ami.QueueCallerAbandon) -> None:
        """1.x: only marks the caller's queue wait as abandoned (for on_queue_leave).

        cacofonisk 0.4.0 reported no on_queue_caller_abandon for AMI 1.x, and
        the 1.x hooks stay exactly its own.
        """
        channel = self.tracker.channels.find(record.uniqueid, record.channel or None)
        if channel is not None:
            self.on_queue_abandon_state(channel)

    # -- channel events -------------------------------------------------------

    def on_newstate(self, record: ami.Newstate) -> None:
        channel = self._channel_by_name(record.channel) or self.channel(record)
        old, new = channel.ami_state, record.state
        if old == new:
            return  # a repeated Newstate changes nothing
        channel.ami_state = new
        if old == AST_STATE_DOWN and new in _A_DIAL_STATES:
            self.tracker.step(channel, "answer" if new == AST_STATE_UP else "dial_out")
            channel.side = "A"
        elif old == AST_STATE_DOWN and new == AST_STATE_RINGING:
            self.tracker.step(channel, "ring")
            self._b_ringing(channel)
        elif old == AST_STATE_RING and new == AST_STATE_UP:
            self.tracker.step_if_allowed(channel, "answer")
            self._a_up(channel)
        elif old == AST_STATE_RINGING and new == AST_STATE_UP:
            self.tracker.step_if_allowed(channel, "answer")
            self._b_up(channel)
        else:
            if new == AST_STATE_UP:
                self.tracker.step_if_allowed(channel, "answer")
            self.tracker.trace(f"{channel.name}: state {old} -> {new} has no call meaning")

    def on_local_bridge(self, record: ami.LocalBridge) -> None:
        one = self.tracker.channels.find(record.one_uniqueid, record.one_channel or None)
        two = self.tracker.channels.find(record.two_uniqueid, record.two_channel or None)
        if one is None or two is None:
            missing = record.one_channel if one is None else record.two_channel
            raise self.tracker.channels.missing(missing, "LocalBridge")
        one.fwd_local_bridge = two
        two.back_local_bridge = one

    def on_bridge(self, record: ami.Bridge) -> None:
        by_name = self._channel_by_name
        one = by_name(record.channel1) or self.tracker.channels.by_name(record.channel1, "Bridge")
        two = by_name(record.channel2) or self.tracker.channels.by_name(record.channel2, "Bridge")
        if record.bridge_state == "Link":
            if two not in one.linked:
                one.linked = (*one.linked, two)
                two.linked = (*two.linked, one)
            self.tracker.step_if_allowed(one, "bridge")
            self.tracker.step_if_allowed(two, "bridge")
        elif record.bridge_state == "Unlink":
            if two in one.linked:
                one.linked = tuple(chan for chan in one.linked if chan is not two)
                two.linked = tuple(chan for chan in two.linked if chan is not one)
            for chan in (one, two):
                if not chan.linked:
                    self.tracker.step_if_allowed(chan, "unbridge")
        else:
            raise MalformedEvent(record.raw, "Bridgestate", f"unknown ({record.bridge_state!r})")

    def on_masquerade(self, record: ami.Masquerade) -> None:
        """The Clone's guts move into the Original; the Clone then dies.

        A Masquerade of a Ringing original by an Up clone is a pickup; of a
        Ring original (a blonde transfer's caller) it answers the caller.
        """
        registry = self.tracker.channels
        clone = registry.by_name(record.clone, "Masquerade")
        original = registry.by_name(record.original, "Masquerade")
        if record.clone_state != record.original_state and record.clone_state == "Up":
            if record.original_state == "Ringing":
                clone.caller_id = clone.caller_id.replace(
                    name=original.caller_id.name, number=original.caller_id.number,
                    is_public=original.caller_id.is_public)
                original.ami_state = AST_STATE_UP
                self.tracker.step_if_allowed(original, "answer")
                self._b_up(original)
            elif record.original_state == "Ring":
                original.ami_state = AST_STATE_UP
                self.tracker.step_if_allowed(original, "answer")
                self._a_up(original)
        self._take_over(original, clone)
        self.tracker.step_if_allowed(clone, "masquerade")

    @staticmethod
    def _take_over(original: Channel, clone: Channel) -> None:
        """Move the clone's Local links, custom data, marks and caller ID to the original."""
        cut_local_links(original)
        if clone.fwd_local_bridge is not None:
            clone.fwd_local_bridge.back_local_bridge = original
            original.fwd_local_bridge = clone.fwd_local_bridge
            clone.fwd_local_bridge = None
        if clone.back_local_bridge is not None:
            clone.back_local_bridge.fwd_local_bridge = original
            original.back_local_bridge = clone.back_local_bridge
            clone.back_local_bridge = None
        # The 2017 README promises that custom survives a masquerade: the
        # original now shares the clone's dict.
        original.custom = clone.custom  # (made here if neither had one yet)
        original.marks = clone.marks
        original.caller_id = clone.caller_id

    def on_dial(self, record: ami.Dial) -> None:
        if record.sub_event == "Begin":
            source = self.tracker.channels.by_id(record.uniqueid, "Dial")
            target = self.tracker.channels.by_id(record.dest_uniqueid, "Dial")
            self._link_dial(source, target)
        elif record.sub_event != "End":
            raise MalformedEvent(record.raw, "SubEvent", f"unknown ({record.sub_event!r})")

    def on_agent_called(self, record: ami.AgentCalled) -> None:
        """A queue rings a member: link caller and member leg like a Dial.

        Needs ``eventwhencalled`` on the queue, else the queue's calls are
        reported with the Local channel as the caller.
        """
        source = self.tracker.channels.by_name(record.channel, "AgentCalled")
        target = self.tracker.channels.by_name(record.dest_channel, "AgentCalled")
        self._link_dial(source, target)

    def _link_dial(self, source: Channel, target: Channel) -> None:
        if target.back_dial is source:
            return  # repeated event
        if target.back_dial is not None:
            self.tracker.trace(f"{target.name} was already dialed by {target.back_dial.name}")
            if target in target.back_dial.fwd_dials:
                target.back_dial.fwd_dials.remove(target)
        source.fwd_dials.append(target)
        target.back_dial = source

    def on_transfer(self, record: ami.Transfer) -> None:
        registry = self.tracker.channels
        channel = registry.by_name(record.channel, "Transfer")
        target = registry.by_name(record.target_channel, "Transfer")
        if record.transfer_type == "Attended":
            self._attended_transfer(channel, target)
        elif record.transfer_type == "Blind":
            target.marks.pending_blind_transfer = channel
            channel.marks.hangup_reported = True
            channel.exten = record.transfer_exten
        else:
            raise MalformedEvent(record.raw, "TransferType", f"unknown ({record.transfer_type!r})")

    def on_hangup(self, record: ami.Hangup) -> None:
        channel = self._channel_by_name(record.channel) or self.channel(record)
        if channel.is_relevant:
            self._report_hangup(channel, record)
        self.tracker.step(channel, "hang_up")
        self.tracker.forget(channel)

    # -- call meaning -----------------------------------------------------------

    def _b_ringing(self, channel: Channel) -> None:
        channel.side = "B"
        if not channel.is_relevant:
            return
        if channel.marks.b_dial_reported:
            channel.marks.b_dial_reported = False
            return
        a_chan = dialing_channel(channel)
        a_chan.side = "A"
        if a_chan.marks.pending_blind_transfer is not None:
            self._blind_transfer_rings(channel, a_chan)
        elif _is_connectab(a_chan):
            real_a = self._connectab_a(a_chan)
            if real_a is None:
                return
            self.tracker.b_dial(real_a.uniqueid, real_a.caller_id, channel.caller_id.number,
                                [channel.caller_id])
        elif a_chan.is_relevant:
            open_dials = _dialed(a_chan)
            targets = [dial.caller_id for dial in open_dials]
            for b_chan in open_dials:
                if b_chan is channel:
                    self.tracker.b_dial(a_chan.uniqueid, a_chan.caller_id, a_chan.exten, targets)
                else:
                    b_chan.marks.b_dial_reported = True

    def _connectab_a(self, a_chan: Channel) -> Channel | None:
        """Give the ConnectAB caller (the ``;2`` half) the first party's account code."""
        local_a = dialing_channel(a_chan)
        local_b = local_a.fwd_local_bridge
        if local_b is None or not local_b.fwd_dials:
            return None
        first_party = local_b.fwd_dials[0]
        local_b.caller_id = a_chan.caller_id.replace(code=first_party.caller_id.code)
        return local_b

    def _blind_transfer_rings(self, channel: Channel, a_chan: Channel) -> None:
        """The target of a blind transfer rings: on_b_dial, then on_cold_transfer."""
        redirector_chan = a_chan.marks.pending_blind_transfer
        a_chan.marks.pending_blind_transfer = None
        if redirector_chan is None:
            return
        redirector = redirector_chan.caller_id
        target_chans = _dialed(a_chan)
        targets = [party.caller_id for party in target_chans]
        for target in target_chans:
            if target is not channel:
                target.marks.b_dial_reported = True
        # The transfer app dials with a made-up extension; use the number
        # of the phone that rings instead.
        a_chan.exten = channel.caller_id.number or ""
        if redirector_chan.side == "A":
            # A transferred: B -> C remains; no b_dial had B as caller yet.
            self.tracker.b_dial(a_chan.uniqueid, redirector, a_chan.exten, targets)
        else:
            # B transferred: A -> C remains; a stand-in dial on B's id.
            self.tracker.b_dial(redirector_chan.uniqueid, redirector, redirector_chan.exten,
                                targets)
        self.tracker.cold_transfer(a_chan.uniqueid, redirector_chan.uniqueid, redirector,
                                   a_chan.caller_id, redirector_chan.exten, targets)

    def _attended_transfer(self, channel: Channel, target: Channel) -> None:
        if target.linked:
            # The redirector already talks with the target: attended.
            if len(channel.linked) != 1 or len(target.linked) != 1:
                self.tracker.trace(f"attended transfer by {channel.name}: expected one "
                                   f"bridged peer each, got {len(channel.linked)} and "
                                   f"{len(target.linked)}")
                return
            transferred = channel.linked[0]
            c_chan = target.linked[0]
            if channel.side == "B":
                old_a_chan = channel.linked[0]
            else:
                old_a_chan = channel
                channel.marks.hangup_reported = True
            self.tracker.warm_transfer(target.uniqueid, old_a_chan.uniqueid, target.caller_id,
                                       transferred.caller_id, c_chan.caller_id)
            return
        # Not talking with the target yet: a blonde transfer.
        if channel.side == "B":
            old_a_chan = dialing_channel(channel)
            new_caller = old_a_chan
        elif channel.side == "A":
            old_a_chan = channel
            dialed = _dialed(channel)
            if len(dialed) != 1:
                self.tracker.trace(f"blonde transfer by {channel.name}: expected one open "
                                   f"dial, found {len(dialed)}")
                return
            new_caller = dialed[0]
            channel.marks.hangup_reported = True
        else:
            return  # a channel with no side: nothing to report
        targets = [c_chan.caller_id for c_chan in _dialed(target)]
        self.tracker.cold_transfer(target.uniqueid, old_a_chan.uniqueid, target.caller_id,
                                   new_caller.caller_id, target.exten, targets)

    def _a_up(self, channel: Channel) -> None:
        channel.side = "A"
        if not channel.is_relevant:
            return
        for b_chan in _dialed(channel):
            if b_chan.is_up:
                self.tracker.up(channel.uniqueid, channel.caller_id, channel.exten,
                                b_chan.caller_id)

    def _b_up(self, channel: Channel) -> None:
        channel.side = "B"
        if not channel.is_relevant:
            return
        a_chan = dialing_channel(channel)
        if not a_chan.is_up:
            return
        if _is_connectab(a_chan):
            real_a = self._connectab_a(a_chan)
            if real_a is not None:
                self.tracker.up(real_a.uniqueid, real_a.caller_id, channel.caller_id.number,
                                channel.caller_id)
        else:
            self.tracker.up(a_chan.uniqueid, a_chan.caller_id, a_chan.exten, channel.caller_id)

    def _report_hangup(self, channel: Channel, record: ami.Hangup) -> None:
        marks = channel.marks
        redirector = marks.pending_blind_transfer
        if redirector is not None:
            # The blind transfer's target never rang (unreachable).
            marks.pending_blind_transfer = None
            if redirector.side == "A":
                a_side, b_side = redirector, channel
            else:
                a_side, b_side = channel, redirector
            self.tracker.hangup(a_side.uniqueid, a_side.caller_id, b_side.caller_id.number,
                                "completed", **hangup_details(channel, record))
        elif marks.hangup_reported:
            pass  # its call already ended with a transfer
        else:
            a_chan = dialing_channel(channel)
            if _is_connectab(a_chan):
                self._connectab_hangup(channel, a_chan, record, hangup_details(channel, record))
            elif channel.side == "A":
                reason = hangup_reason(record.cause, channel.is_up,
                                       unknown_causes=UNKNOWN_CAUSES_AMI1)
                self.tracker.hangup(channel.uniqueid, channel.caller_id, channel.exten, reason,
                                    **hangup_details(channel, record))

    def _connectab_hangup(self, channel: Channel, a_chan: Channel, record: ami.Hangup,
                          details: dict[str, Any]) -> None:
        local_a = dialing_channel(channel)
        local_b = local_a.fwd_local_bridge
        if local_b is None or not local_a.fwd_dials or not local_b.fwd_dials:
            return
        callee = local_a.fwd_dials[0]
        caller = local_b.fwd_dials[0]
        if callee.ami_state == AST_STATE_DOWN:
            return
        # Whoever hangs up first ends the call; the other's hangup is quiet.
        callee.marks.hangup_reported = True
        caller.marks.hangup_reported = True
        real_a = a_chan.fwd_local_bridge
        if real_a is None:
            return
        reason = hangup_reason(record.cause, callee.is_up, unknown_causes=UNKNOWN_CAUSES_AMI1)
        self.tracker.hangup(real_a.uniqueid,
                            caller.caller_id.replace(number=a_chan.caller_id.number),
                            callee.exten, reason, **details)
