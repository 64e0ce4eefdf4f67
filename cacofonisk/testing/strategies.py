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

Only this module (and the tests) import hypothesis.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from hypothesis import strategies as st

from .scenarios import FLOWS, build, flow_names
from .sim_base import TECHS, Ids, Party, Scenario, party

__all__ = ["Dialplan", "Forward", "Phone", "Queue", "RingGroup", "concurrent_scenarios",
           "damaged", "dialplan_calls", "dialplan_scenarios", "flow_options", "interleavings",
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
    """
    if dialect is None:
        dialect = draw(st.sampled_from(["ami1", "ami2"]))
    names = [f for f in (flows or flow_names(dialect)) if dialect in FLOWS[f].builders]
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
    if dialect is None:
        dialect = draw(st.sampled_from(["ami1", "ami2"]))
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
    events = list(scenario.events)
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
    return [event for tag in order for event in next(cursors[tag])]


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
    out = list(events)
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
    out = list(events)
    if out:
        start = draw(st.integers(min_value=0, max_value=len(out) // 2))
        end = draw(st.integers(min_value=start, max_value=len(out)))
        out = out[start:end]
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        if out:
            index = draw(st.integers(min_value=0, max_value=len(out) - 1))
            out.insert(index, dict(out[index]))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        if out:
            out.pop(draw(st.integers(min_value=0, max_value=len(out) - 1)))
    return out


# -- a user's dialplan ---------------------------------------------------------------------

@attrs.frozen
class Phone:
    """A route to one phone: Dial(<tech>/<number>).

    Attributes:
        number: its extension and caller-ID number.
        name: its caller-ID name.
        tech: channel technology.
        account: account code ('' for none).
        private: its number is hidden when it calls.
    """

    number: str
    name: str = ""
    tech: str = "PJSIP"
    account: str = ""
    private: bool = False

    def party(self) -> Party:
        """The simulator's Party for this phone."""
        return party(self.number, self.name, account=self.account or None, tech=self.tech,
                     public=not self.private)


@attrs.frozen
class RingGroup:
    """Dial(<tech>/a&<tech>/b...): every member rings at once."""

    members: tuple[str, ...] = attrs.field(converter=tuple)


@attrs.frozen
class Queue:
    """Queue(<name>) with strategy ringall over ``members``."""

    members: tuple[str, ...] = attrs.field(converter=tuple)
    name: str = "support"


@attrs.frozen
class Forward:
    """Dial(Local/<to>@context): the extension forwards to another phone."""

    to: str


Route = Phone | RingGroup | Queue | Forward


@attrs.frozen
class Dialplan:
    """A user's routing: extension -> route.

    Usage::

        plan = Dialplan(routes={"401": RingGroup(["202", "203"]),
                                "501": Queue(["204", "205"]),
                                "202": Phone("202", "Bob"), "701": Forward("202")})

    The phones are the ``Phone`` routes plus every member or forward target
    not declared as one (a plain PJSIP phone with that number); every phone
    can call, but only the extensions in ``routes`` can be called. A
    member must be a phone: ring groups of ring groups are not simulated.

    Raises:
        ValueError: a member or forward target is a route of another kind.
    """

    routes: Mapping[str, Route]

    def __attrs_post_init__(self) -> None:
        for exten, route in self.routes.items():
            for target in _targets(route):
                if target in self.routes and not isinstance(self.routes[target], Phone):
                    raise ValueError(f"route {exten}: {target} is not a phone")

    @property
    def phones(self) -> dict[str, Phone]:
        """Every phone, by number: the declared ones and the implied members."""
        phones = {r.number: r for r in self.routes.values() if isinstance(r, Phone)}
        for route in self.routes.values():
            for target in _targets(route):
                phones.setdefault(target, Phone(target))
        return phones

    def party(self, number: str) -> Party:
        """The Party of a phone."""
        return self.phones[number].party()


def _targets(route: Route) -> tuple[str, ...]:
    if isinstance(route, (RingGroup, Queue)):
        return route.members
    if isinstance(route, Forward):
        return (route.to,)
    return ()


#: What can happen on a call to one phone, per dialect.
_PHONE_FLOWS = {
    "ami2": ("answered", "answered_callee_hangs_up", "cancelled", "busy", "rejected",
             "no_answer", "blind_transfer", "blind_transfer_by_caller", "attended_transfer",
             "attended_transfer_by_caller", "blonde_transfer", "blonde_transfer_by_caller",
             "pickup"),
    "ami1": ("answered", "answered_callee_hangs_up", "cancelled", "busy", "rejected",
             "no_answer", "blind_transfer_by_caller", "attended_transfer_by_caller"),
}


@st.composite
def dialplan_scenarios(draw: st.DrawFn, plan: Dialplan, dialect: str = "ami2", *,
                       ids: Ids | None = None, busy_phones: frozenset[str] = frozenset(),
                       avoid_known_limits: bool = False) -> Scenario:
    """One call through ``plan``: a phone dials an extension, something happens.

    A call to a Phone may be answered, refused, cancelled or transferred
    (to another phone of the plan) or picked up (by another phone); a
    RingGroup rings its members (one answers or none); a Queue rings its
    members (one answers, or the caller abandons); a Forward reaches its
    phone through a Local channel. Phones in ``busy_phones`` (in another
    call) take no part.

    Raises:
        hypothesis.errors.UnsatisfiedAssumption (through ``assume``) when
        the plan has too few free phones for the drawn call.
    """
    from hypothesis import assume

    free = [n for n in plan.phones if n not in busy_phones]
    assume(len(free) >= 2)
    caller = draw(st.sampled_from(free))
    extens = [e for e, route in plan.routes.items()
              if e != caller and _route_free(route, busy_phones | {caller}, dialect)]
    assume(bool(extens))
    exten = draw(st.sampled_from(extens))
    route = plan.routes[exten]
    others = [n for n in free if n != caller]
    ids = ids or Ids(system="pbx")
    a = plan.party(caller)
    if isinstance(route, Phone):
        flow = draw(st.sampled_from(_PHONE_FLOWS[dialect]))
        cast = [a, plan.party(exten)]
        if FLOWS[flow].parties > 2:
            third = [n for n in others if n != exten]
            if flow == "pickup" and avoid_known_limits:
                # a pickup across technologies is a known tracker limit
                third = [n for n in third if plan.phones[n].tech == plan.phones[caller].tech]
            assume(bool(third))
            cast.append(plan.party(draw(st.sampled_from(third))))
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


def _route_free(route: Route, busy: frozenset[str] | set[str], dialect: str) -> bool:
    if isinstance(route, Phone):
        return route.number not in busy
    if dialect == "ami1" and not isinstance(route, RingGroup):
        return False  # queues and forwards are not simulated for AMI 1.x
    targets = _targets(route)
    if isinstance(route, Queue) and len(targets) > 2:
        return False  # a known tracker limit: see the module docstring
    return not set(targets) & set(busy)


@st.composite
def dialplan_calls(draw: st.DrawFn, plan: Dialplan, dialect: str = "ami2", *,
                   max_calls: int = 3, avoid_known_limits: bool = False) -> list[Scenario]:
    """Up to ``max_calls`` concurrent calls through ``plan``, with disjoint phones."""
    ids = Ids(system="pbx", seq=draw(st.integers(0, 1000)))
    busy: set[str] = set()
    calls = []
    for _ in range(draw(st.integers(min_value=1, max_value=max_calls))):
        if len([n for n in plan.phones if n not in busy]) < 3:
            break
        scenario = draw(dialplan_scenarios(plan, dialect, ids=ids, busy_phones=frozenset(busy),
                                           avoid_known_limits=avoid_known_limits))
        busy.update(scenario.numbers)
        calls.append(scenario)
    return calls
