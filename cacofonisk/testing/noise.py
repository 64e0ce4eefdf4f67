"""hypothesis strategies for noise and damage: what a tracker must shrug off.

* ``noise_events`` / ``with_noise``: VarSet, Newexten, RTCPSent,
  DeviceStateChange for channels of the stream, at random places;
* ``damaged``: a stream truncated, with events duplicated or dropped.

Re-exported by ``strategies.py``, where the other strategies are; import
them from there.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from .sim_base import EventStream

Event = dict[str, Any]


# -- noise -----------------------------------------------------------------------------

def _channels(events: Sequence[Event]) -> list[Event]:
    """Channel snapshots (Newchannel events) of a stream, as noise templates."""
    return [e for e in events if e.get("Event") == "Newchannel"]


@st.composite
def noise_events(draw: st.DrawFn, events: Sequence[Event], *, max_size: int = 10
                 ) -> list[Event]:
    """Events the tracker must ignore, about channels of ``events``.

    VarSet and Newexten (dialplan execution), RTCPSent (media statistics),
    DeviceStateChange (device presence), with the headers of the lab
    recordings. They name real channels of the stream, so a tracker that
    wrongly reacted to them would have something to react with.
    """
    snapshots = _channels(events)
    system = next((e.get("SystemName") for e in events if e.get("SystemName")), None)
    out = []
    count = draw(st.integers(min_value=0, max_value=max_size))
    for _ in range(count):
        kind = draw(st.sampled_from(["VarSet", "Newexten", "RTCPSent", "DeviceStateChange"]))
        base: Event = {"Event": kind, "Privilege": "dialplan,all"}
        if system:
            base["SystemName"] = system
        snapshot = draw(st.sampled_from(snapshots)) if snapshots else {}
        channel_fields = {k: v for k, v in snapshot.items() if k not in ("Event", "Privilege")}
        if kind == "VarSet":
            base.update(channel_fields)
            base["Variable"] = draw(st.sampled_from(["DIALSTATUS", "BRIDGEPEER",
                                                     "RTPAUDIOQOS", "MACRO_DEPTH"]))
            base["Value"] = draw(st.sampled_from(["", "ANSWER", "PJSIP/201-00000000", "1"]))
        elif kind == "Newexten":
            base.update(channel_fields)
            base.update(Extension=str(snapshot.get("Exten", "s")),
                        Application=draw(st.sampled_from(["NoOp", "Dial", "Set", "Wait"])),
                        AppData="noise")
        elif kind == "RTCPSent":
            base["Privilege"] = "reporting,all"
            base.update(channel_fields)
            base.update(To="127.0.0.1:6011", From="127.0.0.1:20287", PT="200(SR)",
                        ReportCount="0", SentPackets="101")
        else:
            base["Privilege"] = "call,all"
            channel = str(snapshot.get("Channel", "PJSIP/201-0"))
            base.update(Device=channel.rsplit("-", 1)[0],
                        State=draw(st.sampled_from(["INUSE", "RINGING", "NOT_INUSE"])))
        out.append(base)
    return out


@st.composite
def with_noise(draw: st.DrawFn, events: Sequence[Event], *, max_size: int = 10
               ) -> list[Event]:
    """``events`` with noise events inserted at random places."""
    noise = draw(noise_events(events, max_size=max_size))
    out = EventStream(events)
    for event in noise:
        out.insert(draw(st.integers(min_value=0, max_value=len(out))), event)
    return out


# -- damage ------------------------------------------------------------------------------

@st.composite
def damaged(draw: st.DrawFn, events: Sequence[Event]) -> list[Event]:
    """``events`` truncated (either end), with some duplicated and some dropped.

    A connection that attaches mid-call misses a prefix; one that drops
    misses a suffix; a network or a buggy proxy may repeat or lose events.
    """
    out = EventStream(events)
    if out:
        start = draw(st.integers(min_value=0, max_value=len(out) // 2))
        end = draw(st.integers(min_value=start, max_value=len(out)))
        out = EventStream(out[start:end])
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        if out:
            index = draw(st.integers(min_value=0, max_value=len(out) - 1))
            out.insert(index, dict(out[index]))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        if out:
            out.pop(draw(st.integers(min_value=0, max_value=len(out) - 1)))
    return out


__all__ = ["damaged", "noise_events", "with_noise"]
