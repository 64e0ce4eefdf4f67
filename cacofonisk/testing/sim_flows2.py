"""Call flows on Asterisk 12-22 (AMI 2+), modelled on the lab recordings.

(Transfers are in ``sim_transfers2.py``, queues in ``sim_queues2.py``; the
building blocks they share, ``call_leg``, ``ring``, ``answer``,
``two_party``, ``finish``, are here.)

Each builder takes an ``Ids`` allocator, the parties (``Party``) and a few
options, and returns a ``Scenario``: the AMI events in the order the lab
recordings of Asterisk 22 (direct PJSIP dials, ``../shared/lab``) show,
and the call events a correct tracker reports for them.

Where the recordings show Asterisk sending the same events in different
orders (a race between threads), an option picks the order
(``newstate_first``: the phone's 180 is processed before Dial publishes
DialState; ``teardown_variant``: one of the hang-up orders of
``sim_ami2.TEARDOWN_*``). The two ringing notifications of one target are
marked as swappable in ``Scenario.swappable``.

What to expect from a flow (the contract these builders encode):

* on_b_dial once per dial, with every target that rings (a ring group's
  targets together), on the caller's Uniqueid;
* on_b_dial_end once per DialEnd of an announced target (a repeated DialEnd
  is not reported twice; a pickup has no DialEnd for the picked-up phone);
* on_up when caller and callee are bridged; again after a transfer;
* transfers on the call of the party that stays (the transferee), with the
  transferer's call as ``merged_id``; merged calls report no on_hangup;
* on_hangup once, when the caller of the surviving call hangs up.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from .sim_ami2 import Bridge, Chan, Pbx2, teardown
from .sim_base import Expectations, Ids, Party, Scenario


def as_dialed(who: Party) -> Party:
    """A party as seen on a channel Asterisk dialed: its number is shown.

    Caller-ID privacy is set by the dialplan on the calls a phone makes; a
    dialed phone that becomes a caller (a transferee) shows its number.
    """
    return attrs.evolve(who, public=True)


def finish(flow: str, pbx: Pbx2, expect: Expectations, story: str,
           merged: Sequence[str] = (), **params: Any) -> Scenario:
    """The Scenario of a built flow (``params``: the builder's options)."""
    return Scenario(flow=flow, dialect="ami2", story=story, events=tuple(pbx.events),
                    expected=tuple(expect.items), swappable=frozenset(pbx.swappable),
                    bursts=tuple(pbx.bursts), merged=frozenset(merged),
                    uniqueids=tuple(pbx.uniqueids), params=params)


def call_leg(pbx: Pbx2, caller: Chan, callee: Party, dial_string: str | None = None) -> Chan:
    """Dial(PJSIP/<callee>): the new channel, account code, DialBegin, connected line."""
    dest = pbx.phone_out(callee, caller)
    pbx.prepare_dial(caller, dest)
    pbx.dial_begin(caller, dest, dial_string or callee.number)
    pbx.connected_line(caller, dest)
    return dest


def ring(pbx: Pbx2, caller: Chan | None, dest: Chan, *, newstate_first: bool,
          early_media: bool = False) -> None:
    """The phone rings: Newstate Ringing and DialState RINGING, in either order."""
    if early_media:
        pbx.dial_state(caller, dest, "PROGRESS")
        return
    if newstate_first:
        pbx.newstate(dest, 5)
        pbx.dial_state(caller, dest, "RINGING")
    else:
        pbx.dial_state(caller, dest, "RINGING")
        pbx.newstate(dest, 5)
    pbx.swap_last()


def answer(pbx: Pbx2, caller: Chan, dest: Chan) -> Bridge:
    """The phone answers: Newstate Up, DialEnd ANSWER, both enter a new bridge."""
    pbx.newstate(dest, 6)
    pbx.dial_end(caller, dest, "ANSWER")
    if caller.state != 6:
        pbx.newstate(caller, 6)
    bridge = pbx.bridge_create()
    pbx.bridge_enter(bridge, dest)
    pbx.bridge_enter(bridge, caller)
    return bridge


def two_party(pbx: Pbx2, expect: Expectations, a: Party, b: Party, *,
               newstate_first: bool) -> tuple[Chan, Chan, Bridge]:
    """A calls B, B rings and answers: the start of every transfer flow."""
    a_chan = pbx.phone_in(a, b.number)
    b_chan = call_leg(pbx, a_chan, b)
    ring(pbx, a_chan, b_chan, newstate_first=newstate_first)
    expect.b_dial(a_chan.uniqueid, a, [b])
    bridge = answer(pbx, a_chan, b_chan)
    expect.b_dial_end(a_chan.uniqueid, a, b, "ANSWER")
    expect.up(a_chan.uniqueid, a, b)
    return a_chan, b_chan, bridge


# -- one caller, one phone ------------------------------------------------------------

def answered(ids: Ids, parties: Sequence[Party], *, hangup_by: str = "caller",
             teardown_variant: int = 0, newstate_first: bool = False,
             early_media: bool = False, hold: bool = False, user_event: str = "") -> Scenario:
    """A calls B; B answers; ``hangup_by`` ('caller' or 'callee') hangs up.

    Options: ``early_media`` (183 with SDP instead of 180: DialState PROGRESS,
    no Ringing), ``hold`` (B holds and resumes the call), ``user_event``
    (the dialplan sends UserEvent(<name>) before dialing).
    """
    a, b = parties[0], parties[1]
    pbx, expect = Pbx2(ids), Expectations()
    a_chan = pbx.phone_in(a, b.number)
    if user_event:
        pbx.user_event(a_chan, user_event, Foo="bar")
        expect.user_event(a_chan.uniqueid, user_event)
    b_chan = call_leg(pbx, a_chan, b)
    ring(pbx, a_chan, b_chan, newstate_first=newstate_first, early_media=early_media)
    expect.b_dial(a_chan.uniqueid, a, [b])
    bridge = answer(pbx, a_chan, b_chan)
    expect.b_dial_end(a_chan.uniqueid, a, b, "ANSWER")
    expect.up(a_chan.uniqueid, a, b)
    if hold:
        pbx.hold(b_chan, True)
        pbx.hold(b_chan, False)
    if hangup_by == "caller":
        teardown(pbx, bridge, a_chan, b_chan, a_chan, teardown_variant)
    else:
        teardown(pbx, bridge, b_chan, a_chan, a_chan, teardown_variant)
    expect.hangup(a_chan.uniqueid, a, "completed")
    story = (f"{a.number} calls {b.number}; {b.number} rings and answers; "
             f"{a.number if hangup_by == 'caller' else b.number} hangs up.")
    return finish("answered", pbx, expect, story, hangup_by=hangup_by,
                  teardown_variant=teardown_variant, newstate_first=newstate_first,
                  early_media=early_media, hold=hold, user_event=user_event)


def cancelled(ids: Ids, parties: Sequence[Party], *, newstate_first: bool = False) -> Scenario:
    """A calls B; B rings; A hangs up first (SIP CANCEL): reason 'cancelled'."""
    a, b = parties[0], parties[1]
    pbx, expect = Pbx2(ids), Expectations()
    a_chan = pbx.phone_in(a, b.number)
    b_chan = call_leg(pbx, a_chan, b)
    ring(pbx, a_chan, b_chan, newstate_first=newstate_first)
    expect.b_dial(a_chan.uniqueid, a, [b])
    pbx.hangup_request(a_chan, 127, 487)
    pbx.dial_end(a_chan, b_chan, "CANCEL")
    pbx.soft_hangup_request(a_chan, 16, 487)
    pbx.hangup(a_chan, 127, 487)
    pbx.hangup(b_chan, 127, 500)
    expect.b_dial_end(a_chan.uniqueid, a, b, "CANCEL")
    expect.hangup(a_chan.uniqueid, a, "cancelled")
    story = f"{a.number} calls {b.number}; {b.number} rings; {a.number} hangs up (CANCEL)."
    return finish("cancelled", pbx, expect, story, newstate_first=newstate_first)


def _refused(flow: str, ids: Ids, parties: Sequence[Party], cause: int, sip: int,
             reason: str, newstate_first: bool) -> Scenario:
    a, b = parties[0], parties[1]
    pbx, expect = Pbx2(ids), Expectations()
    a_chan = pbx.phone_in(a, b.number)
    b_chan = call_leg(pbx, a_chan, b)
    ring(pbx, a_chan, b_chan, newstate_first=newstate_first)
    expect.b_dial(a_chan.uniqueid, a, [b])
    pbx.hangup_request(b_chan, cause, sip)
    pbx.dial_end(a_chan, b_chan, "BUSY")
    pbx.soft_hangup_request(a_chan, 16)
    pbx.hangup(b_chan, cause, sip)
    pbx.hangup(a_chan, cause, sip)
    expect.b_dial_end(a_chan.uniqueid, a, b, "BUSY")
    expect.hangup(a_chan.uniqueid, a, reason)
    story = f"{a.number} calls {b.number}; {b.number} rings, then answers {sip}."
    return finish(flow, pbx, expect, story, newstate_first=newstate_first)


def busy(ids: Ids, parties: Sequence[Party], *, newstate_first: bool = True) -> Scenario:
    """A calls B; B rings, then answers 486 Busy Here: reason 'busy'."""
    return _refused("busy", ids, parties, 17, 486, "busy", newstate_first)


def rejected(ids: Ids, parties: Sequence[Party], *, newstate_first: bool = True) -> Scenario:
    """A calls B; B rings, then answers 603 Decline (cause 21): reason 'rejected'.

    DialStatus BUSY as chan_sip reports a 603 (Asterisk 13 recording
    xfer_blind_reject); no Asterisk 22 recording of a 603 exists.
    """
    return _refused("rejected", ids, parties, 21, 603, "rejected", newstate_first)


def no_answer(ids: Ids, parties: Sequence[Party], *, newstate_first: bool = True) -> Scenario:
    """A calls B; B rings until Dial's timeout: reason 'no-answer'."""
    a, b = parties[0], parties[1]
    pbx, expect = Pbx2(ids), Expectations()
    a_chan = pbx.phone_in(a, b.number)
    b_chan = call_leg(pbx, a_chan, b)
    ring(pbx, a_chan, b_chan, newstate_first=newstate_first)
    expect.b_dial(a_chan.uniqueid, a, [b])
    pbx.dial_end(a_chan, b_chan, "NOANSWER")
    pbx.soft_hangup_request(a_chan, 16)
    pbx.hangup(b_chan, 0)
    pbx.hangup(a_chan, 16)
    expect.b_dial_end(a_chan.uniqueid, a, b, "NOANSWER")
    expect.hangup(a_chan.uniqueid, a, "no-answer")
    story = f"{a.number} calls {b.number}; {b.number} rings; Dial times out."
    return finish("no_answer", pbx, expect, story, newstate_first=newstate_first)


# -- several phones at once ----------------------------------------------------------

def ring_group(ids: Ids, parties: Sequence[Party], *, exten: str = "401",
               answered_by: str | None = "last", busy: Sequence[str] = (),
               teardown_variant: int = 3) -> Scenario:
    """A calls a ring group (Dial(PJSIP/x&PJSIP/y...)); one member answers or none.

    Args:
        parties: the caller, then the members (at least one).
        answered_by: the number of the member that answers, 'last' for the
            last one, or None: nobody answers (Dial times out).
        busy: numbers of members that answer 486 after ringing.
    """
    a, members = parties[0], list(parties[1:])
    if answered_by == "last":
        answered_by = next((m.number for m in reversed(members) if m.number not in busy), None)
    pbx, expect = Pbx2(ids), Expectations()
    a_chan = pbx.phone_in(a, exten)
    chans = []
    for member in members:
        chan = pbx.phone_out(member, a_chan)
        pbx.prepare_dial(a_chan, chan)
        chans.append(chan)
    if len(chans) == 1:
        pbx.dial_begin(a_chan, chans[0], members[0].number)
        pbx.connected_line(a_chan, chans[0])
        ring(pbx, a_chan, chans[0], newstate_first=False)
    else:
        # A fast phone rings before Dial has called the last target.
        first = len(pbx.events)
        for index, (member, chan) in enumerate(zip(members, chans)):
            if index == len(chans) - 1:
                pbx.newstate(chans[0], 5)
            pbx.dial_begin(a_chan, chan, member.number)
        pbx.burst_from(first)
        pbx.dial_state(a_chan, chans[0], "RINGING")
        for chan in chans[1:]:
            ring(pbx, a_chan, chan, newstate_first=False)
    expect.b_dial(a_chan.uniqueid, a, members)
    ringing = []
    for member, chan in zip(members, chans):
        if member.number in busy:
            pbx.hangup_request(chan, 17, 486)
            pbx.dial_end(a_chan, chan, "BUSY")
            pbx.hangup(chan, 17, 486)
            expect.b_dial_end(a_chan.uniqueid, a, member, "BUSY")
        else:
            ringing.append((member, chan))
    if answered_by is not None:
        winner, w_chan = next((m, c) for m, c in ringing if m.number == answered_by)
        others = [(m, c) for m, c in ringing if c is not w_chan]
        pbx.newstate(w_chan, 6)
        pbx.connected_line(a_chan, w_chan)
        for member, chan in others:
            pbx.dial_end(a_chan, chan, "CANCEL")
            expect.b_dial_end(a_chan.uniqueid, a, member, "CANCEL")
        pbx.dial_end(a_chan, w_chan, "ANSWER")
        expect.b_dial_end(a_chan.uniqueid, a, winner, "ANSWER")
        for _member, chan in others:
            pbx.hangup(chan, 26)
        pbx.newstate(a_chan, 6)
        bridge = pbx.bridge_create()
        pbx.bridge_enter(bridge, w_chan)
        pbx.bridge_enter(bridge, a_chan)
        expect.up(a_chan.uniqueid, a, winner)
        teardown(pbx, bridge, a_chan, w_chan, a_chan, teardown_variant)
        expect.hangup(a_chan.uniqueid, a, "completed")
        story = (f"{a.number} calls ring group {exten} ({', '.join(m.number for m in members)}); "
                 f"{winner.number} answers; {a.number} hangs up.")
    elif ringing:
        for member, chan in ringing:
            pbx.dial_end(a_chan, chan, "NOANSWER")
            expect.b_dial_end(a_chan.uniqueid, a, member, "NOANSWER")
        pbx.soft_hangup_request(a_chan, 16)
        for _member, chan in ringing:
            pbx.hangup(chan, 0)
        pbx.hangup(a_chan, 16)
        expect.hangup(a_chan.uniqueid, a, "no-answer")
        story = f"{a.number} calls ring group {exten}; nobody answers; Dial times out."
    else:
        pbx.soft_hangup_request(a_chan, 16)
        pbx.hangup(a_chan, 17, 486)
        expect.hangup(a_chan.uniqueid, a, "busy")
        story = f"{a.number} calls ring group {exten}; every member is busy."
    return finish("ring_group", pbx, expect, story, exten=exten, answered_by=answered_by,
                  busy=list(busy), teardown_variant=teardown_variant)


# -- other ways to connect ---------------------------------------------------------------

def pickup(ids: Ids, parties: Sequence[Party], *, teardown_variant: int = 1) -> Scenario:
    """A calls B; B rings; C dials *8 and picks the call up; A hangs up."""
    a, b, c = parties[0], parties[1], parties[2]
    pbx, expect = Pbx2(ids), Expectations()
    a_chan = pbx.phone_in(a, b.number)
    b_chan = call_leg(pbx, a_chan, b)
    ring(pbx, a_chan, b_chan, newstate_first=True)
    expect.b_dial(a_chan.uniqueid, a, [b])
    c_chan = pbx.phone_in(c, "*8")
    pbx.connected_line(c_chan, a_chan)
    pbx.newstate(c_chan, 6)
    c_chan.exten = b.number
    pbx.account_code(c_chan, c.account)
    pbx.account_code(c_chan, c.account)
    pbx.pickup(c_chan, b_chan)
    pbx.connected_line(a_chan, c_chan)
    pbx.dial_end(a_chan, c_chan, "ANSWER")
    pbx.newstate(a_chan, 6)
    pbx.hangup(b_chan, 16)
    pbx.account_code(b_chan, b_chan.account)  # Asterisk 22 sends it after the Hangup
    bridge = pbx.bridge_create()
    pbx.bridge_enter(bridge, c_chan)
    pbx.bridge_enter(bridge, a_chan)
    c_chan.linkedid = a_chan.linkedid
    expect.up(a_chan.uniqueid, a, c)
    teardown(pbx, bridge, a_chan, c_chan, a_chan, teardown_variant)
    expect.hangup(a_chan.uniqueid, a, "completed")
    story = (f"{a.number} calls {b.number}; {b.number} rings; {c.number} picks up (*8); "
             f"{a.number} hangs up.")
    return finish("pickup", pbx, expect, story, teardown_variant=teardown_variant)


def call_forward(ids: Ids, parties: Sequence[Party], *, exten: str = "701",
                 optimize: bool = False) -> Scenario:
    """A calls ``exten``, which the dialplan forwards with Dial(Local/<B>@internal).

    ``optimize``: without ``/n`` Asterisk optimizes the Local pair away once
    media flows (LocalOptimizationBegin; B swaps into A's bridge).
    """
    a, b = parties[0], parties[1]
    pbx, expect = Pbx2(ids), Expectations()
    a_chan = pbx.phone_in(a, exten)
    one, two = pbx.local_pair(b.number, a_chan)
    pbx.callerid(one, exten, "")
    pbx.account_code(one, a.account)
    pbx.connected_line(one, a_chan)
    pbx.callerid(two, a.number, a.name)
    pbx.account_code(two, a.account)
    pbx.connected_line(two, a_chan)
    pbx.local_bridge(one, two)
    pbx.dial_begin(a_chan, one, f"{b.number}@{pbx.context}")
    b_chan = pbx.phone_out(b, two)
    pbx.prepare_dial(two, b_chan)
    pbx.dial_begin(two, b_chan, b.number)
    pbx.connected_line(two, b_chan)
    pbx.connected_line(a_chan, b_chan)
    if optimize:
        pbx.newstate(b_chan, 5)
        pbx.newstate(one, 5)
    else:
        pbx.newstate(one, 5)
    pbx.callerid(one, b.number, b.name)
    pbx.dial_state(two, b_chan, "RINGING")
    pbx.dial_state(a_chan, one, "RINGING")
    if not optimize:
        pbx.newstate(b_chan, 5)
    expect.b_dial(a_chan.uniqueid, a, [b])
    pbx.newstate(b_chan, 6)
    pbx.dial_end(two, b_chan, "ANSWER")
    pbx.newstate(two, 6)
    inner = pbx.bridge_create()
    if not optimize:
        pbx.bridge_enter(inner, b_chan)
    pbx.newstate(one, 6)
    pbx.dial_end(a_chan, one, "ANSWER")
    expect.b_dial_end(a_chan.uniqueid, a, b, "ANSWER")
    pbx.newstate(a_chan, 6)
    if optimize:
        pbx.bridge_enter(inner, b_chan)
    pbx.bridge_enter(inner, two)
    outer = pbx.bridge_create()
    pbx.bridge_enter(outer, one)
    pbx.bridge_enter(outer, a_chan)
    expect.up(a_chan.uniqueid, a, b)
    if optimize:
        pbx.emit("LocalOptimizationBegin", **pbx.snap(one, "LocalOne"),
                 **pbx.snap(two, "LocalTwo"), **pbx.snap(b_chan, "Source"),
                 DestUniqueId=a_chan.uniqueid, Id="0")
        pbx.bridge_leave(inner, b_chan)
        pbx.bridge_leave(outer, one)
        pbx.bridge_enter(outer, b_chan, swap=one)
        pbx.emit("LocalOptimizationEnd", **pbx.snap(one, "LocalOne"),
                 **pbx.snap(two, "LocalTwo"), Success="Yes", Id="0")
        pbx.bridge_leave(inner, two)
        pbx.bridge_destroy(inner)
        pbx.soft_hangup_request(two, 16)
        pbx.hangup_request(one, 16)
        pbx.hangup(two, 16)
        pbx.hangup(one, 16)
        teardown(pbx, outer, a_chan, b_chan, a_chan, 1)
    else:
        pbx.hangup_request(a_chan, 16)
        pbx.bridge_leave(outer, a_chan)
        pbx.soft_hangup_request(a_chan, 16)
        pbx.hangup(a_chan, 16)
        pbx.bridge_leave(outer, one)
        pbx.hangup_request(two, 16)
        pbx.hangup(one, 16)
        pbx.bridge_destroy(outer)
        pbx.bridge_leave(inner, two)
        pbx.soft_hangup_request(two, 16)
        pbx.hangup(two, 16)
        pbx.bridge_leave(inner, b_chan)
        pbx.bridge_destroy(inner)
        pbx.hangup(b_chan, 16)
    expect.hangup(a_chan.uniqueid, a, "completed")
    story = (f"{a.number} calls {exten}, forwarded to {b.number} through a Local channel"
             f"{' (optimized away)' if optimize else ''}; {b.number} answers; "
             f"{a.number} hangs up.")
    return finish("call_forward", pbx, expect, story, exten=exten, optimize=optimize)


def originate(ids: Ids, parties: Sequence[Party], *, hangup_by: str = "callee",
              teardown_variant: int = 0) -> Scenario:
    """Click-to-dial: AMI Originate rings A; A answers; the dialplan dials B.

    The originated leg (a DialBegin without a source) is not a call of its
    own: only A -> B is reported, with A as the caller.
    """
    a, b = parties[0], parties[1]
    pbx, expect = Pbx2(ids), Expectations()
    a_chan = pbx.phone_originated(a)
    pbx.connected_line(a_chan, a_chan)
    pbx.newstate(a_chan, 5)
    pbx.dial_begin(None, a_chan, a.number)
    pbx.dial_state(None, a_chan, "RINGING")
    pbx.newstate(a_chan, 6)
    pbx.emit("OriginateResponse", ActionID="sim-1", Response="Success", Channel=a_chan.name,
             Context=pbx.context, Exten=b.number, Reason="4", Uniqueid=a_chan.uniqueid,
             CallerIDNum=a.number, CallerIDName=a.name or "<unknown>")
    pbx.dial_end(None, a_chan, "ANSWER")
    a_chan.exten = b.number
    b_chan = call_leg(pbx, a_chan, b)
    ring(pbx, a_chan, b_chan, newstate_first=True)
    expect.b_dial(a_chan.uniqueid, a, [b])
    bridge = answer(pbx, a_chan, b_chan)
    expect.b_dial_end(a_chan.uniqueid, a, b, "ANSWER")
    expect.up(a_chan.uniqueid, a, b)
    if hangup_by == "callee":
        teardown(pbx, bridge, b_chan, a_chan, a_chan, teardown_variant)
    else:
        teardown(pbx, bridge, a_chan, b_chan, a_chan, teardown_variant)
    expect.hangup(a_chan.uniqueid, a, "completed")
    story = (f"Click-to-dial: Originate rings {a.number}, who answers; the dialplan dials "
             f"{b.number}, who answers; {a.number if hangup_by == 'caller' else b.number} "
             f"hangs up.")
    return finish("originate", pbx, expect, story, hangup_by=hangup_by,
                  teardown_variant=teardown_variant)
