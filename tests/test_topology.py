"""topology.py: walking dial and Local-pair links, on arbitrary (even cyclic) link graphs."""
from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from cacofonisk.bridges import Bridge
from cacofonisk.fsm.channel import Channel
from cacofonisk.topology import (bridge_peers, dialing_channel, walk_bridge_peers,
                                  walk_to_dialer)


@st.composite
def link_graphs(draw: Any) -> list[Channel]:
    size = draw(st.integers(1, 6))
    channels = [Channel(f"1.{i}", f"SIP/{i}-1") for i in range(size)]
    pick = st.one_of(st.none(), st.integers(0, size - 1))
    for channel in channels:
        dialer, half = draw(pick), draw(pick)
        channel.back_dial = None if dialer is None else channels[dialer]
        channel.back_local_bridge = None if half is None else channels[half]
    return channels


@given(link_graphs())
def test_dialing_channel_agrees_with_the_plain_walk_on_any_link_graph(channels: list[Channel]) -> None:
    for channel in channels:
        assert dialing_channel(channel) is walk_to_dialer(channel)


def test_dialing_channel_hops_over_a_local_pair_to_the_caller() -> None:
    caller, local_one, local_two, phone = (Channel(f"1.{i}", name) for i, name in enumerate(
        ("SIP/201-1", "Local/202@x-1;1", "Local/202@x-1;2", "SIP/202-2")))
    local_one.back_dial = caller
    local_two.back_local_bridge = local_one
    phone.back_dial = local_two
    assert dialing_channel(phone) is caller
    assert dialing_channel(caller) is caller


_NAMES = ["SIP/201-1", "PJSIP/202-2", "Local/300@x-1;1", "Local/300@x-1;2", "Snoop/1-3",
          "SIP/203-4<ZOMBIE>"]


@st.composite
def bridged_channels(draw: Any) -> list[Channel]:
    size = draw(st.integers(1, 7))
    channels = [Channel(f"1.{i}", draw(st.sampled_from(_NAMES)).replace("-", f"-{i}", 1))
                for i in range(size)]
    bridges = [Bridge(f"b{i}") for i in range(draw(st.integers(0, 3)))]
    for channel in channels:
        if bridges and draw(st.booleans()):
            bridge = draw(st.sampled_from(bridges))
            channel.bridge = bridge
            bridge.add(channel)
        half = draw(st.one_of(st.none(), st.integers(0, size - 1)))
        if half is not None:
            channel.fwd_local_bridge = channels[half]
            channels[half].back_local_bridge = channel
    return channels


@given(bridged_channels())
def test_bridge_peers_agrees_with_the_plain_walk_on_any_bridge_layout(channels: list[Channel]) -> None:
    for channel in channels:
        assert bridge_peers(channel) == walk_bridge_peers(channel)
