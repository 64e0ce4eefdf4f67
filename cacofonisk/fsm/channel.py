"""The channel machine: what one Asterisk channel is doing.

Transitions, in words (draw them with ``cacofonisk diagram channel -o channel.svg``)::

    down      --dial_out-->  dialing    the A side hears the ring tone (Newstate Ring/Dialing)
    down      --ring------>  ringing    the B side's phone rings (Newstate Ringing, DialState)
    down|dialing|ringing --answer--> up
    any live  --bridge---->  bridged    audio flows to another channel (1.x Link, 2+ BridgeEnter)
    bridged   --unbridge-->  up         (1.x Unlink, 2+ BridgeLeave)
    any live  --masquerade-> masqueraded  its guts moved into another channel (1.x)
    any       --hang_up--->  hung_up    (Hangup); the registry then forgets the channel

``Channel.ami_state`` keeps Asterisk's own ChannelState number beside the
machine state, because the dialect rules need to know, e.g., whether a
channel went from Down straight to Up.
"""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from ..callerid import CallerId
from .engine import MachineDef, Rule, define

if TYPE_CHECKING:
    from ..bridges import Bridge


class ChannelState(Enum):
    """Where a channel is in its life."""

    # Members are singletons: identity hashing is exact, and C-level, where
    # Enum's own __hash__ is a Python call on every machine-table lookup.
    __hash__ = object.__hash__

    #: created, not ringing yet
    DOWN = "down"
    #: the calling side, waiting for the other end (Ring / Dialing)
    DIALING = "dialing"
    #: the called side's phone rings (or plays early media)
    RINGING = "ringing"
    #: answered
    UP = "up"
    #: in a bridge with at least one other channel
    BRIDGED = "bridged"
    #: its identity was taken over by another channel (1.x Masquerade)
    MASQUERADED = "masqueraded"
    #: gone
    HUNG_UP = "hung_up"


_S = ChannelState
_LIVE = (_S.DOWN, _S.DIALING, _S.RINGING, _S.UP, _S.BRIDGED)

CHANNEL_RULES: tuple[Rule, ...] = (
    Rule("dial_out", (_S.DOWN,), _S.DIALING),
    Rule("ring", (_S.DOWN, _S.DIALING), _S.RINGING),
    Rule("answer", (_S.DOWN, _S.DIALING, _S.RINGING), _S.UP),
    Rule("bridge", _LIVE, _S.BRIDGED),
    Rule("unbridge", (_S.BRIDGED,), _S.UP),
    Rule("masquerade", _LIVE, _S.MASQUERADED),
    Rule("hang_up", _LIVE + (_S.MASQUERADED,), _S.HUNG_UP),
)

CHANNEL_MACHINE: MachineDef[ChannelState] = define(
    "channel", ChannelState, ChannelState.DOWN, CHANNEL_RULES)


#: Channel technologies that Asterisk uses internally and that are never a
#: party of a call: masquerade helpers, parking, conference announcers and
#: recorders, ChanSpy snoops, message and media channels.
PSEUDO_TECHNOLOGIES = ("AsyncGoto/", "Bridge/", "Parked/", "Announcer/", "CBAnn/", "CBRec/",
                       "Recorder/", "Snoop/", "Message/", "MulticastRTP/", "UnicastRTP/",
                       "Surrogate/", "Console/")


class Marks:
    """What the call rules have already said about a channel.

    Kept in its own object because a 1.x masquerade makes the surviving
    channel share it with the one it swallowed (as the 2017 code shared
    its ``custom`` dict): a transfer marked on the clone applies to the
    original.

    Attributes:
        b_dial_reported: on_b_dial already covered this ringing channel; set
            by the b_dial rules, cleared when it rings again (1.x) or when a
            transfer makes its call ring anew.
        pending_blind_transfer: the transferer of a blind transfer whose
            new dial has not rung yet (set by Transfer/BlindTransfer,
            cleared by the first ring or the hangup).
        hangup_reported: the call this channel led already ended for the
            user (it transferred it away); its own Hangup reports nothing.
        up_reported: 2+: on_up was sent for the call this caller leads;
            cleared by a blind or blonde transfer.
    """

    __slots__ = ("b_dial_reported", "pending_blind_transfer", "hangup_reported", "up_reported")

    def __init__(self) -> None:
        self.b_dial_reported = False
        self.pending_blind_transfer: Channel | None = None
        self.hangup_reported = False
        self.up_reported = False


class Channel:
    """One Asterisk channel, as far as the tracker knows it.

    Plain slotted class (a state-machine model must be mutable). Links to
    other channels are direct references; the registry drops them when the
    channel hangs up.

    Attributes:
        uniqueid: Asterisk's Uniqueid; never changes.
        name: channel name (``SIP/201-00000001``); changes on Rename, and
            only through ``set_name``.
        is_local: a half of a Local channel pair (``Local/...;1`` or ``;2``).
        is_relevant: a real party: any technology (SIP, PJSIP, IAX2, DAHDI
            ...) but Local and Asterisk's internal ones, and not a 1.x zombie.
        linkedid: 2+ Linkedid (the first channel of the conversation).
        state: the machine state (ChannelState).
        ami_state: Asterisk's ChannelState number.
        exten: the extension the channel dialed (the number a caller typed).
        caller_id: who this channel is.
        custom: free-form user data; survives a masquerade (2017 README).
        fwd_local_bridge / back_local_bridge: for a Local channel half, the
            other half (``;1`` -> ``;2`` forward).
        back_dial: the channel that dials this one (set by Dial Begin /
            DialBegin / AgentCalled, cleared by DialEnd or hangup).
        was_dialed: 2+: some channel dialed this one (a DialBegin with a
            source); unlike ``back_dial`` it stays set after the DialEnd, so
            a forward's or a queue's Local half is never taken for the
            undialed Local of a DTMF consultation (``adopt_consultation``).
        dial_began: 2+: AMI time of the DialBegin that dialed this one (None
            if none, or no Timestamp): a ring held back for its dial burst
            is reported with it, as that is when Asterisk started ringing.
        created: AMI Timestamp of its Newchannel (None without
            ``timestampevents``; a channel first found by a resync: that
            time less its ``Duration``): how old it is, for
            ``Tracker.max_channel_age``, and a call's ``began`` in
            ``snapshot()`` (its caller channel's creation).
        fwd_dials: channels this one dials.
        linked: 1.x peers bridged to this one (Bridge Link); a tuple, empty
            for most channels.
        bridge: 2+ bridge this channel is in.
        side: 'A' once it behaves as a caller, 'B' as a callee, '' unknown.
        is_originated: 2+: created by an Originate (DialBegin without a source).
        marks: what the call rules already reported about it (see Marks).
        dial_status: the last DialStatus of a dial to or from this channel.
        hangup_requested_by: on a caller's channel, who ended its call:
            'caller', 'callee' (a HangupRequest from that party's channel)
            or 'asterisk' (only a SoftHangupRequest: dialplan, timeout,
            transfer); '' when unknown.
        early_media: 2+: the dial reported PROGRESS (183) instead of ringing.
        resumed: found alive by a resync after a reconnect.
        on_hold: this channel holds its call: between its Hold and its
            Unhold (or the end of the transfer it was keying); set and
            cleared by ``dialects/states.py``.
        hold_bridge: 2+: the bridge the holder was in when it held (an
            aborted DTMF transfer brings it back there: the hold ends).
        hold_lead: the caller's channel of the call the hold was reported
            on: the unhold goes to the same call, even if the holder has
            meanwhile started a call of its own (a DTMF atxfer).
        queue: the queue the caller waits in (QueueCallerJoin .. Leave).
        queue_outcome: how its queue wait ends, once known: 'answered'
            (a member answered), 'abandoned' (QueueCallerAbandon); '' else.
    """

    __slots__ = (
        "uniqueid", "name", "linkedid", "state", "ami_state", "exten",
        "caller_id", "_custom", "fwd_local_bridge",
        "back_local_bridge", "back_dial", "fwd_dials", "linked", "bridge", "side",
        "is_originated", "was_dialed", "dial_began", "created", "marks", "dial_status",
        "hangup_requested_by",
        "early_media", "resumed", "on_hold", "hold_bridge", "hold_lead", "queue", "queue_outcome",
        "is_local", "is_relevant",
    )

    def __init__(self, uniqueid: str, name: str, *, ami_state: int = 0,
                 caller_id: CallerId | None = None, exten: str = "",
                 linkedid: str | None = None, created: float | None = None) -> None:
        self.uniqueid = uniqueid
        self.name = name
        # as set_name does (inlined: one channel per Newchannel of a busy server)
        self.is_local = is_local = name.startswith("Local/")
        self.is_relevant = not (is_local or name.endswith("<ZOMBIE>")
                                or name.startswith(PSEUDO_TECHNOLOGIES))
        self.linkedid = linkedid if linkedid is not None else uniqueid
        self.state = ChannelState.DOWN
        self.ami_state = ami_state
        self.exten = exten
        self.caller_id = caller_id or CallerId()
        self._custom: dict[str, Any] | None = None
        self.fwd_local_bridge: Channel | None = None
        self.back_local_bridge: Channel | None = None
        self.back_dial: Channel | None = None
        self.fwd_dials: list[Channel] = []
        self.linked: tuple[Channel, ...] = ()
        self.bridge: Bridge | None = None
        self.side = ""
        self.is_originated = False
        self.was_dialed = False
        self.dial_began: float | None = None
        self.created = created
        self.marks = Marks()
        self.dial_status = ""
        self.hangup_requested_by = ""
        self.early_media = False
        self.resumed = False
        self.on_hold = False
        self.hold_bridge: Bridge | None = None
        self.hold_lead: Channel | None = None
        self.queue = ""
        self.queue_outcome = ""

    @property
    def custom(self) -> dict[str, Any]:
        """Free-form user data (2017 README); made on first use, to keep
        channels small; shared with the survivor of a 1.x masquerade."""
        if self._custom is None:
            self._custom = {}
        return self._custom

    @custom.setter
    def custom(self, value: dict[str, Any]) -> None:
        self._custom = value

    def __repr__(self) -> str:
        return (f"<Channel {self.name} id={self.uniqueid} {self.state.value} "
                f"ami_state={self.ami_state} cli={self.caller_id} exten={self.exten!r}>")

    def set_name(self, name: str) -> None:
        """Give the channel a (new) name; the only way to change ``name``.

        ``is_local`` and ``is_relevant`` are derived from the name here, once,
        rather than on each of the many reads the rules make per event.
        """
        self.name = name
        self.is_local = name.startswith("Local/")
        self.is_relevant = not (self.is_local or name.endswith("<ZOMBIE>")
                                or name.startswith(PSEUDO_TECHNOLOGIES))

    @property
    def is_zombie(self) -> bool:
        """A 1.x channel left over from a masquerade."""
        return self.name.endswith("<ZOMBIE>")

    @property
    def is_up(self) -> bool:
        """Asterisk says the channel is answered (ChannelState 6)."""
        return self.ami_state == 6
