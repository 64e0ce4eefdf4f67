"""Property-test your dialplan: every call through your routing is reported right.

Describe your routing once (``MY_PLAN``); hypothesis then invents calls
through it (answered, refused, cancelled, transferred, picked up, ring
groups, queues, forwards), runs several at once with their events
interleaved and sprinkled with noise, and checks what cacofonisk reports.

    pytest examples/test_my_dialplan.py
    HYPOTHESIS_PROFILE=deep pytest examples/test_my_dialplan.py   # many more calls

A failure says first which call was reported differently and how (its
story, the first call event that differs, field by field).
"""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cacofonisk import BaseReporter, ChannelManager
from cacofonisk.testing.compare import assert_calls_reported
from cacofonisk.testing.recorder import replay
from cacofonisk.testing.strategies import (Dialplan, Forward, Phone, Queue, RingGroup,
                                           dialplan_calls, interleavings, with_noise)

MY_PLAN = Dialplan(routes={
    "201": Phone("201", "Reception"),
    "202": Phone("202", "Bob"),
    "203": Phone("203", "Carol"),
    "204": Phone("204", "Dave", private=True),
    "205": Phone("205", "Erin"),
    "401": RingGroup(["202", "203"]),           # sales: both ring
    "501": Queue(["204", "205"], name="support"),
    "701": Forward("202"),                      # Bob's old number
})


@given(data=st.data(), dialect=st.sampled_from(["ami2", "ami1"]))
def test_every_call_through_my_dialplan_is_reported_as_expected(data, dialect):
    # AMI 1 (Asterisk 1.8-11) is simulated for phones and ring groups only
    calls = data.draw(dialplan_calls(MY_PLAN.for_dialect(dialect), dialect, max_calls=3))
    events = data.draw(with_noise(data.draw(interleavings(calls))))
    reported = replay(events)[0].expects()
    assert_calls_reported(calls, reported)


class CallLog(BaseReporter):
    """Your own reporter: one row per finished call, as a CDR writer would."""

    def __init__(self):
        self.rows = []

    def on_hangup(self, call_id, caller, to_number, reason):
        self.rows.append((call_id, caller.number, to_number, reason))


@given(data=st.data())
def test_my_call_log_writes_one_row_per_finished_call(data):
    calls = data.draw(dialplan_calls(MY_PLAN, "ami2", max_calls=3))
    log = CallLog()
    manager = ChannelManager(reporter=log)
    for event in data.draw(interleavings(calls)):
        manager.on_event(event)
    expected = [(e.call_id, e.caller, e.to_number, e.reason) for c in calls
                for e in c.expected if e.hook == "on_hangup"]
    assert sorted(log.rows) == sorted(expected)
    assert len({row[0] for row in log.rows}) == len(log.rows)
