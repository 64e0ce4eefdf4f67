"""Queues on Asterisk 12-22 (AMI 2+): answered, or abandoned by the caller.

Modelled on lab/queue.json (Queue() with strategy ringall, members dialed
directly over PJSIP): QueueCallerJoin, for each member AgentCalled and
DialBegin, the members ring, one answers (AgentConnect, the others get a
CANCEL DialEnd, which Asterisk 22 repeats), QueueCallerLeave, the bridge;
AgentComplete when the call ends.
"""
from __future__ import annotations

from collections.abc import Sequence

from .sim_ami2 import Chan, Pbx2
from .sim_base import Expectations, Ids, Party, Scenario
from .sim_flows2 import finish


def _queue_ring(pbx: Pbx2, a_chan: Chan, members: Sequence[Party], queue: str) -> list[Chan]:
    """Queue() rings every member (strategy ringall), in the recorded order.

    Queue creates and calls the members one by one; a fast phone's Ringing
    arrives while the next member is being created. DialState is published
    by the caller's thread once every member has been called.
    """
    chans: list[Chan] = []
    first = 0
    for index, member in enumerate(members):
        chan = pbx.phone_out(member, a_chan)
        chan.exten = a_chan.exten
        if index:
            pbx.newstate(chans[-1], 5)
            pbx.connected_line(chans[-1], a_chan)
        else:
            first = len(pbx.events)
        pbx.agent_event("AgentCalled", a_chan, chan, queue, member.name)
        pbx.dial_begin(a_chan, chan, chan.name.rsplit("-", 1)[0])
        chans.append(chan)
    pbx.burst_from(first)
    for chan in chans[:-1]:
        pbx.dial_state(a_chan, chan, "RINGING")
    pbx.newstate(chans[-1], 5)
    pbx.connected_line(chans[-1], a_chan)
    pbx.dial_state(a_chan, chans[-1], "RINGING")
    return chans


def queue(ids: Ids, parties: Sequence[Party], *, exten: str = "501", name: str = "support",
          answered_by: str | None = None, repeat_cancel: bool = True) -> Scenario:
    """A calls a queue (ringall); one member answers (default: the first).

    ``repeat_cancel``: Asterisk 22 publishes the CANCEL DialEnd of every
    other member twice (lab/queue.json); the simulator does too unless this
    is False. A tracker must not report it twice.
    """
    a, members = parties[0], list(parties[1:])
    answered_by = answered_by or members[0].number
    pbx, expect = Pbx2(ids), Expectations()
    a_chan = pbx.phone_in(a, exten)
    pbx.queue_event("QueueCallerJoin", a_chan, name, Position="1", Count="1")
    chans = _queue_ring(pbx, a_chan, members, name)
    expect.b_dial(a_chan.uniqueid, a, members)
    pairs = list(zip(members, chans))
    winner, w_chan = next((m, c) for m, c in pairs if m.number == answered_by)
    others = [(m, c) for m, c in pairs if c is not w_chan]
    pbx.newstate(w_chan, 6)
    pbx.dial_end(a_chan, w_chan, "ANSWER")
    expect.b_dial_end(a_chan.uniqueid, a, winner, "ANSWER")
    for member, chan in others:
        pbx.dial_end(a_chan, chan, "CANCEL")
        expect.b_dial_end(a_chan.uniqueid, a, member, "CANCEL")
    pbx.connected_line(a_chan, w_chan)
    if repeat_cancel:
        for _member, chan in others:
            pbx.dial_end(a_chan, chan, "CANCEL")  # Asterisk 22 repeats it
    pbx.queue_event("QueueCallerLeave", a_chan, name, Position="1", Count="0")
    pbx.agent_event("AgentConnect", a_chan, w_chan, name, winner.name, HoldTime="2",
                    RingTime="2")
    for _member, chan in others:
        pbx.hangup(chan, 26)
    pbx.newstate(a_chan, 6)
    bridge = pbx.bridge_create()
    pbx.bridge_enter(bridge, w_chan)
    pbx.bridge_enter(bridge, a_chan)
    expect.up(a_chan.uniqueid, a, winner)
    pbx.hangup_request(a_chan, 16)
    pbx.agent_event("AgentComplete", a_chan, w_chan, name, winner.name, HoldTime="2",
                    TalkTime="3", Reason="caller")
    pbx.bridge_leave(bridge, a_chan)
    pbx.soft_hangup_request(a_chan, 16)
    pbx.bridge_leave(bridge, w_chan)
    pbx.hangup(a_chan, 16)
    pbx.bridge_destroy(bridge)
    pbx.hangup(w_chan, 16)
    expect.hangup(a_chan.uniqueid, a, "completed")
    story = (f"{a.number} calls queue {exten} (ringall: "
             f"{', '.join(m.number for m in members)}); {winner.number} answers; "
             f"{a.number} hangs up.")
    return finish("queue", pbx, expect, story, exten=exten, name=name,
                  answered_by=answered_by, repeat_cancel=repeat_cancel)


def queue_abandoned(ids: Ids, parties: Sequence[Party], *, exten: str = "501",
                    name: str = "support") -> Scenario:
    """A calls a queue; the members ring; A hangs up before anyone answers.

    No Asterisk 22 recording: the order is app_queue's (DialEnd CANCEL of
    each member, QueueCallerAbandon, QueueCallerLeave) with the caller's
    hangup of a_cancel.
    """
    a, members = parties[0], list(parties[1:])
    pbx, expect = Pbx2(ids), Expectations()
    a_chan = pbx.phone_in(a, exten)
    pbx.queue_event("QueueCallerJoin", a_chan, name, Position="1", Count="1")
    chans = _queue_ring(pbx, a_chan, members, name)
    expect.b_dial(a_chan.uniqueid, a, members)
    pbx.hangup_request(a_chan, 127, 487)
    for member, chan in zip(members, chans):
        pbx.dial_end(a_chan, chan, "CANCEL")
        expect.b_dial_end(a_chan.uniqueid, a, member, "CANCEL")
    for chan in chans:
        pbx.hangup(chan, 16)
    pbx.queue_event("QueueCallerAbandon", a_chan, name, Position="1", OriginalPosition="1",
                    HoldTime="5")
    expect.abandon(a_chan.uniqueid, a)
    pbx.queue_event("QueueCallerLeave", a_chan, name, Position="1", Count="0")
    pbx.soft_hangup_request(a_chan, 16, 487)
    pbx.hangup(a_chan, 127, 487)
    expect.hangup(a_chan.uniqueid, a, "cancelled")
    story = f"{a.number} calls queue {exten}; the members ring; {a.number} hangs up."
    return finish("queue_abandoned", pbx, expect, story, exten=exten, name=name)
