"""The one place that touches ``transitions``.

A machine is defined once, as data: a states Enum and a table of
``Rule(trigger, sources, dest, after)``. ``define()`` builds the
``transitions.Machine`` from that table (it validates the table, and
``fsm/diagram.py`` draws it) and compiles the same table into a dict
``(state, trigger) -> (dest, callbacks)``.

``fire(machine, model, trigger, **data)`` runs a transition. By default it
uses the compiled dict (about 0.3 us per trigger, against tens of us through
``transitions``' own event dispatch, which would dominate the hot path);
``use_transitions_engine(True)`` routes every ``fire`` through
``Machine.events[trigger].trigger(model)`` instead, and the test suite runs
the conformance replays both ways to prove they are the same machine.

Models are plain objects with a ``state`` attribute; they are never added
to a Machine with ``add_model`` (that costs 50+ us and 6 KiB per model).
An invalid trigger raises ``InvalidTransition``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any, Final, Generic, NamedTuple, TypeVar

import attrs
from transitions import Machine, MachineError

from ..errors import InvalidTransition

S = TypeVar("S", bound=Enum)


class Step(NamedTuple):
    """What a transition callback receives.

    A NamedTuple rather than an attrs class: one is made for every
    transition with callbacks (every call event), and a tuple is built in
    one C call; it is just as immutable.

    Attributes:
        model: the channel or call that moved.
        trigger: the trigger that was fired.
        source: the state it left.
        dest: the state it is in now (same as source for an internal step).
        data: the keyword arguments given to ``fire``.
    """

    model: Any
    trigger: str
    source: Enum
    dest: Enum
    data: dict[str, Any]


Callback = Callable[[Step], None]

#: Makes a Step from its fields in one C call: ``Step(...)`` would run the
#: NamedTuple's generated Python ``__new__`` (a frame per call event).
_new_tuple: Final[Callable[[type[Step], tuple[Any, str, Enum, Enum, dict[str, Any]]], Step]] = (
    tuple.__new__)


@attrs.frozen(slots=True)
class Rule:
    """One row of a transition table.

    Attributes:
        trigger: a verb (``ring``, ``answer``, ``hang_up`` ...).
        sources: the states it may fire in.
        dest: the state it leads to; None for an internal step that fires
            its callbacks without changing state.
        after: callbacks run after the state has changed, in order.
    """

    trigger: str
    sources: tuple[Enum, ...]
    dest: Enum | None
    after: tuple[Callback, ...] = ()


@attrs.define(slots=True, eq=False)
class MachineDef(Generic[S]):
    """A compiled machine: the ``transitions`` Machine and its lookup table."""

    name: str
    states: type[S]
    initial: S
    rules: tuple[Rule, ...]
    machine: Machine
    table: dict[tuple[Enum, str], tuple[Enum, tuple[Callback, ...]]]

    @property
    def triggers(self) -> list[str]:
        """Trigger names in table order, without duplicates."""
        return list(dict.fromkeys(rule.trigger for rule in self.rules))


#: Whether ``fire`` goes through transitions' own dispatch. Read it (the
#: tracker's inlined fast path does); set it with ``use_transitions_engine``.
USE_TRANSITIONS = False


def use_transitions_engine(enabled: bool) -> None:
    """Route ``fire`` through transitions' own dispatch (slow; for tests)."""
    global USE_TRANSITIONS
    USE_TRANSITIONS = enabled


def _wrap(callback: Callback) -> Callable[[Any], None]:
    def run(event: Any) -> None:
        data = {key: value for key, value in event.kwargs.items() if key != "_source"}
        model = event.model
        callback(Step(model, event.event.name, event.kwargs["_source"], model.state, data))
    return run


def define(name: str, states: type[S], initial: S, rules: Sequence[Rule]) -> MachineDef[S]:
    """Build a machine from its table (once per process, at import time)."""
    spec: list[dict[str, Any]] = []
    table: dict[tuple[Enum, str], tuple[Enum, tuple[Callback, ...]]] = {}
    for rule in rules:
        spec.append({
            "trigger": rule.trigger,
            "source": list(rule.sources),
            "dest": rule.dest,
            "after": [_wrap(cb) for cb in rule.after],
        })
        for source in rule.sources:
            if (source, rule.trigger) in table:
                raise ValueError(f"{name}: two rules for {rule.trigger!r} in {source}")
            table[(source, rule.trigger)] = (rule.dest or source, rule.after)
    machine = Machine(model=None, states=states, transitions=spec, initial=initial,
                      auto_transitions=False, send_event=True, name=name)
    return MachineDef(name, states, initial, tuple(rules), machine, table)


def can_fire(definition: MachineDef[Any], model: Any, trigger: str) -> bool:
    """Whether ``trigger`` is allowed in the model's current state."""
    return (model.state, trigger) in definition.table


def try_fire(definition: MachineDef[Any], model: Any, trigger: str, **data: Any) -> bool:
    """Run ``trigger`` if the table allows it in the model's state; say whether it ran.

    The common case, a rule without callbacks, is a single dict lookup.
    """
    entry = definition.table.get((model.state, trigger))
    if entry is None:
        return False
    if USE_TRANSITIONS or entry[1]:
        fire(definition, model, trigger, **data)
    else:
        model.state = entry[0]
    return True


def fire(definition: MachineDef[Any], model: Any, trigger: str, **data: Any) -> Enum:
    """Run ``trigger`` on ``model``; return the new state.

    Raises:
        InvalidTransition: the table has no such trigger in the model's state.
    """
    source = model.state
    if USE_TRANSITIONS:
        try:
            definition.machine.events[trigger].trigger(model, _source=source, **data)
        except (MachineError, KeyError) as err:
            raise InvalidTransition(repr(model), source.name, trigger) from err
        return model.state  # type: ignore[no-any-return]
    try:
        dest, callbacks = definition.table[(source, trigger)]
    except KeyError:
        raise InvalidTransition(repr(model), source.name, trigger) from None
    model.state = dest
    if callbacks:
        step = _new_tuple(Step, (model, trigger, source, dest, data))
        for callback in callbacks:
            callback(step)
    return dest


def states_from(rules: Iterable[Rule]) -> set[Enum]:
    """Every state named in a table (for checks and diagrams)."""
    found: set[Enum] = set()
    for rule in rules:
        found.update(rule.sources)
        if rule.dest is not None:
            found.add(rule.dest)
    return found
