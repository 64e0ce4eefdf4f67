"""events.py alone: raw AMI mappings (1.x and 2.x spellings) -> frozen records."""
from __future__ import annotations

from typing import Any

import attrs
import pytest
from panoramisk.message import Message

from cacofonisk import events as ami
from cacofonisk.errors import CacofoniskError, MalformedEvent

# -- realistic samples, one per record type and dialect ----------------------------
#
# (raw AMI event, expected record type, expected attribute values)

SAMPLES: list[tuple[str, dict[str, Any], type[ami.AmiEvent], dict[str, Any]]] = [
    ("FullyBooted", {"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"},
     ami.FullyBooted, {"status": "Fully Booted"}),
    ("Shutdown", {"Event": "Shutdown", "Privilege": "system,all", "Shutdown": "Cleanly",
                  "Restart": "True"},
     ami.Shutdown, {"shutdown": "Cleanly", "restart": "True"}),
    ("Newchannel-1.x", {
        "Event": "Newchannel", "Privilege": "call,all", "Channel": "SIP/201-00000001",
        "ChannelState": "0", "ChannelStateDesc": "Down", "CallerIDNum": "201",
        "CallerIDName": "Alice", "AccountCode": "15001", "Exten": "202",
        "Context": "internal", "Uniqueid": "host-1501851189.231"},
     ami.Newchannel, {"uniqueid": "host-1501851189.231", "channel": "SIP/201-00000001",
                      "state": 0, "caller_id_num": "201", "caller_id_name": "Alice",
                      "account_code": "15001", "exten": "202", "linkedid": None}),
    ("Newchannel-2.x", {
        "Event": "Newchannel", "Channel": "PJSIP/201-00000000", "ChannelState": "4",
        "ChannelStateDesc": "Ring", "CallerIDNum": "201", "CallerIDName": "<unknown>",
        "ConnectedLineNum": "<unknown>", "ConnectedLineName": "<unknown>",
        "Language": "en", "AccountCode": "", "Context": "internal", "Exten": "202",
        "Priority": "1", "Uniqueid": "astlab-1795691659.0", "Linkedid": "astlab-1795691659.0"},
     ami.Newchannel, {"uniqueid": "astlab-1795691659.0", "state": 4,
                      "linkedid": "astlab-1795691659.0", "account_code": ""}),
    ("Newstate", {"Event": "Newstate", "Channel": "SIP/202-00000002", "ChannelState": "5",
                  "ChannelStateDesc": "Ringing", "CallerIDNum": "202",
                  "ConnectedLineNum": "201", "ConnectedLineName": "Alice",
                  "Uniqueid": "host-1.2"},
     ami.Newstate, {"uniqueid": "host-1.2", "channel": "SIP/202-00000002", "state": 5,
                    "caller_id_num": "202"}),
    ("NewCallerid", {"Event": "NewCallerid", "Channel": "SIP/201-1", "CallerIDNum": "201",
                     "CallerIDName": "Alice", "Uniqueid": "h-1.1",
                     "CID-CallingPres": "1 (Presentation Allowed, Passed Screen)"},
     ami.NewCallerid, {"uniqueid": "h-1.1", "caller_id_num": "201",
                       "cid_calling_pres": "1 (Presentation Allowed, Passed Screen)"}),
    ("NewAccountCode", {"Event": "NewAccountCode", "Channel": "SIP/201-1",
                        "Uniqueid": "h-1.1", "AccountCode": "15001"},
     ami.NewAccountCode, {"uniqueid": "h-1.1", "account_code": "15001"}),
    ("NewConnectedLine", {"Event": "NewConnectedLine", "Channel": "PJSIP/202-1",
                          "Uniqueid": "h-1.2", "Linkedid": "h-1.1",
                          "ConnectedLineNum": "201", "ConnectedLineName": "Alice"},
     ami.NewConnectedLine, {"uniqueid": "h-1.2", "connected_line_num": "201",
                            "connected_line_name": "Alice"}),
    ("Rename-1.x", {"Event": "Rename", "Channel": "SIP/201-1", "Newname": "SIP/201-1<MASQ>",
                    "Uniqueid": "h-1.1"},
     ami.Rename, {"uniqueid": "h-1.1", "channel": "SIP/201-1", "new_name": "SIP/201-1<MASQ>"}),
    ("Rename-1.4-oldname", {"Event": "Rename", "Oldname": "SIP/201-1",
                            "Newname": "SIP/201-1<MASQ>", "Uniqueid": "h-1.1"},
     ami.Rename, {"channel": "SIP/201-1"}),
    ("Hangup-1.x", {"Event": "Hangup", "Channel": "SIP/201-00000001",
                    "Uniqueid": "host-1.1", "CallerIDNum": "201", "Cause": "16",
                    "Cause-txt": "Normal Clearing"},
     ami.Hangup, {"uniqueid": "host-1.1", "cause": 16, "cause_txt": "Normal Clearing",
                  "tech_cause": None}),
    ("Hangup-22", {"Event": "Hangup", "Channel": "PJSIP/202-1", "ChannelState": "5",
                   "Uniqueid": "h-1.2", "Linkedid": "h-1.1", "Cause": "17",
                   "Cause-txt": "User busy", "TechCause": "486"},
     ami.Hangup, {"cause": 17, "tech_cause": 486}),
    ("HangupRequest", {"Event": "HangupRequest", "Channel": "PJSIP/201-1",
                       "Uniqueid": "h-1.1", "Cause": "16"},
     ami.HangupRequest, {"uniqueid": "h-1.1", "cause": 16, "tech_cause": None}),
    ("SoftHangupRequest", {"Event": "SoftHangupRequest", "Channel": "PJSIP/201-1",
                           "Uniqueid": "h-1.1"},
     ami.SoftHangupRequest, {"uniqueid": "h-1.1", "cause": None}),
    ("UserEvent", {"Event": "UserEvent", "UserEvent": "NoteCall", "Uniqueid": "h-1.1",
                   "Data": "x"},
     ami.UserEvent, {"user_event": "NoteCall", "uniqueid": "h-1.1"}),
    ("LocalBridge-1.x", {"Event": "LocalBridge", "Channel1": "Local/203@internal-0001;1",
                         "Channel2": "Local/203@internal-0001;2", "Uniqueid1": "h-1.3",
                         "Uniqueid2": "h-1.4", "LocalOptimization": "Yes"},
     ami.LocalBridge, {"one_uniqueid": "h-1.3", "two_uniqueid": "h-1.4",
                       "one_channel": "Local/203@internal-0001;1",
                       "two_channel": "Local/203@internal-0001;2", "optimization": True}),
    ("LocalBridge-2.x", {"Event": "LocalBridge", "LocalOneChannel": "Local/203@ctx-1;1",
                         "LocalOneUniqueid": "h-2.3", "LocalTwoChannel": "Local/203@ctx-1;2",
                         "LocalTwoUniqueid": "h-2.4", "LocalOptimization": "No",
                         "Context": "ctx", "Exten": "203"},
     ami.LocalBridge, {"one_uniqueid": "h-2.3", "two_uniqueid": "h-2.4",
                       "one_channel": "Local/203@ctx-1;1", "optimization": False}),
    ("Dial-1.x-begin", {"Event": "Dial", "SubEvent": "Begin", "Channel": "SIP/201-1",
                        "Destination": "SIP/202-2", "CallerIDNum": "201",
                        "UniqueID": "h-1.1", "DestUniqueID": "h-1.2",
                        "Dialstring": "202"},
     ami.Dial, {"sub_event": "Begin", "uniqueid": "h-1.1", "dest_uniqueid": "h-1.2",
                "destination": "SIP/202-2"}),
    ("Dial-1.x-end", {"Event": "Dial", "SubEvent": "End", "Channel": "SIP/201-1",
                      "UniqueID": "h-1.1", "DialStatus": "ANSWER"},
     ami.Dial, {"sub_event": "End", "uniqueid": "h-1.1", "dest_uniqueid": "",
                "dial_status": "ANSWER"}),
    ("Bridge-1.x", {"Event": "Bridge", "Bridgestate": "Link", "Bridgetype": "core",
                    "Channel1": "SIP/201-1", "Channel2": "SIP/202-2", "Uniqueid1": "h-1.1",
                    "Uniqueid2": "h-1.2", "CallerID1": "201", "CallerID2": "202"},
     ami.Bridge, {"bridge_state": "Link", "channel1": "SIP/201-1", "channel2": "SIP/202-2",
                  "uniqueid1": "h-1.1", "uniqueid2": "h-1.2"}),
    ("Link-1.4", {"Event": "Link", "Channel1": "SIP/201-1", "Channel2": "SIP/202-2",
                  "Uniqueid1": "h-1.1", "Uniqueid2": "h-1.2"},
     ami.Link, {"bridge_state": "Link", "channel1": "SIP/201-1"}),
    ("Unlink-1.4", {"Event": "Unlink", "Channel1": "SIP/201-1", "Channel2": "SIP/202-2"},
     ami.Unlink, {"bridge_state": "Unlink", "uniqueid1": ""}),
    ("Masquerade-1.x", {"Event": "Masquerade", "Clone": "SIP/203-3", "CloneState": "Up",
                        "Original": "SIP/201-1", "OriginalState": "Up"},
     ami.Masquerade, {"clone": "SIP/203-3", "clone_state": "Up", "original": "SIP/201-1",
                      "original_state": "Up"}),
    ("Transfer-1.x", {"Event": "Transfer", "TransferMethod": "SIP", "TransferType": "Blind",
                      "Channel": "SIP/202-2", "Uniqueid": "h-1.2",
                      "SIP-Callid": "abc", "TargetChannel": "SIP/201-1",
                      "TargetUniqueid": "h-1.1", "TransferExten": "203",
                      "TransferContext": "internal"},
     ami.Transfer, {"transfer_type": "Blind", "channel": "SIP/202-2", "uniqueid": "h-1.2",
                    "target_channel": "SIP/201-1", "target_uniqueid": "h-1.1",
                    "transfer_exten": "203"}),
    ("AgentCalled-1.x", {"Event": "AgentCalled", "Queue": "sales", "AgentCalled": "SIP/202",
                         "ChannelCalling": "SIP/201-1",
                         "DestinationChannel": "Local/202@agents-1;1", "Uniqueid": "h-1.1"},
     ami.AgentCalled, {"channel": "SIP/201-1", "dest_channel": "Local/202@agents-1;1",
                       "uniqueid": "h-1.1", "queue": "sales"}),
    ("AgentCalled-2.x", {"Event": "AgentCalled", "Channel": "PJSIP/201-1", "Uniqueid": "h-1.1",
                         "DestChannel": "Local/202@agents-1;1", "DestUniqueid": "h-1.3",
                         "Queue": "sales", "Linkedid": "h-1.1"},
     ami.AgentCalled, {"channel": "PJSIP/201-1", "dest_uniqueid": "h-1.3"}),
    ("AgentConnect", {"Event": "AgentConnect", "Uniqueid": "h-1.1", "DestUniqueid": "h-1.3",
                      "Queue": "sales", "HoldTime": "4"},
     ami.AgentConnect, {"uniqueid": "h-1.1", "dest_uniqueid": "h-1.3", "queue": "sales"}),
    ("AgentComplete", {"Event": "AgentComplete", "Uniqueid": "h-1.1", "Queue": "sales",
                       "Reason": "caller"},
     ami.AgentComplete, {"reason": "caller"}),
    ("QueueCallerJoin", {"Event": "QueueCallerJoin", "Uniqueid": "h-1.1", "Queue": "sales",
                         "Position": "1"},
     ami.QueueCallerJoin, {"uniqueid": "h-1.1", "queue": "sales"}),
    ("QueueCallerLeave", {"Event": "QueueCallerLeave", "Uniqueid": "h-1.1", "Queue": "sales"},
     ami.QueueCallerLeave, {"uniqueid": "h-1.1"}),
    ("QueueCallerAbandon", {"Event": "QueueCallerAbandon", "Uniqueid": "h-1.1",
                            "Queue": "sales", "HoldTime": "12"},
     ami.QueueCallerAbandon, {"uniqueid": "h-1.1", "queue": "sales"}),
    ("DialBegin", {"Event": "DialBegin", "Channel": "PJSIP/201-1", "Uniqueid": "h-1.1",
                   "Linkedid": "h-1.1", "DestChannel": "PJSIP/202-2", "DestUniqueid": "h-1.2",
                   "DestLinkedid": "h-1.1", "DialString": "202"},
     ami.DialBegin, {"uniqueid": "h-1.1", "dest_uniqueid": "h-1.2",
                     "dest_channel": "PJSIP/202-2"}),
    ("DialBegin-originate", {"Event": "DialBegin", "DestChannel": "PJSIP/202-2",
                             "DestUniqueid": "h-1.2", "DialString": "PJSIP/202"},
     ami.DialBegin, {"uniqueid": None, "dest_uniqueid": "h-1.2"}),
    ("DialState", {"Event": "DialState", "Uniqueid": "h-1.1", "DestUniqueid": "h-1.2",
                   "DialStatus": "RINGING"},
     ami.DialState, {"uniqueid": "h-1.1", "dial_status": "RINGING"}),
    ("DialEnd", {"Event": "DialEnd", "Uniqueid": "h-1.1", "DestUniqueid": "h-1.2",
                 "DialStatus": "BUSY", "Forward": ""},
     ami.DialEnd, {"uniqueid": "h-1.1", "dest_uniqueid": "h-1.2", "dial_status": "BUSY"}),
    ("BridgeCreate", {"Event": "BridgeCreate", "BridgeUniqueid": "b-1", "BridgeType": "basic",
                      "BridgeTechnology": "simple_bridge", "BridgeCreator": "<unknown>",
                      "BridgeName": "<unknown>", "BridgeNumChannels": "0"},
     ami.BridgeCreate, {"bridge_uniqueid": "b-1", "bridge_type": "basic",
                        "technology": "simple_bridge"}),
    ("BridgeDestroy", {"Event": "BridgeDestroy", "BridgeUniqueid": "b-1"},
     ami.BridgeDestroy, {"bridge_uniqueid": "b-1"}),
    ("BridgeEnter", {"Event": "BridgeEnter", "BridgeUniqueid": "b-1", "BridgeType": "basic",
                     "Channel": "PJSIP/202-2", "Uniqueid": "h-1.2", "Linkedid": "h-1.1",
                     "SwapUniqueid": "h-1.9"},
     ami.BridgeEnter, {"bridge_uniqueid": "b-1", "uniqueid": "h-1.2",
                       "channel": "PJSIP/202-2"}),
    ("BridgeLeave", {"Event": "BridgeLeave", "BridgeUniqueid": "b-1", "Uniqueid": "h-1.2"},
     ami.BridgeLeave, {"bridge_uniqueid": "b-1", "uniqueid": "h-1.2"}),
    ("BridgeMerge", {"Event": "BridgeMerge", "ToBridgeUniqueid": "b-1",
                     "FromBridgeUniqueid": "b-2"},
     ami.BridgeMerge, {"to_bridge": "b-1", "from_bridge": "b-2"}),
    ("AttendedTransfer", {
        "Event": "AttendedTransfer", "Result": "Success", "OrigTransfererUniqueid": "h-1.2",
        "OrigTransfererExten": "202", "OrigBridgeUniqueid": "b-1",
        "SecondTransfererUniqueid": "h-1.3", "SecondBridgeUniqueid": "b-2",
        "TransfereeUniqueid": "h-1.1", "TransferTargetUniqueid": "h-1.4",
        "DestType": "Bridge", "DestBridgeUniqueid": "b-1", "IsExternal": "No"},
     ami.AttendedTransfer, {"result": "Success", "dest_type": "Bridge",
                            "orig_transferer": "h-1.2", "second_transferer": "h-1.3",
                            "transferee": "h-1.1", "transfer_target": "h-1.4",
                            "dest_bridge": "b-1", "is_external": False}),
    ("BlindTransfer", {"Event": "BlindTransfer", "Result": "Success",
                       "TransfererUniqueid": "h-1.2", "TransfereeUniqueid": "h-1.1",
                       "Extension": "203", "Context": "internal", "BridgeUniqueid": "b-1",
                       "IsExternal": "Yes"},
     ami.BlindTransfer, {"result": "Success", "transferer": "h-1.2", "transferee": "h-1.1",
                         "extension": "203", "bridge_uniqueid": "b-1", "is_external": True}),
    ("LocalOptimizationBegin", {"Event": "LocalOptimizationBegin", "LocalOneUniqueid": "h-1.3",
                                "LocalTwoUniqueid": "h-1.4", "SourceUniqueid": "h-1.1",
                                "DestUniqueid": "h-1.5", "Id": "7"},
     ami.LocalOptimizationBegin, {"one_uniqueid": "h-1.3", "two_uniqueid": "h-1.4",
                                  "source_uniqueid": "h-1.1", "dest_uniqueid": "h-1.5",
                                  "id": "7"}),
    ("LocalOptimizationEnd", {"Event": "LocalOptimizationEnd", "LocalOneUniqueid": "h-1.3",
                              "LocalTwoUniqueid": "h-1.4", "Success": "Yes", "Id": "7"},
     ami.LocalOptimizationEnd, {"success": True, "id": "7"}),
    ("Pickup", {"Event": "Pickup", "Uniqueid": "h-1.5", "TargetUniqueid": "h-1.2"},
     ami.Pickup, {"uniqueid": "h-1.5", "target_uniqueid": "h-1.2"}),
    ("Hold", {"Event": "Hold", "Uniqueid": "h-1.1", "MusicClass": "default"},
     ami.Hold, {"uniqueid": "h-1.1"}),
    ("Unhold", {"Event": "Unhold", "Uniqueid": "h-1.1"}, ami.Unhold, {"uniqueid": "h-1.1"}),
    ("Hold-1.x-off", {"Event": "Hold", "Privilege": "call,all", "Status": "Off",
                      "Channel": "SIP/201-00000001", "Uniqueid": "1442387090.10"},
     ami.Hold, {"uniqueid": "1442387090.10", "channel": "SIP/201-00000001", "status": "Off"}),
    ("Join-1.x", {"Event": "Join", "Privilege": "call,all", "Channel": "SIP/201-00000001",
                  "CallerIDNum": "201", "Queue": "support", "Position": "2", "Count": "2",
                  "Uniqueid": "1442387090.10"},
     ami.Join, {"uniqueid": "1442387090.10", "queue": "support", "position": 2}),
    ("Leave-1.x", {"Event": "Leave", "Privilege": "call,all", "Channel": "SIP/201-00000001",
                   "Queue": "support", "Count": "0", "Position": "1",
                   "Uniqueid": "1442387090.10"},
     ami.Leave, {"uniqueid": "1442387090.10", "queue": "support", "position": 1}),
    ("ParkedCall-22", {"Event": "ParkedCall", "ParkeeChannel": "PJSIP/201-00000000",
                       "ParkeeUniqueid": "h-1.1", "ParkerDialString": "PJSIP/202",
                       "Parkinglot": "short", "ParkingSpace": "751", "ParkingTimeout": "6",
                       "ParkingDuration": "0"},
     ami.ParkedCall, {"uniqueid": "h-1.1", "space": "751", "lot": "short", "timeout": 6.0,
                      "parker_dial_string": "PJSIP/202"}),
    ("ParkedCall-1.x", {"Event": "ParkedCall", "Exten": "701", "Channel": "SIP/201-00000001",
                        "Parkinglot": "default", "From": "SIP/202-00000002", "Timeout": "45",
                        "CallerIDNum": "201", "Uniqueid": "1442387090.10"},
     ami.ParkedCall, {"uniqueid": "1442387090.10", "space": "701", "timeout": 45.0,
                      "parker_channel": "SIP/202-00000002"}),
    ("UnParkedCall-22", {"Event": "UnParkedCall", "ParkeeUniqueid": "h-1.1",
                         "ParkeeChannel": "PJSIP/201-00000000", "Parkinglot": "default",
                         "ParkingSpace": "711", "RetrieverChannel": "PJSIP/203-00000003",
                         "RetrieverUniqueid": "h-1.9"},
     ami.UnParkedCall, {"retriever_uniqueid": "h-1.9", "space": "711"}),
    ("ParkedCallTimeOut", {"Event": "ParkedCallTimeOut", "ParkeeUniqueid": "h-1.1",
                           "Parkinglot": "short", "ParkingSpace": "751",
                           "ParkingTimeout": "0"},
     ami.ParkedCallTimeOut, {"uniqueid": "h-1.1", "timeout": 0.0}),
    ("ParkedCallGiveUp", {"Event": "ParkedCallGiveUp", "ParkeeUniqueid": "h-1.1",
                          "Parkinglot": "default", "ParkingSpace": "711"},
     ami.ParkedCallGiveUp, {"uniqueid": "h-1.1", "lot": "default"}),
    ("ConfbridgeStart", {"Event": "ConfbridgeStart", "BridgeUniqueid": "b-9",
                         "BridgeType": "base", "BridgeTechnology": "softmix",
                         "Conference": "900"},
     ami.ConfbridgeStart, {"conference": "900", "bridge_uniqueid": "b-9"}),
    ("ConfbridgeJoin", {"Event": "ConfbridgeJoin", "Channel": "PJSIP/201-00000000",
                        "Uniqueid": "h-1.1", "BridgeUniqueid": "b-9", "Conference": "900",
                        "Admin": "No"},
     ami.ConfbridgeJoin, {"uniqueid": "h-1.1", "conference": "900", "bridge_uniqueid": "b-9"}),
    ("ConfbridgeLeave-11", {"Event": "ConfbridgeLeave", "Channel": "SIP/201-00000001",
                            "Uniqueid": "1442387090.10", "Conference": "900"},
     ami.ConfbridgeLeave, {"uniqueid": "1442387090.10", "bridge_uniqueid": ""}),
]


@pytest.mark.parametrize("raw,record_type,expected", [s[1:] for s in SAMPLES],
                         ids=[s[0] for s in SAMPLES])
def test_realistic_event_parses_into_its_record(raw, record_type, expected):
    record = ami.parse(raw)
    assert type(record) is record_type
    for name, value in expected.items():
        assert getattr(record, name) == value, name
    assert record.raw is raw


def test_every_record_type_has_a_realistic_sample():
    sampled = {s[2] for s in SAMPLES}
    missing = sorted(cls.__name__ for cls in ami.RECORD_TYPES.values() if cls not in sampled)
    assert not missing, f"add a realistic AMI sample to SAMPLES for {missing}"


def test_dial_prefers_1x_uniqueid_spelling_but_accepts_2x():
    raw_2x = {"Event": "Dial", "SubEvent": "Begin", "Uniqueid": "h-1.1",
              "DestUniqueid": "h-1.2"}
    record = ami.parse(raw_2x)
    assert (record.uniqueid, record.dest_uniqueid) == ("h-1.1", "h-1.2")


@pytest.mark.parametrize("key", ["Uniqueid", "UniqueID"])
def test_uniqueid_is_read_under_both_spellings(key):
    record = ami.parse({"Event": "Newstate", key: "h-1.1", "Channel": "SIP/a-1",
                        "ChannelState": "6"})
    assert record.uniqueid == "h-1.1"


# -- required fields derived from the record declarations ---------------------------

def _required(cls: type[ami.AmiEvent]) -> list[str]:
    return [f.metadata["ami"][0] for f in attrs.fields(cls)
            if "ami" in f.metadata and f.metadata["required"]]


def _minimal(cls: type[ami.AmiEvent]) -> dict[str, Any]:
    # "6" is valid for str, int and bool fields alike.
    return {"Event": cls.EVENT, **{key: "6" for key in _required(cls)}}


@pytest.mark.parametrize("cls", list(ami.RECORD_TYPES.values()),
                         ids=list(ami.RECORD_TYPES))
def test_record_parses_from_only_its_required_headers(cls):
    assert type(ami.parse(_minimal(cls))) is cls


REQUIRED_CASES = [(cls, key) for cls in ami.RECORD_TYPES.values() for key in _required(cls)]


@pytest.mark.parametrize("cls,header", REQUIRED_CASES,
                         ids=[f"{c.EVENT}-{k}" for c, k in REQUIRED_CASES])
def test_missing_required_header_raises_malformed_event_naming_it(cls, header):
    raw = _minimal(cls)
    del raw[header]
    with pytest.raises(MalformedEvent) as info:
        ami.parse(raw)
    assert info.value.field == header
    assert header in str(info.value)
    assert info.value.raw is raw
    assert isinstance(info.value, CacofoniskError)
    assert not isinstance(info.value, (KeyError, ValueError))


def test_none_value_counts_as_missing():
    with pytest.raises(MalformedEvent) as info:
        ami.parse({"Event": "Newstate", "Uniqueid": "h-1.1", "Channel": None,
                   "ChannelState": "6"})
    assert info.value.field == "Channel"


@pytest.mark.parametrize("value", ["Up", "", "6.0", "six"])
def test_non_numeric_channel_state_raises_malformed_event(value):
    with pytest.raises(MalformedEvent) as info:
        ami.parse({"Event": "Newstate", "Uniqueid": "h-1.1", "Channel": "SIP/a-1",
                   "ChannelState": value})
    assert info.value.field == "ChannelState"
    assert "ChannelState" in str(info.value)


@pytest.mark.parametrize("value", ["Normal Clearing", "16x"])
def test_non_numeric_hangup_cause_raises_malformed_event(value):
    with pytest.raises(MalformedEvent) as info:
        ami.parse({"Event": "Hangup", "Uniqueid": "h-1.1", "Channel": "SIP/a-1",
                   "Cause": value})
    assert info.value.field == "Cause"


def test_non_numeric_optional_cause_raises_malformed_event_too():
    with pytest.raises(MalformedEvent) as info:
        ami.parse({"Event": "HangupRequest", "Uniqueid": "h-1.1", "Cause": "abc"})
    assert info.value.field == "Cause"


def test_optional_headers_take_their_defaults_when_absent():
    record = ami.parse({"Event": "Hangup", "Uniqueid": "h-1.1", "Channel": "SIP/a-1"})
    assert (record.cause, record.cause_txt, record.tech_cause, record.timestamp) == \
        (0, "", None, None)


# -- list-valued headers ------------------------------------------------------------

def test_list_valued_headers_give_their_first_value_to_scalar_fields():
    record = ami.parse({"Event": ["Newstate"], "Uniqueid": ["h-1.1", "h-1.9"],
                        "Channel": ["SIP/a-1"], "ChannelState": ["6", "5"],
                        "CallerIDNum": ["201", "999"]})
    assert isinstance(record, ami.Newstate)
    assert (record.uniqueid, record.channel, record.state, record.caller_id_num) == \
        ("h-1.1", "SIP/a-1", 6, "201")


def test_list_valued_bool_and_optional_int_headers_use_the_first_value():
    bridge = ami.parse({"Event": "LocalBridge", "LocalOneUniqueid": ["a"],
                        "LocalTwoUniqueid": ["b"], "LocalOptimization": ["Yes", "No"]})
    hangup = ami.parse({"Event": "Hangup", "Uniqueid": "h", "Channel": "c",
                        "Cause": ["17", "16"], "TechCause": ["486", "1"]})
    assert bridge.optimization is True
    assert (hangup.cause, hangup.tech_cause) == (17, 486)


def test_empty_list_for_a_numeric_header_is_malformed():
    with pytest.raises(MalformedEvent) as info:
        ami.parse({"Event": "Newstate", "Uniqueid": "h", "Channel": "c", "ChannelState": []})
    assert info.value.field == "ChannelState"


def test_repeated_chanvariable_header_does_not_disturb_parsing():
    raw = {"Event": "Newchannel", "Uniqueid": "h-1.1", "Channel": "SIP/a-1",
           "ChanVariable": ["A=1", "B=2"]}
    record = ami.parse(raw)
    assert record.uniqueid == "h-1.1"
    assert record.raw["ChanVariable"] == ["A=1", "B=2"]


# -- unknown events, timestamps -----------------------------------------------------

@pytest.mark.parametrize("name", ["VarSet", "Newexten", "DeviceStateChange", "PeerStatus"])
def test_unknown_event_type_gives_a_generic_event(name):
    raw = {"Event": name, "Channel": "SIP/a-1", "Uniqueid": "h-1.1"}
    record = ami.parse(raw)
    assert type(record) is ami.GenericEvent
    assert record.name == name
    assert record.raw is raw


def test_event_without_name_gives_a_generic_event():
    record = ami.parse({"Response": "Success"})
    assert type(record) is ami.GenericEvent
    assert record.name == ""


def test_timestamp_header_is_parsed_to_float():
    record = ami.parse({"Event": "Hangup", "Uniqueid": "h", "Channel": "c",
                        "Timestamp": "1501851189.123456"})
    assert record.timestamp == pytest.approx(1501851189.123456)
    assert isinstance(record.timestamp, float)


def test_list_valued_timestamp_uses_the_first_value():
    record = ami.parse({"Event": "Hangup", "Uniqueid": "h", "Channel": "c",
                        "Timestamp": ["12.5", "13.0"]})
    assert record.timestamp == 12.5


@pytest.mark.parametrize("stamp", ["yesterday", "", "12:00:00"])
def test_bad_timestamp_is_ignored_and_the_event_kept(stamp):
    record = ami.parse({"Event": "Newstate", "Uniqueid": "h", "Channel": "c",
                        "ChannelState": "6", "Timestamp": stamp})
    assert isinstance(record, ami.Newstate)
    assert record.state == 6
    assert record.timestamp is None


def test_event_name_reads_the_event_header():
    assert ami.event_name({"Event": "Hangup"}) == "Hangup"
    assert ami.event_name({"Event": ["Hangup", "x"]}) == "Hangup"
    assert ami.event_name({}) == ""


# -- records are values --------------------------------------------------------------

def test_records_are_frozen():
    record = ami.parse({"Event": "Newstate", "Uniqueid": "h", "Channel": "c",
                        "ChannelState": "6"})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        record.state = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        record.extra = 1  # type: ignore[attr-defined]
    assert record.state == 6


def test_records_compare_equal_ignoring_raw():
    one = ami.parse({"Event": "Newstate", "Uniqueid": "h", "Channel": "c",
                     "ChannelState": "6", "Privilege": "call,all"})
    two = ami.parse({"Event": "Newstate", "Uniqueid": "h", "Channel": "c",
                     "ChannelState": "6", "ChannelStateDesc": "Up"})
    assert one.raw != two.raw
    assert one == two
    assert one == ami.Newstate(uniqueid="h", channel="c", state=6)


def test_records_with_different_fields_differ():
    base = dict(uniqueid="h", channel="c", state=6)
    assert ami.Newstate(**base) != ami.Newstate(**{**base, "state": 5})
    assert ami.Newstate(**base, timestamp=1.0) != ami.Newstate(**base, timestamp=2.0)


def test_from_ami_on_the_class_matches_parse():
    raw = {"Event": "DialEnd", "Uniqueid": "h-1.1", "DestUniqueid": "h-1.2",
           "DialStatus": "ANSWER"}
    assert ami.DialEnd.from_ami(raw) == ami.parse(raw)


# -- panoramisk Message ----------------------------------------------------------------

MESSAGE_CASES = [s for s in SAMPLES if s[0] in (
    "Newchannel-1.x", "Newchannel-2.x", "Newstate", "Hangup-22", "Dial-1.x-begin",
    "LocalBridge-1.x", "LocalBridge-2.x", "BridgeEnter", "AttendedTransfer", "UserEvent")]


@pytest.mark.parametrize("raw", [s[1] for s in MESSAGE_CASES], ids=[s[0] for s in MESSAGE_CASES])
def test_panoramisk_message_parses_the_same_as_a_dict(raw):
    message = Message(dict(raw))
    from_message = ami.parse(message)
    assert type(from_message) is type(ami.parse(raw))
    assert from_message == ami.parse(raw)
    assert from_message.raw is message


def test_panoramisk_message_with_repeated_header_list_parses():
    message = Message({"Event": "Newchannel", "Uniqueid": "h-1.1", "Channel": "SIP/a-1",
                       "ChanVariable": ["A=1", "B=2"], "ChannelState": "4"})
    record = ami.parse(message)
    assert (record.uniqueid, record.state) == ("h-1.1", 4)


def test_panoramisk_message_missing_header_is_malformed_not_empty():
    # A Message reads a missing *attribute* as '', but a missing key must
    # still count as missing.
    message = Message({"Event": "Newstate", "Uniqueid": "h-1.1", "Channel": "SIP/a-1"})
    with pytest.raises(MalformedEvent) as info:
        ami.parse(message)
    assert info.value.field == "ChannelState"


# -- the fast parser and the careful one agree ---------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402


def _outcome(parse: Any, cls: type[ami.AmiEvent], raw: dict[str, Any]) -> tuple[str, Any]:
    try:
        record = parse(cls, raw)
    except MalformedEvent as err:
        return ("malformed", str(err))
    return ("record", attrs.asdict(record, recurse=False, filter=lambda a, _v: a.name != "raw"))


def _headers(cls: type[ami.AmiEvent]) -> list[str]:
    return sorted({key for _name, keys, _conv, _req in cls._SPEC for key in keys} | {"Timestamp"})


_VALUES = st.one_of(st.sampled_from(["", "4", "6", "Yes", "no", "16", "1.5", "x", "SIP/a-1"]),
                    st.lists(st.sampled_from(["", "7", "a"]), max_size=2), st.integers(-2, 9),
                    st.none())


@st.composite
def _raw_events(draw: Any) -> tuple[type[ami.AmiEvent], dict[str, Any]]:
    cls = draw(st.sampled_from(sorted(ami.RECORD_TYPES.values(), key=lambda c: c.EVENT)))
    headers = draw(st.lists(st.sampled_from(_headers(cls)), unique=True))
    raw: dict[str, Any] = {"Event": cls.EVENT}
    for header in headers:
        raw[header] = draw(_VALUES)
    return cls, raw


@settings(max_examples=400)
@given(_raw_events())
def test_fast_parser_gives_the_same_record_or_error_as_the_careful_one(case: Any) -> None:
    cls, raw = case
    careful = ami.CAREFUL_PARSERS[cls.EVENT]
    assert _outcome(lambda c, r: c.from_ami(r), cls, raw) == _outcome(careful, cls, raw)


def test_fast_parser_matches_the_careful_one_on_every_recorded_event() -> None:
    from conformance import SHARED, SKIP_REASON, logs
    from cacofonisk.runners.file_runner import load_events

    if not SHARED.is_dir():
        pytest.skip(SKIP_REASON)
    careful = {cls: ami.CAREFUL_PARSERS[cls.EVENT] for cls in ami.RECORD_TYPES.values()}
    seen = 0
    for folder in ("conformance/ami1", "conformance/ami2", "lab"):
        for log in logs(folder):
            for raw in load_events(log):
                cls = ami.RECORD_TYPES.get(raw.get("Event", ""))
                if cls is not None:
                    assert _outcome(lambda c, r: c.from_ami(r), cls, raw) == \
                        _outcome(careful[cls], cls, raw), raw
                    seen += 1
    assert seen > 3000
