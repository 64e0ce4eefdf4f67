"""A model of what Asterisk 1.8-11 (AMI 1.x) sends, as in the ami1 recordings.

The recordings (``../shared/conformance/ami1``) come from VoIPGRID's
dialplan of 2015-2017: a phone's channel is ``SIP/<account code>-<n>``;
every phone is dialed through a Local channel pair
(``Local/ID<n>@osvpi_route_phoneaccount-<n>;1`` / ``;2``), and once the
phone answers Asterisk optimizes the pair away with a Masquerade (the
phone's channel takes over the ``;1`` half's Uniqueid; three Renames and a
``<ZOMBIE>`` hang-up follow). AMI 1.x events carry few headers (no channel
snapshot, no Linkedid): ``Dial`` (``SubEvent: Begin|End``, ``UniqueID``,
``DestUniqueID``), ``Bridge`` (``Bridgestate: Link|Unlink``), ``Masquerade``,
``Rename``, ``Transfer``.

``Pbx1`` appends those events for primitive steps; ``sim_flows1.py``
composes them into flows.
"""
from __future__ import annotations

from typing import Any

from .sim_ami2 import CAUSE_TXT, STATE_DESC
from .sim_base import Ids, Party

ROUTE_CONTEXT = "osvpi_route_phoneaccount"
PHONE_CONTEXT = "osvpi_account"
ALLOWED = "0 (Presentation Allowed, Not Screened)"
SCREENED = "1 (Presentation Allowed, Passed Screen)"
PROHIBITED = "33 (Presentation Prohibited, Passed Screen)"


class Chan1:
    """One simulated AMI 1.x channel."""

    __slots__ = ("name", "uniqueid", "cid_num", "cid_name", "account", "exten", "state")

    def __init__(self, name: str, uniqueid: str, *, cid_num: str, cid_name: str,
                 account: str, exten: str, state: int) -> None:
        self.name = name
        self.uniqueid = uniqueid
        self.cid_num = cid_num
        self.cid_name = cid_name
        self.account = account
        self.exten = exten
        self.state = state

    def __repr__(self) -> str:
        return f"<Chan1 {self.name} {self.uniqueid}>"


def device(who: Party) -> str:
    """VoIPGRID names a phone's SIP peer after its account code."""
    return who.account or who.number


class Pbx1:
    """Appends AMI 1.x events for primitive steps.

    Attributes:
        events: the events so far.
        swappable: indices i where events i and i+1 may come in either order.
        uniqueids: every channel created.
    """

    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        self.events: list[dict[str, Any]] = []
        self.swappable: set[int] = set()
        self.uniqueids: list[str] = []

    def emit(self, event: str, privilege: str = "call,all", **fields: str) -> None:
        """Append one event."""
        out: dict[str, Any] = {"Event": event, "Privilege": privilege}
        out.update(fields)
        self.events.append(out)

    def new_channel(self, name: str, *, cid_num: str, cid_name: str, account: str, exten: str,
             state: int, context: str) -> Chan1:
        """Newchannel of any channel (1.x headers: no Linkedid, no snapshot)."""
        chan = Chan1(name, self.ids.uniqueid(), cid_num=cid_num, cid_name=cid_name,
                     account=account, exten=exten, state=state)
        self.uniqueids.append(chan.uniqueid)
        self.emit("Newchannel", Channel=chan.name, ChannelState=str(state),
                  ChannelStateDesc=STATE_DESC[state], CallerIDNum=cid_num,
                  CallerIDName=cid_name, AccountCode=account, Exten=exten, Context=context,
                  Uniqueid=chan.uniqueid)
        return chan

    # -- channels -----------------------------------------------------------------

    def phone_in(self, who: Party, exten: str) -> Chan1:
        """A phone calls: Newchannel (CallerIDNum = account code), Ring, then the
        dialplan sets the caller's name and internal number (two NewCallerid)."""
        dev = device(who)
        chan = self.new_channel(f"{who.tech}/{dev}-{self.ids.suffix(who.tech)}", cid_num=dev,
                         cid_name="", account=who.account, exten=exten, state=0,
                         context=PHONE_CONTEXT)
        self.newstate(chan, 4)
        pres = SCREENED if who.public else PROHIBITED
        self.callerid(chan, dev, who.name, pres)
        self.callerid(chan, who.number, who.name, pres)
        return chan

    def phone_out(self, who: Party, shown: str) -> Chan1:
        """The channel to a phone; the dialplan shows it the dialed number ``shown``."""
        dev = device(who)
        chan = self.new_channel(f"{who.tech}/{dev}-{self.ids.suffix(who.tech)}", cid_num="",
                         cid_name="", account=who.account, exten="", state=0,
                         context=PHONE_CONTEXT)
        self.callerid(chan, shown, "", ALLOWED)
        return chan

    def route(self, who: Party, shown: str) -> tuple[Chan1, Chan1]:
        """The Local pair VoIPGRID dials a phone through (``;1`` shows ``shown``)."""
        exten = f"ID{device(who)[-6:]}"
        base = f"Local/{exten}@{ROUTE_CONTEXT}-{self.ids.suffix('Local')}"
        one = self.new_channel(base + ";1", cid_num="", cid_name="", account="", exten=exten,
                        state=0, context=ROUTE_CONTEXT)
        two = self.new_channel(base + ";2", cid_num="", cid_name="", account="", exten=exten,
                        state=4, context=ROUTE_CONTEXT)
        self.callerid(one, shown, "", ALLOWED)
        return one, two

    def local_bridge(self, one: Chan1, two: Chan1) -> None:
        """LocalBridge (1.x headers: Channel1/2, Uniqueid1/2)."""
        self.emit("LocalBridge", Channel1=one.name, Channel2=two.name,
                  Uniqueid1=one.uniqueid, Uniqueid2=two.uniqueid, Context=ROUTE_CONTEXT,
                  Exten=one.exten, LocalOptimization="Yes")

    def newstate(self, chan: Chan1, state: int) -> None:
        """Newstate."""
        chan.state = state
        self.emit("Newstate", Channel=chan.name, ChannelState=str(state),
                  ChannelStateDesc=STATE_DESC[state], CallerIDNum=chan.cid_num,
                  CallerIDName=chan.cid_name, ConnectedLineNum="", ConnectedLineName="",
                  Uniqueid=chan.uniqueid)

    def callerid(self, chan: Chan1, number: str, name: str, pres: str = ALLOWED) -> None:
        """NewCallerid."""
        chan.cid_num, chan.cid_name = number, name
        self.emit("NewCallerid", Channel=chan.name, CallerIDNum=number, CallerIDName=name,
                  Uniqueid=chan.uniqueid, **{"CID-CallingPres": pres})

    def account_code(self, chan: Chan1, account: str) -> None:
        """NewAccountCode."""
        chan.account = account
        self.emit("NewAccountCode", Channel=chan.name, Uniqueid=chan.uniqueid,
                  AccountCode=account, OldAccountCode=account)

    def user_event(self, chan: Chan1, name: str, **fields: str) -> None:
        """UserEvent(name, ...) from the channel's dialplan."""
        self.emit("UserEvent", "user,all", UserEvent=name, Uniqueid=chan.uniqueid,
                  Channel=chan.name, **fields)

    # -- dials and bridges -------------------------------------------------------------

    def dial_begin(self, src: Chan1, dest: Chan1, dial_string: str) -> None:
        """Dial SubEvent Begin."""
        self.emit("Dial", SubEvent="Begin", Channel=src.name, Destination=dest.name,
                  CallerIDNum=src.cid_num, CallerIDName=src.cid_name or "<unknown>",
                  ConnectedLineNum="<unknown>", ConnectedLineName="<unknown>",
                  UniqueID=src.uniqueid, DestUniqueID=dest.uniqueid, Dialstring=dial_string)

    def dial_end(self, src: Chan1, status: str) -> None:
        """Dial SubEvent End with the DialStatus."""
        self.emit("Dial", SubEvent="End", Channel=src.name, UniqueID=src.uniqueid,
                  DialStatus=status)

    def bridge(self, state: str, one: Chan1, two: Chan1) -> None:
        """Bridge Link / Unlink of two channels."""
        self.emit("Bridge", Bridgestate=state, Bridgetype="core", Channel1=one.name,
                  Channel2=two.name, Uniqueid1=one.uniqueid, Uniqueid2=two.uniqueid,
                  CallerID1=one.cid_num, CallerID2=two.cid_num)

    def masquerade(self, clone: Chan1, original: Chan1) -> Chan1:
        """The clone's guts move into the original; returns the clone's zombie.

        Afterwards ``original`` carries the clone's name and caller ID (under
        its own Uniqueid); the zombie (the clone's Uniqueid, named
        ``<original>;<ZOMBIE>``) is hung up by the caller of this method.
        """
        self.emit("Masquerade", Clone=clone.name, CloneState=STATE_DESC[clone.state],
                  Original=original.name, OriginalState=STATE_DESC[original.state])
        masq = clone.name + "<MASQ>"
        self.emit("Rename", Channel=clone.name, Newname=masq, Uniqueid=clone.uniqueid)
        self.emit("Rename", Channel=original.name, Newname=clone.name,
                  Uniqueid=original.uniqueid)
        zombie = Chan1(original.name + "<ZOMBIE>", clone.uniqueid, cid_num=clone.cid_num,
                       cid_name="", account=clone.account, exten="", state=clone.state)
        self.emit("Rename", Channel=masq, Newname=zombie.name, Uniqueid=clone.uniqueid)
        original.name = clone.name
        original.account = clone.account
        self.callerid(original, clone.cid_num, clone.cid_name, ALLOWED)
        return zombie

    # -- hangups ------------------------------------------------------------------------

    def hangup_request(self, chan: Chan1) -> None:
        """HangupRequest (1.x: no cause)."""
        self.emit("HangupRequest", Channel=chan.name, Uniqueid=chan.uniqueid)

    def soft_hangup_request(self, chan: Chan1, cause: int = 16) -> None:
        """SoftHangupRequest."""
        self.emit("SoftHangupRequest", Channel=chan.name, Uniqueid=chan.uniqueid,
                  Cause=str(cause))

    def hangup(self, chan: Chan1, cause: int = 16) -> None:
        """Hangup."""
        self.emit("Hangup", Channel=chan.name, Uniqueid=chan.uniqueid,
                  CallerIDNum=chan.cid_num, CallerIDName=chan.cid_name or "<unknown>",
                  ConnectedLineNum="<unknown>", ConnectedLineName="<unknown>",
                  AccountCode=chan.account, Cause=str(cause),
                  **{"Cause-txt": CAUSE_TXT.get(cause, "Unknown")})

    def transfer(self, kind: str, chan: Chan1, target: Chan1, exten: str = "") -> None:
        """Transfer (TransferType Blind or Attended, by SIP REFER)."""
        fields = {"TransferType": kind, "TransferMethod": "SIP", "Channel": chan.name,
                  "Uniqueid": chan.uniqueid, "TargetChannel": target.name,
                  "TargetUniqueid": target.uniqueid}
        if exten:
            fields.update(TransferExten=exten, TransferContext="osvpi_account_transfer")
        self.emit("Transfer", **fields)
