"""Asterisk 12+ bridges: first-class containers of channels.

A bridge may hold any number of channels. A ``holding`` bridge (parking,
a Stasis holding area) is not a conversation; a ``basic`` bridge with
three or more real parties is a conference or three-way call, not a
transfer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .fsm.channel import Channel


class Bridge:
    """One bridge, as BridgeCreate/BridgeEnter described it.

    Attributes:
        uniqueid: BridgeUniqueid.
        bridge_type: 'basic', 'holding' ... ('' when unknown).
        technology: BridgeTechnology ('simple_bridge', 'holding_bridge' ...).
        peers: the channels in it, in the order they entered.
        conference: the ConfBridge room it holds ('' if none known), set
            by ConfbridgeStart/ConfbridgeJoin.
    """

    __slots__ = ("uniqueid", "bridge_type", "technology", "peers", "conference")

    def __init__(self, uniqueid: str, bridge_type: str = "", technology: str = "") -> None:
        self.uniqueid = uniqueid
        self.bridge_type = bridge_type
        self.technology = technology
        self.peers: list[Channel] = []
        self.conference = ""

    def __repr__(self) -> str:
        names = ",".join(peer.name for peer in self.peers)
        return f"<Bridge {self.uniqueid} {self.bridge_type} [{names}]>"

    def __len__(self) -> int:
        return len(self.peers)

    @property
    def is_holding(self) -> bool:
        """A holding bridge (parking, Stasis holding): not a conversation."""
        return self.bridge_type == "holding" or self.technology == "holding_bridge"

    @property
    def is_conference(self) -> bool:
        """A conference room: its parties each have their own call with the PBX.

        Known from ConfbridgeStart/Join, or (when we attached after those)
        from the bridge ConfBridge makes: type 'base', mixed by 'softmix'.
        A basic bridge that grows to softmix for a three-way call is not one.
        """
        return bool(self.conference) or (self.bridge_type == "base"
                                         and self.technology == "softmix")

    def add(self, channel: Channel) -> None:
        """Put a channel in (idempotent)."""
        if channel not in self.peers:
            self.peers.append(channel)

    def discard(self, channel: Channel) -> None:
        """Take a channel out, if it is in."""
        if channel in self.peers:
            self.peers.remove(channel)
