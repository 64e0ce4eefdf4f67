"""A model of what Asterisk 12-22 (AMI 2+) sends: channels, dials, bridges.

``Pbx2`` keeps the channels of one simulated server and appends the events
Asterisk publishes for each primitive step (a channel is created, a dial
begins, a bridge is entered ...), with the headers of the lab recordings
(Asterisk 22.10, PJSIP): every channel event carries the full channel
snapshot (``Channel``, ``ChannelState``, ``ChannelStateDesc``,
``CallerIDNum``, ``CallerIDName``, ``ConnectedLineNum``,
``ConnectedLineName``, ``Language``, ``AccountCode``, ``Context``,
``Exten``, ``Priority``, ``Uniqueid``, ``Linkedid``), dial events add the
``Dest``-prefixed snapshot of the dialed channel, transfer events the
``Transferer``/``Transferee``/``OrigTransferer`` ... prefixed ones.

The flows (``sim_flows2.py``) are written with these primitives in the
order the recordings show. Pure noise (VarSet, Newexten, DeviceStateChange,
RTCP) is not emitted here; ``strategies.noise_events`` adds it.
"""
from __future__ import annotations

from typing import Any

from .sim_base import Ids, Party

STATE_DESC = {0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing",
              6: "Up", 7: "Busy"}

CAUSE_TXT = {0: "Unknown", 1: "Unallocated (unassigned) number", 16: "Normal Clearing",
             17: "User busy", 18: "No user responding", 19: "User alerting, no answer",
             21: "Call Rejected", 26: "Answered elsewhere", 127: "Interworking, unspecified"}

UNKNOWN = "<unknown>"


class Chan:
    """One simulated channel: the snapshot Asterisk puts on its events."""

    __slots__ = ("name", "uniqueid", "linkedid", "cid_num", "cid_name", "con_num",
                 "con_name", "account", "context", "exten", "priority", "state", "party")

    def __init__(self, name: str, uniqueid: str, linkedid: str, *, cid_num: str,
                 cid_name: str, account: str, context: str, exten: str, state: int,
                 party: Party | None) -> None:
        self.name = name
        self.uniqueid = uniqueid
        self.linkedid = linkedid
        self.cid_num = cid_num
        self.cid_name = cid_name
        self.con_num = UNKNOWN
        self.con_name = UNKNOWN
        self.account = account
        self.context = context
        self.exten = exten
        self.priority = 1
        self.state = state
        self.party = party

    def __repr__(self) -> str:
        return f"<Chan {self.name} {self.uniqueid}>"


class Bridge:
    """One simulated basic bridge."""

    __slots__ = ("uniqueid", "members")

    def __init__(self, uniqueid: str) -> None:
        self.uniqueid = uniqueid
        self.members: list[Chan] = []


class Pbx2:
    """Appends AMI 2 events for primitive steps, keeping channel snapshots.

    Args:
        ids: the id allocator (share one between scenarios that run together).
        context: the dialplan context phones call from.

    Attributes:
        events: the events so far.
        swappable: indices i where events i and i+1 may come in either order.
        uniqueids: every channel created.
    """

    def __init__(self, ids: Ids, context: str = "internal") -> None:
        self.ids = ids
        self.context = context
        self.events: list[dict[str, Any]] = []
        self.swappable: set[int] = set()
        self.bursts: list[tuple[int, int]] = []
        self.uniqueids: list[str] = []

    # -- raw emission -----------------------------------------------------------

    def emit(self, event: str, privilege: str = "call,all", **fields: str) -> dict[str, Any]:
        """Append one event (header order as Asterisk: Event, Privilege, SystemName ...)."""
        out: dict[str, Any] = {"Event": event, "Privilege": privilege,
                               "SystemName": self.ids.system}
        out.update(fields)
        self.events.append(out)
        return out

    def burst_from(self, first: int) -> None:
        """Mark events ``first`` .. the last one as one dial burst."""
        self.bursts.append((first, len(self.events) - 1))

    def swap_last(self) -> None:
        """Mark the last two events as a pair Asterisk sends in either order."""
        self.swappable.add(len(self.events) - 2)

    @staticmethod
    def snap(chan: Chan, prefix: str = "") -> dict[str, str]:
        """The channel snapshot headers, optionally prefixed (``Dest``, ``Transferee``)."""
        return {
            f"{prefix}Channel": chan.name,
            f"{prefix}ChannelState": str(chan.state),
            f"{prefix}ChannelStateDesc": STATE_DESC[chan.state],
            f"{prefix}CallerIDNum": chan.cid_num or UNKNOWN,
            f"{prefix}CallerIDName": chan.cid_name or UNKNOWN,
            f"{prefix}ConnectedLineNum": chan.con_num or UNKNOWN,
            f"{prefix}ConnectedLineName": chan.con_name or UNKNOWN,
            f"{prefix}Language": "en",
            f"{prefix}AccountCode": chan.account,
            f"{prefix}Context": chan.context,
            f"{prefix}Exten": chan.exten,
            f"{prefix}Priority": str(chan.priority),
            f"{prefix}Uniqueid": chan.uniqueid,
            f"{prefix}Linkedid": chan.linkedid,
        }

    @staticmethod
    def bridge_snap(bridge: Bridge, prefix: str = "") -> dict[str, str]:
        """The bridge snapshot headers."""
        return {
            f"{prefix}BridgeUniqueid": bridge.uniqueid,
            f"{prefix}BridgeType": "basic",
            f"{prefix}BridgeTechnology": "simple_bridge",
            f"{prefix}BridgeCreator": UNKNOWN,
            f"{prefix}BridgeName": UNKNOWN,
            f"{prefix}BridgeNumChannels": str(len(bridge.members)),
            f"{prefix}BridgeVideoSourceMode": "none",
        }

    # -- channels -----------------------------------------------------------------

    def _chan(self, tech: str, device: str, *, linkedid: str | None, **kw: Any) -> Chan:
        uniqueid = self.ids.uniqueid()
        name = f"{tech}/{device}-{self.ids.suffix(tech)}"
        chan = Chan(name, uniqueid, linkedid or uniqueid, **kw)
        self.uniqueids.append(uniqueid)
        return chan

    def phone_in(self, who: Party, exten: str, *, state: int = 4) -> Chan:
        """A phone starts a call: Newchannel in state Ring, its own Linkedid.

        A phone whose number is hidden gets the NewCallerid the dialplan's
        ``Set(CALLERID(pres)=prohib)`` causes.
        """
        chan = self._chan(who.tech, who.device, linkedid=None, cid_num=who.number,
                          cid_name=who.name, account=who.account, context=self.context,
                          exten=exten, state=state, party=who)
        self.emit("Newchannel", **self.snap(chan))
        if not who.public:
            self.emit("NewCallerid", **self.snap(chan),
                      **{"CID-CallingPres": "32 (Presentation Prohibited, Not Screened)"})
        return chan

    def phone_originated(self, who: Party) -> Chan:
        """AMI Originate creates the channel to a phone: Down, its own Linkedid."""
        chan = self._chan(who.tech, who.device, linkedid=None, cid_num=who.number,
                          cid_name=who.name, account=who.account, context=self.context,
                          exten="s", state=0, party=who)
        self.emit("Newchannel", **self.snap(chan))
        if not who.public:
            self.emit("NewCallerid", **self.snap(chan),
                      **{"CID-CallingPres": "32 (Presentation Prohibited, Not Screened)"})
        return chan

    def phone_out(self, who: Party, linked: Chan, *, exten: str = "s") -> Chan:
        """Asterisk creates the channel to a dialed phone: Newchannel in state Down."""
        chan = self._chan(who.tech, who.device, linkedid=linked.linkedid, cid_num=who.number,
                          cid_name=who.name, account=who.account, context=self.context,
                          exten=exten, state=0, party=who)
        self.emit("Newchannel", **self.snap(chan))
        return chan

    def local_pair(self, exten: str, linked: Chan) -> tuple[Chan, Chan]:
        """Dial(Local/<exten>@<context>): the ``;1`` (Down) and ``;2`` (Ring) halves."""
        base = f"{exten}@{self.context}"
        suffix = self.ids.suffix("Local")
        halves = []
        for half, state in ((";1", 0), (";2", 4)):
            uniqueid = self.ids.uniqueid()
            chan = Chan(f"Local/{base}-{suffix}{half}", uniqueid, linked.linkedid, cid_num="",
                        cid_name="", account="", context=self.context, exten=exten,
                        state=state, party=None)
            self.uniqueids.append(uniqueid)
            self.emit("Newchannel", **self.snap(chan))
            halves.append(chan)
        return halves[0], halves[1]

    def local_bridge(self, one: Chan, two: Chan) -> None:
        """LocalBridge: the two halves of a Local channel are joined."""
        self.emit("LocalBridge", **self.snap(one, "LocalOne"), **self.snap(two, "LocalTwo"),
                  Context=self.context, Exten=two.exten, LocalOptimization="Yes")

    def newstate(self, chan: Chan, state: int) -> None:
        """Newstate: the channel's state changes (5 Ringing, 6 Up)."""
        chan.state = state
        self.emit("Newstate", **self.snap(chan))

    def callerid(self, chan: Chan, number: str, name: str) -> None:
        """NewCallerid: the caller ID on a channel changes."""
        chan.cid_num, chan.cid_name = number, name
        self.emit("NewCallerid", **self.snap(chan),
                  **{"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"})

    def account_code(self, chan: Chan, account: str) -> None:
        """NewAccountCode: Dial copies the caller's account code to the channel it dials."""
        old, chan.account = chan.account, account
        self.emit("NewAccountCode", **self.snap(chan), OldAccountCode=old)

    def connected_line(self, chan: Chan, other: Chan) -> None:
        """NewConnectedLine: the channel now shows ``other``'s caller ID."""
        chan.con_num, chan.con_name = other.cid_num, other.cid_name
        self.emit("NewConnectedLine", **self.snap(chan))

    def prepare_dial(self, caller: Chan, dest: Chan) -> None:
        """What Dial() does to a new outgoing channel before calling it."""
        dest.exten = caller.exten
        dest.con_num, dest.con_name = caller.cid_num, caller.cid_name
        self.account_code(dest, caller.account)
        self.emit("NewConnectedLine", **self.snap(dest))

    def user_event(self, chan: Chan, name: str, **fields: str) -> None:
        """UserEvent(name, key: value) from the channel's dialplan."""
        self.emit("UserEvent", "user,all", **self.snap(chan), UserEvent=name, **fields)

    # -- dials ----------------------------------------------------------------------

    def _dial(self, event: str, src: Chan | None, dest: Chan, **extra: str) -> None:
        fields: dict[str, str] = {}
        if src is not None:
            fields.update(self.snap(src))
        fields.update(self.snap(dest, "Dest"))
        fields.update(extra)
        self.emit(event, **fields)

    def dial_begin(self, src: Chan | None, dest: Chan, dial_string: str) -> None:
        """DialBegin (no source for the first leg of an Originate)."""
        if src is not None:
            src.priority = 2
        self._dial("DialBegin", src, dest, DialString=dial_string)

    def dial_state(self, src: Chan | None, dest: Chan, status: str) -> None:
        """DialState: RINGING / PROGRESS / PROCEEDING."""
        self._dial("DialState", src, dest, DialStatus=status)

    def dial_end(self, src: Chan | None, dest: Chan, status: str) -> None:
        """DialEnd with the DialStatus (ANSWER, BUSY, CANCEL, NOANSWER ...)."""
        self._dial("DialEnd", src, dest, DialStatus=status)

    # -- bridges --------------------------------------------------------------------

    def bridge_create(self) -> Bridge:
        """BridgeCreate: a new basic bridge."""
        bridge = Bridge(self.ids.bridge())
        self.emit("BridgeCreate", **self.bridge_snap(bridge))
        return bridge

    def bridge_enter(self, bridge: Bridge, chan: Chan, swap: Chan | None = None) -> None:
        """BridgeEnter (``SwapUniqueid``: the channel it replaces in the bridge)."""
        bridge.members.append(chan)
        extra = {"SwapUniqueid": swap.uniqueid} if swap is not None else {}
        self.emit("BridgeEnter", **self.bridge_snap(bridge), **self.snap(chan), **extra)

    def bridge_leave(self, bridge: Bridge, chan: Chan) -> None:
        """BridgeLeave."""
        if chan in bridge.members:
            bridge.members.remove(chan)
        self.emit("BridgeLeave", **self.bridge_snap(bridge), **self.snap(chan))

    def bridge_destroy(self, bridge: Bridge) -> None:
        """BridgeDestroy."""
        self.emit("BridgeDestroy", **self.bridge_snap(bridge))

    # -- hangups --------------------------------------------------------------------

    @staticmethod
    def _cause(cause: int, tech_cause: int | None) -> dict[str, str]:
        fields = {"Cause": str(cause)}
        if tech_cause is not None:
            fields["TechCause"] = str(tech_cause)
        return fields

    def hangup_request(self, chan: Chan, cause: int = 16, tech_cause: int | None = None) -> None:
        """HangupRequest: the party itself hung up."""
        self.emit("HangupRequest", **self.snap(chan), **self._cause(cause, tech_cause))

    def soft_hangup_request(self, chan: Chan, cause: int = 16,
                            tech_cause: int | None = None) -> None:
        """SoftHangupRequest: Asterisk asks the channel to hang up."""
        self.emit("SoftHangupRequest", **self.snap(chan), **self._cause(cause, tech_cause))

    def hangup(self, chan: Chan, cause: int = 16, tech_cause: int | None = None) -> None:
        """Hangup: the channel is gone."""
        fields = {"Cause": str(cause), "Cause-txt": CAUSE_TXT.get(cause, "Unknown")}
        if tech_cause is not None:
            fields["TechCause"] = str(tech_cause)
        self.emit("Hangup", **self.snap(chan), **fields)

    # -- transfers and friends ------------------------------------------------------

    def blind_transfer(self, transferer: Chan, transferee: Chan, bridge: Bridge,
                       exten: str) -> None:
        """BlindTransfer (a SIP REFER without Replaces)."""
        self.emit("BlindTransfer", Result="Success", **self.snap(transferer, "Transferer"),
                  **self.snap(transferee, "Transferee"), **self.bridge_snap(bridge),
                  IsExternal="Yes", Context=self.context, Extension=exten)

    def attended_transfer(self, orig: Chan, orig_bridge: Bridge, second: Chan,
                          second_bridge: Bridge | None, transferee: Chan,
                          target: Chan | None, *, dest_type: str,
                          dest_app: str = "", dest_bridge: Bridge | None = None) -> None:
        """AttendedTransfer (a SIP REFER with Replaces), DestType Bridge or App."""
        fields: dict[str, str] = {"Result": "Success"}
        fields.update(self.snap(orig, "OrigTransferer"))
        fields.update(self.bridge_snap(orig_bridge, "Orig"))
        fields.update(self.snap(second, "SecondTransferer"))
        if second_bridge is not None:
            fields.update(self.bridge_snap(second_bridge, "Second"))
        fields.update(self.snap(transferee, "Transferee"))
        if target is not None:
            fields.update(self.snap(target, "TransferTarget"))
        fields["IsExternal"] = "No"
        fields["DestType"] = dest_type
        if dest_app:
            fields["DestApp"] = dest_app
        if dest_bridge is not None:
            fields["DestBridgeUniqueid"] = dest_bridge.uniqueid
        self.emit("AttendedTransfer", **fields)

    def pickup(self, chan: Chan, target: Chan) -> None:
        """Pickup: ``chan`` picked up the ringing ``target``."""
        self.emit("Pickup", **self.snap(chan), **self.snap(target, "Target"))

    def hold(self, chan: Chan, on: bool = True) -> None:
        """Hold / Unhold of a channel (a re-INVITE with sendonly / sendrecv)."""
        if on:
            self.emit("Hold", **self.snap(chan), MusicClass="default")
        else:
            self.emit("Unhold", **self.snap(chan))

    def queue_event(self, event: str, chan: Chan, queue: str, **fields: str) -> None:
        """QueueCallerJoin / QueueCallerLeave / QueueCallerAbandon of the caller."""
        self.emit(event, "agent,all", **self.snap(chan), Queue=queue, **fields)

    def agent_event(self, event: str, caller: Chan, member: Chan, queue: str,
                    member_name: str, **fields: str) -> None:
        """AgentCalled / AgentConnect / AgentComplete (caller + ``Dest`` member)."""
        self.emit(event, "agent,all", **self.snap(caller), **self.snap(member, "Dest"),
                  Queue=queue, Interface=member.name.rsplit("-", 1)[0],
                  MemberName=member_name, **fields)


# -- the end of a two-party bridge -------------------------------------------------

#: Orders Asterisk publishes the end of a two-party call in, when the party
#: that hangs up ('h') is the one that ran Dial() (the dialer, 'd' = 'h'):
#: each is seen in a lab recording (named in the comment). HR: HangupRequest,
#: BL: BridgeLeave, SHR: SoftHangupRequest of the dialer, BD: BridgeDestroy,
#: HU: Hangup; 'o' is the other party.
TEARDOWN_DIALER_HANGS_UP: tuple[tuple[str, ...], ...] = (
    ("HRh", "BLh", "SHRd", "BLo", "BD", "HUh", "HUo"),   # simple_answered_a_hangup
    ("HRh", "BLh", "SHRd", "BLo", "BD", "HUo", "HUh"),   # hold_unhold, pickup
    ("HRh", "BLh", "BLo", "BD", "SHRd", "HUo", "HUh"),   # user_event
    ("HRh", "BLh", "BLo", "HUo", "BD", "SHRd", "HUh"),   # ring_group
    ("HRh", "BLh", "SHRd", "BLo", "HUh", "BD", "HUo"),   # queue
    ("HRh", "BLh", "SHRd", "HUh", "BLo", "BD", "HUo"),   # attended_transfer
)

#: The same when the other party ran Dial() (the callee hangs up).
TEARDOWN_OTHER_HANGS_UP: tuple[tuple[str, ...], ...] = (
    ("HRh", "BLh", "BLo", "BD", "SHRd", "HUh", "HUo"),   # originate
    ("HRh", "BLh", "BLo", "BD", "SHRd", "HUo", "HUh"),
)

#: Neither party runs an application any more (after an attended transfer).
TEARDOWN_NO_DIALER: tuple[tuple[str, ...], ...] = (
    ("HRh", "BLh", "BLo", "BD", "HUh", "HUo"),           # attended_transfer_a_initiates
    ("HRh", "BLh", "BLo", "BD", "HUo", "HUh"),
)


def teardown(pbx: Pbx2, bridge: Bridge, hanger: Chan, other: Chan, dialer: Chan | None,
             variant: int = 0) -> None:
    """A party hangs up a bridged two-party call: the events until both are gone.

    Args:
        hanger: the party whose phone hangs up (HangupRequest, cause 16).
        other: the party that is hung up by Asterisk.
        dialer: the channel that ran Dial() (its Dial returns: SoftHangupRequest),
            or None.
        variant: which of Asterisk's observed orders to use (modulo the table size).
    """
    if dialer is None:
        table = TEARDOWN_NO_DIALER
    elif dialer is hanger:
        table = TEARDOWN_DIALER_HANGS_UP
    else:
        table = TEARDOWN_OTHER_HANGS_UP
    steps = table[variant % len(table)]
    who = {"h": hanger, "o": other, "d": dialer}
    for step in steps:
        chan = who.get(step[-1]) if step != "BD" else None
        if step.startswith("HR") and chan is not None:
            pbx.hangup_request(chan, 16)
        elif step.startswith("SHR") and chan is not None:
            pbx.soft_hangup_request(chan, 16)
        elif step.startswith("BL") and chan is not None:
            pbx.bridge_leave(bridge, chan)
        elif step == "BD":
            pbx.bridge_destroy(bridge)
        elif step.startswith("HU") and chan is not None:
            pbx.hangup(chan, 16)
