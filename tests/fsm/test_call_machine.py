"""fsm/call.py alone: the call table, its callbacks and the outbox."""
from __future__ import annotations

import pytest

from cacofonisk.callerid import CallerId
from cacofonisk.calls import BDial, Hangup, Up
from cacofonisk.errors import InvalidTransition
from cacofonisk.fsm import engine
from cacofonisk.fsm.call import CALL_MACHINE, CALL_RULES, FINAL_STATES, Call, CallState
from cacofonisk.fsm.engine import fire

C = CallState
TRIGGERS = list(dict.fromkeys(rule.trigger for rule in CALL_RULES))
ALLOWED = {(source, rule.trigger): rule.dest or source
           for rule in CALL_RULES for source in rule.sources}
FIRING = [(source, trigger, dest) for (source, trigger), dest in ALLOWED.items()]
REFUSED = [(state, trigger) for state in C for trigger in TRIGGERS
           if (state, trigger) not in ALLOWED]
CALLER = CallerId(15001, "Alice", "201", True)


def call_in(state: CallState) -> Call:
    call = Call("host-1.1")
    call.state = state
    return call


def record(n: int = 0) -> Up:
    return Up(call_id="host-1.1", event_id=f"host-1.1#{n}", caller=CALLER, to_number="202",
              callee=CallerId(number="202"))


def test_new_call_starts_new_with_empty_path():
    call = Call("host-1.1")
    assert (call.call_id, call.state, call.path, call.seq) == ("host-1.1", C.NEW, [], 0)
    assert CALL_MACHINE.initial is C.NEW


@pytest.mark.parametrize("source,trigger,dest", FIRING,
                         ids=[f"{s.value}-{t}-{d.value}" for s, t, d in FIRING])
def test_every_rule_fires_from_each_allowed_source_to_its_dest(source, trigger, dest):
    call, outbox = call_in(source), []
    assert fire(CALL_MACHINE, call, trigger, record=record(), outbox=outbox) is dest
    assert call.state is dest
    assert call.path == [trigger]


@pytest.mark.parametrize("state,trigger", REFUSED,
                         ids=[f"{s.value}-{t}" for s, t in REFUSED])
def test_trigger_not_allowed_in_state_raises_invalid_transition(state, trigger):
    call, outbox = call_in(state), []
    with pytest.raises(InvalidTransition) as info:
        fire(CALL_MACHINE, call, trigger, record=record(), outbox=outbox)
    assert (info.value.state, info.value.trigger) == (state.name, trigger)
    assert state.name in str(info.value) and trigger in str(info.value)
    assert call.state is state
    assert outbox == [] and call.path == []


@pytest.mark.parametrize("source,trigger,dest", [
    (C.NEW, "ring", C.RINGING),
    (C.RINGING, "answer", C.UP),
    (C.NEW, "answer", C.UP),
    (C.RINGING, "dial_end", C.RINGING),
    (C.UP, "dial_end", C.UP),
    (C.UP, "transfer", C.TRANSFERRED),
    (C.TRANSFERRED, "answer", C.UP),
    (C.TRANSFERRED, "ring", C.RINGING),
    (C.UP, "ring", C.RINGING),
    (C.RINGING, "abandon", C.RINGING),
    (C.UP, "merge", C.MERGED),
    (C.RINGING, "end", C.ENDED),
    (C.UP, "end", C.ENDED),
])
def test_expected_call_transitions(source, trigger, dest):
    call = call_in(source)
    fire(CALL_MACHINE, call, trigger, record=record(), outbox=[])
    assert call.state is dest


@pytest.mark.parametrize("source,trigger", [
    (C.ENDED, "ring"),
    (C.ENDED, "answer"),
    (C.ENDED, "end"),
    (C.MERGED, "end"),
    (C.MERGED, "answer"),
    (C.MERGED, "merge"),
    (C.ENDED, "dial_end"),
])
def test_expected_call_refusals(source, trigger):
    with pytest.raises(InvalidTransition):
        fire(CALL_MACHINE, call_in(source), trigger, record=record(), outbox=[])


def test_final_states_allow_nothing():
    assert FINAL_STATES == {C.MERGED, C.ENDED}
    for state in FINAL_STATES:
        assert not [t for t in TRIGGERS if (state, t) in ALLOWED]
        assert call_in(state).is_final
    assert not call_in(C.UP).is_final


@pytest.mark.parametrize("trigger", [t for t in TRIGGERS if t != "merge"])
def test_reporting_trigger_appends_call_and_record_to_the_outbox(trigger):
    call, outbox, rec = call_in(C.NEW), [], record()
    fire(CALL_MACHINE, call, trigger, record=rec, outbox=outbox)
    assert len(outbox) == 1
    got_call, got_record = outbox[0]
    assert got_call is call
    assert got_record is rec


def test_merge_records_the_path_but_emits_nothing():
    call, outbox = call_in(C.UP), []
    fire(CALL_MACHINE, call, "merge", outbox=outbox, into="host-1.9")
    assert outbox == []
    assert call.path == ["merge"]
    assert call.state is C.MERGED


def test_outbox_and_path_follow_a_whole_call_in_order():
    call, outbox = Call("host-1.1"), []
    bdial = BDial(call_id="host-1.1", caller=CALLER, to_number="202",
                  targets=[CallerId(number="202")])
    up = record(1)
    hangup = Hangup(call_id="host-1.1", caller=CALLER, to_number="202", reason="completed")
    for trigger, rec in (("ring", bdial), ("dial_end", up), ("answer", up),
                         ("end", hangup)):
        fire(CALL_MACHINE, call, trigger, record=rec, outbox=outbox)
    assert call.path == ["ring", "dial_end", "answer", "end"]
    assert [r for _c, r in outbox] == [bdial, up, up, hangup]
    assert call.state is C.ENDED


def test_compiled_table_is_the_rules_table():
    compiled = {key: dest for key, (dest, _cbs) in CALL_MACHINE.table.items()}
    assert compiled == ALLOWED


@pytest.mark.parametrize("state", list(C), ids=[s.value for s in C])
def test_compiled_table_and_transitions_machine_agree(state):
    for trigger in TRIGGERS:
        results = []
        for use_transitions in (False, True):
            engine.use_transitions_engine(use_transitions)
            try:
                call, outbox = call_in(state), []
                try:
                    fire(CALL_MACHINE, call, trigger, record=record(), outbox=outbox)
                    results.append(("moved", call.state, list(call.path), len(outbox)))
                except InvalidTransition:
                    results.append(("refused", call.state, list(call.path), len(outbox)))
            finally:
                engine.use_transitions_engine(False)
        assert results[0] == results[1], (state, trigger)


def test_calls_are_never_registered_with_the_machine():
    engine.use_transitions_engine(True)
    try:
        for source, trigger, _dest in FIRING:
            fire(CALL_MACHINE, call_in(source), trigger, record=record(), outbox=[])
    finally:
        engine.use_transitions_engine(False)
    assert CALL_MACHINE.machine.models == []
