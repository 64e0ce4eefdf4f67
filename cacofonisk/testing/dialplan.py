"""A user's routing for property tests: ``Dialplan`` and its routes.

Plain data (no hypothesis here): ``Phone``, ``RingGroup``, ``Queue`` and
``Forward`` routes keyed by the extension that reaches them, and the checks
that make a plan usable. ``strategies.dialplan_calls`` draws calls through
a plan; it refuses a plan that cannot produce one, with a message that says
what the plan lacks, instead of drawing nothing (a property test that
passes while testing nothing).

Usage::

    plan = Dialplan(routes={"401": RingGroup(["202", "203"]),
                            "501": Queue(["204", "205"]),
                            "202": Phone("202", "Bob"), "701": Forward("202")})
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from .sim_base import Party, party

DIALECTS = ("ami2", "ami1")


@attrs.frozen
class Phone:
    """A route to one phone: Dial(<tech>/<number>).

    Attributes:
        number: its extension and caller-ID number (the route's key).
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
    """Queue(<name>) with strategy ringall over ``members`` (AMI 2+ only)."""

    members: tuple[str, ...] = attrs.field(converter=tuple)
    name: str = "support"


@attrs.frozen
class Forward:
    """Dial(Local/<to>@context): the extension forwards to another phone (AMI 2+ only)."""

    to: str


Route = Phone | RingGroup | Queue | Forward

#: Routes the AMI 1.x simulator has (no recording of the others exists).
AMI1_ROUTES = (Phone, RingGroup)


def targets(route: Route) -> tuple[str, ...]:
    """The phones a route rings (none for a Phone: it is one)."""
    if isinstance(route, (RingGroup, Queue)):
        return route.members
    if isinstance(route, Forward):
        return (route.to,)
    return ()


@attrs.frozen
class Dialplan:
    """A user's routing: extension -> route.

    The phones are the ``Phone`` routes plus every member or forward target
    not declared as one (a plain PJSIP phone with that number); every phone
    can call, but only the extensions in ``routes`` can be called. A member
    must be a phone: ring groups of ring groups are not simulated.

    Raises:
        ValueError: a Phone under another number's key, or a member or
            forward target that is a route of another kind.
    """

    routes: Mapping[str, Route]

    def __attrs_post_init__(self) -> None:
        for exten, route in self.routes.items():
            if isinstance(route, Phone) and route.number != exten:
                raise ValueError(
                    f"route {exten!r}: Phone({route.number!r}) is keyed by another number; "
                    f"a phone is reached by its own number: write "
                    f"{{{route.number!r}: Phone({route.number!r}, ...)}} (a Forward "
                    f"reaches a phone from another extension)")
            for target in targets(route):
                if target in self.routes and not isinstance(self.routes[target], Phone):
                    raise ValueError(f"route {exten}: {target} is not a phone")

    @property
    def phones(self) -> dict[str, Phone]:
        """Every phone, by number: the declared ones and the implied members."""
        phones = {r.number: r for r in self.routes.values() if isinstance(r, Phone)}
        for route in self.routes.values():
            for target in targets(route):
                phones.setdefault(target, Phone(target))
        return phones

    def party(self, number: str) -> Party:
        """The Party of a phone."""
        return self.phones[number].party()

    def for_dialect(self, dialect: str) -> Dialplan:
        """The routes ``dialect`` simulates: for 'ami1', phones and ring groups only.

        Why explicit: an AMI 1 plan with a queue used to skip the queue
        without a word; now ``dialplan_calls`` refuses it, and this says
        "test the rest" out loud.
        """
        check_dialect(dialect)
        if dialect == "ami2":
            return self
        return Dialplan(routes={e: r for e, r in self.routes.items()
                                if isinstance(r, AMI1_ROUTES)})


def check_dialect(dialect: str) -> None:
    """Raises ValueError unless ``dialect`` is 'ami2' or 'ami1'."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect {dialect!r}: give 'ami2' (Asterisk 12-22) or 'ami1' "
                         f"(Asterisk 1.8-11)")


def route_free(route: Route, busy: Iterable[str], dialect: str) -> bool:
    """Whether a call can reach ``route`` while the ``busy`` phones are in calls."""
    busy = set(busy)
    if isinstance(route, Phone):
        return route.number not in busy
    if dialect == "ami1" and not isinstance(route, AMI1_ROUTES):
        return False
    members = targets(route)
    if isinstance(route, Queue) and len(members) > 2:
        return False  # a known tracker limit: see strategies' module docstring
    return not set(members) & busy


def possible_calls(plan: Dialplan, dialect: str, busy: Iterable[str] = ()
                   ) -> list[tuple[str, str]]:
    """Every (caller, extension) a new call can take with ``busy`` phones in calls.

    A caller is a free phone that is neither the route's phone nor one it rings.
    """
    busy = set(busy)
    free = [n for n in plan.phones if n not in busy]
    out: list[tuple[str, str]] = []
    for exten, route in plan.routes.items():
        if not route_free(route, busy, dialect):
            continue
        involved = {exten} | set(targets(route))
        out.extend((caller, exten) for caller in free if caller not in involved)
    return out


def check_plan(plan: Dialplan, dialect: str) -> None:
    """Refuse a plan no call can be drawn from, saying what it lacks.

    Raises:
        ValueError: an unknown dialect, a route the dialect does not
            simulate (AMI 1: queues, forwards), or no (caller, extension)
            pair at all (fewer than two phones, or only routes that ring
            every phone).
    """
    check_dialect(dialect)
    if dialect == "ami1":
        others = sorted(e for e, r in plan.routes.items() if not isinstance(r, AMI1_ROUTES))
        if others:
            kinds = ", ".join(f"{e} ({type(plan.routes[e]).__name__})" for e in others)
            raise ValueError(
                f"routes {kinds} are not simulated for ami1 (Asterisk 1.8-11 has only "
                f"phones and ring groups here): test them with dialect 'ami2', and pass "
                f"plan.for_dialect('ami1') for AMI 1")
    if not possible_calls(plan, dialect):
        phones = sorted(plan.phones)
        raise ValueError(
            f"no call can be drawn from this plan ({len(phones)} phone(s): "
            f"{', '.join(phones) or 'none'}; extensions: {', '.join(plan.routes) or 'none'}): "
            f"a call needs a phone to call from and an extension that rings another "
            f"phone; add a Phone route or a member")


__all__ = ["AMI1_ROUTES", "DIALECTS", "Dialplan", "Forward", "Phone", "Queue", "RingGroup",
           "Route", "check_dialect", "check_plan", "possible_calls", "route_free", "targets"]
