"""Random operations on an Asterisk 22 model, each emitting what Asterisk would.

``ChannelManagerMachine`` is a hypothesis ``RuleBasedStateMachine`` whose
rules are the primitive things that happen on a PBX: a phone starts a call
(new channel), a caller dials a phone, the phone rings, answers, is
bridged with its caller, one of two bridged parties blind-transfers the
other, two bridged channels join their peers (attended transfer), a
channel hangs up (consuming it). Each rule appends the AMI 2
events of ``cacofonisk.testing.sim_ami2.Pbx2`` for that step and feeds them
to a ``ChannelManager(strict=True)`` at once. After every step:

* the manager's live channels are the model's;
* no call id has reported more than one on_hangup;
* a call's on_up comes only after an on_b_dial on that call id (or a
  transfer, which replaces it: a blind transfer's transferee is answered
  by the new target without a b_dial of its own).

At the end every remaining channel hangs up and the manager must be idle.
A failure shrinks to a short, printed sequence of steps.
"""
from __future__ import annotations

from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, consumes, invariant,
                                 precondition, rule)

from cacofonisk import ChannelManager
from cacofonisk.testing.recorder import RecordingReporter
from cacofonisk.testing.sim_ami2 import Bridge, Chan, Pbx2
from cacofonisk.testing.sim_base import TECHS, Ids, Party, party

from callcheck import TRANSFERS


class Leg:
    """The model of one channel: what the machine knows about it."""

    def __init__(self, chan: Chan, dialer: Leg | None = None) -> None:
        self.chan = chan
        self.dialer = dialer
        self.dials: list[Leg] = []
        self.rang = False
        self.answered = False
        self.bridge: Bridge | None = None
        self.peer: Leg | None = None
        self.alive = True
        self.can_dial = dialer is None

    def __repr__(self) -> str:
        return f"<Leg {self.chan.name}>"


class ChannelManagerMachine(RuleBasedStateMachine):
    """A PBX model driven by random steps, checked against a ChannelManager."""

    channels = Bundle("channels")

    def __init__(self) -> None:
        super().__init__()
        self.pbx = Pbx2(Ids(system="fsm"))
        self.recorder = RecordingReporter()
        self.manager = ChannelManager(reporter=self.recorder, strict=True)
        self.manager.declare_dialect("ami2")  # as a runner does at login: events apply at once
        self.legs: list[Leg] = []
        self.fed = 0
        self.numbers = iter(range(201, 10_000))

    # -- plumbing -------------------------------------------------------------------

    def _feed(self) -> None:
        for event in self.pbx.events[self.fed:]:
            self.manager.on_event(event)
        self.fed = len(self.pbx.events)

    def _party(self, tech: str, private: bool = False) -> Party:
        return party(str(next(self.numbers)), tech=tech, public=not private)

    def _open_dials(self, leg: Leg) -> list[Leg]:
        return [d for d in leg.dials if d.alive and not d.answered]

    def _end_bridge(self, hanger: Leg) -> None:
        """A bridged party hangs up: both leave, the bridge goes, both hang up."""
        peer, bridge = hanger.peer, hanger.bridge
        assert peer is not None and bridge is not None
        self.pbx.hangup_request(hanger.chan, 16)
        self.pbx.bridge_leave(bridge, hanger.chan)
        self.pbx.bridge_leave(bridge, peer.chan)
        self.pbx.bridge_destroy(bridge)
        self.pbx.hangup(hanger.chan, 16)
        self.pbx.hangup(peer.chan, 16)
        hanger.alive = peer.alive = False
        hanger.bridge = peer.bridge = None

    def _hang_up(self, leg: Leg, cause: int) -> None:
        if leg.bridge is not None:
            self._end_bridge(leg)
            return
        open_dials = self._open_dials(leg)
        dialer = leg.dialer
        if open_dials:
            self.pbx.hangup_request(leg.chan, 127, 487)
            for dialed in open_dials:
                self.pbx.dial_end(leg.chan, dialed.chan, "CANCEL")
            self.pbx.hangup(leg.chan, 127, 487)
            for dialed in open_dials:
                self.pbx.hangup(dialed.chan, 127)
                dialed.alive = False
        elif dialer is not None and dialer.alive and not leg.answered:
            self.pbx.hangup_request(leg.chan, cause)
            status = {17: "BUSY", 21: "BUSY", 0: "NOANSWER"}.get(cause, "CHANUNAVAIL")
            self.pbx.dial_end(dialer.chan, leg.chan, status)
            self.pbx.hangup(leg.chan, cause)
        else:
            self.pbx.hangup(leg.chan, cause)
        leg.alive = False

    # -- who may do what (rules pick among these, so few steps are wasted) --------------

    def _callers(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.alive and leg.can_dial and leg.bridge is None
                and not any(d.answered for d in leg.dials)]

    def _unrung(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.alive and leg.dialer is not None
                and leg.dialer.alive and not leg.rang and not leg.answered]

    def _answerable(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.alive and leg.dialer is not None
                and leg.dialer.alive and not leg.answered and leg.dialer.bridge is None
                and not any(d.answered for d in leg.dialer.dials)]

    def _bridgeable(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.alive and leg.answered and leg.bridge is None
                and leg.dialer is not None and leg.dialer.alive and leg.dialer.bridge is None]

    def _bridged(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.alive and leg.bridge is not None
                and leg.peer is not None and leg.peer.alive]

    def _transfer_pairs(self) -> list[tuple[Leg, Leg]]:
        bridged = self._bridged()
        return [(one, two) for one in bridged for two in bridged if one.bridge is not two.bridge]

    # -- rules --------------------------------------------------------------------------

    @precondition(lambda self: sum(leg.alive for leg in self.legs) < 10)
    @rule(target=channels, tech=st.sampled_from(TECHS), private=st.booleans())
    def new_channel(self, tech: str, private: bool) -> Leg:
        """A phone starts a call (Newchannel in state Ring)."""
        leg = Leg(self.pbx.phone_in(self._party(tech, private), "s"))
        self.legs.append(leg)
        self._feed()
        return leg

    @precondition(lambda self: bool(self._callers()))
    @rule(target=channels, pick=st.integers(0, 99), tech=st.sampled_from(TECHS))
    def dial(self, pick: int, tech: str) -> Leg:
        """A caller's Dial() calls one more phone (a ring group when repeated)."""
        callers = self._callers()
        caller = callers[pick % len(callers)]
        callee = self._party(tech)
        if not caller.dials:
            caller.chan.exten = callee.number
        chan = self.pbx.phone_out(callee, caller.chan)
        self.pbx.prepare_dial(caller.chan, chan)
        self.pbx.dial_begin(caller.chan, chan, callee.number)
        leg = Leg(chan, dialer=caller)
        caller.dials.append(leg)
        self.legs.append(leg)
        self._feed()
        return leg

    @precondition(lambda self: bool(self._unrung()))
    @rule(pick=st.integers(0, 99), newstate_first=st.booleans(), early_media=st.booleans())
    def ring(self, pick: int, newstate_first: bool, early_media: bool) -> None:
        """A dialed phone rings (180) or sends early media (183)."""
        legs = self._unrung()
        callee = legs[pick % len(legs)]
        dialer = callee.dialer
        assert dialer is not None
        callee.rang = True
        if early_media:
            self.pbx.dial_state(dialer.chan, callee.chan, "PROGRESS")
        elif newstate_first:
            self.pbx.newstate(callee.chan, 5)
            self.pbx.dial_state(dialer.chan, callee.chan, "RINGING")
        else:
            self.pbx.dial_state(dialer.chan, callee.chan, "RINGING")
            self.pbx.newstate(callee.chan, 5)
        self._feed()

    @precondition(lambda self: bool(self._answerable()))
    @rule(pick=st.integers(0, 99))
    def answer(self, pick: int) -> None:
        """A dialed phone answers; Dial cancels the caller's other dials."""
        legs = self._answerable()
        callee = legs[pick % len(legs)]
        dialer = callee.dialer
        assert dialer is not None
        callee.answered = True
        self.pbx.newstate(callee.chan, 6)
        for other in self._open_dials(dialer):
            self.pbx.dial_end(dialer.chan, other.chan, "CANCEL")
        self.pbx.dial_end(dialer.chan, callee.chan, "ANSWER")
        for other in self._open_dials(dialer):
            self.pbx.hangup(other.chan, 26)
            other.alive = False
        if dialer.chan.state != 6:
            self.pbx.newstate(dialer.chan, 6)
        self._feed()

    @precondition(lambda self: bool(self._bridgeable()))
    @rule(pick=st.integers(0, 99))
    def bridge(self, pick: int) -> None:
        """An answered phone and its caller are bridged."""
        legs = self._bridgeable()
        callee = legs[pick % len(legs)]
        dialer = callee.dialer
        assert dialer is not None
        bridge = self.pbx.bridge_create()
        self.pbx.bridge_enter(bridge, callee.chan)
        self.pbx.bridge_enter(bridge, dialer.chan)
        callee.bridge = dialer.bridge = bridge
        callee.peer, dialer.peer = dialer, callee
        self._feed()

    @precondition(lambda self: bool(self._bridged()))
    @rule(pick=st.integers(0, 99), tech=st.sampled_from(TECHS))
    def transfer(self, pick: int, tech: str) -> None:
        """A bridged party blind-transfers the other (SIP REFER to a new number)."""
        legs = self._bridged()
        transferer = legs[pick % len(legs)]
        peer, bridge = transferer.peer, transferer.bridge
        assert peer is not None and bridge is not None
        exten = self._party(tech).number
        self.pbx.blind_transfer(transferer.chan, peer.chan, bridge, exten)
        self.pbx.bridge_leave(bridge, transferer.chan)
        self.pbx.hangup(transferer.chan, 16)
        peer.chan.exten = exten
        self.pbx.bridge_leave(bridge, peer.chan)
        self.pbx.bridge_destroy(bridge)
        transferer.alive = False
        transferer.bridge = peer.bridge = None
        transferer.peer = peer.peer = None
        peer.can_dial, peer.dials = True, []
        self._feed()

    @precondition(lambda self: bool(self._transfer_pairs()))
    @rule(pick=st.integers(0, 999))
    def attended_transfer(self, pick: int) -> None:
        """One phone's two bridged calls join their peers (REFER with Replaces).

        The transferee (``first``'s peer) replaces ``second`` in the second
        bridge; both transferer channels hang up.
        """
        pairs = self._transfer_pairs()
        first, second = pairs[pick % len(pairs)]
        stay, target, one, two = first.peer, second.peer, first.bridge, second.bridge
        assert stay is not None and target is not None and one is not None and two is not None
        self.pbx.bridge_leave(one, stay.chan)
        self.pbx.bridge_leave(two, second.chan)
        self.pbx.bridge_enter(two, stay.chan, swap=second.chan)
        self.pbx.soft_hangup_request(second.chan, 1)
        self.pbx.attended_transfer(first.chan, one, second.chan, two, stay.chan, target.chan,
                                   dest_type="Bridge", dest_bridge=two)
        self.pbx.bridge_leave(one, first.chan)
        self.pbx.bridge_destroy(one)
        self.pbx.hangup(first.chan, 16)
        self.pbx.hangup(second.chan, 16)
        first.alive = second.alive = False
        first.bridge = second.bridge = None
        stay.bridge, stay.peer, target.peer = two, target, stay
        self._feed()

    @rule(leg=consumes(channels), cause=st.sampled_from([16, 17, 21, 127, 0]))
    def hang_up(self, leg: Leg, cause: int) -> None:
        """A channel hangs up (its bridged peer or its ringing dials with it)."""
        if not leg.alive:
            return
        self._hang_up(leg, cause)
        self._feed()

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def live_channels_are_the_models(self) -> None:
        model = {leg.chan.uniqueid for leg in self.legs if leg.alive}
        assert {chan.uniqueid for chan in self.manager.channels} == model

    @invariant()
    def no_call_reports_two_hangups(self) -> None:
        hangups = Counter(e.call_id for e in self.recorder.expects() if e.hook == "on_hangup")
        assert all(count == 1 for count in hangups.values()), hangups

    @invariant()
    def up_comes_after_b_dial_of_the_same_call(self) -> None:
        started: set[str] = set()
        for event in self.recorder.expects():
            if event.hook == "on_b_dial" or event.hook in TRANSFERS:
                started.add(event.call_id)
            elif event.hook == "on_up":
                assert event.call_id in started, event

    def teardown(self) -> None:
        """Every remaining channel hangs up: nothing may be left behind."""
        for leg in self.legs:
            if leg.alive:
                self._hang_up(leg, 16)
        self._feed()
        assert self.manager.is_idle(), (self.manager.channels, self.manager.calls,
                                        self.manager.bridges)


ChannelManagerMachine.TestCase.settings = settings(
    settings(), stateful_step_count=30)
TestRandomOperations = ChannelManagerMachine.TestCase
