"""Call flows on Asterisk 1.8-11 (AMI 1.x), modelled on the ami1 recordings.

Supported: answered (either side hangs up), cancelled, busy, rejected, no
answer, ring group (one member answers, or none), blind and attended
transfers initiated by the caller. Not simulated for AMI 1.x: transfers by
the callee, blonde transfers, pickup, queues, call forwarding, originate.

Every phone is dialed through VoIPGRID's Local route (see ``sim_ami1.py``),
which shows the dialed phone the number that was dialed: a ring group's
members all show the group's number, and that is what on_b_dial reports
as their numbers.

Expectations follow cacofonisk 0.4.0, whose reports the AMI 1.x rules
reproduce exactly (the conformance suite): no on_b_dial_end, transfers
reported as on_cold_transfer (kind unknown) or on_warm_transfer, and a
caller's blind transfer shows a stand-in on_b_dial on the new call with the
transferer as its caller.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from .sim_ami1 import Chan1, Pbx1, device
from .sim_base import Expectations, Ids, Party, Scenario


@attrs.define
class Leg:
    """One phone dialed through a Local pair: the shown party and its channels."""

    shown: Party
    one: Chan1
    two: Chan1
    phone: Chan1


def _scenario(flow: str, pbx: Pbx1, expect: Expectations, story: str,
              merged: Sequence[str] = (), **params: Any) -> Scenario:
    return Scenario(flow=flow, dialect="ami1", story=story, events=tuple(pbx.events),
                    expected=tuple(expect.items), swappable=frozenset(pbx.swappable),
                    merged=frozenset(merged), uniqueids=tuple(pbx.uniqueids), params=params)


def _dial_legs(pbx: Pbx1, a_chan: Chan1, members: Sequence[Party], shown: str,
               expect: Expectations | None = None, user_event: str = "") -> list[Leg]:
    """Dial(Local/ID...&Local/ID...): routes, LocalBridges, Dials, then the phones.

    ``user_event``: the route's dialplan sends UserEvent(<name>) from each
    ``;2`` half before dialing the phone (VoIPGRID's call notifications).
    """
    routes = [pbx.route(member, shown) for member in members]
    for one, two in routes:
        pbx.local_bridge(one, two)
        pbx.dial_begin(a_chan, one, f"{one.exten}@osvpi_route_phoneaccount")
    if user_event:
        for _one, two in routes:
            pbx.user_event(two, user_event, Provider="webhook")
            if expect is not None:
                expect.user_event(two.uniqueid, user_event)
    legs = []
    for member, (one, two) in zip(members, routes):
        phone = pbx.phone_out(member, shown)
        dev = device(member)
        pbx.dial_begin(two, phone, f"{dev}/{dev}")
        legs.append(Leg(attrs.evolve(member, number=shown, name="", public=True), one, two,
                        phone))
    return legs


def _ring(pbx: Pbx1, legs: Sequence[Leg]) -> None:
    for leg in legs:
        pbx.newstate(leg.phone, 5)
        pbx.newstate(leg.one, 5)


def _optimize(pbx: Pbx1, leg: Leg) -> Chan1:
    """The Local pair goes: the phone masquerades into ``;1``; returns the survivor."""
    zombie = pbx.masquerade(leg.phone, leg.one)
    pbx.bridge("Unlink", leg.two, zombie)
    pbx.hangup_request(leg.two)
    pbx.hangup(zombie, 16)
    pbx.dial_end(leg.two, "ANSWER")
    pbx.soft_hangup_request(leg.two, 16)
    pbx.hangup(leg.two, 16)
    return leg.one


def _answer(pbx: Pbx1, a_chan: Chan1, leg: Leg, others: Sequence[Leg] = (), *,
            states_first: bool = False) -> Chan1:
    """The phone answers: both halves bridge, the others stop ringing, the pair goes.

    ``states_first``: every Newstate Up comes before the bridges (a race seen
    in xfer_blind_abacbc) instead of the order of simple__ab_success.
    """
    pbx.newstate(leg.phone, 6)
    pbx.newstate(leg.two, 6)
    if states_first and not others:
        pbx.newstate(leg.one, 6)
        if a_chan.state != 6:
            pbx.newstate(a_chan, 6)
        pbx.account_code(leg.phone, a_chan.account)
        pbx.bridge("Link", leg.two, leg.phone)
        pbx.account_code(leg.one, a_chan.account)
        pbx.bridge("Link", a_chan, leg.one)
        return _optimize(pbx, leg)
    pbx.account_code(leg.phone, a_chan.account)
    if others:
        pbx.newstate(leg.one, 6)
        pbx.bridge("Link", leg.two, leg.phone)
        for other in others:
            pbx.hangup_request(other.two)
            pbx.hangup(other.one, 26)
    else:
        pbx.bridge("Link", leg.two, leg.phone)
        pbx.newstate(leg.one, 6)
    if a_chan.state != 6:
        pbx.newstate(a_chan, 6)
    for other in others:
        pbx.hangup(other.phone, 26)
        pbx.dial_end(other.two, "CANCEL")
    pbx.account_code(leg.one, a_chan.account)
    pbx.bridge("Link", a_chan, leg.one)
    for other in others:
        pbx.soft_hangup_request(other.two, 16)
        pbx.hangup(other.two, 26)
    return _optimize(pbx, leg)


def _teardown(pbx: Pbx1, a_chan: Chan1, callee: Chan1, hanger: Chan1) -> None:
    pbx.hangup_request(hanger)
    pbx.bridge("Unlink", a_chan, callee)
    pbx.hangup(callee, 16)
    pbx.dial_end(a_chan, "ANSWER")
    pbx.soft_hangup_request(a_chan, 16)
    pbx.hangup(a_chan, 16)


def _unanswered(pbx: Pbx1, a_chan: Chan1, legs: Sequence[Leg], status: str, cause: int,
                caller_hangs_up: bool) -> None:
    """A's Dial ends (A hung up, or its timeout): every leg is torn down."""
    if caller_hangs_up:
        pbx.hangup_request(a_chan)
    for leg in legs:
        pbx.hangup_request(leg.two)
        pbx.hangup(leg.one, 0)
        pbx.hangup(leg.phone, 16)
        pbx.dial_end(leg.two, "CANCEL")
        pbx.soft_hangup_request(leg.two, 16)
        pbx.hangup(leg.two, 0)
    pbx.dial_end(a_chan, status)
    pbx.soft_hangup_request(a_chan, 16)
    pbx.hangup(a_chan, cause)


def _call(pbx: Pbx1, expect: Expectations, a: Party, b: Party, user_event: str = "",
          exten: str | None = None) -> tuple[Chan1, Leg]:
    """A dials ``exten`` (default: B's number), routed to B, who rings."""
    exten = exten or b.number
    a_chan = pbx.phone_in(a, exten)
    (leg,) = _dial_legs(pbx, a_chan, [b], exten, expect, user_event)
    _ring(pbx, [leg])
    expect.b_dial(a_chan.uniqueid, a, [leg.shown])
    return a_chan, leg


# -- flows -------------------------------------------------------------------------------

def answered(ids: Ids, parties: Sequence[Party], *, hangup_by: str = "caller") -> Scenario:
    """A calls B; B answers; ``hangup_by`` ('caller' or 'callee') hangs up."""
    a, b = parties[0], parties[1]
    pbx, expect = Pbx1(ids), Expectations()
    a_chan, leg = _call(pbx, expect, a, b)
    callee = _answer(pbx, a_chan, leg)
    expect.up(a_chan.uniqueid, a, leg.shown)
    _teardown(pbx, a_chan, callee, a_chan if hangup_by == "caller" else callee)
    expect.hangup(a_chan.uniqueid, a, "completed")
    story = (f"{a.number} calls {b.number}; {b.number} answers; "
             f"{a.number if hangup_by == 'caller' else b.number} hangs up.")
    return _scenario("answered", pbx, expect, story, hangup_by=hangup_by)


def cancelled(ids: Ids, parties: Sequence[Party], *, user_event: str = "",
              exten: str | None = None) -> Scenario:
    """A calls B; B rings; A hangs up: reason 'cancelled' (cause 0).

    ``exten``: the number A dialed (B is shown it), e.g. a one-member ring
    group; default B's number.
    """
    a, b = parties[0], parties[1]
    pbx, expect = Pbx1(ids), Expectations()
    a_chan, leg = _call(pbx, expect, a, b, user_event, exten)
    _unanswered(pbx, a_chan, [leg], "CANCEL", 0, caller_hangs_up=True)
    expect.hangup(a_chan.uniqueid, a, "cancelled")
    return _scenario("cancelled", pbx, expect,
                     f"{a.number} calls {b.number}; {b.number} rings; {a.number} hangs up.",
                     user_event=user_event, exten=exten)


def _refused(flow: str, ids: Ids, parties: Sequence[Party], cause: int,
             reason: str) -> Scenario:
    a, b = parties[0], parties[1]
    pbx, expect = Pbx1(ids), Expectations()
    a_chan, leg = _call(pbx, expect, a, b)
    pbx.hangup(leg.phone, cause)
    pbx.dial_end(leg.two, "BUSY")
    pbx.soft_hangup_request(leg.two, 16)
    pbx.hangup(leg.two, cause)
    pbx.hangup(leg.one, cause)
    pbx.dial_end(a_chan, "BUSY")
    pbx.soft_hangup_request(a_chan, 16)
    pbx.hangup(a_chan, cause)
    expect.hangup(a_chan.uniqueid, a, reason)
    return _scenario(flow, pbx, expect,
                     f"{a.number} calls {b.number}; {b.number} rings, then refuses ({reason}).")


def busy(ids: Ids, parties: Sequence[Party]) -> Scenario:
    """A calls B; B is busy (cause 17)."""
    return _refused("busy", ids, parties, 17, "busy")


def rejected(ids: Ids, parties: Sequence[Party]) -> Scenario:
    """A calls B; B declines (603, cause 21)."""
    return _refused("rejected", ids, parties, 21, "rejected")


def no_answer(ids: Ids, parties: Sequence[Party]) -> Scenario:
    """A calls B; B rings until A's Dial times out: reason 'no-answer'."""
    a, b = parties[0], parties[1]
    pbx, expect = Pbx1(ids), Expectations()
    a_chan, leg = _call(pbx, expect, a, b)
    _unanswered(pbx, a_chan, [leg], "NOANSWER", 16, caller_hangs_up=False)
    expect.hangup(a_chan.uniqueid, a, "no-answer")
    return _scenario("no_answer", pbx, expect,
                     f"{a.number} calls {b.number}; {b.number} rings; Dial times out.")


def ring_group(ids: Ids, parties: Sequence[Party], *, exten: str = "401",
               answered_by: str | None = "first", hangup_by: str = "callee") -> Scenario:
    """A calls ring group ``exten``; ``answered_by`` (a member's number, 'first',
    or None: nobody) answers; then ``hangup_by`` hangs up."""
    a, members = parties[0], list(parties[1:])
    pbx, expect = Pbx1(ids), Expectations()
    a_chan = pbx.phone_in(a, exten)
    legs = _dial_legs(pbx, a_chan, members, exten)
    _ring(pbx, legs)
    expect.b_dial(a_chan.uniqueid, a, [leg.shown for leg in legs])
    if answered_by is None:
        _unanswered(pbx, a_chan, legs, "NOANSWER", 16, caller_hangs_up=False)
        expect.hangup(a_chan.uniqueid, a, "no-answer")
        story = f"{a.number} calls ring group {exten}; nobody answers."
    else:
        if answered_by == "first":
            answered_by = members[0].number
        winner = next(leg for member, leg in zip(members, legs) if member.number == answered_by)
        callee = _answer(pbx, a_chan, winner, [leg for leg in legs if leg is not winner])
        expect.up(a_chan.uniqueid, a, winner.shown)
        _teardown(pbx, a_chan, callee, a_chan if hangup_by == "caller" else callee)
        expect.hangup(a_chan.uniqueid, a, "completed")
        story = f"{a.number} calls ring group {exten}; {answered_by} answers."
    return _scenario("ring_group", pbx, expect, story, exten=exten, answered_by=answered_by,
                     hangup_by=hangup_by)


def blind_transfer(ids: Ids, parties: Sequence[Party], *, by: str = "caller") -> Scenario:
    """A calls B, B answers; A blind-transfers B to C (SIP REFER); C answers and hangs up.

    Asterisk 11 moves B to the transfer extension with an AsyncGoto
    masquerade: B continues under a new Uniqueid, which is the new call's id.
    """
    if by != "caller":
        raise ValueError("AMI 1.x: only a blind transfer by the caller is simulated")
    a, b, c = parties[0], parties[1], parties[2]
    pbx, expect = Pbx1(ids), Expectations()
    a_chan, leg = _call(pbx, expect, a, b)
    callee = _answer(pbx, a_chan, leg, states_first=True)
    expect.up(a_chan.uniqueid, a, leg.shown)
    moved = pbx.new_channel(f"AsyncGoto/{callee.name}", cid_num="", cid_name="",
                     account=a_chan.account, exten="", state=6, context="osvpi_account")
    zombie = pbx.masquerade(callee, moved)
    pbx.transfer("Blind", a_chan, zombie, exten=c.number)
    pbx.bridge("Unlink", a_chan, zombie)
    pbx.hangup(zombie, 16)
    pbx.dial_end(a_chan, "ANSWER")
    pbx.soft_hangup_request(a_chan, 16)
    pbx.hangup(a_chan, 16)
    (c_leg,) = _dial_legs(pbx, moved, [c], c.number)
    _ring(pbx, [c_leg])
    expect.b_dial(moved.uniqueid, a, [c_leg.shown])
    expect.transfer("", moved.uniqueid, a_chan.uniqueid, a, leg.shown, [c.number])
    target = _answer(pbx, moved, c_leg)
    expect.up(moved.uniqueid, leg.shown, c_leg.shown)
    _teardown(pbx, moved, target, target)
    expect.hangup(moved.uniqueid, leg.shown, "completed")
    story = (f"{a.number} calls {b.number}; {b.number} answers; {a.number} blind-transfers "
             f"{b.number} to {c.number}; {c.number} answers and hangs up.")
    return _scenario("blind_transfer", pbx, expect, story, merged=[a_chan.uniqueid], by=by)


def attended_transfer(ids: Ids, parties: Sequence[Party], *, by: str = "caller") -> Scenario:
    """A calls B, B answers; A calls C, C answers; A transfers B to C (attended).

    Asterisk 11 masquerades B into A's second channel, whose Uniqueid is the
    id of the call that remains.
    """
    if by != "caller":
        raise ValueError("AMI 1.x: only an attended transfer by the caller is simulated")
    a, b, c = parties[0], parties[1], parties[2]
    pbx, expect = Pbx1(ids), Expectations()
    a_chan, leg = _call(pbx, expect, a, b)
    callee = _answer(pbx, a_chan, leg)
    expect.up(a_chan.uniqueid, a, leg.shown)
    second = pbx.phone_in(a, c.number)
    (c_leg,) = _dial_legs(pbx, second, [c], c.number)
    _ring(pbx, [c_leg])
    expect.b_dial(second.uniqueid, a, [c_leg.shown])
    target = _answer(pbx, second, c_leg)
    expect.up(second.uniqueid, a, c_leg.shown)
    pbx.transfer("Attended", a_chan, second)
    expect.transfer("attended", second.uniqueid, a_chan.uniqueid, a, leg.shown, [c.number])
    zombie = pbx.masquerade(callee, second)
    pbx.bridge("Unlink", a_chan, zombie)
    pbx.hangup(zombie, 16)
    pbx.hangup_request(a_chan)
    pbx.dial_end(a_chan, "ANSWER")
    pbx.soft_hangup_request(a_chan, 16)
    pbx.hangup(a_chan, 16)
    _teardown(pbx, second, target, second)
    expect.hangup(second.uniqueid, leg.shown, "completed")
    story = (f"{a.number} calls {b.number}; {b.number} answers; {a.number} calls {c.number}, "
             f"who answers; {a.number} transfers; {b.number} talks with {c.number} and "
             f"hangs up.")
    return _scenario("attended_transfer", pbx, expect, story, merged=[a_chan.uniqueid], by=by)
