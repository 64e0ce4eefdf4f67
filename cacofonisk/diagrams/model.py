"""What the timeline collector keeps: marks, channel lives, call histories, one log.

Plain data plus the union-find that groups channels into conversations; it
knows nothing of AMI headers (``channels.py`` reads the records) nor of
reporters (``collect.py``).
"""
from __future__ import annotations

import attrs

from ..calls import CallEvent


@attrs.frozen(slots=True)
class Happening:
    """One mark on a lane.

    Attributes:
        seq: number of the AMI event (1-based, per log) that caused it.
        time: that event's AMI Timestamp, None when the server sends none.
        kind: what happened (created, dial, ringing, up, bridge, transfer,
            hangup ...; on a call lane the call-machine trigger).
        label: a few words for the picture, with caller ids.
        detail: the full story (a tooltip).
    """

    seq: int
    time: float | None
    kind: str
    label: str
    detail: str = ""


@attrs.define(slots=True, eq=False)
class ChannelLife:
    """What one channel did, from Newchannel to Hangup.

    Attributes:
        states: (seq, lane state) each time its drawn state changed:
            down, dialing, ringing, up, bridged, held.
        bridges: 2+ bridges it is in now.
    """

    uniqueid: str
    name: str
    number: str
    caller_name: str
    created: int
    ended: int | None = None
    happenings: list[Happening] = attrs.Factory(list)
    states: list[tuple[int, str]] = attrs.Factory(list)
    bridges: set[str] = attrs.Factory(set)

    @property
    def party(self) -> str:
        """Who the channel is, shortly: its caller-id number, else its name."""
        return self.number or self.caller_name or self.name

    def note(self, happening: Happening, state: str | None = None) -> None:
        """Add a mark and, when given, the lane state from then on."""
        self.happenings.append(happening)
        if state is not None and (not self.states or self.states[-1][1] != state):
            self.states.append((happening.seq, state))


@attrs.define(slots=True, eq=False)
class CallHistory:
    """One call as the reporter saw it.

    Attributes:
        call_id: the call id of its events.
        log: the event log it came from.
        instance: 1, or n for the n-th call with this id in the log.
        records: (seq, call event) in order.
        marks: what to draw on the call's own lane (one per path step).
        path: the call-machine triggers, in order (what ``Call.path`` holds).
        closed: the tracker has freed it (anchor gone, or no channel left).
    """

    call_id: str
    log: LogView
    instance: int = 1
    records: list[tuple[int, CallEvent]] = attrs.Factory(list)
    marks: list[Happening] = attrs.Factory(list)
    path: list[str] = attrs.Factory(list)
    closed: bool = False

    @property
    def name(self) -> str:
        """The call id, with ``~n`` for a later call that reuses it."""
        return self.call_id if self.instance == 1 else f"{self.call_id}~{self.instance}"

    @property
    def is_final(self) -> bool:
        """It ended or was merged: the call machine accepts nothing more."""
        return bool(self.path) and self.path[-1] in ("end", "merge")

    @property
    def caller(self) -> str:
        """The caller's number (from its first call event that names one)."""
        for _seq, record in self.records:
            caller = getattr(record, "caller", None)
            if caller is not None and (caller.number or caller.name):
                return str(caller.number or caller.name)
        return ""


class LogView:
    """The channels, groups and calls of one event log (one ChannelManager)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seq = 0
        self.time: float | None = None
        self.channels: dict[str, ChannelLife] = {}
        self.by_name: dict[str, str] = {}
        self.live: set[str] = set()
        self.open_calls: dict[str, CallHistory] = {}
        self.calls: list[CallHistory] = []
        self.hung_up: str | None = None
        self.transferers: tuple[str, ...] = ()
        #: channels that blind-transferred their call away: the tracker keeps
        #: such a call after its anchor hangs up, until the transfer is reported
        self.transferred_away: set[str] = set()
        #: calls kept open that way, closed once a record ends them
        self.pending_close: set[str] = set()
        self._parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        """The representative of ``key``'s group (path halving)."""
        parent = self._parent
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(self, *keys: str | None) -> None:
        """Put every non-empty key in one group."""
        present = [key for key in keys if key]
        for other in present[1:]:
            self._parent[self.find(other)] = self.find(present[0])

    def group(self, key: str) -> list[ChannelLife]:
        """The channels in ``key``'s group, in order of creation."""
        root = self.find(key)
        return [life for uid, life in self.channels.items() if self.find(uid) == root]

    def lookup(self, uniqueid: str | None = None, name: str | None = None) -> ChannelLife | None:
        """A channel by Uniqueid, else by (current) name."""
        if uniqueid and uniqueid in self.channels:
            return self.channels[uniqueid]
        if name and name in self.by_name:
            return self.channels.get(self.by_name[name])
        return None

    def party(self, uniqueid: str | None, fallback: str = "?") -> str:
        """Short name of a channel for a label."""
        life = self.lookup(uniqueid)
        return life.party if life is not None else (fallback or "?")

    def at(self, kind: str, label: str, detail: str = "") -> Happening:
        """A happening at the event being applied."""
        return Happening(self.seq, self.time, kind, label, detail)
