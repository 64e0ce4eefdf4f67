"""Tracker bugs the simulator found, as minimal event lists.

Each test states what a correct tracker reports. All of them were bugs
once and are fixed; they stay as regression tests. docs/property-testing.md
("Tracker bugs the simulator found") tells the story.
"""
from __future__ import annotations

from typing import Any


from cacofonisk.testing.recorder import replay

Event = dict[str, Any]


def _chan(uid: str, name: str, number: str, state: int, linked: str | None,
          exten: str = "s") -> Event:
    event = {"Event": "Newchannel", "Channel": name, "Uniqueid": uid, "CallerIDNum": number,
             "ChannelState": str(state), "Exten": exten}
    if linked is not None:
        event["Linkedid"] = linked
    return event


def _dial(kind: str, src: str, dest: str, **fields: str) -> Event:
    return {"Event": kind, "Uniqueid": src, "DestUniqueid": dest, **fields}


def _state(uid: str, name: str, state: int) -> Event:
    return {"Event": "Newstate", "Uniqueid": uid, "Channel": name, "ChannelState": str(state)}


def _hangup(uid: str, name: str, cause: int = 16) -> Event:
    return {"Event": "Hangup", "Uniqueid": uid, "Channel": name, "Cause": str(cause)}


def _reported(events: list[Event]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(e.hook, e.call_id, e.targets) for e in replay(events)[0].expects()]


def test_a_repeated_dial_end_is_not_reported_twice() -> None:
    """Found by the simulator; kept as a regression test."""
    # Asterisk 22's Queue() publishes the CANCEL DialEnd of the members that
    # did not answer twice (lab/queue.json, events 39 and 41).
    events = [_chan("a", "PJSIP/201-1", "201", 4, "a", "202"),
              _chan("b", "PJSIP/202-2", "202", 0, "a"),
              _dial("DialBegin", "a", "b"), _state("b", "PJSIP/202-2", 5),
              _dial("DialEnd", "a", "b", DialStatus="ANSWER"),
              _dial("DialEnd", "a", "b", DialStatus="ANSWER")]
    assert _reported(events) == [("on_b_dial", "a", ("202",)),
                                 ("on_b_dial_end", "a", ("202",))]


def test_a_target_dialed_after_another_rang_is_announced_with_the_others() -> None:
    # A ringall queue (or ring group) of three fast phones: 202 and 203 ring
    # before Queue() has called 204 (the order lab/queue.json shows for two).
    events = [_chan("a", "PJSIP/201-1", "201", 4, "a", "501"),
              _chan("b", "PJSIP/202-2", "202", 0, "a"), _chan("c", "PJSIP/203-3", "203", 0, "a"),
              _chan("d", "PJSIP/204-4", "204", 0, "a"),
              _dial("DialBegin", "a", "b"), _dial("DialBegin", "a", "c"),
              _state("b", "PJSIP/202-2", 5), _state("c", "PJSIP/203-3", 5),
              _dial("DialBegin", "a", "d"), _state("d", "PJSIP/204-4", 5),
              _hangup("a", "PJSIP/201-1")]
    assert [r for r in _reported(events) if r[0] == "on_b_dial"] == [
        ("on_b_dial", "a", ("202", "203", "204"))]


def test_another_calls_event_inside_a_dial_burst_does_not_split_on_b_dial() -> None:
    # Ring group 401 (202 & 203): 202 rings before Dial has called 203, and
    # meanwhile another call (x) is answered.
    events = [_chan("a", "PJSIP/201-1", "201", 4, "a", "401"),
              _chan("b", "PJSIP/202-2", "202", 0, "a"), _chan("c", "PJSIP/203-3", "203", 0, "a"),
              _chan("x", "PJSIP/301-4", "301", 4, "x", "302"),
              _dial("DialBegin", "a", "b"), _state("b", "PJSIP/202-2", 5),
              _state("x", "PJSIP/301-4", 6),
              _dial("DialBegin", "a", "c"), _state("c", "PJSIP/203-3", 5),
              _hangup("a", "PJSIP/201-1")]
    assert [r for r in _reported(events) if r[0] == "on_b_dial"] == [
        ("on_b_dial", "a", ("202", "203"))]


def test_a_pickup_by_a_phone_of_another_technology_stays_on_the_callers_call() -> None:
    # 201 (PJSIP) calls 202; 203, a chan_sip phone whose counter is lower,
    # picks up (*8). The call is 201's: on_up and on_hangup on "a".
    events = [_chan("a", "PJSIP/201-00000005", "201", 4, "a", "202"),
              _chan("b", "PJSIP/202-00000006", "202", 0, "a"),
              _dial("DialBegin", "a", "b"), _state("b", "PJSIP/202-00000006", 5),
              _chan("c", "SIP/203-00000001", "203", 4, "c", "*8"),
              _state("c", "SIP/203-00000001", 6),
              {"Event": "Pickup", "Uniqueid": "c", "Channel": "SIP/203-00000001",
               "TargetUniqueid": "b"},
              _dial("DialEnd", "a", "c", DialStatus="ANSWER"),
              _state("a", "PJSIP/201-00000005", 6), _hangup("b", "PJSIP/202-00000006"),
              {"Event": "BridgeCreate", "BridgeUniqueid": "br"},
              {"Event": "BridgeEnter", "Uniqueid": "c", "Channel": "SIP/203-00000001",
               "BridgeUniqueid": "br"},
              {"Event": "BridgeEnter", "Uniqueid": "a", "Channel": "PJSIP/201-00000005",
               "BridgeUniqueid": "br"}]
    assert _reported(events) == [("on_b_dial", "a", ("202",)), ("on_up", "a", ("203",))]


def test_ami1_a_phone_whose_account_code_is_its_number_keeps_its_number() -> None:
    # Small PBXs often set accountcode=<extension>.
    events = [{"Event": "Newchannel", "Channel": "SIP/201-1", "Uniqueid": "a",
               "CallerIDNum": "201", "AccountCode": "201", "ChannelState": "4",
               "Exten": "202"},
              {"Event": "Newchannel", "Channel": "SIP/202-2", "Uniqueid": "b",
               "CallerIDNum": "", "AccountCode": "202", "ChannelState": "0", "Exten": ""},
              {"Event": "NewCallerid", "Channel": "SIP/202-2", "Uniqueid": "b",
               "CallerIDNum": "202", "CID-CallingPres": "0 (Presentation Allowed, Not Screened)"},
              {"Event": "Dial", "SubEvent": "Begin", "Channel": "SIP/201-1",
               "Destination": "SIP/202-2", "UniqueID": "a", "DestUniqueID": "b"},
              {"Event": "Newstate", "Channel": "SIP/202-2", "Uniqueid": "b",
               "ChannelState": "5"}]
    assert _reported(events) == [("on_b_dial", "a", ("202",))]


def test_a_bridge_whose_destroy_is_lost_is_not_kept_forever() -> None:
    # The connection drops right after a BridgeCreate (or its BridgeDestroy
    # is lost) and no channel hangs up afterwards: the bridge stays.
    recorder, manager = replay([{"Event": "BridgeCreate", "BridgeUniqueid": "br",
                                 "BridgeType": "basic"}])
    assert manager.is_idle(), manager.bridges
