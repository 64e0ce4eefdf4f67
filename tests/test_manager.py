"""manager.py: the error boundary, hook order and delivery, dialects (no files)."""
from __future__ import annotations

from typing import Any

import pytest

import cacofonisk.manager as manager_module
from cacofonisk import calls
from cacofonisk.callerid import CallerId
from cacofonisk.errors import CacofoniskError
from cacofonisk.manager import ChannelManager
from cacofonisk.reporters.base import BaseReporter

# -- a hand-built AMI 2 call: 201 (Alice) calls 202 (Bob), Bob answers, both hang up --

A, B, C = "pbx-1501851189.1", "pbx-1501851189.2", "pbx-1501851189.3"
NAMES = {A: "PJSIP/201-00000001", B: "PJSIP/202-00000002", C: "PJSIP/203-00000003"}
ALICE = CallerId(15001, "Alice", "201", True)
BOB = CallerId(0, "Bob", "202", True)
CAROL = CallerId(0, "Carol", "203", True)


def ev(name: str, **headers: str) -> dict[str, Any]:
    return {"Event": name, **headers}


def chan(name: str, uid: str, **headers: str) -> dict[str, Any]:
    return {"Event": name, "Channel": NAMES[uid], "Uniqueid": uid, "Linkedid": A, **headers}


def simple_call() -> list[dict[str, Any]]:
    """Events with Timestamp 100.0 + index."""
    events = [
        chan("Newchannel", A, ChannelState="0", CallerIDNum="201", CallerIDName="Alice",
             AccountCode="15001", Exten="202", Context="internal"),           # 0
        chan("Newstate", A, ChannelState="4"),                               # 1
        chan("VarSet", A, Variable="DIALSTATUS", Value=""),                  # 2
        chan("Newchannel", B, ChannelState="0", CallerIDNum="202", CallerIDName="Bob",
             Exten="s", Context="internal"),                                  # 3
        chan("DialBegin", A, DestUniqueid=B, DestChannel=NAMES[B], DialString="202"),  # 4
        chan("Newstate", B, ChannelState="5"),                               # 5
        chan("DialState", A, DestUniqueid=B, DialStatus="RINGING"),          # 6
        chan("DialEnd", A, DestUniqueid=B, DialStatus="ANSWER"),             # 7
        chan("Newstate", B, ChannelState="6"),                               # 8
        chan("Newstate", A, ChannelState="6"),                               # 9
        ev("BridgeCreate", BridgeUniqueid="br-1", BridgeType="basic"),       # 10
        chan("BridgeEnter", B, BridgeUniqueid="br-1"),                       # 11
        chan("BridgeEnter", A, BridgeUniqueid="br-1"),                       # 12
        chan("Hangup", B, Cause="16", **{"Cause-txt": "Normal Clearing"}),  # 13
        chan("Hangup", A, Cause="16", **{"Cause-txt": "Normal Clearing"}),  # 14
    ]
    for n, event in enumerate(events):
        event["Timestamp"] = f"{100 + n}.000000"
    return events


EXPECTED_HOOKS = [
    ("on_b_dial", (A, ALICE, "202", [BOB])),
    ("on_b_dial_end", (A, ALICE, "202", [BOB], "answer")),
    ("on_up", (A, ALICE, "202", BOB)),
    ("on_hangup", (A, ALICE, "202", "completed")),
]
HOOKS = ("on_b_dial", "on_b_dial_end", "on_up", "on_warm_transfer", "on_cold_transfer",
         "on_blind_transfer", "on_blonde_transfer", "on_hangup", "on_queue_caller_abandon",
         "on_user_event")


class Recorder:
    """A duck-typed reporter (no BaseReporter) logging every call in order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, tuple[Any, ...]]] = []
        self.manager: ChannelManager | None = None
        self.channels_at_hook: list[int] = []

    def __getattr__(self, name: str) -> Any:
        if name in HOOKS or name in ("trace_ami", "trace_msg", "on_event", "close"):
            def hook(*args: Any) -> None:
                self.log.append((name, args))
                if name in HOOKS and self.manager is not None:
                    self.channels_at_hook.append(len(self.manager.channels))
            return hook
        raise AttributeError(name)

    def hooks(self) -> list[tuple[str, tuple[Any, ...]]]:
        return [entry for entry in self.log if entry[0] in HOOKS]

    def traces(self) -> list[str]:
        return [args[0] for name, args in self.log if name == "trace_msg"]


def run(events: list[Any], reporter: Any = None, **options: Any) -> tuple[ChannelManager, Any]:
    reporter = reporter if reporter is not None else Recorder()
    manager = ChannelManager(reporter=reporter, **options)
    if isinstance(reporter, Recorder):
        reporter.manager = manager
    for event in events:
        manager.on_event(event)
    return manager, reporter


# -- a whole call --------------------------------------------------------------------

def test_simple_call_delivers_the_api_hooks_positionally_in_order():
    manager, rec = run(simple_call(), strict=True)
    assert rec.hooks() == EXPECTED_HOOKS
    assert manager.is_idle()
    assert manager.dialect == "ami2"


def test_call_hooks_come_between_trace_ami_and_on_event_of_their_event():
    events = simple_call()
    manager, rec = run(events, strict=True)
    # cut the log into one slice per AMI event
    slices, current = [], None
    for name, args in rec.log:
        if name == "trace_ami":
            current = [args[0], []]
            slices.append(current)
        elif name == "on_event":
            assert args[0] is current[0]
            current.append(args[0])
        else:
            current[1].append(name)
    assert [s[0] for s in slices] == events
    assert all(s[0] is e for s, e in zip(slices, events))
    assert all(len(s) == 3 for s in slices)  # each slice closed by its on_event
    fired = {i: [h for h in s[1] if h in HOOKS] for i, s in enumerate(slices)}
    # b_dial is held for the dial burst but out by the end of DialState
    assert [h for i in range(7) for h in fired[i]] == ["on_b_dial"]
    assert fired[7] == ["on_b_dial_end"]
    assert fired[12] == ["on_up"]
    assert fired[14] == ["on_hangup"]


def test_hooks_run_after_the_event_is_fully_applied():
    _manager, rec = run(simple_call(), strict=True)
    # on_hangup comes from A's Hangup: by then A is forgotten too
    assert rec.channels_at_hook[-1] == 0
    assert rec.channels_at_hook[0] == 2


def test_trace_ami_and_on_event_wrap_every_event_even_uninteresting_ones():
    events = [ev("VarSet", Variable="x"), ev("PeerStatus"), {}, ev("Newexten")]
    _manager, rec = run(events)
    assert [(name, args[0]) for name, args in rec.log] == [
        (hook, event) for event in events for hook in ("trace_ami", "on_event")]


def test_reporter_with_on_call_event_gets_whole_records():
    class Whole(BaseReporter):
        def __init__(self) -> None:
            self.records: list[calls.CallEvent] = []

        def on_call_event(self, record: calls.CallEvent) -> None:
            self.records.append(record)

        def on_b_dial(self, *args: Any) -> None:  # pragma: no cover - must not be called
            raise AssertionError("positional hook called for a whole-record reporter")

    _m, rep = run(simple_call(), Whole(), server="pbx-east", strict=True)
    assert [type(r) for r in rep.records] == [calls.BDial, calls.BDialEnd, calls.Up,
                                              calls.Hangup]
    assert [r.event_id for r in rep.records] == [
        f"{A}:on_b_dial:106.000000", f"{A}:on_b_dial_end:107.000000",
        f"{A}:on_up:112.000000", f"{A}:on_hangup:114.000000"]
    assert {r.server for r in rep.records} == {"pbx-east"}
    assert [r.timestamp for r in rep.records][1:] == [107.0, 112.0, 114.0]
    hangup = rep.records[-1]
    assert (hangup.cause, hangup.cause_txt, hangup.reason) == (16, "Normal Clearing",
                                                               "completed")
    assert [r.args() for r in rep.records] == [args for _h, args in EXPECTED_HOOKS]


def test_list_valued_headers_give_the_same_call():
    listed = [{k: [v] for k, v in event.items()} for event in simple_call()]
    manager, rec = run(listed, strict=True)
    assert rec.hooks() == EXPECTED_HOOKS
    assert manager.is_idle()


def test_duplicate_newchannel_keeps_the_first_channel():
    first = chan("Newchannel", A, ChannelState="0", CallerIDNum="201", Exten="202")
    second = {**first, "Channel": "PJSIP/999-00000009", "CallerIDNum": "999"}
    manager, rec = run([first, second], strict=True, dialect="ami2")
    (channel,) = manager.channels
    assert channel.name == NAMES[A]
    assert channel.caller_id.number == "201"
    assert any("duplicate" in t for t in rec.traces())


# -- transfers: specific and generic hooks --------------------------------------------

def blind_transfer_call() -> list[dict[str, Any]]:
    events = [e for e in simple_call() if e["Event"] not in ("Hangup",)]
    events += [
        ev("BlindTransfer", Result="Success", TransfererUniqueid=B, TransfereeUniqueid=A,
           Extension="203", Context="internal", BridgeUniqueid="br-1"),
        chan("BridgeLeave", B, BridgeUniqueid="br-1"),
        chan("BridgeLeave", A, BridgeUniqueid="br-1"),
        chan("Hangup", B, Cause="16"),
        chan("Newchannel", C, ChannelState="0", CallerIDNum="203", CallerIDName="Carol",
             Exten="s"),
        chan("DialBegin", A, DestUniqueid=C),
        chan("Newstate", C, ChannelState="5"),
        chan("DialState", A, DestUniqueid=C, DialStatus="RINGING"),
        chan("DialEnd", A, DestUniqueid=C, DialStatus="ANSWER"),
        chan("Newstate", C, ChannelState="6"),
        chan("BridgeEnter", C, BridgeUniqueid="br-2"),
        chan("BridgeEnter", A, BridgeUniqueid="br-2"),
        chan("Hangup", C, Cause="16"),
        chan("Hangup", A, Cause="16"),
    ]
    return events


TRANSFER_ARGS = (A, B, BOB, ALICE, "203", [CAROL])


def test_reporter_without_on_blind_transfer_gets_on_cold_transfer():
    class ColdOnly:
        def __init__(self) -> None:
            self.got: list[tuple[str, tuple[Any, ...]]] = []

        def on_cold_transfer(self, *args: Any) -> None:
            self.got.append(("on_cold_transfer", args))

    manager, rep = run(blind_transfer_call(), ColdOnly(), strict=True)
    assert rep.got == [("on_cold_transfer", TRANSFER_ARGS)]
    assert manager.is_idle()


def test_reporter_with_on_blind_transfer_gets_the_specific_hook():
    manager, rec = run(blind_transfer_call(), strict=True)
    transfers = [h for h in rec.hooks() if "transfer" in h[0]]
    assert transfers == [("on_blind_transfer", TRANSFER_ARGS)]
    assert [h[0] for h in rec.hooks()][-2:] == ["on_up", "on_hangup"]


def test_base_reporter_subclass_gets_blind_transfer_as_cold_transfer():
    class Cold(BaseReporter):
        def __init__(self) -> None:
            self.got: list[tuple[Any, ...]] = []

        def on_cold_transfer(self, *args: Any) -> None:
            self.got.append(args)

    _m, rep = run(blind_transfer_call(), Cold(), strict=True)
    assert rep.got == [TRANSFER_ARGS]


# -- the error boundary ------------------------------------------------------------------

GARBAGE = [
    pytest.param({}, False, id="empty"),
    pytest.param({"Event": "Newstate"}, True, id="newstate-missing-fields"),
    pytest.param({"Event": "Newstate", "Uniqueid": None, "Channel": None,
                  "ChannelState": None}, True, id="none-values"),
    pytest.param({"Event": "Newstate", "Uniqueid": 1, "Channel": 2.5, "ChannelState": 3},
                 True, id="non-str-values"),
    pytest.param({"Event": "Newstate", "Uniqueid": "x", "Channel": "y",
                  "ChannelState": "Up"}, True, id="non-numeric-state"),
    pytest.param({"Event": ["Hangup", "Hangup"], "Uniqueid": ["a", "b"],
                  "Channel": ["c"]}, True, id="list-values-unknown-channel"),
    pytest.param({"Event": "NoSuchEvent", "Foo": "bar"}, False, id="unknown-event"),
    pytest.param({"Event": "Hangup", "Uniqueid": "never.seen", "Channel": "SIP/x-1",
                  "Cause": "16"}, True, id="hangup-of-unknown-channel"),
    pytest.param({"Event": "Hangup", "Uniqueid": "x", "Channel": "y", "Cause": "abc"},
                 True, id="bad-cause"),
    pytest.param({"Event": "DialBegin", "DestUniqueid": "nope", "Uniqueid": "nope2"},
                 True, id="dialbegin-unknown"),
    pytest.param({"Event": "BridgeEnter", "BridgeUniqueid": "b", "Uniqueid": "u"},
                 True, id="bridgeenter-unknown"),
    pytest.param({"Event": "LocalBridge", "LocalOneUniqueid": "a", "LocalTwoUniqueid": "b"},
                 True, id="localbridge-unknown"),
    pytest.param({"Event": None}, False, id="none-event-name"),
    pytest.param({"Event": 42}, False, id="int-event-name"),
    pytest.param({"Event": "Newstate", "Uniqueid": b"x", "Channel": "y",
                  "ChannelState": b"6"}, True, id="bytes-values"),
]


@pytest.mark.parametrize("event,traced", GARBAGE)
@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_on_event_never_raises_for_garbage(event, traced, strict):
    manager, rec = run([event], strict=strict)
    names = [name for name, _args in rec.log]
    assert names[0] == "trace_ami" and names[-1] == "on_event"
    assert rec.hooks() == []
    if traced:
        assert rec.traces(), "a bad event must be reported through trace_msg"


def test_garbage_between_events_of_a_call_does_not_disturb_it():
    events = simple_call()
    noisy = []
    for event in events:
        noisy += [event, {"Event": "Newstate"}, {"Event": "Hangup", "Uniqueid": "zz",
                                                 "Channel": "zz"}, {}]
    manager, rec = run(noisy, strict=True)
    assert rec.hooks() == EXPECTED_HOOKS
    assert manager.is_idle()


def test_malformed_event_trace_names_the_missing_header():
    _m, rec = run([{"Event": "Newstate", "Uniqueid": "a", "Channel": "b"}])
    assert any("ChannelState" in t for t in rec.traces())


def test_a_bug_is_traced_and_swallowed_unless_strict(monkeypatch):
    def broken_parse(raw: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setitem(manager_module._PARSERS, "Newstate", broken_parse)
    event = chan("Newstate", A, ChannelState="4")
    _m, rec = run([event], strict=False)
    assert any("boom" in t for t in rec.traces())
    assert [n for n, _a in rec.log][-1] == "on_event"
    with pytest.raises(RuntimeError, match="boom"):
        run([event], strict=True)


def test_cacofonisk_errors_are_not_raised_even_when_strict(monkeypatch):
    def refusing_parse(raw: Any) -> Any:
        raise CacofoniskError("cannot place it")

    monkeypatch.setitem(manager_module._PARSERS, "Newstate", refusing_parse)
    _m, rec = run([chan("Newstate", A, ChannelState="4")], strict=True)
    assert "cannot place it" in rec.traces()


def test_raising_reporter_hook_does_not_stop_the_other_hooks():
    class Flaky(Recorder):
        def on_b_dial(self, *args: Any) -> None:
            self.log.append(("on_b_dial", args))
            raise ValueError("reporter bug")

        def on_up(self, *args: Any) -> None:
            self.log.append(("on_up", args))
            raise KeyError("another reporter bug")

    manager, rec = run(simple_call(), Flaky())
    assert rec.hooks() == EXPECTED_HOOKS
    assert manager.is_idle()
    traces = rec.traces()
    assert any("on_b_dial" in t for t in traces)
    assert any("on_up" in t for t in traces)


def test_raising_trace_ami_and_on_event_do_not_stop_processing():
    class Noisy(Recorder):
        def trace_ami(self, event: Any) -> None:
            raise RuntimeError("trace_ami broke")

        def on_event(self, event: Any) -> None:
            raise RuntimeError("on_event broke")

    manager, rec = run(simple_call(), Noisy())
    assert rec.hooks() == EXPECTED_HOOKS
    assert any("trace_ami" in t for t in rec.traces())
    assert any("on_event" in t for t in rec.traces())


def test_raising_trace_msg_is_survived():
    class Mute(Recorder):
        def trace_msg(self, msg: str) -> None:
            raise RuntimeError("trace_msg broke")

    events = [{"Event": "Newstate"}] + simple_call()
    manager, rec = run(events, Mute())
    assert rec.hooks() == EXPECTED_HOOKS


def test_reporter_without_any_hooks_is_accepted():
    manager, _rep = run(simple_call() + [{"Event": "Newstate"}], object(), strict=True)
    assert manager.is_idle()


# -- dialects and interesting events ---------------------------------------------------

def test_dialect_is_unknown_until_an_event_tells():
    manager = ChannelManager(reporter=Recorder())
    assert manager.dialect == "unknown"
    manager.on_event({"Event": "Newchannel", "Uniqueid": "h.1", "Channel": "SIP/a-1"})
    assert manager.dialect == "unknown"


def test_a_channel_born_without_linkedid_that_dials_means_ami1():
    manager = ChannelManager(reporter=Recorder())
    manager.on_event({"Event": "Newchannel", "Uniqueid": "h.1", "Channel": "SIP/a-1"})
    manager.on_event({"Event": "Dial", "SubEvent": "Begin", "UniqueID": "h.1",
                      "DestUniqueID": "h.2", "Channel": "SIP/a-1"})
    assert manager.dialect == "ami1"


def test_a_channel_whose_events_carry_linkedid_means_ami2():
    manager = ChannelManager(reporter=Recorder())
    manager.on_event({"Event": "Newchannel", "Uniqueid": "h.1", "Channel": "SIP/a-1",
                      "Linkedid": "h.1"})
    assert manager.dialect == "unknown"  # one event is no proof
    manager.on_event({"Event": "Newstate", "Uniqueid": "h.1", "Channel": "SIP/a-1",
                      "ChannelState": "4", "Linkedid": "h.1"})
    assert manager.dialect == "ami2"


@pytest.mark.parametrize("name", ["DialBegin", "BridgeEnter", "AttendedTransfer", "Dial"])
def test_a_malformed_event_of_one_dialect_decides_nothing(name):
    manager = ChannelManager(reporter=Recorder())
    manager.on_event({"Event": name})
    manager.on_event({"Event": name, "Linkedid": "h.1"})
    assert manager.dialect == "unknown"


def test_a_stray_event_of_the_other_dialect_does_not_decide_it():
    manager = ChannelManager(reporter=Recorder())
    manager.on_event({"Event": "Dial", "SubEvent": "Begin", "UniqueID": "h.1"})
    manager.on_event({"Event": "Newchannel", "Uniqueid": "h.2", "Channel": "PJSIP/b-2",
                      "Linkedid": "h.2"})
    manager.on_event({"Event": "Newstate", "Uniqueid": "h.2", "Channel": "PJSIP/b-2",
                      "ChannelState": "5", "Linkedid": "h.2"})
    assert manager.dialect == "ami2"


def test_dialect_override_holds_against_the_events():
    manager = ChannelManager(reporter=Recorder(), dialect="ami2")
    assert manager.dialect == "ami2"
    manager.on_event({"Event": "Dial", "SubEvent": "Begin", "UniqueID": "h.1"})
    assert manager.dialect == "ami2"


def test_forced_ami1_dialect_is_reported():
    assert ChannelManager(reporter=Recorder(), dialect="ami1").dialect == "ami1"


@pytest.mark.parametrize("dialect", ["ami3", "AMI2", "", "2"])
def test_invalid_dialect_raises_value_error(dialect):
    with pytest.raises(ValueError):
        ChannelManager(reporter=Recorder(), dialect=dialect)


def test_interesting_events_hold_what_the_rules_consume():
    interesting = ChannelManager.INTERESTING_EVENTS
    for name in ("Newchannel", "Hangup", "Dial", "DialBegin", "BridgeEnter",
                 "AttendedTransfer", "UserEvent", "Newstate", "DialEnd", "BlindTransfer",
                 "LocalBridge", "Masquerade", "Transfer"):
        assert name in interesting, name
    for name in ("VarSet", "Newexten", "DeviceStateChange", "RTCPSent"):
        assert name not in interesting, name


def test_filtering_by_interesting_events_changes_nothing():
    events = simple_call()
    _m, all_rec = run(events, strict=True)
    kept = [e for e in events if e["Event"] in ChannelManager.INTERESTING_EVENTS]
    assert len(kept) < len(events)
    _m, kept_rec = run(kept, strict=True)
    assert kept_rec.hooks() == all_rec.hooks()


def test_user_event_is_passed_through_whole():
    event = chan("UserEvent", A, UserEvent="CallNote", Note="hello")
    _m, rec = run([event], strict=True)
    assert rec.hooks() == [("on_user_event", (event,))]


def test_two_managers_do_not_share_state():
    first, rec1 = run(simple_call()[:6], strict=True)
    second = ChannelManager(reporter=Recorder())
    assert len(first.channels) == 2
    assert second.channels == [] and second.is_idle()


def test_panoramisk_messages_give_the_same_call():
    from panoramisk.message import Message
    manager, rec = run([Message(event) for event in simple_call()], strict=True)
    assert rec.hooks() == EXPECTED_HOOKS
    assert manager.is_idle()


def test_panoramisk_messages_with_lowercase_headers_give_the_same_call():
    from panoramisk.message import Message
    lowered = [Message({k.lower(): v for k, v in event.items()}) for event in simple_call()]
    manager, rec = run(lowered, strict=True)
    assert rec.hooks() == EXPECTED_HOOKS
    assert manager.dialect == "ami2"


def test_event_ids_stay_unique_when_the_transferring_caller_leaves_first():
    events = [e for e in simple_call() if e["Event"] != "Hangup"] + [
        # the CALLER (A) blind-transfers B to 203 and hangs up; B hangs up
        # before 203 rings
        ev("BlindTransfer", Result="Success", TransfererUniqueid=A, TransfereeUniqueid=B,
           Extension="203", Context="internal", BridgeUniqueid="br-1"),
        chan("BridgeLeave", A, BridgeUniqueid="br-1"),
        chan("BridgeLeave", B, BridgeUniqueid="br-1"),
        chan("Hangup", A, Cause="16"),
        chan("Hangup", B, Cause="16"),
    ]

    class Whole(BaseReporter):
        def __init__(self) -> None:
            self.records: list[calls.CallEvent] = []

        def on_call_event(self, record: calls.CallEvent) -> None:
            self.records.append(record)

    _m, rep = run(events, Whole(), strict=True)
    ids = [r.event_id for r in rep.records]
    assert rep.records[-1].HOOK == "on_hangup"
    assert len(ids) == len(set(ids)), ids


def test_hooks_set_on_a_base_reporter_instance_are_called():
    seen: list[tuple[str, Any]] = []
    reporter = BaseReporter()
    reporter.trace_ami = lambda event: seen.append(("trace_ami", event))  # type: ignore
    reporter.on_event = lambda event: seen.append(("on_event", event))  # type: ignore
    manager = ChannelManager(reporter=reporter)
    event = {"Event": "FullyBooted"}
    manager.on_event(event)
    assert seen == [("trace_ami", event), ("on_event", event)]


def test_trace_ami_and_on_event_overridden_in_a_base_reporter_subclass_are_called():
    class Sub(BaseReporter):
        def __init__(self) -> None:
            self.seen: list[str] = []

        def trace_ami(self, event: Any) -> None:
            self.seen.append("trace_ami")

        def on_event(self, event: Any) -> None:
            self.seen.append("on_event")

    reporter = Sub()
    ChannelManager(reporter=reporter).on_event({"Event": "FullyBooted"})
    assert reporter.seen == ["trace_ami", "on_event"]


def test_custom_data_survives_an_ami1_masquerade():
    """2017 README: Channel.custom is kept when Asterisk 1.x masquerades a channel."""
    events = [
        {"Event": "Newchannel", "Channel": "SIP/201-1", "Uniqueid": "u1", "ChannelState": "4",
         "CallerIDNum": "201", "Exten": "202"},
        {"Event": "Newchannel", "Channel": "Local/202@x-1;1", "Uniqueid": "u2",
         "ChannelState": "6", "CallerIDNum": "202"},
        {"Event": "Dial", "SubEvent": "Begin", "UniqueID": "u1", "DestUniqueID": "u2",
         "Channel": "SIP/201-1", "Destination": "Local/202@x-1;1"},
    ]
    manager = ChannelManager(reporter=BaseReporter(), strict=True)
    for event in events:
        manager.on_event(event)
    clone = next(c for c in manager.channels if c.uniqueid == "u2")
    clone.custom["crm_ticket"] = 42
    manager.on_event({"Event": "Masquerade", "Clone": "Local/202@x-1;1", "CloneState": "Up",
                      "Original": "SIP/201-1", "OriginalState": "Up"})
    original = next(c for c in manager.channels if c.uniqueid == "u1")
    assert original.custom == {"crm_ticket": 42}
    assert original.custom is clone.custom


def test_ami1_dial_end_is_skipped_before_parsing_but_dial_begin_is_not(monkeypatch):
    parsed: list[str] = []
    real = manager_module._PARSERS["Dial"]

    def spying_parse(raw: Any) -> Any:
        parsed.append(raw["SubEvent"])
        return real(raw)

    monkeypatch.setitem(manager_module._PARSERS, "Dial", spying_parse)
    # An End without UniqueID would be malformed if it were parsed; a Begin is.
    events = [ev("Dial", SubEvent="End", Channel="SIP/201-1", DialStatus="ANSWER"),
              ev("Dial", SubEvent="Begin", Channel="SIP/201-1")]
    manager, rec = run(events, strict=True, dialect="ami1")
    assert parsed == ["Begin"]
    traces = rec.traces()
    assert len(traces) == 1 and "UniqueID" in traces[0]


@pytest.mark.parametrize("code, expected", [("15001", 15001), (" 42 ", 42), ("²", 0), ("x1", 0)])
def test_account_code_that_is_not_a_plain_number_is_code_0_not_a_bug(code, expected):
    manager, rec = run([chan("Newchannel", A, ChannelState="0", CallerIDNum="201",
                             AccountCode=code, Exten="202")], strict=True, dialect="ami2")
    assert [c.caller_id.code for c in manager.channels] == [expected]
    assert not [t for t in rec.traces() if "internal error" in t]
