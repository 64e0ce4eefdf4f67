"""AMI 2+ transfers: AttendedTransfer (every DestType) and BlindTransfer.

* Any ``Result`` but Success: nothing happened; report nothing and leave
  the calls as they were.
* ``DestType: Bridge``: attended transfer; the transferee and the target
  are given by ``TransfereeUniqueid``/``TransferTargetUniqueid`` (13.x
  without them: found in the destination bridge by Linkedid).
* ``DestType: App`` with ``DestApp: Dial`` (the target was still ringing):
  a blonde transfer. With another application (Wait, Queue, VoiceMail
  ...): an attended transfer to that extension (the destination is the
  extension number, as no phone answered).
* ``DestType: Link``: the two calls were joined through a Local channel
  pair: an attended transfer whose parties are found behind it.
* ``DestType: Threeway``: the transferer stays in a three-way bridge; not
  a transfer, nothing is reported.
* ``DestType: Fail``: nothing happened.
* ``BlindTransfer``: remembered on the transferee until its new dial rings;
  then reported as a blind transfer (its hangup before that ends the call).
  A blind transfer to a parking extension (a SIP REFER to 700) or to a
  conference room rings nobody: it is reported, with the extension as its
  target, when the transferee is parked (ParkedCall) or joins the room
  (ConfbridgeJoin), just before ``on_park`` / ``on_conference_join``.
* A transferer that holds the call (a DTMF feature code: Asterisk holds the
  transferee while the target is keyed or consulted) stops holding when its
  transfer completes: ``on_unhold`` just before the transfer.
* DTMF attended transfer (``*2``): Asterisk calls the target for the
  transferer through a ``Local/<target>`` pair it bridges with the
  transferer, with no Dial from the transferer. That consultation is the
  transferer's own call (``adopt_consultation``): on_b_dial/on_up with the
  transferer as the caller, merged by the AttendedTransfer.
"""
from __future__ import annotations

from ..bridges import Bridge
from ..callerid import CallerId
from .. import events as ami
from ..fsm.channel import Channel
from ..topology import bridge_peers, dialed_channels
from .states import StateRules


class TransferRules(StateRules):
    """The transfer handlers of Ami2Rules, its base class.

    A base class rather than a mixin: a compiled (mypyc) class may have
    one base only, and the method resolution order is the same.
    """

    #: Local ``;1`` Uniqueid -> (the transferer it calls for, that transferer's
    #: side before): DTMF consultation calls in progress (``adopt_consultation``)
    consultations: dict[str, tuple[Channel, str]]

    def _failed(self, result: str, what: str) -> bool:
        """A transfer whose Result is not Success changed nothing: trace it, say so."""
        if result and result != "Success":
            self.tracker.trace(f"{what} failed ({result}): the calls are unchanged")
            return True
        return False

    def on_blind_transfer(self, record: ami.BlindTransfer) -> None:
        if self._failed(record.result, f"blind transfer to {record.extension}"):
            return
        registry = self.tracker.channels
        transferer = registry.by_id(record.transferer, "BlindTransfer")
        transferee = registry.by_id(record.transferee, "BlindTransfer")
        self.end_hold(transferer)
        transferee.marks.pending_blind_transfer = transferer
        transferee.marks.up_reported = False
        transferer.marks.hangup_reported = True
        transferee.side = "A"
        transferee.exten = record.extension
        transferer.exten = record.extension

    def _blind_transfer_rings(self, channel: Channel, a_chan: Channel) -> None:
        transferer = a_chan.marks.pending_blind_transfer
        a_chan.marks.pending_blind_transfer = None
        if transferer is None:
            return
        target_chans = dialed_channels(a_chan, through_own_local=False)
        for target in target_chans:
            target.marks.b_dial_reported = True
        self.tracker.cold_transfer(
            a_chan.uniqueid, transferer.uniqueid, transferer.caller_id, a_chan.caller_id,
            a_chan.exten, [target.caller_id for target in target_chans], kind="blind")

    def _transfer_to_extension(self, transferee: Channel) -> Channel | None:
        """Report a pending blind transfer whose extension rings nobody; its transferer."""
        transferer = transferee.marks.pending_blind_transfer
        if transferer is None:
            return None
        transferee.marks.pending_blind_transfer = None
        target = CallerId(number=transferee.exten, is_public=True)
        self.tracker.cold_transfer(transferee.uniqueid, transferer.uniqueid,
                                   transferer.caller_id, transferee.caller_id,
                                   transferee.exten, [target], kind="blind")
        return transferer

    def park_transfer(self, parkee: Channel) -> Channel | None:
        """A REFER to the parking extension: the blind transfer, then the park."""
        return self._transfer_to_extension(parkee)

    def conference_transfer(self, channel: Channel) -> None:
        """A blind transfer into a conference room: reported as it joins."""
        self._transfer_to_extension(channel)

    def adopt_consultation(self, bridge: Bridge) -> None:
        """A real channel bridged with a Local ``;1`` nobody dialed: its consultation call.

        Asterisk's DTMF attended transfer makes a ``Local/<target>`` pair and
        bridges its ``;1`` half with the transferer, without a Dial: the
        transferer becomes the caller of that call (to the Local's
        extension), so its ringing and answer are reported like a dial.
        A Local ``;1`` that was dialed (a call forward, a queue member) is
        someone's dial target, not a consultation, even after the DialEnd
        that answered it has cleared its ``back_dial``.
        """
        peers = bridge.peers
        if len(peers) != 2:
            return
        real, local = peers if peers[1].is_local else (peers[1], peers[0])
        if (not local.is_local or real.is_local or not real.is_relevant
                or local.back_dial is not None or local.was_dialed or local.is_originated
                or local.fwd_local_bridge is None or local.back_local_bridge is not None):
            return
        local.back_dial = real
        if local not in real.fwd_dials:
            real.fwd_dials.append(local)
        self.consultations[local.uniqueid] = (real, real.side)
        real.side = "A"
        real.exten = local.exten
        real.marks.up_reported = False

    def end_consultation(self, local: Channel) -> None:
        """The Local half of a DTMF consultation hung up: that call is over.

        After a completed transfer it was merged and nothing is left to say.
        Aborted (the target did not answer, or the transferer went back):
        the transferer's consultation call ends ('completed' if the target
        had answered, else 'cancelled') and the transferer is again what it
        was in its first call. A caller that consulted used its own call's
        id for both: that call goes on.
        """
        found = self.consultations.pop(local.uniqueid, None)
        if found is None:
            return
        real, side = found
        if side == "A" or real.uniqueid not in self.tracker.channels:
            return
        call = self.tracker.calls.find(real.uniqueid)
        if call is not None and not call.is_final:
            reason = "completed" if real.marks.up_reported else "cancelled"
            self.tracker.hangup(real.uniqueid, real.caller_id, real.exten, reason)
        real.side = side
        real.marks.up_reported = False

    def on_attended_transfer(self, record: ami.AttendedTransfer) -> None:
        if self._failed(record.result, "attended transfer"):
            return
        registry = self.tracker.channels
        orig = registry.by_id(record.orig_transferer, "AttendedTransfer")
        second = registry.by_id(record.second_transferer, "AttendedTransfer")
        dest_type = record.dest_type
        if dest_type not in ("Threeway", "Fail"):
            self.end_hold(orig)
            self.end_hold(second)
        second_bridge = self.tracker.bridges.find(record.second_bridge)
        if (dest_type in ("Bridge", "Link") and second_bridge is not None
                and second_bridge.is_conference):
            # into a conference room: no one party answered; the target is
            # the room's extension, as for a transfer to an application
            self._attended_to_app(record, orig, second)
        elif dest_type in ("Bridge", "Link"):
            self._attended_to_bridge(record, orig, second)
        elif dest_type == "App" and record.dest_app == "Dial":
            self._blonde(record, orig, second)
        elif dest_type == "App":
            self._attended_to_app(record, orig, second)
        elif dest_type == "Threeway":
            self.tracker.trace(f"{second.name} made a three-way call: not a transfer")
        else:
            self.tracker.trace(f"attended transfer with DestType {dest_type!r}: "
                               f"nothing was transferred")

    def _other_party(self, channel: Channel) -> Channel | None:
        """The one real party talking with ``channel`` (None if not exactly one)."""
        peers = [peer for peer in bridge_peers(channel) if peer is not channel]
        return peers[0] if len(peers) == 1 else None

    def _transferee(self, record: ami.AttendedTransfer, orig: Channel) -> Channel | None:
        """Who is being transferred: named by Asterisk, else orig's bridge partner."""
        if record.transferee:
            found = self.tracker.channels.find(record.transferee, None)
            if found is not None and not found.is_local:
                return found
        return self._other_party(orig)

    def _parties(self, record: ami.AttendedTransfer, orig: Channel,
                 second: Channel) -> tuple[Channel, Channel] | None:
        """Transferee and target of an attended transfer.

        Asterisk 13.x+ names them (TransfereeUniqueid, TransferTargetUniqueid);
        older 13 releases do not, then the destination bridge is searched by
        Linkedid (as cacofonisk 0.7 did); failing that, each transferer's
        bridge partner is taken (works for DestType Link too).
        """
        registry = self.tracker.channels
        transferee = registry.find(record.transferee, None) if record.transferee else None
        target = registry.find(record.transfer_target, None) if record.transfer_target else None
        if transferee is None or target is None:
            bridge = self.tracker.bridges.find(record.dest_bridge) if record.dest_bridge else None
            peers = list(bridge.peers) if bridge is not None else []
            if len(peers) >= 2 and peers[0].linkedid == record.orig_transferer_linkedid:
                transferee, target = peers[0], peers[1]
            elif len(peers) >= 2 and peers[1].linkedid == record.orig_transferer_linkedid:
                transferee, target = peers[1], peers[0]
            else:
                transferee = transferee or self._other_party(orig)
                target = target or self._other_party(second)
        if transferee is None or target is None:
            self.tracker.trace("attended transfer: cannot tell transferee and target; "
                               "nothing reported")
            return None
        if transferee.is_local:
            for peer in bridge_peers(transferee):
                if peer not in (target, second, orig):
                    transferee = peer
        if target.is_local:
            for peer in bridge_peers(target):
                if peer not in (transferee, second, orig):
                    target = peer
        return transferee, target

    def _end_transferer_calls(self, orig: Channel, second: Channel) -> None:
        orig.marks.hangup_reported = True
        second.marks.hangup_reported = True

    def _merged_id(self, transferee: Channel, orig: Channel, second: Channel) -> str:
        """The transferer's call that ends: the one not led by the transferee."""
        for chan in (orig, second):
            if chan.side == "A" and chan.uniqueid != transferee.uniqueid:
                return chan.uniqueid
        return second.uniqueid

    def _merge_rest(self, call_id: str, orig: Channel, second: Channel) -> None:
        for chan in (orig, second):
            if chan.uniqueid != call_id:
                self.tracker.merge(chan.uniqueid, call_id)

    def _attended_to_bridge(self, record: ami.AttendedTransfer, orig: Channel,
                            second: Channel) -> None:
        parties = self._parties(record, orig, second)
        if parties is None:
            return
        transferee, target = parties
        transferee.side = "A"
        transferee.exten = (record.second_transferer_exten or record.orig_transferer_exten
                            or record.transfer_target_num)
        target.side = ""
        merged_id = self._merged_id(transferee, orig, second)
        # the target's own call, if it led one, is over too: it now talks in
        # the transferee's call
        self.tracker.warm_transfer(transferee.uniqueid, merged_id, second.caller_id,
                                   transferee.caller_id, target.caller_id,
                                   ends=(orig.uniqueid, second.uniqueid, target.uniqueid))
        self._merge_rest(transferee.uniqueid, orig, second)
        self._end_transferer_calls(orig, second)

    def _attended_to_app(self, record: ami.AttendedTransfer, orig: Channel,
                         second: Channel) -> None:
        """Transfer to an extension that runs an application (no phone answered)."""
        transferee = self._transferee(record, orig)
        if transferee is None:
            self.tracker.trace("attended transfer to an application: cannot tell "
                               "the transferee; nothing reported")
            return
        exten = record.second_transferer_exten or second.exten
        transferee.side = "A"
        transferee.exten = exten
        destination = CallerId(number=exten, is_public=True)
        merged_id = self._merged_id(transferee, orig, second)
        self.tracker.warm_transfer(transferee.uniqueid, merged_id, second.caller_id,
                                   transferee.caller_id, destination,
                                   ends=(orig.uniqueid, second.uniqueid))
        self._merge_rest(transferee.uniqueid, orig, second)
        self._end_transferer_calls(orig, second)

    def _blonde(self, record: ami.AttendedTransfer, orig: Channel, second: Channel) -> None:
        transferee = self._transferee(record, orig)
        if transferee is None:
            self.tracker.trace("blonde transfer: cannot tell the transferee; nothing reported")
            return
        transferee.marks.up_reported = False
        transferee.side = "A"
        transferee.exten = second.exten
        targets = dialed_channels(second, through_own_local=False)
        for chan in dialed_channels(transferee, through_own_local=False):
            if chan not in targets:
                targets.append(chan)
        merged_id = self._merged_id(transferee, orig, second)
        self.tracker.cold_transfer(transferee.uniqueid, merged_id, second.caller_id,
                                   transferee.caller_id, transferee.exten,
                                   [chan.caller_id for chan in targets], kind="blonde",
                                   ends=(orig.uniqueid, second.uniqueid))
        self._merge_rest(transferee.uniqueid, orig, second)
        self._end_transferer_calls(orig, second)
