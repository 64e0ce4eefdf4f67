"""How a manager chooses its AMI dialect: declared by the server, or from well-formed events."""
from __future__ import annotations

from typing import Any

import pytest

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
