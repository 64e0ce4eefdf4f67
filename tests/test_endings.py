"""Hangup records say more than the hook's reason: cause, SIP code, who hung up, last dial status."""
from __future__ import annotations

from typing import Any

import pytest

from cacofonisk import BaseReporter, ChannelManager
from cacofonisk.calls import CallEvent, Hangup

from ami2_builder import Ami2
from conformance import SHARED, SKIP_REASON, replay


class Records(BaseReporter):
    def __init__(self) -> None:
        self.records: list[CallEvent] = []

    def on_call_event(self, record: CallEvent) -> None:
        self.records.append(record)

    def hangups(self) -> list[Hangup]:
        return [r for r in self.records if isinstance(r, Hangup)]


def play(story: Ami2) -> Records:
    reporter = Records()
    manager = ChannelManager(reporter=reporter, strict=True)
    for event in story.events:
        manager.on_event(event)
    return reporter


def test_callee_hanging_up_first_is_named_in_the_callers_hangup_record() -> None:
    story = Ami2().answered_call("a", "201", "b", "202", "br1")
    story.add("HangupRequest", Uniqueid=story.uid("b"), Channel=story.names["b"], Cause="16")
    story.leave("br1", "b").hangup("b").add("SoftHangupRequest", Uniqueid=story.uid("a"),
                                            Channel=story.names["a"], Cause="16")
    story.leave("br1", "a").hangup("a")
    (hangup,) = play(story).hangups()
    assert (hangup.reason, hangup.cause, hangup.hangup_by, hangup.dial_status) == \
        ("completed", 16, "callee", "ANSWER")


def test_caller_hanging_up_is_named_in_its_hangup_record() -> None:
    story = Ami2().answered_call("a", "201", "b", "202", "br1")
    story.add("HangupRequest", Uniqueid=story.uid("a"), Channel=story.names["a"], Cause="16")
    story.leave("br1", "a").hangup("a").leave("br1", "b").hangup("b")
    (hangup,) = play(story).hangups()
    assert hangup.hangup_by == "caller"


def test_hangup_asked_only_by_asterisk_is_named_asterisk() -> None:
    story = (Ami2().channel("a", "201", exten="202").state("a", 4)
             .channel("b", "202", linked="a").dial("a", "b").state("b", 5).dial_state("a", "b")
             .dial_end("a", "b", "NOANSWER").hangup("b", cause=16, state=5)
             .add("SoftHangupRequest", Uniqueid=Ami2().uid("a"), Cause="16"))
    story.hangup("a", cause=16, state=4)
    (hangup,) = play(story).hangups()
    assert (hangup.reason, hangup.hangup_by, hangup.dial_status) == \
        ("no-answer", "asterisk", "NOANSWER")


LAB = {
    # recording: (reason, cause, tech_cause, hangup_by, dial_status)
    "b_busy": ("busy", 17, 486, "callee", "BUSY"),
    "a_cancel": ("cancelled", 127, 487, "caller", "CANCEL"),
    "no_answer": ("no-answer", 16, None, "asterisk", "NOANSWER"),
    "simple_answered_a_hangup": ("completed", 16, None, "caller", "ANSWER"),
    "originate": ("completed", 16, None, "callee", "ANSWER"),
}


@pytest.mark.skipif(not (SHARED / "lab").is_dir(), reason=SKIP_REASON)
@pytest.mark.parametrize("name", sorted(LAB))
def test_lab_hangup_record_carries_cause_sip_code_who_and_dial_status(name: str) -> None:
    reporter: Any = replay(SHARED / "lab" / f"{name}.json", Records())
    (hangup,) = reporter.hangups()
    got = (hangup.reason, hangup.cause, hangup.tech_cause, hangup.hangup_by, hangup.dial_status)
    assert got == LAB[name]
    assert hangup.cause_txt
