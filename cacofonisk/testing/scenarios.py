"""The scenario simulator: realistic AMI event streams for named call flows.

``build(flow, dialect, ...)`` returns a ``Scenario``: the AMI events
Asterisk sends for that flow (lists of dicts of str, headers exactly like
the recordings in ``../shared``) and the call events a correct tracker must
report for them (``Expect`` values: hook, call id, caller, targets, reason,
transfer kind ...). Flows::

    >>> from cacofonisk.testing.scenarios import build
    >>> scenario = build("blind_transfer", "ami2")
    >>> [e.hook for e in scenario.expected]            # doctest: +NORMALIZE_WHITESPACE
    ['on_b_dial', 'on_b_dial_end', 'on_up', 'on_blind_transfer', 'on_b_dial_end',
     'on_up', 'on_hangup']

AMI 2+ (Asterisk 12-22) flows follow the lab recordings (Asterisk 22,
direct PJSIP dials: ``sim_flows2.py``, ``sim_transfers2.py``, ``sim_queues2.py``;
parking and ConfBridge rooms: ``sim_states2.py``);
AMI 1.x flows follow the Asterisk 11 recordings (VoIPGRID dialplan: every
phone dialed through a Local channel that Asterisk optimizes away with a
Masquerade: ``sim_flows1.py``), for the subset ``flow_names('ami1')`` lists.

Parties: ``build`` takes ``numbers`` (caller first) and fills in names and
account codes; pass ``parties`` (``sim_base.Party``) for full control
(technology, names, account codes, caller-ID privacy). Several scenarios
built with one ``Ids`` allocator have distinct Uniqueids, channel names and
bridge ids, so their streams can be interleaved (``strategies.py``).

The command ``cacofonisk scenario NAME -o FILE`` writes a scenario's event
log and ``.expected.json``; ``scenarios/`` holds one of each flow.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from . import sim_flows1, sim_flows2, sim_queues2, sim_states2, sim_transfers2
from .sim_base import Expect, Ids, Party, Scenario, party, with_dialled_numbers

__all__ = ["FLOWS", "OPTION_CHOICES", "Expect", "FlowSpec", "Ids", "Party", "Scenario",
           "build", "check_options", "default_ids", "default_parties", "flow_names",
           "options_of", "party"]

Builder = Callable[..., Scenario]

#: The default cast, as in the lab recordings.
NAMES = {"201": "Alice", "202": "Bob", "203": "Carol", "204": "Dave", "205": "Erin",
         "206": "Frank", "207": "Grace", "208": "Heidi"}


@attrs.frozen(slots=True)
class FlowSpec:
    """A named flow: its builders per dialect and how many parties it needs.

    Attributes:
        name: the flow's name (the scenario file name).
        builders: dialect -> builder ``f(ids, parties, **options)``.
        parties: how many parties the default cast has (caller first).
        min_parties: the fewest parties the builder accepts.
        options: default options passed to the builder (per dialect where
            a key is a dialect name).
        summary: one line for ``cacofonisk scenario --list``.
        recordings: dialect -> (recording path relative to ``../shared``,
            options that reproduce it) for the simulator-vs-recording test.
    """

    name: str
    builders: Mapping[str, Builder]
    parties: int
    summary: str
    min_parties: int = 2
    options: Mapping[str, Any] = attrs.field(factory=dict)
    recordings: Mapping[str, tuple[tuple[str, Mapping[str, Any]], ...]] = attrs.field(
        factory=dict)


def _spec(name: str, summary: str, ami2: Builder, ami1: Builder | None = None, *,
          parties: int = 2, min_parties: int = 2, options: Mapping[str, Any] | None = None,
          recordings: Mapping[str, tuple[tuple[str, Mapping[str, Any]], ...]] | None = None
          ) -> FlowSpec:
    builders = {"ami2": ami2}
    if ami1 is not None:
        builders["ami1"] = ami1
    return FlowSpec(name=name, builders=builders, parties=parties, summary=summary,
                    min_parties=min_parties, options=options or {},
                    recordings=recordings or {})


def _with(builder: Builder, **fixed: Any) -> Builder:
    """A builder with some options fixed (a named variant of a flow).

    The variant's signature is the builder's without the fixed options, so
    ``flow_options`` lists (and ``build`` accepts) only what can still change.
    """
    def variant(ids: Ids, parties: Sequence[Party], **options: Any) -> Scenario:
        return builder(ids, parties, **{**fixed, **options})
    variant.__doc__ = builder.__doc__
    signature = inspect.signature(builder)
    variant.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for name, p in signature.parameters.items() if name not in fixed])
    return variant


_F2, _F1, _T2, _Q2, _S2 = sim_flows2, sim_flows1, sim_transfers2, sim_queues2, sim_states2

FLOWS: dict[str, FlowSpec] = {spec.name: spec for spec in (
    _spec("answered", "A calls B, B answers, A hangs up",
          _F2.answered, _F1.answered,
          recordings={"ami2": (("lab/simple_answered_a_hangup.json", {}),
                               ("lab/early_media_183.json", {"early_media": True,
                                                              "teardown_variant": 5}),
                               ("lab/hold_unhold.json", {"hold": True, "newstate_first": True,
                                                         "teardown_variant": 1}),
                               ("lab/user_event.json", {"user_event": "Custom",
                                                        "newstate_first": True,
                                                        "teardown_variant": 2})),
                      "ami1": (("conformance/ami1/simple__ab_success.json",
                                {"numbers": ("202", "203")}),)}),
    _spec("answered_callee_hangs_up", "A calls B, B answers, B hangs up",
          _with(_F2.answered, hangup_by="callee"), _with(_F1.answered, hangup_by="callee")),
    _spec("cancelled", "A calls B, A hangs up while B rings",
          _F2.cancelled, _F1.cancelled,
          recordings={"ami2": (("lab/a_cancel.json", {}),),
                      "ami1": (("conformance/ami1/queue__queue_a_cancel_hangup.json",
                                {"user_event": "NotifyCallstate", "exten": "401",
                                 "numbers": ("203", "201")}),)}),
    _spec("busy", "A calls B, B is busy (486)", _F2.busy, _F1.busy,
          recordings={"ami2": (("lab/b_busy.json", {}),),
                      "ami1": (("conformance/ami1/simple__ab_busy.json",
                                {"numbers": ("202", "201")}),)}),
    _spec("rejected", "A calls B, B declines (603)", _F2.rejected, _F1.rejected),
    _spec("no_answer", "A calls B, nobody answers before Dial's timeout",
          _F2.no_answer, _F1.no_answer,
          recordings={"ami2": (("lab/no_answer.json", {}),)}),
    _spec("ring_group", "A calls a ring group, the last member answers",
          _F2.ring_group, _F1.ring_group, parties=3, min_parties=2,
          recordings={"ami2": (("lab/ring_group.json", {}),
                               ("lab/ring_group_one_busy.json", {
                                   "exten": "402", "busy": ("202",), "teardown_variant": 5,
                                   "numbers": ("201", "202", "203", "204")})),
                      "ami1": (("conformance/ami1/simple__ab_callgroup.json",
                                {"numbers": ("202", "201", "203")}),)}),
    _spec("ring_group_no_answer", "A calls a ring group, nobody answers",
          _with(_F2.ring_group, answered_by=None), _with(_F1.ring_group, answered_by=None),
          parties=3),
    _spec("blind_transfer", "B blind-transfers A to C", _T2.blind_transfer,
          None, parties=3, min_parties=3,
          recordings={"ami2": (("lab/blind_transfer.json", {}),)}),
    _spec("blind_transfer_by_caller", "A blind-transfers B to C",
          _with(_T2.blind_transfer, by="caller"), _with(_F1.blind_transfer, by="caller"),
          parties=3, min_parties=3,
          recordings={"ami1": (("conformance/ami1/xfer_blind__xfer_blind_abacbc.json",
                                {"numbers": ("202", "203", "201")}),)}),
    _spec("attended_transfer", "B calls C and transfers A to C (attended)",
          _T2.attended_transfer, None, parties=3, min_parties=3,
          recordings={"ami2": (("lab/attended_transfer.json", {}),)}),
    _spec("attended_transfer_by_caller", "A calls C and transfers B to C (attended)",
          _with(_T2.attended_transfer, by="caller"),
          _with(_F1.attended_transfer, by="caller"), parties=3, min_parties=3,
          recordings={"ami2": (("lab/attended_transfer_a_initiates.json", {}),),
                      "ami1": (("conformance/ami1/xfer_attended__xfer_abacbc.json", {}),)}),
    _spec("blonde_transfer", "B calls C and transfers A to C while C rings",
          _with(_T2.blonde_transfer, by="callee"), None, parties=3, min_parties=3),
    _spec("blonde_transfer_by_caller", "A calls C and transfers B to C while C rings",
          _with(_T2.blonde_transfer, by="caller"), None, parties=3, min_parties=3),
    _spec("pickup", "A calls B, C picks the call up", _F2.pickup, None, parties=3,
          min_parties=3, recordings={"ami2": (("lab/pickup.json", {}),)}),
    _spec("queue", "A calls a queue (ringall), the first member answers",
          _Q2.queue, None, parties=3,
          recordings={"ami2": (("lab/queue.json", {"numbers": ("201", "204", "205")}),)}),
    _spec("queue_abandoned", "A calls a queue and hangs up before anyone answers",
          _Q2.queue_abandoned, None, parties=3),
    _spec("call_forward", "A calls 701, forwarded to B through a Local channel",
          _F2.call_forward, None,
          recordings={"ami2": (("lab/call_forward.json", {}),
                               ("lab/local_optimization.json", {"optimize": True}))}),
    _spec("originate", "click-to-dial: Originate rings A, then A calls B",
          _F2.originate, None,
          recordings={"ami2": (("lab/originate.json", {}),)}),
    _spec("park", "A calls B, B parks A (REFER to 700); A gives up waiting",
          _S2.park, None, parties=3, min_parties=3),
    _spec("park_timeout", "B parks A; the parking time runs out and B is rung again",
          _with(_S2.park, outcome="timeout"), None, parties=3, min_parties=3),
    _spec("park_retrieved", "B parks A; C dials the parking space and talks with A",
          _with(_S2.park, outcome="retrieved"), None, parties=3, min_parties=3),
    _spec("conference", "three phones call ConfBridge room 900 and leave one by one",
          _S2.conference, None, parties=3, min_parties=1),
)}


#: Options whose value is one of a few words (the builders compare with them).
OPTION_CHOICES: dict[str, tuple[Any, ...]] = {
    "hangup_by": ("caller", "callee"),
    "by": ("caller", "callee"),
    "teardown_variant": tuple(range(6)),
    "outcome": ("gave-up", "timeout", "retrieved"),
}


@functools.lru_cache(maxsize=None)
def _option_defaults(builder: Builder) -> dict[str, inspect.Parameter]:
    return {name: p for name, p in inspect.signature(builder).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


def options_of(flow: str, dialect: str = "ami2") -> dict[str, Any]:
    """The options of a flow's builder in ``dialect``, with their defaults.

    Raises:
        KeyError: unknown flow, or a flow the dialect does not support.
    """
    builder = _builder(flow, dialect)
    defaults = {**_option_defaults(builder)}
    return {name: FLOWS[flow].options.get(name, p.default) for name, p in defaults.items()}


def check_options(flow: str, dialect: str, options: Mapping[str, Any]) -> None:
    """Refuse options a flow does not have, or values it would misread.

    Why: a builder reads ``hangup_by == "caller"``, so ``hangup_by="nobody"``
    used to build a callee hang-up without a word, and an unknown key ended
    in a bare TypeError about keyword arguments.

    Raises:
        ValueError: naming the option, what was wrong, and what is valid.
    """
    known = _option_defaults(_builder(flow, dialect))
    for key, value in options.items():
        if key not in known:
            raise ValueError(f"flow {flow!r} ({dialect}) has no option {key!r}; its options: "
                             f"{', '.join(sorted(known)) or 'none'}")
        if value is None and "None" in str(known[key].annotation):
            continue
        choices = OPTION_CHOICES.get(key)
        if choices is not None and value not in choices:
            raise ValueError(f"option {key}={value!r} of flow {flow!r}: give one of "
                             f"{', '.join(repr(c) for c in choices)}")
        _check_type(flow, key, value, known[key])


def _check_type(flow: str, key: str, value: Any, parameter: inspect.Parameter) -> None:
    default, annotation = parameter.default, str(parameter.annotation)
    if value is None and "None" in annotation:
        return
    if isinstance(default, bool):
        wanted: tuple[type, ...] = (bool,)
    elif isinstance(default, int):
        wanted = (int,)
    elif isinstance(default, str) or default is None:
        wanted = (str,)
    elif isinstance(default, (tuple, list)):
        wanted = (tuple, list)
    else:  # pragma: no cover - every builder option has one of the kinds above
        return
    if not isinstance(value, wanted) or (wanted == (int,) and isinstance(value, bool)):
        kinds = {bool: "true or false", int: "a whole number", str: "text",
                 tuple: "a list"}
        raise ValueError(f"option {key}={value!r} of flow {flow!r}: give {kinds[wanted[0]]}"
                         + (" or null" if "None" in annotation else ""))


def _check_members(flow: str, builder: Builder, options: Mapping[str, Any],
                   members: Sequence[str]) -> None:
    """``answered_by`` and ``busy`` name members (parties after the caller)."""
    word = _option_defaults(builder).get("answered_by")
    answered_by = options.get("answered_by")
    if word is not None and answered_by not in (None, word.default, *members):
        raise ValueError(f"option answered_by={answered_by!r} of flow {flow!r}: give a "
                         f"member's number ({', '.join(members)}), {word.default!r} or null")
    stray = [n for n in options.get("busy", ()) if n not in members]
    if stray:
        raise ValueError(f"option busy of flow {flow!r}: {', '.join(map(str, stray))} is not "
                         f"a member ({', '.join(members)})")


def _builder(flow: str, dialect: str) -> Builder:
    try:
        spec = FLOWS[flow]
    except KeyError:
        raise KeyError(f"no flow {flow!r}; the flows: {', '.join(FLOWS)}") from None
    if dialect not in spec.builders:
        raise KeyError(f"flow {flow!r} is not simulated for {dialect}; "
                       f"{dialect} has: {', '.join(flow_names(dialect))}")
    return spec.builders[dialect]


def flow_names(dialect: str | None = None) -> list[str]:
    """The flows a dialect supports (every flow when ``dialect`` is None)."""
    return [name for name, spec in FLOWS.items()
            if dialect is None or dialect in spec.builders]


def default_parties(count: int, numbers: Sequence[str] | None = None, *,
                    tech: str = "PJSIP", private: Sequence[str] = ()) -> list[Party]:
    """``count`` parties: the given numbers (or 201, 202 ...) with lab names.

    Args:
        numbers: their numbers, caller first (default 201, 202 ...).
        tech: their channel technology.
        private: numbers whose caller ID is hidden.
    """
    numbers = list(numbers or [])
    start = 201
    while len(numbers) < count:
        candidate = str(start)
        start += 1
        if candidate not in numbers:
            numbers.append(candidate)
    return [party(number, NAMES.get(number, ""), tech=tech, public=number not in private)
            for number in numbers[:max(count, len(numbers))]]


def build(flow: str, dialect: str = "ami2", *, numbers: Sequence[str] | None = None,
          parties: Sequence[Party] | None = None, tech: str | None = None,
          ids: Ids | None = None, **options: Any) -> Scenario:
    """Build one scenario.

    Args:
        flow: a name from ``flow_names()``.
        dialect: 'ami2' (Asterisk 12-22) or 'ami1' (Asterisk 1.8-11).
        numbers: the parties' numbers, caller first (the default cast
            otherwise); more numbers than the flow needs add ring-group or
            queue members.
        parties: the parties themselves (overrides ``numbers``).
        tech: channel technology (default PJSIP for ami2, SIP for ami1).
        ids: the id allocator; share one to build streams that run together.
        options: the flow builder's options (see its docstring).

    Raises:
        KeyError: unknown flow, or a flow the dialect does not support.
        ValueError: too few parties, an unknown option or a value the flow
            cannot use (the message lists the valid ones).
    """
    if dialect not in ("ami1", "ami2"):
        raise ValueError(f"dialect {dialect!r}: give 'ami2' (Asterisk 12-22) or 'ami1' "
                         f"(Asterisk 1.8-11)")
    builder = _builder(flow, dialect)
    spec = FLOWS[flow]
    check_options(flow, dialect, options)
    if parties is None:
        technology = tech or ("SIP" if dialect == "ami1" else "PJSIP")
        count = max(spec.parties, len(numbers or ()))
        parties = default_parties(count, numbers, tech=technology)
    if len(parties) < spec.min_parties:
        raise ValueError(f"flow {flow!r} needs at least {spec.min_parties} parties")
    _check_members(flow, builder, options, [p.number for p in parties[1:]])
    if ids is None:
        ids = default_ids(flow, dialect)
    merged_options = {**spec.options, **options}
    scenario = builder(ids, list(parties), **merged_options)
    exten = merged_options.get("exten") or options_of(flow, dialect).get("exten")
    return attrs.evolve(scenario, flow=flow, numbers=tuple(p.number for p in parties),
                        expected=with_dialled_numbers(scenario.expected, exten,
                                                      scenario.events))


def default_ids(flow: str, dialect: str) -> Ids:
    """The id allocator of a flow built without one: its own Uniqueids.

    Why per flow: scenario files replayed together (``cacofonisk replay
    scenarios/ami2/*.json``) or loaded into one system must not all report
    the same call id. The epoch second is the flow's place in ``FLOWS``.
    """
    return Ids(system="sim" if dialect == "ami2" else "sim1",
               epoch=1600000000 + 100 * list(FLOWS).index(flow))


def expected_from_json(data: Mapping[str, Any]) -> list[Expect]:
    """The ``events`` of an ``.expected.json`` document as ``Expect`` values."""
    return [Expect.from_dict(item) for item in data.get("events", [])]
