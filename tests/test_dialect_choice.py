"""How a manager chooses its AMI dialect: declared by the server, or from well-formed events."""
from __future__ import annotations

from typing import Any

import pytest

from cacofonisk.dialects.evidence import dialect_of_version
from cacofonisk.errors import CacofoniskError, UnknownDialect
from cacofonisk.manager import ChannelManager
from cacofonisk.testing.recorder import RecordingReporter


def _ami2_call() -> list[dict[str, Any]]:
    """201 calls 202 on Asterisk 22, 202 answers, both hang up."""
    a, b = "pbx-1.1", "pbx-1.2"
    names = {a: "PJSIP/201-00000001", b: "PJSIP/202-00000002"}

    def chan(name: str, uid: str, **headers: str) -> dict[str, Any]:
        return {"Event": name, "Channel": names[uid], "Uniqueid": uid, "Linkedid": a, **headers}

    return [
        chan("Newchannel", a, ChannelState="0", CallerIDNum="201", CallerIDName="Alice",
             Exten="202"),
        chan("Newchannel", b, ChannelState="0", CallerIDNum="202", CallerIDName="Bob",
             Exten="s"),
        chan("DialBegin", a, DestUniqueid=b, DestChannel=names[b], DialString="202"),
        chan("Newstate", b, ChannelState="5"),
        chan("DialEnd", a, DestUniqueid=b, DialStatus="ANSWER"),
        chan("Newstate", b, ChannelState="6"),
        chan("Newstate", a, ChannelState="6"),
        {"Event": "BridgeCreate", "BridgeUniqueid": "br-1", "BridgeType": "basic"},
        chan("BridgeEnter", b, BridgeUniqueid="br-1"),
        chan("BridgeEnter", a, BridgeUniqueid="br-1"),
        chan("Hangup", b, Cause="16"),
        chan("Hangup", a, Cause="16"),
    ]


def _hooks(manager_events: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    reporter = RecordingReporter()
    manager = ChannelManager(reporter=reporter, **kwargs)
    for event in manager_events:
        manager.on_event(event)
    manager.flush()
    return reporter.hooks()


# -- declared by the server ------------------------------------------------------------

def test_declared_dialect_overrides_a_stray_event_of_the_other_dialect():
    reporter = RecordingReporter()
    manager = ChannelManager(reporter=reporter)
    manager.declare_dialect("ami2")
    manager.on_event({"Event": "Dial", "SubEvent": "Begin", "UniqueID": "x.1",
                      "DestUniqueID": "x.2", "Channel": "SIP/x-1", "Destination": "SIP/y-2"})
    for event in _ami2_call():
        manager.on_event(event)
    assert manager.dialect == "ami2"
    assert reporter.hooks() == _hooks(_ami2_call(), dialect="ami2") == [
        "on_b_dial", "on_b_dial_end", "on_up", "on_hangup"]


def test_declared_dialect_overrides_one_detected_before():
    manager = ChannelManager(reporter=RecordingReporter(), dialect="ami1")
    manager.declare_dialect("ami2")
    assert manager.dialect == "ami2"
    manager.declare_dialect("ami1")
    assert manager.dialect == "ami1"


@pytest.mark.parametrize("name", ["ami3", "AMI2", "", "2", "Asterisk Call Manager/2.10.3"])
def test_declaring_an_unknown_dialect_raises_a_clear_value_error(name):
    manager = ChannelManager(reporter=RecordingReporter())
    with pytest.raises(UnknownDialect) as info:
        manager.declare_dialect(name)
    assert isinstance(info.value, ValueError) and isinstance(info.value, CacofoniskError)
    assert "'ami1'" in str(info.value) and "'ami2'" in str(info.value)
    assert manager.dialect == "unknown"


# -- decided from the events -----------------------------------------------------------

def test_a_clean_call_decides_at_the_second_event_of_its_first_channel_and_loses_nothing():
    reporter = RecordingReporter()
    manager = ChannelManager(reporter=reporter)
    events = _ami2_call()
    manager.on_event(events[0])
    assert manager.dialect == "unknown" and manager.channels == []
    manager.on_event(events[1])
    assert manager.dialect == "unknown"  # two Newchannels claim, nothing confirms yet
    manager.on_event(events[2])  # the caller's DialBegin: its second event
    assert manager.dialect == "ami2"
    for event in events[3:]:
        manager.on_event(event)
    assert manager.dialect == "ami2"
    assert reporter.hooks() == _hooks(events, dialect="ami2")


def test_held_events_reach_the_reporter_in_stream_order_each_between_its_traces():
    seen: list[tuple[str, str]] = []

    class Tracing(RecordingReporter):
        def trace_ami(self, event: Any) -> None:
            seen.append(("trace_ami", event["Event"]))

        def on_event(self, event: Any) -> None:
            seen.append(("on_event", event["Event"]))

    manager = ChannelManager(reporter=Tracing())
    events = _ami2_call()
    for event in events:
        manager.on_event(event)
    expected = [pair for event in events
                for pair in (("trace_ami", event["Event"]), ("on_event", event["Event"]))]
    assert seen == expected


def test_flush_applies_held_events_with_the_best_guess():
    manager = ChannelManager(reporter=RecordingReporter())
    newchannel = _ami2_call()[0]
    manager.on_event(newchannel)
    assert manager.channels == [] and not manager.is_idle()
    manager.flush()
    assert [c.uniqueid for c in manager.channels] == [newchannel["Uniqueid"]]
    assert manager.dialect == "ami2"


def test_declaring_the_dialect_applies_the_held_events():
    manager = ChannelManager(reporter=RecordingReporter())
    manager.on_event(_ami2_call()[0])
    manager.declare_dialect("ami2")
    assert len(manager.channels) == 1


def test_a_stream_that_never_confirms_waits_for_at_most_hold_limit_events():
    from cacofonisk import manager as manager_module

    manager = ChannelManager(reporter=RecordingReporter())
    for n in range(manager_module.HOLD_LIMIT):
        manager.on_event({"Event": "Newchannel", "Uniqueid": f"h.{n}",
                          "Channel": f"SIP/{n}-1", "ChannelState": "0"})
    assert len(manager.channels) == manager_module.HOLD_LIMIT
    assert manager.dialect == "ami1"


def test_a_channel_that_contradicts_itself_proves_nothing():
    manager = ChannelManager(reporter=RecordingReporter())
    manager.on_event({"Event": "Newchannel", "Uniqueid": "h.1", "Channel": "SIP/a-1"})
    manager.on_event({"Event": "Newstate", "Uniqueid": "h.1", "Channel": "SIP/a-1",
                      "ChannelState": "4", "Linkedid": "h.1"})
    manager.on_event({"Event": "Newstate", "Uniqueid": "h.1", "Channel": "SIP/a-1",
                      "ChannelState": "5"})
    assert manager.dialect == "unknown"


def test_a_well_formed_stray_about_no_known_channel_is_traced_not_silently_dropped():
    reporter = RecordingReporter()
    manager = ChannelManager(reporter=reporter)
    manager.on_event({"Event": "BridgeEnter", "BridgeUniqueid": "b", "Uniqueid": "u"})
    assert manager.dialect == "unknown"
    assert any("BridgeEnter" in trace for trace in reporter.traces)


@pytest.mark.parametrize("version,dialect", [
    ("Asterisk Call Manager/1.1", "ami1"), ("Asterisk Call Manager/1.3", "ami1"),
    ("Asterisk Call Manager/2.10.3", "ami2"), ("5.0.1", "ami2"), ("11.0.0", "ami2")])
def test_the_ami_version_of_the_login_banner_names_the_dialect(version, dialect):
    assert dialect_of_version(version) == dialect


def test_a_banner_without_a_version_is_a_clear_error():
    with pytest.raises(ValueError, match="no AMI version number"):
        dialect_of_version("Hello there")
