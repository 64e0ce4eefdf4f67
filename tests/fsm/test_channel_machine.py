"""fsm/channel.py alone: the channel table, run by both engines."""
from __future__ import annotations

import pytest

from cacofonisk.errors import InvalidTransition
from cacofonisk.fsm import engine
from cacofonisk.fsm.channel import CHANNEL_MACHINE, CHANNEL_RULES, Channel, ChannelState
from cacofonisk.fsm.engine import fire

S = ChannelState
TRIGGERS = list(dict.fromkeys(rule.trigger for rule in CHANNEL_RULES))
ALLOWED = {(source, rule.trigger): rule.dest or source
           for rule in CHANNEL_RULES for source in rule.sources}
FIRING = [(source, trigger, dest) for (source, trigger), dest in ALLOWED.items()]
REFUSED = [(state, trigger) for state in S for trigger in TRIGGERS
           if (state, trigger) not in ALLOWED]


def channel_in(state: ChannelState) -> Channel:
    channel = Channel("host-1501851189.1", "SIP/201-00000001")
    channel.state = state
    return channel


def test_new_channel_starts_down():
    assert Channel("1.1", "SIP/a-1").state is S.DOWN
    assert CHANNEL_MACHINE.initial is S.DOWN


@pytest.mark.parametrize("source,trigger,dest", FIRING,
                         ids=[f"{s.value}-{t}-{d.value}" for s, t, d in FIRING])
def test_every_rule_fires_from_each_allowed_source_to_its_dest(source, trigger, dest):
    channel = channel_in(source)
    assert fire(CHANNEL_MACHINE, channel, trigger) is dest
    assert channel.state is dest


@pytest.mark.parametrize("state,trigger", REFUSED,
                         ids=[f"{s.value}-{t}" for s, t in REFUSED])
def test_trigger_not_allowed_in_state_raises_invalid_transition(state, trigger):
    channel = channel_in(state)
    with pytest.raises(InvalidTransition) as info:
        fire(CHANNEL_MACHINE, channel, trigger)
    assert info.value.state == state.name
    assert info.value.trigger == trigger
    assert state.name in str(info.value) and trigger in str(info.value)
    assert channel.state is state


@pytest.mark.parametrize("source,trigger,dest", [
    (S.RINGING, "answer", S.UP),
    (S.DOWN, "answer", S.UP),
    (S.DOWN, "dial_out", S.DIALING),
    (S.DOWN, "ring", S.RINGING),
    (S.DIALING, "ring", S.RINGING),
    (S.UP, "bridge", S.BRIDGED),
    (S.BRIDGED, "bridge", S.BRIDGED),
    (S.BRIDGED, "unbridge", S.UP),
    (S.UP, "masquerade", S.MASQUERADED),
    (S.MASQUERADED, "hang_up", S.HUNG_UP),
    (S.BRIDGED, "hang_up", S.HUNG_UP),
    (S.DOWN, "hang_up", S.HUNG_UP),
])
def test_expected_channel_transitions(source, trigger, dest):
    channel = channel_in(source)
    fire(CHANNEL_MACHINE, channel, trigger)
    assert channel.state is dest


@pytest.mark.parametrize("source,trigger", [
    (S.UP, "ring"),
    (S.UP, "answer"),
    (S.RINGING, "dial_out"),
    (S.UP, "unbridge"),
    (S.HUNG_UP, "hang_up"),
    (S.HUNG_UP, "answer"),
    (S.MASQUERADED, "bridge"),
    (S.MASQUERADED, "masquerade"),
])
def test_expected_channel_refusals(source, trigger):
    with pytest.raises(InvalidTransition):
        fire(CHANNEL_MACHINE, channel_in(source), trigger)


def test_hung_up_is_final():
    assert not [t for t in TRIGGERS if (S.HUNG_UP, t) in ALLOWED]


def test_every_state_is_reachable_from_down():
    seen, todo = {S.DOWN}, [S.DOWN]
    while todo:
        state = todo.pop()
        for (source, _trigger), dest in ALLOWED.items():
            if source is state and dest not in seen:
                seen.add(dest)
                todo.append(dest)
    assert seen == set(S)


def test_compiled_table_is_the_rules_table():
    compiled = {key: dest for key, (dest, _cbs) in CHANNEL_MACHINE.table.items()}
    assert compiled == ALLOWED


@pytest.mark.parametrize("state", list(S), ids=[s.value for s in S])
def test_compiled_table_and_transitions_machine_agree(state):
    for trigger in TRIGGERS:
        results = []
        for use_transitions in (False, True):
            engine.use_transitions_engine(use_transitions)
            try:
                channel = channel_in(state)
                try:
                    fire(CHANNEL_MACHINE, channel, trigger)
                    results.append(("moved", channel.state))
                except InvalidTransition:
                    results.append(("refused", channel.state))
            finally:
                engine.use_transitions_engine(False)
        assert results[0] == results[1], (state, trigger)


def test_channels_are_never_registered_with_the_machine():
    engine.use_transitions_engine(True)
    try:
        for source, trigger, _dest in FIRING:
            fire(CHANNEL_MACHINE, channel_in(source), trigger)
    finally:
        engine.use_transitions_engine(False)
    for source, trigger, _dest in FIRING:
        fire(CHANNEL_MACHINE, channel_in(source), trigger)
    assert CHANNEL_MACHINE.machine.models == []


def test_a_call_through_its_life():
    channel = channel_in(S.DOWN)
    for trigger in ("ring", "answer", "bridge", "unbridge", "bridge", "hang_up"):
        fire(CHANNEL_MACHINE, channel, trigger)
    assert channel.state is S.HUNG_UP
