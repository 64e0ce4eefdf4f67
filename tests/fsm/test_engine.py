"""fsm/engine.py alone, with a toy machine: tables, fire(), the two engines."""
from __future__ import annotations

from enum import Enum

import pytest

from cacofonisk.errors import CacofoniskError, InvalidTransition
from cacofonisk.fsm import engine
from cacofonisk.fsm.engine import Rule, Step, can_fire, define, fire, states_from


class Lamp(Enum):
    OFF = "off"
    ON = "on"
    BROKEN = "broken"


class Model:
    def __init__(self, state: Lamp = Lamp.OFF) -> None:
        self.state = state
        self.steps: list[Step] = []
        self.data_seen: list[dict] = []

    def __repr__(self) -> str:
        return f"<lamp {self.state.value}>"


def _log(step: Step) -> None:
    step.model.steps.append(step)
    step.model.data_seen.append(dict(step.data))


def _log_again(step: Step) -> None:
    step.model.steps.append(("again", step.trigger))


RULES = (
    Rule("switch_on", (Lamp.OFF,), Lamp.ON, (_log, _log_again)),
    Rule("switch_off", (Lamp.ON,), Lamp.OFF, (_log,)),
    Rule("flicker", (Lamp.ON,), None, (_log,)),
    Rule("smash", (Lamp.OFF, Lamp.ON), Lamp.BROKEN),
)

LAMP = define("lamp", Lamp, Lamp.OFF, RULES)


@pytest.fixture(params=[False, True], ids=["compiled", "transitions"])
def either_engine(request):
    engine.use_transitions_engine(request.param)
    try:
        yield request.param
    finally:
        engine.use_transitions_engine(False)


def test_fire_moves_the_model_and_returns_the_new_state(either_engine):
    lamp = Model()
    assert fire(LAMP, lamp, "switch_on") is Lamp.ON
    assert lamp.state is Lamp.ON


def test_after_callbacks_run_in_order_with_a_step(either_engine):
    lamp = Model()
    fire(LAMP, lamp, "switch_on", colour="red")
    step, again = lamp.steps
    assert isinstance(step, Step)
    assert step.model is lamp
    assert step.trigger == "switch_on"
    assert (step.source, step.dest) == (Lamp.OFF, Lamp.ON)
    assert lamp.data_seen == [{"colour": "red"}]
    assert again == ("again", "switch_on")


def test_step_data_kept_by_a_callback_stays_the_fire_keywords_under_transitions():
    engine.use_transitions_engine(True)
    try:
        lamp = Model()
        fire(LAMP, lamp, "switch_on", colour="red")
    finally:
        engine.use_transitions_engine(False)
    assert lamp.steps[0].data == {"colour": "red"}


def test_step_data_kept_by_a_callback_is_the_fire_keywords_when_compiled():
    lamp = Model()
    fire(LAMP, lamp, "switch_on", colour="red")
    assert lamp.steps[0].data == {"colour": "red"}


def test_internal_rule_runs_callbacks_without_changing_state(either_engine):
    lamp = Model(Lamp.ON)
    assert fire(LAMP, lamp, "flicker") is Lamp.ON
    assert lamp.state is Lamp.ON
    (step,) = lamp.steps
    assert (step.source, step.dest, step.trigger) == (Lamp.ON, Lamp.ON, "flicker")


def test_disallowed_trigger_raises_invalid_transition_and_keeps_state(either_engine):
    lamp = Model(Lamp.BROKEN)
    with pytest.raises(InvalidTransition) as info:
        fire(LAMP, lamp, "switch_on")
    err = info.value
    assert (err.state, err.trigger) == ("BROKEN", "switch_on")
    assert "BROKEN" in str(err) and "switch_on" in str(err)
    assert isinstance(err, CacofoniskError)
    assert lamp.state is Lamp.BROKEN
    assert lamp.steps == []


def test_unknown_trigger_raises_invalid_transition(either_engine):
    with pytest.raises(InvalidTransition) as info:
        fire(LAMP, Model(), "explode")
    assert info.value.trigger == "explode"


def test_invalid_transition_names_the_model():
    with pytest.raises(InvalidTransition) as info:
        fire(LAMP, Model(Lamp.OFF), "switch_off")
    assert "<lamp off>" in str(info.value)


def test_can_fire_follows_the_table():
    assert can_fire(LAMP, Model(Lamp.OFF), "switch_on")
    assert not can_fire(LAMP, Model(Lamp.ON), "switch_on")
    assert can_fire(LAMP, Model(Lamp.ON), "flicker")
    assert not can_fire(LAMP, Model(Lamp.BROKEN), "smash")
    assert not can_fire(LAMP, Model(), "no_such_trigger")


def test_compiled_table_has_one_entry_per_source_and_trigger():
    assert LAMP.table.keys() == {
        (Lamp.OFF, "switch_on"), (Lamp.ON, "switch_off"), (Lamp.ON, "flicker"),
        (Lamp.OFF, "smash"), (Lamp.ON, "smash")}
    assert LAMP.table[(Lamp.ON, "flicker")][0] is Lamp.ON  # internal: stays


def test_two_rules_for_the_same_source_and_trigger_are_refused():
    with pytest.raises(ValueError, match="switch_on"):
        define("bad", Lamp, Lamp.OFF, (
            Rule("switch_on", (Lamp.OFF,), Lamp.ON),
            Rule("switch_on", (Lamp.OFF, Lamp.BROKEN), Lamp.BROKEN),
        ))


def test_triggers_lists_each_trigger_once_in_table_order():
    machine = define("dup", Lamp, Lamp.OFF, (
        Rule("go", (Lamp.OFF,), Lamp.ON), Rule("stop", (Lamp.ON,), Lamp.OFF),
        Rule("go", (Lamp.ON,), Lamp.BROKEN)))
    assert machine.triggers == ["go", "stop"]


def test_states_from_collects_sources_and_destinations():
    assert states_from(RULES) == {Lamp.OFF, Lamp.ON, Lamp.BROKEN}
    assert states_from([Rule("flicker", (Lamp.ON,), None)]) == {Lamp.ON}


def test_machine_has_no_auto_transitions():
    assert set(LAMP.machine.events) == {"switch_on", "switch_off", "flicker", "smash"}


def test_models_are_never_added_to_the_machine(either_engine):
    lamp = Model()
    fire(LAMP, lamp, "switch_on")
    fire(LAMP, lamp, "flicker")
    fire(LAMP, lamp, "smash")
    with pytest.raises(InvalidTransition):
        fire(LAMP, lamp, "switch_on")
    assert LAMP.machine.models == []
    assert not hasattr(lamp, "trigger")
    assert not hasattr(lamp, "switch_on")


@pytest.mark.parametrize("source", list(Lamp))
@pytest.mark.parametrize("trigger", ["switch_on", "switch_off", "flicker", "smash", "nope"])
def test_both_engines_agree_on_every_state_and_trigger(source, trigger):
    outcomes = []
    for use_transitions in (False, True):
        engine.use_transitions_engine(use_transitions)
        try:
            lamp = Model(source)
            try:
                fire(LAMP, lamp, trigger)
                outcome = ("ok", lamp.state, [(s.source, s.dest) for s in lamp.steps
                                              if isinstance(s, Step)])
            except InvalidTransition:
                outcome = ("invalid", lamp.state, lamp.steps)
        finally:
            engine.use_transitions_engine(False)
        outcomes.append(outcome)
    assert outcomes[0] == outcomes[1]


def test_use_transitions_engine_routes_through_the_machine(monkeypatch):
    calls = []
    event = LAMP.machine.events["switch_on"]
    original = event.trigger

    def spy(model, *args, **kwargs):
        calls.append(model)
        return original(model, *args, **kwargs)

    monkeypatch.setattr(event, "trigger", spy)
    lamp = Model()
    fire(LAMP, lamp, "switch_on")  # compiled: the machine is not consulted
    assert calls == []
    engine.use_transitions_engine(True)
    try:
        lamp = Model()
        fire(LAMP, lamp, "switch_on")
    finally:
        engine.use_transitions_engine(False)
    assert calls == [lamp]
    assert lamp.state is Lamp.ON
