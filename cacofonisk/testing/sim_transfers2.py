"""Transfers on Asterisk 12-22 (AMI 2+): blind, attended and blonde, by either side.

Modelled on the lab recordings blind_transfer, attended_transfer and
attended_transfer_a_initiates (SIP REFER, Asterisk 22); the blonde
transfers on the Asterisk 13 recording
conformance/ami2/xfer_blonde__xfer_blonde_abacbc. The building blocks
(``call_leg``, ``ring``, ``answer`` ...) are in ``sim_flows2.py``.

Who stays: the transferee (the other of A and B) continues, on its own
Uniqueid as the call id; the transferer's calls end with the transfer
(``Scenario.merged``). A transfer by the callee keeps A's call; a transfer
by the caller makes B the caller of a call on B's Uniqueid.
"""
from __future__ import annotations

from collections.abc import Sequence

from .sim_ami2 import Chan, Pbx2, teardown
from .sim_base import Expectations, Ids, Party, Scenario
from .sim_flows2 import answer, as_dialed, call_leg, finish, ring, two_party


def blind_transfer(ids: Ids, parties: Sequence[Party], *, by: str = "callee",
                   teardown_variant: int = 0) -> Scenario:
    """A calls B, B answers; ``by`` ('callee' or 'caller') blind-transfers the other to C.

    C rings and answers; the transferee hangs up. The transferer's leg ends
    with the transfer (merged).
    """
    a, b, c = parties[0], parties[1], parties[2]
    pbx, expect = Pbx2(ids), Expectations()
    a_chan, b_chan, bridge = two_party(pbx, expect, a, b, newstate_first=True)
    if by == "callee":
        xfer, xfer_party, stay, stay_party = b_chan, b, a_chan, a
    else:
        xfer, xfer_party, stay, stay_party = a_chan, a, b_chan, as_dialed(b)
    pbx.hold(xfer, False)  # the phone takes the call off hold before its REFER
    pbx.blind_transfer(xfer, stay, bridge, c.number)
    pbx.bridge_leave(bridge, xfer)
    if by == "caller":
        pbx.soft_hangup_request(xfer, 16)
    pbx.hangup(xfer, 16)
    stay.exten, stay.priority = c.number, 1
    pbx.bridge_leave(bridge, stay)
    c_chan = pbx.phone_out(c, stay)
    pbx.prepare_dial(stay, c_chan)
    pbx.bridge_destroy(bridge)
    pbx.newstate(c_chan, 5)
    pbx.dial_begin(stay, c_chan, c.number)
    pbx.connected_line(stay, c_chan)
    pbx.dial_state(stay, c_chan, "RINGING")
    expect.transfer("blind", stay.uniqueid, xfer.uniqueid, xfer_party, stay_party, [c.number])
    second = answer(pbx, stay, c_chan)
    expect.b_dial_end(stay.uniqueid, stay_party, c, "ANSWER")
    expect.up(stay.uniqueid, stay_party, c)
    teardown(pbx, second, stay, c_chan, stay, teardown_variant)
    expect.hangup(stay.uniqueid, stay_party, "completed")
    story = (f"{a.number} calls {b.number}; {b.number} answers; {xfer_party.number} "
             f"blind-transfers {stay_party.number} to {c.number}; {c.number} answers; "
             f"{stay_party.number} hangs up.")
    return finish("blind_transfer", pbx, expect, story, merged=[xfer.uniqueid], by=by,
                  teardown_variant=teardown_variant)


def consultation(pbx: Pbx2, expect: Expectations, xfer_party: Party,
                  c: Party) -> tuple[Chan, Chan]:
    """The transferer's second call: its phone dials C, C rings."""
    second = pbx.phone_in(xfer_party, c.number)
    c_chan = call_leg(pbx, second, c)
    ring(pbx, second, c_chan, newstate_first=True)
    expect.b_dial(second.uniqueid, xfer_party, [c])
    return second, c_chan


def attended_transfer(ids: Ids, parties: Sequence[Party], *, by: str = "callee",
                      teardown_variant: int | None = None) -> Scenario:
    """A calls B, B answers; ``by`` calls C, C answers; ``by`` transfers (REFER+Replaces).

    The transferee (the other of A and B) is bridged with C and hangs up.
    Both calls of the transferer end with the transfer (merged).
    """
    a, b, c = parties[0], parties[1], parties[2]
    pbx, expect = Pbx2(ids), Expectations()
    a_chan, b_chan, first = two_party(pbx, expect, a, b, newstate_first=False)
    if by == "callee":
        xfer, xfer_party, stay, stay_party = b_chan, b, a_chan, a
    else:
        xfer, xfer_party, stay, stay_party = a_chan, a, b_chan, as_dialed(b)
    second, c_chan = consultation(pbx, expect, xfer_party, c)
    bridge2 = answer(pbx, second, c_chan)
    expect.b_dial_end(second.uniqueid, xfer_party, c, "ANSWER")
    expect.up(second.uniqueid, xfer_party, c)
    pbx.hold(xfer, False)  # the phone takes both calls off hold before its REFER
    pbx.hold(second, False)
    pbx.bridge_leave(first, stay)
    pbx.bridge_leave(bridge2, second)
    pbx.bridge_enter(bridge2, stay, swap=second)
    pbx.soft_hangup_request(second, 1)
    pbx.attended_transfer(xfer, first, second, bridge2, stay, c_chan, dest_type="Bridge",
                          dest_bridge=bridge2)
    merged_id = second.uniqueid if by == "callee" else a_chan.uniqueid
    expect.transfer("attended", stay.uniqueid, merged_id, xfer_party, stay_party, [c.number])
    c_chan.linkedid = stay.linkedid
    if by == "callee":
        pbx.bridge_leave(first, xfer)
        pbx.bridge_destroy(first)
        pbx.hangup(xfer, 16)
        pbx.connected_line(c_chan, stay)
        pbx.connected_line(stay, c_chan)
    else:
        pbx.connected_line(c_chan, stay)
        pbx.bridge_leave(first, xfer)
        pbx.soft_hangup_request(xfer, 16)
        pbx.hangup(xfer, 16)
        pbx.connected_line(stay, c_chan)
        pbx.bridge_destroy(first)
    pbx.soft_hangup_request(second, 16)
    pbx.hangup(second, 16)
    if by == "callee":
        variant = 5 if teardown_variant is None else teardown_variant
        teardown(pbx, bridge2, stay, c_chan, stay, variant)
    else:
        teardown(pbx, bridge2, stay, c_chan, None, teardown_variant or 0)
    expect.hangup(stay.uniqueid, stay_party, "completed")
    merged = [second.uniqueid] + ([a_chan.uniqueid] if by == "caller" else [])
    story = (f"{a.number} calls {b.number}; {b.number} answers; {xfer_party.number} calls "
             f"{c.number}, who answers; {xfer_party.number} transfers (attended); "
             f"{stay_party.number} talks with {c.number} and hangs up.")
    return finish("attended_transfer", pbx, expect, story, merged=merged, by=by,
                  teardown_variant=teardown_variant)


def blonde_transfer(ids: Ids, parties: Sequence[Party], *, by: str = "caller",
                    teardown_variant: int = 0) -> Scenario:
    """A calls B, B answers; ``by`` calls C and transfers while C still rings.

    No Asterisk 22 recording: modelled on the Asterisk 13 recording
    conformance/ami2/xfer_blonde__xfer_blonde_abacbc (AttendedTransfer
    DestType App, DestApp Dial; the ringing dial moves to the transferee)
    without its Local channels.
    """
    a, b, c = parties[0], parties[1], parties[2]
    pbx, expect = Pbx2(ids), Expectations()
    a_chan, b_chan, first = two_party(pbx, expect, a, b, newstate_first=False)
    if by == "callee":
        xfer, xfer_party, stay, stay_party = b_chan, b, a_chan, a
    else:
        xfer, xfer_party, stay, stay_party = a_chan, a, b_chan, as_dialed(b)
    second, c_chan = consultation(pbx, expect, xfer_party, c)
    pbx.attended_transfer(xfer, first, second, None, stay, None, dest_type="App",
                          dest_app="Dial")
    merged_id = second.uniqueid if by == "callee" else a_chan.uniqueid
    expect.transfer("blonde", stay.uniqueid, merged_id, xfer_party, stay_party, [c.number])
    pbx.bridge_leave(first, xfer)
    pbx.bridge_leave(first, stay)
    pbx.dial_end(second, c_chan, "NOANSWER")
    stay.exten = c.number
    pbx.dial_begin(stay, c_chan, c.number)
    pbx.bridge_destroy(first)
    pbx.hangup(second, 16)
    pbx.hangup(xfer, 16)
    c_chan.linkedid = stay.linkedid
    pbx.newstate(c_chan, 6)
    pbx.dial_end(stay, c_chan, "ANSWER")
    expect.b_dial_end(stay.uniqueid, stay_party, c, "ANSWER")
    bridge2 = pbx.bridge_create()
    pbx.bridge_enter(bridge2, c_chan)
    pbx.bridge_enter(bridge2, stay)
    expect.up(stay.uniqueid, stay_party, c)
    teardown(pbx, bridge2, stay, c_chan, None, teardown_variant)
    expect.hangup(stay.uniqueid, stay_party, "completed")
    merged = [second.uniqueid] + ([a_chan.uniqueid] if by == "caller" else [])
    story = (f"{a.number} calls {b.number}; {b.number} answers; {xfer_party.number} calls "
             f"{c.number} and transfers while it rings (blonde); {c.number} answers "
             f"{stay_party.number}, who hangs up.")
    return finish("blonde_transfer", pbx, expect, story, merged=merged, by=by,
                  teardown_variant=teardown_variant)
