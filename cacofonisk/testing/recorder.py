"""RecordingReporter: keeps every call event a ChannelManager reports.

Tests replay a stream and compare what was reported with a scenario's
expectations. The reporter takes whole records (``on_call_event``), so it
sees everything the 2017 hooks do and more (kind, merged_id, hangup
details), and ``expects()`` turns them into ``sim_base.Expect`` values so
a comparison is one ``==``.

Usage::

    recorder = RecordingReporter()
    manager = ChannelManager(reporter=recorder, strict=True)
    for event in scenario.events:
        manager.on_event(event)
    assert recorder.expects() == list(scenario.expected)
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..calls import CallEvent, hook_of
from ..callerid import CallerId
from ..manager import ChannelManager
from ..reporters.base import BaseReporter
from ..state_calls import STATE_RECORDS
from .sim_base import Expect


def _num(cid: CallerId | None) -> str:
    return (cid.number or "") if cid is not None else ""


def expect_of(record: CallEvent) -> Expect:
    """The key fields of a reported call event, as an ``Expect``."""
    hook = hook_of(record)
    caller = getattr(record, "caller", None)
    fields: dict[str, Any] = {"caller": _num(caller),
                              "caller_public": caller.is_public is not False if caller else True,
                              "to_number": getattr(record, "to_number", None) or ""}
    if hook in ("on_b_dial", "on_b_dial_end"):
        fields["targets"] = [_num(t) for t in getattr(record, "targets")]
        fields["reason"] = getattr(record, "reason", "")
    elif hook == "on_up":
        fields["targets"] = [_num(getattr(record, "callee"))]
    elif hook == "on_warm_transfer":
        fields.pop("to_number")
        fields.update(targets=[_num(getattr(record, "destination"))], kind="attended",
                      redirector=_num(getattr(record, "redirector")),
                      merged_id=getattr(record, "merged_id"))
    elif hook in ("on_cold_transfer", "on_blind_transfer", "on_blonde_transfer"):
        fields.update(targets=[_num(t) for t in getattr(record, "targets")],
                      kind=getattr(record, "kind"),
                      redirector=_num(getattr(record, "redirector")),
                      merged_id=getattr(record, "merged_id"))
    elif hook == "on_hangup":
        fields["reason"] = getattr(record, "reason")
    elif hook == "on_user_event":
        fields = {"name": getattr(record, "name", "")}
    return Expect(hook, record.call_id, **fields)


class RecordingReporter(BaseReporter):
    """Collects call-event records (and, optionally, trace messages).

    Attributes:
        records: every call event, in the order reported.
        traces: the trace messages (diagnostics), in order.
    """

    def __init__(self) -> None:
        self.records: list[CallEvent] = []
        self.traces: list[str] = []

    def trace_msg(self, msg: str) -> None:
        self.traces.append(msg)

    def on_call_event(self, record: CallEvent) -> None:
        self.records.append(record)

    def expects(self) -> list[Expect]:
        """The 2017 hooks' records as ``Expect`` values, in order.

        The state records (hold, park, queue, conference: ``state_records``)
        are left out: the simulator's expectations and the golden scenario
        files describe the 2017 hooks.
        """
        return [expect_of(record) for record in self.records
                if not isinstance(record, STATE_RECORDS)]

    def state_records(self) -> list[CallEvent]:
        """The state records (on_hold ... on_conference_leave), in order."""
        return [record for record in self.records if isinstance(record, STATE_RECORDS)]

    def hooks(self) -> list[str]:
        """The hook name of each record, in order."""
        return [hook_of(record) for record in self.records]

    def clear(self) -> None:
        """Forget what was recorded."""
        self.records.clear()
        self.traces.clear()


def replay(events: Iterable[Mapping[str, Any]], *, strict: bool = True,
           dialect: str | None = None) -> tuple[RecordingReporter, ChannelManager]:
    """Feed events to a fresh ChannelManager; return its recorder and the manager."""
    recorder = RecordingReporter()
    manager = ChannelManager(reporter=recorder, strict=strict, dialect=dialect)
    for event in events:
        manager.on_event(event)
    return recorder, manager
