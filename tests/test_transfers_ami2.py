"""AMI 2+ transfers, one test per outcome: each DestType and each Result.

Every story starts with 201 (a) calling 202 (b), answered; most then have
202 placing a consultation call (b2) to 203 (c), answered, before the
transfer event.
"""
from __future__ import annotations

from typing import Any

import pytest

from cacofonisk import BaseReporter, ChannelManager

from ami2_builder import Ami2


class Hooks(BaseReporter):
    """Records (hook, numbers...) tuples: enough to read a story back."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []
        self.ids: list[tuple[Any, ...]] = []

    def on_b_dial(self, call_id, caller, to_number, targets):  # type: ignore[no-untyped-def]
        self.seen.append(("b_dial", caller.number, sorted(t.number for t in targets)))
        self.ids.append(("b_dial", call_id))

    def on_up(self, call_id, caller, to_number, callee):  # type: ignore[no-untyped-def]
        self.seen.append(("up", caller.number, callee.number))
        self.ids.append(("up", call_id))

    def on_warm_transfer(self, call_id, merged_id, redirector, caller, destination):  # type: ignore[no-untyped-def]
        self.seen.append(("attended", caller.number, redirector.number, destination.number))
        self.ids.append(("attended", call_id, merged_id))

    def on_blind_transfer(self, call_id, merged_id, redirector, caller, to_number, targets):  # type: ignore[no-untyped-def]
        self.seen.append(("blind", caller.number, redirector.number,
                          sorted(t.number for t in targets)))
        self.ids.append(("blind", call_id, merged_id))

    def on_blonde_transfer(self, call_id, merged_id, redirector, caller, to_number, targets):  # type: ignore[no-untyped-def]
        self.seen.append(("blonde", caller.number, redirector.number,
                          sorted(t.number for t in targets)))
        self.ids.append(("blonde", call_id, merged_id))

    def on_cold_transfer(self, *args):  # type: ignore[no-untyped-def]
        self.seen.append(("cold",) + args)

    def on_hangup(self, call_id, caller, to_number, reason):  # type: ignore[no-untyped-def]
        self.seen.append(("hangup", caller.number, reason))
        self.ids.append(("hangup", call_id))


def play(story: Ami2) -> tuple[Hooks, ChannelManager]:
    hooks = Hooks()
    manager = ChannelManager(reporter=hooks, strict=True)
    for event in story.events:
        manager.on_event(event)
    return hooks, manager


def consultation(story: Ami2) -> Ami2:
    """202 (b) consults 203 (c) on a second channel b2, answered."""
    return story.answered_call("b2", "202", "c", "203", "br2")


def attended(story: Ami2, result: str = "Success", dest_type: str = "Bridge",
             **extra: Any) -> Ami2:
    fields = {"Result": result, "DestType": dest_type,
              "OrigTransfererUniqueid": story.uid("b"), "OrigBridgeUniqueid": "br1",
              "SecondTransfererUniqueid": story.uid("b2"), "SecondBridgeUniqueid": "br2",
              "SecondTransfererExten": "203", "IsExternal": "No"}
    fields.update(extra)
    return story.add("AttendedTransfer", **fields)


def after_bridge_transfer(story: Ami2) -> Ami2:
    """What Asterisk does after a successful transfer into br1: b, b2 leave and die."""
    return (story.leave("br1", "b").leave("br2", "c").enter("br1", "c")
            .leave("br2", "b2").destroy("br2").hangup("b").hangup("b2")
            .leave("br1", "c").hangup("c").leave("br1", "a").destroy("br1").hangup("a"))


BEFORE = [("b_dial", "201", ["202"]), ("up", "201", "202"),
          ("b_dial", "202", ["203"]), ("up", "202", "203")]


def test_attended_transfer_by_the_callee_joins_caller_and_target_under_the_callers_id() -> None:
    story = attended(consultation(Ami2().answered_call("a", "201", "b", "202", "br1")),
                     DestBridgeUniqueid="br1", TransfereeUniqueid=Ami2().uid("a"),
                     TransferTargetUniqueid=Ami2().uid("c"))
    hooks, manager = play(after_bridge_transfer(story))
    assert hooks.seen == BEFORE + [("attended", "201", "202", "203"), ("hangup", "201", "completed")]
    assert ("attended", story.uid("a"), story.uid("b2")) in hooks.ids
    assert ("hangup", story.uid("a")) in hooks.ids
    assert manager.is_idle()


def test_attended_transfer_without_party_fields_finds_them_in_the_bridges() -> None:
    """DestType Link (and old 13.x Bridge events) name no transferee or target."""
    story = attended(consultation(Ami2().answered_call("a", "201", "b", "202", "br1")),
                     dest_type="Link")
    hooks, _ = play(after_bridge_transfer(story))
    assert ("attended", "201", "202", "203") in hooks.seen


@pytest.mark.parametrize("result", ["Fail", "Invalid", "Not Permitted"])
def test_attended_transfer_that_did_not_succeed_reports_nothing_and_calls_go_on(
        result: str) -> None:
    story = attended(consultation(Ami2().answered_call("a", "201", "b", "202", "br1")),
                     result=result, DestBridgeUniqueid="br1")
    (story.leave("br2", "b2").leave("br2", "c").destroy("br2").hangup("c").hangup("b2")
     .leave("br1", "b").leave("br1", "a").destroy("br1").hangup("b").hangup("a"))
    hooks, manager = play(story)
    assert hooks.seen == BEFORE + [("hangup", "202", "completed"), ("hangup", "201", "completed")]
    assert manager.is_idle()


def test_attended_transfer_with_dest_type_fail_reports_no_transfer() -> None:
    story = attended(consultation(Ami2().answered_call("a", "201", "b", "202", "br1")),
                     dest_type="Fail")
    hooks, _ = play(story)
    assert hooks.seen == BEFORE


def test_three_way_call_is_not_a_transfer() -> None:
    story = attended(consultation(Ami2().answered_call("a", "201", "b", "202", "br1")),
                     dest_type="Threeway", DestBridgeUniqueid="br1")
    story.leave("br2", "c").enter("br1", "c")  # 201, 202 and 203 now talk together
    hooks, _ = play(story)
    assert hooks.seen == BEFORE
    assert not any(kind in ("attended", "blind", "blonde", "cold") for kind, *_ in hooks.seen)


def test_attended_transfer_to_an_application_reports_the_extension_as_destination() -> None:
    story = Ami2().answered_call("a", "201", "b", "202", "br1")
    story.channel("b2", "202", exten="800", linked="b2").state("b2", 4).state("b2", 6)
    story.add("AttendedTransfer", Result="Success", DestType="App", DestApp="Wait",
              OrigTransfererUniqueid=story.uid("b"), OrigBridgeUniqueid="br1",
              SecondTransfererUniqueid=story.uid("b2"), SecondTransfererExten="800",
              TransfereeUniqueid=story.uid("a"))
    story.leave("br1", "b").hangup("b").hangup("b2").leave("br1", "a").hangup("a", cause=0)
    hooks, manager = play(story)
    assert ("attended", "201", "202", "800") in hooks.seen
    assert hooks.seen[-1] == ("hangup", "201", "completed")
    assert manager.is_idle()


def test_attended_transfer_to_a_ringing_target_is_a_blonde_transfer() -> None:
    story = Ami2().answered_call("a", "201", "b", "202", "br1")
    (story.channel("b2", "202", exten="203", linked="b2").state("b2", 4)
     .channel("c", "203", linked="b2").dial("b2", "c").state("c", 5).dial_state("b2", "c"))
    story.add("AttendedTransfer", Result="Success", DestType="App", DestApp="Dial",
              OrigTransfererUniqueid=story.uid("b"), OrigBridgeUniqueid="br1",
              SecondTransfererUniqueid=story.uid("b2"), TransfereeUniqueid=story.uid("a"))
    (story.leave("br1", "b").hangup("b").state("c", 6).dial_end("b2", "c")
     .leave("br1", "a").enter("br3", "a").enter("br3", "c").hangup("b2")
     .leave("br3", "c").hangup("c").leave("br3", "a").destroy("br3").destroy("br1")
     .hangup("a"))
    hooks, manager = play(story)
    assert hooks.seen == [("b_dial", "201", ["202"]), ("up", "201", "202"),
                          ("b_dial", "202", ["203"]), ("blonde", "201", "202", ["203"]),
                          ("up", "201", "203"), ("hangup", "201", "completed")]
    assert manager.is_idle()


def blind(story: Ami2, result: str = "Success") -> Ami2:
    return story.add("BlindTransfer", Result=result, TransfererUniqueid=story.uid("b"),
                     TransfereeUniqueid=story.uid("a"), Extension="203", Context="internal",
                     BridgeUniqueid="br1", IsExternal="Yes")


def test_blind_transfer_is_reported_when_the_new_target_rings() -> None:
    story = blind(Ami2().answered_call("a", "201", "b", "202", "br1"))
    (story.leave("br1", "b").hangup("b").leave("br1", "a").destroy("br1")
     .channel("c", "203", linked="a").dial("a", "c").state("c", 5).dial_state("a", "c")
     .state("c", 6).dial_end("a", "c").bridge("br4", "c", "a")
     .leave("br4", "c").hangup("c").leave("br4", "a").destroy("br4").hangup("a"))
    hooks, manager = play(story)
    assert hooks.seen == [("b_dial", "201", ["202"]), ("up", "201", "202"),
                          ("blind", "201", "202", ["203"]), ("up", "201", "203"),
                          ("hangup", "201", "completed")]
    assert ("blind", story.uid("a"), story.uid("b")) in hooks.ids
    assert manager.is_idle()


def test_blind_transfer_that_failed_reports_nothing_and_the_call_goes_on() -> None:
    story = blind(Ami2().answered_call("a", "201", "b", "202", "br1"), result="Fail")
    story.leave("br1", "b").hangup("b").leave("br1", "a").destroy("br1").hangup("a")
    hooks, manager = play(story)
    assert hooks.seen == [("b_dial", "201", ["202"]), ("up", "201", "202"),
                          ("hangup", "201", "completed")]
    assert manager.is_idle()


def test_blind_transfer_whose_target_never_rings_ends_the_call_once() -> None:
    story = blind(Ami2().answered_call("a", "201", "b", "202", "br1"))
    story.leave("br1", "b").hangup("b").leave("br1", "a").destroy("br1").hangup("a", cause=1)
    hooks, _ = play(story)
    assert [h for h in hooks.seen if h[0] == "hangup"] == [("hangup", "201", "completed")]


def test_holding_bridge_is_not_a_conversation() -> None:
    story = Ami2().channel("a", "201", exten="700").state("a", 4).state("a", 6)
    story.channel("p", "700", linked="a")
    story.bridge("park", "a", "p", bridge_type="holding")
    hooks, _ = play(story)
    assert not [h for h in hooks.seen if h[0] == "up"]


def test_conference_of_three_parties_reports_no_second_answer() -> None:
    story = Ami2().answered_call("a", "201", "b", "202", "br1")
    story.channel("c", "203", linked="c").state("c", 4).state("c", 6).enter("br1", "c")
    hooks, _ = play(story)
    assert [h for h in hooks.seen if h[0] == "up"] == [("up", "201", "202")]


def test_asterisk_internal_channels_in_a_bridge_are_not_parties() -> None:
    """A ChanSpy snoop already in the bridge does not hide the answer of the call."""
    story = (Ami2().channel("a", "201", exten="202").state("a", 4)
             .channel("b", "202", linked="a").dial("a", "b").state("b", 5).dial_state("a", "b")
             .state("b", 6).dial_end("a", "b").state("a", 6))
    story.channel("x", "s", linked="a", tech="Snoop").bridge("br1", "x", "b", "a")
    story.leave("br1", "x").hangup("x").leave("br1", "b").hangup("b")
    story.leave("br1", "a").destroy("br1").hangup("a")
    hooks, manager = play(story)
    assert hooks.seen == [("b_dial", "201", ["202"]), ("up", "201", "202"),
                          ("hangup", "201", "completed")]
    assert manager.is_idle()


def test_a_call_forwarded_through_a_local_channel_keeps_the_dialled_number_throughout() -> None:
    """A forward's Local ;1 was dialed (DialBegin), unlike a DTMF consultation's.

    Regression: once its DialEnd had cleared ``back_dial``, the forward's
    Local half was taken for a DTMF attended-transfer consultation, and
    on_up/on_hangup named the Local leg (202) where on_b_dial said 701.
    """
    from cacofonisk.calls import hook_of
    from cacofonisk.testing.recorder import replay
    from cacofonisk.testing.scenarios import build

    recorder, _manager = replay(build("call_forward", "ami2", exten="701").events)
    hooks = [(hook_of(record), getattr(record, "to_number", None)) for record in recorder.records]
    assert [hook for hook, _ in hooks] == ["on_b_dial", "on_b_dial_end", "on_up", "on_hangup"]
    assert {number for _, number in hooks} == {"701"}
