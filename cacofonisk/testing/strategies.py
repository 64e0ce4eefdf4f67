"""hypothesis strategies for call flows, concurrent calls and damaged streams.

One module of documented ``@st.composite`` strategies, in the manner of
attrs' ``tests/strategies.py``: switches default to "anything" (``None``
means every flow, every dialect ...). Everything is built on the scenario
simulator (``scenarios.py``), so each drawn stream comes with the call
events a correct tracker reports for it.

* ``parties``: phones with distinct numbers, names, account codes,
  technologies and caller-ID privacy;
* ``scenarios``: one simulated call flow with random options;
* ``concurrent_scenarios``: several calls at once (shared id allocator,
  distinct numbers), and ``interleavings`` of their events: any
  order-preserving merge, each call's own order kept, except
  (``swap=True``) the pairs a scenario marks as commuting;
* ``noise_events`` / ``with_noise``: VarSet, Newexten, RTCPSent,
  DeviceStateChange for channels of the stream, at random places;
* ``damaged``: a stream truncated, with events duplicated or dropped;
* ``Dialplan`` with ``Phone``, ``RingGroup``, ``Queue``, ``Forward``
  routes, and ``dialplan_calls`` / ``dialplan_scenarios``: calls through a
  user's own routing.

Which pairs commute. Only the two ringing notifications of one target
(``Newstate`` Ringing and ``DialState`` RINGING): Asterisk publishes the
first from the phone's channel thread and the second from the dialing
thread, the lab recordings show both orders, and the tracker's result is
the same either way. Nothing else is swapped: a Newstate of two different
targets is NOT swapped, because whether it falls before or after the next
DialBegin changes what the tracker can announce together.

``avoid_known_limits=True`` (off by default) steers clear of situations
that once were tracker limits (``tests/property/test_known_limits.py``
keeps each as a regression test): dial bursts split by another call's
events, queues of more than two members, parties of one call on different
channel technologies, account codes equal to phone numbers. Keep it for
tracker versions older than the fixes; today the properties hold without.

Strategies never draw nothing silently: a plan, dialect or flow list that
cannot give a call is refused with a ``ValueError`` saying what it lacks,
when the strategy is made. Drawn event lists are ``EventStream``s, whose
short repr keeps a failing example readable. Importing this module
registers the hypothesis profiles (``profiles.py``: ``ci``, ``dev``,
``deep``, chosen with ``HYPOTHESIS_PROFILE``).

Only this module, ``noise.py`` (noise and damage, re-exported here) and
``profiles.py`` (and the tests) import hypothesis.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from . import profiles
from .dialplan import (Dialplan, Forward, Phone, Queue, RingGroup, check_dialect, check_plan,
                       possible_calls)
from .noise import damaged, noise_events, with_noise
from .scenarios import FLOWS, build, flow_names
from .sim_base import TECHS, EventStream, Ids, Party, Scenario

__all__ = ["Dialplan", "EventStream", "Forward", "Phone", "Queue", "RingGroup",
           "concurrent_scenarios", "damaged", "dialplan_calls", "dialplan_scenarios", "flow_options", "interleavings",
           "noise_events", "parties", "phone_numbers", "scenarios", "swapped", "with_noise"]

Event = dict[str, Any]

NAMES = ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
         "", "Zoë Ünïcode", "O'Brien, Pat")

#: Which of Asterisk's observed hang-up orders (``sim_ami2.TEARDOWN_*``).
_TEARDOWN = st.integers(min_value=0, max_value=5)


# -- parties -------------------------------------------------------------------------

@st.composite
def phone_numbers(draw: st.DrawFn, count: int, *,
                  exclude: frozenset[str] = frozenset()) -> list[str]:
    """``count`` distinct phone numbers: internal (``2xx``..``8xxx``) or E.164.

    Args:
        count: how many.
        exclude: numbers that must not be drawn (other calls' parties).
    """
    internal = st.integers(min_value=200, max_value=8999).map(str)
    e164 = st.integers(min_value=10**9, max_value=10**10 - 1).map(lambda n: f"+31{n}")
    number = st.one_of(internal, e164).filter(lambda n: n not in exclude)
    return draw(st.lists(number, min_size=count, max_size=count, unique=True))


@st.composite
def parties(draw: st.DrawFn, count: int, *, techs: Sequence[str] | None = None,
            private: bool | None = None, exclude: frozenset[str] = frozenset(),
            mixed_techs: bool = False) -> list[Party]:
    """``count`` phones with distinct numbers.

    Args:
        techs: channel technologies to draw from (default: all of ``TECHS``).
        private: True/False forces caller-ID privacy on/off for every
            party; None draws it per party.
        exclude: numbers to avoid.
        mixed_techs: draw a technology per party (a known limit when a
            phone of one technology picks up a call of another: see
            test_known_limits.py); by default one per call.
    """
    numbers = draw(phone_numbers(count, exclude=exclude))
    call_tech = draw(st.sampled_from(list(techs or TECHS)))
    out = []
    for number in numbers:
        tech = draw(st.sampled_from(list(techs or TECHS))) if mixed_techs else call_tech
        name = draw(st.sampled_from(NAMES))
        # Nine digits, as VoIPGRID's: an account code equal to the phone's
        # number is a known AMI 1.x limit (see test_known_limits.py).
        account = draw(st.one_of(st.just(""), st.integers(10**8, 10**9 - 1).map(str)))
        public = not private if private is not None else draw(st.booleans())
        out.append(Party(number=number, name=name, account=account or "", tech=tech,
                         public=public))
    return out


# -- single flows ----------------------------------------------------------------------

@st.composite
def flow_options(draw: st.DrawFn, flow: str, dialect: str, members: Sequence[Party]
                 ) -> dict[str, Any]:
    """Random options for one flow (orders of racing events, who hangs up ...).

    Args:
        flow: the flow's name.
        dialect: 'ami1' or 'ami2'.
        members: the ring-group or queue members (parties after the caller).
    """
    options: dict[str, Any] = {}
    if dialect == "ami2":
        if flow in ("answered", "answered_callee_hangs_up"):
            options["teardown_variant"] = draw(_TEARDOWN)
            options["newstate_first"] = draw(st.booleans())
            options["early_media"] = draw(st.booleans())
            options["hold"] = draw(st.booleans())
            options["user_event"] = draw(st.sampled_from(["", "", "Custom", "NotifyCallstate"]))
        elif flow in ("cancelled", "busy", "rejected", "no_answer"):
            options["newstate_first"] = draw(st.booleans())
        elif flow in ("blind_transfer", "blind_transfer_by_caller", "blonde_transfer",
                      "blonde_transfer_by_caller", "pickup", "originate"):
            options["teardown_variant"] = draw(_TEARDOWN)
        elif flow in ("ring_group", "ring_group_no_answer"):
            numbers = [m.number for m in members]
            busy = draw(st.lists(st.sampled_from(numbers), unique=True,
                                 max_size=len(numbers)))
            options["busy"] = busy
            options["teardown_variant"] = draw(_TEARDOWN)
            if flow == "ring_group":
                free = [n for n in numbers if n not in busy]
                options["answered_by"] = draw(st.sampled_from(free)) if free else None
        elif flow == "queue":
            options["answered_by"] = draw(st.sampled_from([m.number for m in members]))
            options["repeat_cancel"] = draw(st.booleans())
        elif flow == "call_forward":
            options["optimize"] = draw(st.booleans())
        elif flow in ("park", "park_timeout", "park_retrieved"):
            options["teardown_variant"] = draw(_TEARDOWN)
        elif flow == "conference":
            options["leave_order"] = draw(st.permutations(range(len(members) + 1)))
    elif flow == "ring_group":
        options["answered_by"] = draw(st.sampled_from([m.number for m in members]))
        options["hangup_by"] = draw(st.sampled_from(["caller", "callee"]))
    return options


def _party_count(flow: str, avoid_known_limits: bool) -> tuple[int, int]:
    spec = FLOWS[flow]
    if flow.startswith("queue"):
        return 2, 3 if avoid_known_limits else 5
    if flow.startswith("ring_group"):
        return 2, 5
    if flow == "conference":
        return 2, 4
    return spec.parties, spec.parties


@st.composite
def scenarios(draw: st.DrawFn, dialect: str | None = None,
              flows: Sequence[str] | None = None, *, ids: Ids | None = None,
              exclude: frozenset[str] = frozenset(), techs: Sequence[str] | None = None,
              avoid_known_limits: bool = False) -> Scenario:
    """One simulated call flow with random parties and options.

    Args:
        dialect: 'ami1', 'ami2' or None (either).
        flows: flow names to draw from (default: all the dialect supports).
        ids: the id allocator (share one between calls that run together).
        exclude: numbers other calls use.
        techs: channel technologies to draw from.
        avoid_known_limits: see the module docstring.

    Raises:
        ValueError: an unknown dialect or flow, or no given flow simulated
            for the dialect (rather than a bare KeyError or nothing drawn).
    """
    if dialect is None:
        dialect = draw(st.sampled_from(["ami1", "ami2"]))
    names = _flows_for(dialect, flows)
    flow = draw(st.sampled_from(names))
    low, high = _party_count(flow, avoid_known_limits)
    count = draw(st.integers(min_value=low, max_value=high))
    cast = draw(parties(count, techs=techs, exclude=exclude,
                        mixed_techs=not avoid_known_limits))
    options = draw(flow_options(flow, dialect, cast[1:]))
    if ids is None:
        ids = Ids(system=draw(st.sampled_from(["pbx", "astlab", "63f2f9ce924a"])),
                  epoch=draw(st.integers(1_400_000_000, 1_800_000_000)),
                  seq=draw(st.integers(0, 5000)))
    return build(flow, dialect, parties=cast, ids=ids, **options)


def _flows_for(dialect: str, flows: Sequence[str] | None) -> list[str]:
    check_dialect(dialect)
    unknown = [f for f in flows or () if f not in FLOWS]
    if unknown:
        raise ValueError(f"unknown flow(s) {', '.join(map(repr, unknown))}; the flows: "
                         f"{', '.join(FLOWS)}")
    names = [f for f in (flows or flow_names(dialect)) if dialect in FLOWS[f].builders]
    if not names:
        raise ValueError(f"none of the flows {', '.join(flows or ())} is simulated for "
                         f"{dialect}; it has {', '.join(flow_names(dialect))}")
    return names


@st.composite
def concurrent_scenarios(draw: st.DrawFn, dialect: str | None = None, *,
                         min_calls: int = 2, max_calls: int = 3,
                         flows: Sequence[str] | None = None,
                         avoid_known_limits: bool = False) -> list[Scenario]:
    """Several calls on one server: distinct Uniqueids, channels and numbers.

    Args:
        dialect: one dialect for all calls (None: drawn once).
        min_calls / max_calls: how many calls.
        flows: flow names to draw from.
    """
    if not 1 <= min_calls <= max_calls:
        raise ValueError(f"min_calls={min_calls}, max_calls={max_calls}: give "
                         f"1 <= min_calls <= max_calls")
    if dialect is None:
        dialect = draw(st.sampled_from(["ami1", "ami2"]))
    _flows_for(dialect, flows)
    ids = Ids(system=draw(st.sampled_from(["pbx", "astlab"])),
              seq=draw(st.integers(0, 1000)))
    count = draw(st.integers(min_value=min_calls, max_value=max_calls))
    used: set[str] = set()
    out = []
    for _ in range(count):
        scenario = draw(scenarios(dialect, flows, ids=ids, exclude=frozenset(used),
                                  avoid_known_limits=avoid_known_limits))
        used.update(scenario.numbers)
        out.append(scenario)
    return out


# -- orders ------------------------------------------------------------------------------

def _units(scenario: Scenario, events: Sequence[Event], keep_bursts: bool) -> list[list[Event]]:
    """The scenario's events as units that interleaving keeps together."""
    starts = {first: last for first, last in scenario.bursts} if keep_bursts else {}
    units, index = [], 0
    while index < len(events):
        last = starts.get(index, index)
        units.append(list(events[index:last + 1]))
        index = last + 1
    return units


@st.composite
def swapped(draw: st.DrawFn, scenario: Scenario) -> list[Event]:
    """The scenario's events with each commuting pair (``swappable``) maybe swapped."""
    events = EventStream(scenario.events)
    for index in sorted(scenario.swappable):
        if draw(st.booleans()):
            events[index], events[index + 1] = events[index + 1], events[index]
    return events


@st.composite
def interleavings(draw: st.DrawFn, calls: Sequence[Scenario], *, swap: bool = True,
                  keep_bursts: bool = False) -> list[Event]:
    """An order-preserving merge of the calls' events.

    Each call's own order is kept (Asterisk orders the events within one
    call), except the commuting pairs when ``swap``. With ``keep_bursts``
    a dial burst is not split by other calls' events (a known tracker
    limit; see the module docstring).
    """
    units = []
    for scenario in calls:
        events = draw(swapped(scenario)) if swap else list(scenario.events)
        units.append(_units(scenario, events, keep_bursts))
    tags = [index for index, unit in enumerate(units) for _ in unit]
    order = draw(st.permutations(tags))
    cursors = [iter(unit) for unit in units]
    return EventStream(event for tag in order for event in next(cursors[tag]))


# -- a user's dialplan ---------------------------------------------------------------------

#: What can happen on a call to one phone, per dialect.
_PHONE_FLOWS = {
    "ami2": ("answered", "answered_callee_hangs_up", "cancelled", "busy", "rejected",
             "no_answer", "blind_transfer", "blind_transfer_by_caller", "attended_transfer",
             "attended_transfer_by_caller", "blonde_transfer", "blonde_transfer_by_caller",
             "pickup"),
    "ami1": ("answered", "answered_callee_hangs_up", "cancelled", "busy", "rejected",
             "no_answer", "blind_transfer_by_caller", "attended_transfer_by_caller"),
}


def dialplan_scenarios(plan: Dialplan, dialect: str = "ami2", *, ids: Ids | None = None,
                       busy_phones: frozenset[str] = frozenset(),
                       avoid_known_limits: bool = False) -> st.SearchStrategy[Scenario]:
    """One call through ``plan``: a phone dials an extension, something happens.

    A call to a Phone may be answered, refused, cancelled or transferred
    (to another phone of the plan) or picked up (by another phone): the
    flows that need a third phone are drawn only when one is free; a
    RingGroup rings its members (one answers or none); a Queue rings its
    members (one answers, or the caller abandons); a Forward reaches its
    phone through a Local channel. Phones in ``busy_phones`` (in another
    call) take no part.

    Raises:
        ValueError: (when called, not while drawing) an unknown dialect, a
            route the dialect does not simulate, or no call possible with
            ``busy_phones`` in calls; the message says what the plan lacks.
    """
    check_plan(plan, dialect)
    if not possible_calls(plan, dialect, busy_phones):
        raise ValueError(f"no call through this plan is possible while "
                         f"{', '.join(sorted(busy_phones))} are busy")
    return _dialplan_scenario(plan, dialect, ids, frozenset(busy_phones), avoid_known_limits)


@st.composite
def _dialplan_scenario(draw: st.DrawFn, plan: Dialplan, dialect: str, ids: Ids | None,
                       busy: frozenset[str], avoid_known_limits: bool) -> Scenario:
    """The draw behind ``dialplan_scenarios`` (the plan was checked)."""
    caller, exten = draw(st.sampled_from(possible_calls(plan, dialect, busy)))
    route = plan.routes[exten]
    ids = ids or Ids(system="pbx")
    a = plan.party(caller)
    if isinstance(route, Phone):
        thirds = [n for n in plan.phones if n not in busy | {caller, exten}]
        flows = [f for f in _PHONE_FLOWS[dialect] if FLOWS[f].parties <= 2 or
                 _thirds(f, thirds, plan, caller, avoid_known_limits)]
        flow = draw(st.sampled_from(flows))
        cast = [a, plan.party(exten)]
        if FLOWS[flow].parties > 2:
            third = draw(st.sampled_from(_thirds(flow, thirds, plan, caller,
                                                 avoid_known_limits)))
            cast.append(plan.party(third))
    elif isinstance(route, RingGroup):
        flow = draw(st.sampled_from(["ring_group", "ring_group_no_answer"]))
        cast = [a] + [plan.party(m) for m in route.members]
    elif isinstance(route, Queue):
        flow = draw(st.sampled_from(["queue", "queue_abandoned"]))
        cast = [a] + [plan.party(m) for m in route.members]
    else:
        flow = "call_forward"
        cast = [a, plan.party(route.to)]
    options = draw(flow_options(flow, dialect, cast[1:]))
    if isinstance(route, (RingGroup, Queue, Forward)):
        options["exten"] = exten
    if isinstance(route, Queue):
        options["name"] = route.name
    return build(flow, dialect, parties=cast, ids=ids, **options)


def _thirds(flow: str, free: list[str], plan: Dialplan, caller: str,
            avoid_known_limits: bool) -> list[str]:
    """The phones that can be a flow's third party (a pickup across
    technologies was a tracker limit: ``avoid_known_limits`` keeps away)."""
    if flow == "pickup" and avoid_known_limits:
        return [n for n in free if plan.phones[n].tech == plan.phones[caller].tech]
    return free


def dialplan_calls(plan: Dialplan, dialect: str = "ami2", *, max_calls: int = 3,
                   avoid_known_limits: bool = False) -> st.SearchStrategy[list[Scenario]]:
    """One to ``max_calls`` concurrent calls through ``plan``, with disjoint phones.

    Never an empty list: the first call always fits (the plan is checked
    when this is called), later ones are drawn while phones are free.

    Raises:
        ValueError: (when called) an unknown dialect, a route the dialect
            does not simulate (for AMI 1 pass ``plan.for_dialect('ami1')``),
            a plan no call can be drawn from (say what it lacks), or
            ``max_calls`` below 1.
    """
    check_plan(plan, dialect)
    if max_calls < 1:
        raise ValueError(f"max_calls={max_calls}: draw at least one call")
    return _dialplan_calls(plan, dialect, max_calls, avoid_known_limits)


@st.composite
def _dialplan_calls(draw: st.DrawFn, plan: Dialplan, dialect: str, max_calls: int,
                    avoid_known_limits: bool) -> list[Scenario]:
    ids = Ids(system="pbx", seq=draw(st.integers(0, 1000)))
    busy: set[str] = set()
    calls = []
    for _ in range(draw(st.integers(min_value=1, max_value=max_calls))):
        if not possible_calls(plan, dialect, busy):
            break
        scenario = draw(_dialplan_scenario(plan, dialect, ids, frozenset(busy),
                                           avoid_known_limits))
        busy.update(scenario.numbers)
        calls.append(scenario)
    return calls
