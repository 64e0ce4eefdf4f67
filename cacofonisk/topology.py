"""Who dials whom: walking the dial and Local-channel links between channels.

Asterisk builds a call from pieces: the caller's channel dials a Local
channel half (``;1``), whose other half (``;2``) dials the phones. These
functions follow those links (``back_dial``/``fwd_dials`` from Dial events,
``back_local_bridge``/``fwd_local_bridge`` from LocalBridge) to find the
real parties. They are pure: they read channels and never change them.
Cycles (possible with bad input) are cut by a visited set.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .fsm.channel import Channel

if TYPE_CHECKING:
    from .bridges import Bridge


def dialing_channel(channel: Channel) -> Channel:
    """The channel on whose behalf ``channel`` is being dialed (the A side).

    Follows back_dial, hopping over Local pairs, to the root; a channel
    that nobody dials is its own dialing channel.
    """
    a_chan = channel.back_dial
    if a_chan is None:
        return channel  # the common case: nobody dials it
    if a_chan.back_local_bridge is not None:
        a_chan = a_chan.back_local_bridge
    if a_chan is channel:
        return channel
    if a_chan.back_dial is None:
        return a_chan  # the next most common: dialed straight by its caller
    return walk_to_dialer(channel)


def walk_to_dialer(channel: Channel) -> Channel:
    """``dialing_channel`` without its shortcuts: follow back_dial until it ends or repeats."""
    seen = {channel}  # channels hash by identity
    current = channel
    while current.back_dial is not None:
        a_chan = current.back_dial
        if a_chan.back_local_bridge is not None:
            a_chan = a_chan.back_local_bridge
        if a_chan in seen:
            break
        seen.add(a_chan)
        current = a_chan
    return current


def dialed_channels(channel: Channel, *, through_own_local: bool) -> list[Channel]:
    """The real channels being dialed on behalf of ``channel`` (the B sides).

    Args:
        channel: the A side.
        through_own_local: 1.x rule: when ``channel`` is itself the ``;1``
            half of a Local pair, look at the dials of its ``;2`` half.

    Returns:
        Distinct channels, in dial order.
    """
    # An explicit stack of iterators, not a recursive closure: a nested
    # function that calls itself is a reference cycle (function -> cell ->
    # function) that holds the walked channels until the cyclic collector
    # runs; this keeps every call's garbage to plain reference counting.
    found: dict[Channel, None] = {}  # channels hash by identity; a dict keeps dial order
    seen = {channel}
    dials = channel.fwd_dials
    if through_own_local and channel.fwd_local_bridge is not None:
        dials = channel.fwd_local_bridge.fwd_dials
    stack = [iter(list(dials))]
    while stack:
        for b_chan in stack[-1]:
            local = b_chan.fwd_local_bridge
            if local is None:
                found[b_chan] = None
            elif local not in seen:
                seen.add(local)
                stack.append(iter(list(local.fwd_dials)))
                break  # depth first, as Asterisk dials: resume here after it
        else:
            stack.pop()
    return list(found)


def creation_order(channel: Channel) -> tuple[float, int, str]:
    """Sort key: the order Asterisk created channels in.

    A Uniqueid is ``[system-]<epoch>.<counter>``, with one counter for the
    whole server; channel names count per technology, so they do not order
    a SIP and a PJSIP channel.
    """
    stamp = channel.uniqueid.rsplit("-", 1)[-1]
    seconds, _dot, counter = stamp.partition(".")
    try:
        return (float(seconds), int(counter or 0), channel.name)
    except ValueError:
        return (float("inf"), 0, channel.uniqueid)


def local_peer(channel: Channel) -> Channel | None:
    """The other half of a Local channel pair, if linked."""
    return channel.fwd_local_bridge or channel.back_local_bridge


def cut_local_links(channel: Channel) -> None:
    """Cut a channel from the other half of its Local pair (both directions)."""
    if channel.fwd_local_bridge is not None:
        channel.fwd_local_bridge.back_local_bridge = None
        channel.fwd_local_bridge = None
    if channel.back_local_bridge is not None:
        channel.back_local_bridge.fwd_local_bridge = None
        channel.back_local_bridge = None


def unlink(channel: Channel) -> None:
    """Cut the links to a channel that is going away (Local pair, dial, bridges)."""
    cut_local_links(channel)
    if channel.back_dial is not None:
        if channel in channel.back_dial.fwd_dials:
            channel.back_dial.fwd_dials.remove(channel)
        channel.back_dial = None
    # The channels it dialed keep their back_dial: a callee may still need
    # to know who called it (e.g. for a transfer) after the caller is gone.
    for peer in channel.linked:
        peer.linked = tuple(chan for chan in peer.linked if chan is not channel)
    channel.linked = ()
    if channel.bridge is not None:
        channel.bridge.discard(channel)
        channel.bridge = None


def bridge_peers(channel: Channel) -> set[Channel]:
    """2+: the real parties (``is_relevant``) talking with ``channel``, itself included.

    Walks the channel's bridge and, through Local pairs, the bridges they
    lead to.
    """
    bridge = channel.bridge
    if bridge is not None and not channel.is_local:
        members = bridge.peers
        for member in members:
            if not member.is_relevant:
                break
        else:  # the usual two phones: no Local pair to follow
            found = set(members)
            if channel.is_relevant:
                found.add(channel)
            return found
    return walk_bridge_peers(channel)


def walk_bridge_peers(channel: Channel) -> set[Channel]:
    """``bridge_peers`` without its shortcut: walk every bridge and Local pair."""
    peers: set[Channel] = set()
    seen_bridges: set[Bridge] = set()  # bridges hash by identity
    # A to-do list rather than a recursive closure (no reference cycle; see
    # dialed_channels). The result is a set, so the walk order is free.
    todo = [channel]
    if channel.is_local:
        other = local_peer(channel)
        if other is not None:
            todo.append(other)
    elif channel.bridge is not None and channel.is_relevant:
        peers.add(channel)
    while todo:
        bridge = todo.pop().bridge
        if bridge is None or bridge in seen_bridges:
            continue
        seen_bridges.add(bridge)
        for peer in bridge.peers:
            if peer.is_relevant:
                peers.add(peer)
            elif peer.is_local:
                other = local_peer(peer)
                if other is not None:
                    todo.append(other)
    return peers
