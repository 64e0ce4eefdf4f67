"""Parking and conferences on Asterisk 12-22 (AMI 2+), for the state hooks.

Modelled on the lab recordings park_gave_up, park_timeout and
conference_three (Asterisk 22, PJSIP phones). The expectations are the
2017 hooks only, like every flow's (the state hooks are checked against the
lab's ``state_facts`` and by the snapshot property, which folds whatever a
flow reports).
"""
from __future__ import annotations

from collections.abc import Sequence

from .sim_ami2 import Bridge, Chan, Pbx2, teardown
from .sim_base import Expectations, Ids, Party, Scenario
from .sim_flows2 import answer, finish, ring, two_party

PARK_OUTCOMES = ("gave-up", "timeout", "retrieved")


def _enter(pbx: Pbx2, bridge: Bridge, chan: Chan, bridge_type: str, technology: str) -> None:
    """BridgeEnter of a parking or conference bridge (not a basic one)."""
    bridge.members.append(chan)
    pbx.emit("BridgeEnter", **{**pbx.bridge_snap(bridge), "BridgeType": bridge_type,
                               "BridgeTechnology": technology}, **pbx.snap(chan))


def _leave(pbx: Pbx2, bridge: Bridge, chan: Chan, bridge_type: str, technology: str) -> None:
    if chan in bridge.members:
        bridge.members.remove(chan)
    pbx.emit("BridgeLeave", **{**pbx.bridge_snap(bridge), "BridgeType": bridge_type,
                               "BridgeTechnology": technology}, **pbx.snap(chan))


def _park_event(pbx: Pbx2, event: str, parkee: Chan, parker: Party, space: str,
                timeout: int, **extra: str) -> None:
    pbx.emit(event, **pbx.snap(parkee, "Parkee"),
             ParkerDialString=f"{parker.tech}/{parker.device}", Parkinglot="default", ParkingSpace=space, ParkingTimeout=str(timeout),
             ParkingDuration=str(45 - timeout), **extra)


def park(ids: Ids, parties: Sequence[Party], *, outcome: str = "gave-up",
         teardown_variant: int = 0) -> Scenario:
    """A calls B, B answers and parks A (a REFER to 700, space 711); then ``outcome``.

    'gave-up': A hangs up while parked. 'timeout': the parking time runs out
    and Asterisk rings B again from A's channel; B answers; A hangs up.
    'retrieved': C dials 711 and talks with A; A hangs up.
    """
    a, b = parties[0], parties[1]
    pbx, expect = Pbx2(ids), Expectations()
    a_chan, b_chan, bridge = two_party(pbx, expect, a, b, newstate_first=True)
    pbx.hold(b_chan, False)  # the phone takes the call off hold before its REFER
    pbx.blind_transfer(b_chan, a_chan, bridge, "700")
    a_chan.exten = "700"
    _park_event(pbx, "ParkedCall", a_chan, b, "711", 45)
    expect.transfer("blind", a_chan.uniqueid, b_chan.uniqueid, b, a, ["700"])
    lot = Bridge(ids.bridge())
    pbx.emit("BridgeCreate", **{**pbx.bridge_snap(lot), "BridgeType": "parking",
                                "BridgeTechnology": "holding_bridge"})
    pbx.bridge_leave(bridge, a_chan)
    _enter(pbx, lot, a_chan, "parking", "holding_bridge")
    pbx.bridge_leave(bridge, b_chan)
    pbx.bridge_destroy(bridge)
    pbx.hangup(b_chan, 16)
    if outcome == "gave-up":
        _park_event(pbx, "ParkedCallGiveUp", a_chan, b, "711", 40)
        pbx.hangup_request(a_chan, 16)
        _leave(pbx, lot, a_chan, "parking", "holding_bridge")
        pbx.hangup(a_chan, 16)
        expect.hangup(a_chan.uniqueid, a, "completed")
        story = f"{b.number} parks {a.number} in 711; {a.number} hangs up while parked."
    elif outcome == "timeout":
        _leave(pbx, lot, a_chan, "parking", "holding_bridge")
        _park_event(pbx, "ParkedCallTimeOut", a_chan, b, "711", 0)
        b2 = pbx.phone_out(b, a_chan)
        pbx.prepare_dial(a_chan, b2)
        pbx.dial_begin(a_chan, b2, b.number)
        ring(pbx, a_chan, b2, newstate_first=True)
        expect.b_dial(a_chan.uniqueid, a, [b])
        second = answer(pbx, a_chan, b2)
        expect.b_dial_end(a_chan.uniqueid, a, b, "ANSWER")
        expect.up(a_chan.uniqueid, a, b)
        teardown(pbx, second, a_chan, b2, a_chan, teardown_variant)
        expect.hangup(a_chan.uniqueid, a, "completed")
        story = (f"{b.number} parks {a.number} in 711; nobody retrieves it; Asterisk "
                 f"rings {b.number} again, who answers; {a.number} hangs up.")
    else:
        c = parties[2]
        c_chan = pbx.phone_in(c, "711")
        pbx.newstate(c_chan, 6)
        pbx.emit("UnParkedCall", **pbx.snap(a_chan, "Parkee"), **pbx.snap(c_chan, "Retriever"),
                 Parkinglot="default", ParkingSpace="711", ParkingTimeout="30",
                 ParkingDuration="15")
        _leave(pbx, lot, a_chan, "parking", "holding_bridge")
        talk = pbx.bridge_create()
        pbx.bridge_enter(talk, c_chan)
        pbx.bridge_enter(talk, a_chan)
        expect.up(a_chan.uniqueid, a, c)
        teardown(pbx, talk, a_chan, c_chan, None, teardown_variant)
        expect.hangup(a_chan.uniqueid, a, "completed")
        story = (f"{b.number} parks {a.number} in 711; {c.number} dials 711 and talks "
                 f"with {a.number}; {a.number} hangs up.")
    story = f"{a.number} calls {b.number}; {b.number} answers; " + story
    return finish("park", pbx, expect, story, merged=[b_chan.uniqueid], outcome=outcome,
                  teardown_variant=teardown_variant)


def conference(ids: Ids, parties: Sequence[Party], *, leave_order: Sequence[int] = ()
               ) -> Scenario:
    """Every party calls room 900 (ConfBridge answers); they leave in ``leave_order``.

    ``leave_order`` lists party indices (default: the order they came in).
    No phone answers a call to the room: no on_b_dial/on_up, and each call
    ends with its own on_hangup (completed).
    """
    pbx, expect = Pbx2(ids), Expectations()
    room = Bridge(ids.bridge())
    chans = []
    for index, who in enumerate(parties):
        chan = pbx.phone_in(who, "900")
        pbx.newstate(chan, 6)
        if index == 0:
            pbx.emit("BridgeCreate", **{**pbx.bridge_snap(room), "BridgeType": "base",
                                        "BridgeTechnology": "softmix"})
        _enter(pbx, room, chan, "base", "softmix")
        if index == 0:
            pbx.emit("ConfbridgeStart", **{**pbx.bridge_snap(room), "BridgeType": "base",
                                           "BridgeTechnology": "softmix"}, Conference="900")
        pbx.emit("ConfbridgeJoin", **{**pbx.bridge_snap(room), "BridgeType": "base",
                                      "BridgeTechnology": "softmix"}, **pbx.snap(chan),
                 Conference="900", Admin="No")
        chans.append(chan)
    order = list(leave_order) or list(range(len(parties)))
    for index in order:
        chan, who = chans[index], parties[index]
        pbx.hangup_request(chan, 16)
        pbx.emit("ConfbridgeLeave", **{**pbx.bridge_snap(room), "BridgeType": "base",
                                       "BridgeTechnology": "softmix"}, **pbx.snap(chan),
                 Conference="900", Admin="No")
        _leave(pbx, room, chan, "base", "softmix")
        if not room.members:
            pbx.emit("ConfbridgeEnd", **{**pbx.bridge_snap(room), "BridgeType": "base",
                                         "BridgeTechnology": "softmix"}, Conference="900")
            pbx.bridge_destroy(room)
        pbx.hangup(chan, 16)
        expect.hangup(chan.uniqueid, who, "completed")
    numbers = ", ".join(p.number for p in parties)
    story = f"{numbers} call room 900; they leave one by one."
    return finish("conference", pbx, expect, story, leave_order=tuple(order))
