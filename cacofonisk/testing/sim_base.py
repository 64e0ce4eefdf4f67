"""Shared vocabulary of the scenario simulator: parties, ids, expectations.

The simulator (``sim_ami2.py`` for Asterisk 12-22, ``sim_ami1.py`` for
Asterisk 1.8-11) builds AMI event streams the way Asterisk would send them
for a call flow, and says which call events a correct tracker reports for
that stream. This module holds what both dialects share:

* ``Party``: one phone (number, name, account code, technology, privacy);
* ``Ids``: the allocator of Uniqueids, channel-name suffixes and bridge ids.
  Building several scenarios with ONE allocator gives them distinct ids, so
  their streams can be interleaved;
* ``Expect``: one expected call event, in a form both the builders and a
  ``RecordingReporter`` (``recorder.py``) produce, so tests compare with
  ``==``;
* ``Scenario``: the events, the expectations and what a property test
  needs to know about them (which adjacent events commute, which call ids
  end merged into another call, which channels exist).

Nothing here imports hypothesis: the builders are plain functions so the
scenario files and the CLI work without it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

#: Technologies a phone may use; Local is reserved for dialplan hops.
TECHS = ("PJSIP", "SIP", "IAX2", "DAHDI")


@attrs.frozen(slots=True)
class Party:
    """One phone taking part in a call.

    Attributes:
        number: its caller-ID number (also its extension), e.g. '201'.
        name: its caller-ID name ('' for none).
        account: its account code (digits; '' for none). Asterisk copies the
            caller's account code onto the channels it dials.
        tech: channel technology (PJSIP, SIP, IAX2 ...).
        public: False when the dialplan hides its number (presentation
            restricted); the number is still reported, with
            ``CallerId.is_public`` False.
    """

    number: str
    name: str = ""
    account: str = ""
    tech: str = "PJSIP"
    public: bool = True

    @property
    def device(self) -> str:
        """The endpoint name in channel names (``PJSIP/<device>-0000002a``)."""
        return self.number


def party(number: str, name: str = "", *, account: str | None = None,
          tech: str = "PJSIP", public: bool = True) -> Party:
    """A Party with a plausible account code unless given.

    The default follows the recordings: phone 201 has account 150010001,
    202 has 150010002 ... (other numbers: ``15001`` + their last 4 digits).
    """
    if account is None:
        if number.isdigit() and 200 <= int(number) < 1200:
            account = f"150010{int(number) - 200:03d}"
        elif number.lstrip("+").isdigit():
            account = "15001" + number[-4:].rjust(4, "0")
        else:
            account = ""
    return Party(number=number, name=name, account=account, tech=tech, public=public)


class Ids:
    """Allocates identifiers the way one Asterisk server does.

    Uniqueids are ``<system>-<epoch>.<n>`` with one counter per server;
    channel names end in a hex counter per technology (``PJSIP/201-0000000a``,
    ``Local/202@internal-00000003;1``); bridge ids are UUID-shaped. All of
    it is deterministic, so a scenario file regenerates byte for byte.

    Args:
        system: the ``SystemName`` (and Uniqueid prefix).
        epoch: the seconds part of Uniqueids.
        seq: the first Uniqueid counter value.
    """

    def __init__(self, system: str = "sim", epoch: int = 1600000000, seq: int = 0) -> None:
        self.system = system
        self.epoch = epoch
        self._seq = seq
        self._chan: dict[str, int] = {}
        self._bridges = 0

    def uniqueid(self) -> str:
        """The next Uniqueid."""
        value = f"{self.system}-{self.epoch}.{self._seq}"
        self._seq += 1
        return value

    def suffix(self, tech: str) -> str:
        """The next channel-name suffix of a technology (8 hex digits)."""
        count = self._chan.get(tech, 0)
        self._chan[tech] = count + 1
        return f"{count:08x}"

    def bridge(self) -> str:
        """The next bridge id (UUID-shaped, deterministic)."""
        self._bridges += 1
        tag = sum(ord(char) for char in self.system) % 0x10000
        return f"{self.epoch % 0xffffffff:08x}-{tag:04x}-4000-8000-{self._bridges:012x}"


def _sorted(numbers: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(numbers))


@attrs.frozen(slots=True)
class Expect:
    """One call event a tracker must report, by its key fields.

    Attributes:
        hook: the reporter hook (``on_b_dial``, ``on_b_dial_end``, ``on_up``,
            ``on_warm_transfer``, ``on_blind_transfer``,
            ``on_blonde_transfer``, ``on_cold_transfer`` (kind unknown),
            ``on_hangup``, ``on_queue_caller_abandon``, ``on_user_event``).
        call_id: the Uniqueid the event is reported on.
        caller: the caller's number ('' when unknown).
        caller_public: whether the caller's number may be shown.
        to_number: the number the call's current leg dialled (the hooks'
            ``to_number``): the extension the caller dialled (a phone, ring
            group, queue or forward), after a transfer the number the call
            was transferred to; '' for hooks without one (warm transfer,
            user event).
        targets: sorted numbers: the ringing targets (b_dial, b_dial_end,
            cold transfers), the callee (up), the destination (warm
            transfer).
        reason: hangup reason or b_dial_end DialStatus (lower case).
        kind: transfer kind ('attended', 'blind', 'blonde', '').
        redirector: the transferer's number.
        merged_id: the call that a transfer ends.
        name: a user event's name.
    """

    hook: str
    call_id: str
    caller: str = ""
    caller_public: bool = True
    targets: tuple[str, ...] = attrs.field(default=(), converter=_sorted)
    reason: str = ""
    kind: str = ""
    redirector: str = ""
    merged_id: str = ""
    name: str = ""
    to_number: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, without empty fields (for ``.expected.json`` files)."""
        out: dict[str, Any] = {"hook": self.hook, "call_id": self.call_id}
        for field in attrs.fields(Expect)[2:]:
            value = getattr(self, field.name)
            if field.name == "caller_public":
                if not value:
                    out[field.name] = False
            elif value:
                out[field.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Expect:
        """The inverse of ``as_dict``."""
        fields = dict(data)
        fields["targets"] = tuple(fields.get("targets", ()))
        return cls(**fields)

    def fact(self) -> dict[str, Any] | None:
        """The lab-style fact (shared/lab/README.md) for this event, if it has one."""
        if self.hook == "on_b_dial":
            return {"kind": "b_dial", "caller": self.caller, "targets": list(self.targets)}
        if self.hook == "on_up":
            return {"kind": "up", "caller": self.caller, "callee": self.targets[0]}
        if self.hook in ("on_warm_transfer", "on_blind_transfer", "on_blonde_transfer",
                         "on_cold_transfer"):
            return {"kind": "transfer", "type": self.kind or "blind",
                    "transferred": self.caller, "transferer": self.redirector,
                    "targets": list(self.targets)}
        if self.hook == "on_hangup":
            return {"kind": "hangup", "caller": self.caller, "reason": self.reason}
        if self.hook == "on_user_event":
            return {"kind": "user_event", "name": self.name}
        if self.hook == "on_queue_caller_abandon":
            return {"kind": "queue_caller_abandon", "caller": self.caller}
        return None


class Expectations:
    """Helpers that build ``Expect`` records from parties (keeps builders short)."""

    def __init__(self) -> None:
        self.items: list[Expect] = []

    def b_dial(self, call_id: str, caller: Party, targets: Iterable[Party]) -> None:
        """on_b_dial(caller -> targets)."""
        self.items.append(Expect("on_b_dial", call_id, caller.number, caller.public,
                                 tuple(t.number for t in targets)))

    def b_dial_end(self, call_id: str, caller: Party, target: Party, status: str) -> None:
        """on_b_dial_end for one target with Asterisk's DialStatus."""
        self.items.append(Expect("on_b_dial_end", call_id, caller.number, caller.public,
                                 (target.number,), reason=status.lower()))

    def up(self, call_id: str, caller: Party, callee: Party) -> None:
        """on_up(caller, callee)."""
        self.items.append(Expect("on_up", call_id, caller.number, caller.public,
                                 (callee.number,)))

    def transfer(self, kind: str, call_id: str, merged_id: str, redirector: Party,
                 caller: Party, targets: Iterable[str]) -> None:
        """A transfer; kind 'attended' is on_warm_transfer, else blind/blonde/''."""
        hook = {"attended": "on_warm_transfer", "blind": "on_blind_transfer",
                "blonde": "on_blonde_transfer"}.get(kind, "on_cold_transfer")
        self.items.append(Expect(hook, call_id, caller.number, caller.public,
                                 tuple(targets), kind=kind, redirector=redirector.number,
                                 merged_id=merged_id))

    def hangup(self, call_id: str, caller: Party, reason: str) -> None:
        """on_hangup(caller, reason)."""
        self.items.append(Expect("on_hangup", call_id, caller.number, caller.public,
                                 reason=reason))

    def abandon(self, call_id: str, caller: Party) -> None:
        """on_queue_caller_abandon(caller)."""
        self.items.append(Expect("on_queue_caller_abandon", call_id, caller.number,
                                 caller.public))

    def user_event(self, call_id: str, name: str) -> None:
        """on_user_event(name)."""
        self.items.append(Expect("on_user_event", call_id, name=name))


class EventStream(list[dict[str, Any]]):
    """A drawn list of AMI events; equal to the plain list, with a short repr.

    Why: hypothesis prints every drawn value of a failing example, and a
    few concurrent calls are hundreds of events; the one line this prints
    leaves the failure's own message in view.
    """

    def __repr__(self) -> str:
        names: dict[str, int] = {}
        for event in self:
            name = str(event.get("Event", "?"))
            names[name] = names.get(name, 0) + 1
        common = ", ".join(f"{n} {c}" for n, c in sorted(names.items(), key=lambda i: -i[1])[:4])
        more = ", ..." if len(names) > 4 else ""
        return f"<EventStream: {len(self)} AMI events ({common}{more})>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """The same line for hypothesis' pretty printer (it prints lists item by item)."""
        printer.text(repr(self))

@attrs.frozen(slots=True)
class Scenario:
    """One simulated call flow: what Asterisk sends and what must be reported.

    Attributes:
        flow: the flow's name (``blind_transfer`` ...).
        dialect: 'ami1' or 'ami2'.
        story: one sentence saying what happens, in the lab's style.
        events: the AMI events, as dicts of str (lists for repeated headers).
        expected: the call events a correct tracker reports, in order.
        swappable: indices ``i`` where ``events[i]`` and ``events[i + 1]``
            are a pair Asterisk sends in either order (the ringing
            notifications of one target: Newstate Ringing and DialState
            RINGING).
        bursts: ``(first, last)`` index ranges of a dial burst (a ring
            group's or queue's DialBegins): ``strategies.interleavings``
            keeps other calls' events out of them, because the tracker
            needs that to announce all targets in one on_b_dial (see
            docs/property-testing.md, "Known tracker limits").
        merged: call ids that end because a transfer joined them into
            another call: they report no on_hangup.
        uniqueids: every channel the flow creates (all hang up by the end).
        numbers: the numbers of every party taking part.
        params: the builder arguments (for the CLI and the docs).
    """

    flow: str
    dialect: str
    story: str
    events: tuple[dict[str, Any], ...]
    expected: tuple[Expect, ...]
    swappable: frozenset[int] = frozenset()
    bursts: tuple[tuple[int, int], ...] = ()
    merged: frozenset[str] = frozenset()
    uniqueids: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    params: Mapping[str, Any] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        """One line: hypothesis prints every drawn Scenario of a failing
        example, and the full record holds all its events."""
        return (f"<Scenario {self.flow} ({self.dialect}) {self.story!r}: "
                f"{len(self.events)} events, {len(self.expected)} call events expected>")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """The same line for hypothesis' (IPython's) pretty printer, which
        would otherwise print an attrs record field by field."""
        printer.text(repr(self))

    @property
    def call_ids(self) -> frozenset[str]:
        """Every call id the expectations mention (merged ids included)."""
        ids = {e.call_id for e in self.expected if e.call_id}
        ids.update(e.merged_id for e in self.expected if e.merged_id)
        return frozenset(ids)

    def facts(self) -> list[dict[str, Any]]:
        """The expectations as lab-style facts (no b_dial_end, like shared/lab)."""
        return [fact for fact in (e.fact() for e in self.expected) if fact is not None]

    def expected_json(self) -> dict[str, Any]:
        """The ``<flow>.expected.json`` document."""
        return {"flow": self.flow, "dialect": self.dialect, "story": self.story,
                "params": dict(self.params), "facts": self.facts(),
                "events": [e.as_dict() for e in self.expected],
                "merged": sorted(self.merged)}


_COLD = ("on_cold_transfer", "on_blind_transfer", "on_blonde_transfer")


def with_dialled_numbers(expected: Iterable[Expect], exten: str | None,
                         events: Iterable[Mapping[str, Any]] = ()) -> tuple[Expect, ...]:
    """``expected`` with each record's ``to_number`` filled in.

    Why a pass over the finished list rather than an argument of every
    builder step: the dialled number follows from the call's history, the
    same for every flow. The first call dials ``exten`` (a route's
    extension), or its single target when None; a later call (a
    consultation) dials its target; a blind or blonde transfer makes the
    call's number the transfer's target, an attended one the destination's.
    A call that reports before any ring (a ConfBridge room answers at once)
    dialled its caller channel's extension (its Newchannel's ``Exten``).
    """
    extens = {str(e.get("Uniqueid")): str(e.get("Exten", "")) for e in events
              if e.get("Event") == "Newchannel"}
    dialled: dict[str, str] = {}
    out = []
    for item in expected:
        if item.hook == "on_b_dial" and item.call_id not in dialled:
            first = not dialled
            dialled[item.call_id] = (exten if first and exten else
                                     item.targets[0] if item.targets else "")
        elif item.hook in _COLD or item.hook == "on_warm_transfer":
            dialled[item.call_id] = item.targets[0] if item.targets else ""
        if item.hook in ("on_warm_transfer", "on_user_event"):
            out.append(item)
        else:
            number = dialled.get(item.call_id, extens.get(item.call_id, ""))
            out.append(attrs.evolve(item, to_number=number))
    return tuple(out)


def events_of(scenarios: Sequence[Scenario]) -> list[dict[str, Any]]:
    """The events of several scenarios one after the other (no interleaving)."""
    return [event for scenario in scenarios for event in scenario.events]
