"""CallCollector: a reporter that remembers what each call and channel did.

It is added beside the user's reporter (``MultiReporter``), so it sees
exactly what any reporter sees and needs nothing from the manager's
insides:

* ``trace_ami(raw)`` comes first for every AMI event: the event is numbered
  (its sequence number is the time axis when the log has no ``Timestamp``),
  parsed with ``events.parse`` (AMI header names stay in events.py) and
  turned into channel happenings: created, dial, ringing, up, bridge,
  transfer, hangup ...;
* ``on_call_event(record)`` comes while that event is applied: the record is
  filed under its call, and its trigger (``TRIGGER_OF``) extends the call's
  path through the call machine. A transfer also ``merge``s the call it
  names in ``merged_id``, as ``Tracker.merge`` does;
* ``on_event(raw)`` comes last: a call is closed when its anchor channel (the
  one whose Uniqueid is the call id) has hung up, or when no channel is left,
  because that is when the tracker frees it; a later record with the same id
  then belongs to a new call, as it does in the tracker.

Channels are grouped into conversations with a union-find: same Linkedid
(AMI 2+), dial source and destination, the two halves of a Local channel,
1.x bridge links and masquerades, transfer parties, and the two calls a
transfer joins. A call's timeline shows the channels of its group.
"""
from __future__ import annotations

from typing import Any

from .. import events as ami
from ..calls import (BDial, BDialEnd, CallEvent, ColdTransfer, Hangup, QueueCallerAbandon,
                     Up, WarmTransfer)
from ..errors import CacofoniskError
from ..reporters.base import BaseReporter
from ..reporters.debug import describe
from ..state_calls import STATE_RECORDS
from .channels import HANDLERS
from .model import CallHistory, Happening, LogView

#: the call-machine trigger each call event is the after-callback of (each
#: record class names it in ``TRIGGER``); ``merge`` has no record of its own
TRIGGER_OF: dict[type[CallEvent], str] = {
    cls: cls.TRIGGER for cls in (BDial, BDialEnd, Up, WarmTransfer, ColdTransfer, Hangup,
                                 QueueCallerAbandon)
}
TRIGGER_OF.update((cls, cls.TRIGGER) for cls in STATE_RECORDS)


class CallCollector(BaseReporter):
    """Collects per-call paths and per-channel happenings during a replay.

    Call ``start_log(name)`` before each event log (each ChannelManager):
    sequence numbers and channel groups are per log.
    """

    def __init__(self) -> None:
        self.logs: list[LogView] = []

    @property
    def calls(self) -> list[CallHistory]:
        """Every call of every log, in order of their first event."""
        return [call for log in self.logs for call in log.calls]

    def start_log(self, name: str) -> None:
        """The next events come from a new log (and a new manager)."""
        self.logs.append(LogView(name))

    def _log(self) -> LogView:
        if not self.logs:
            self.start_log("events")
        return self.logs[-1]

    # -- reporter hooks ---------------------------------------------------

    def trace_ami(self, event: Any) -> None:
        """Number the event and note what it does to its channels."""
        log = self._log()
        log.seq += 1
        log.hung_up = None
        log.transferers = ()
        try:
            record = ami.parse(event)
        except CacofoniskError:
            return  # the manager reports malformed events; nothing to draw
        log.time = record.timestamp
        handler = HANDLERS.get(type(record))
        if handler is not None:
            handler(log, record)

    def on_call_event(self, record: CallEvent) -> None:
        """File a call event under its call and extend the call's path."""
        trigger = TRIGGER_OF.get(type(record))
        if trigger is None:
            return  # user events are not call-machine steps
        log = self._log()
        history = self._open(log, record.call_id)
        seq = log.seq
        history.records.append((seq, record))
        history.path.append(trigger)
        history.marks.append(Happening(seq, record.timestamp or log.time, trigger,
                                       _call_label(record), describe(record)))
        merged = getattr(record, "merged_id", "")
        if merged:
            # Tracker.merge for merged_id, then (2+ attended transfers) for
            # both transferers' calls: each ends silently in 'merged'
            also = getattr(record, "also_merged", ())
            for other_id in dict.fromkeys((merged, *also, *log.transferers)):
                log.union(record.call_id, other_id)
                other = log.open_calls.get(other_id)
                if other_id != record.call_id and other is not None and not other.is_final:
                    other.path.append("merge")
                    other.marks.append(log.at(
                        "merge", f"merged into {log.party(record.call_id)}",
                        f"merged into call {record.call_id}"))

    def on_event(self, event: Any) -> None:
        """After the event: close what the tracker has freed."""
        log = self._log()
        for kept in list(log.pending_close):
            history = log.open_calls.get(kept)
            if history is None or history.is_final:
                log.pending_close.discard(kept)
                if history is not None:
                    history.closed = True
                    del log.open_calls[kept]
        gone, log.hung_up = log.hung_up, None
        if gone is None:
            return
        history = log.open_calls.get(gone)
        if history is not None and not history.is_final and gone in log.transferred_away:
            log.pending_close.add(gone)  # as the tracker: kept until the transfer ends it
            history = None
        elif history is not None:
            del log.open_calls[gone]
            history.closed = True
        if not log.live:
            for history in log.open_calls.values():
                history.closed = True
            log.open_calls.clear()

    @staticmethod
    def _open(log: LogView, call_id: str) -> CallHistory:
        history = log.open_calls.get(call_id)
        if history is None or history.is_final:
            count = sum(1 for call in log.calls if call.call_id == call_id)
            history = CallHistory(call_id, log, instance=count + 1)
            log.open_calls[call_id] = history
            log.calls.append(history)
        return history


def _cid(cid: Any) -> str:
    return str(getattr(cid, "number", None) or getattr(cid, "name", None) or "?")


def _call_label(record: CallEvent) -> str:
    """A few words for a call event on the call lane."""
    if isinstance(record, BDial):
        return "b_dial → " + ", ".join(_cid(t) for t in record.targets)
    if isinstance(record, BDialEnd):
        return f"b_dial_end {record.reason} " + ", ".join(_cid(t) for t in record.targets)
    if isinstance(record, Up):
        return f"up: {_cid(record.caller)} ↔ {_cid(record.callee)}"
    if isinstance(record, WarmTransfer):
        return f"attended transfer by {_cid(record.redirector)} → {_cid(record.destination)}"
    if isinstance(record, ColdTransfer):
        targets = ", ".join(_cid(t) for t in record.targets) or (record.to_number or "?")
        return f"{record.kind or 'cold'} transfer by {_cid(record.redirector)} → {targets}"
    if isinstance(record, Hangup):
        return f"hangup {record.reason}"
    if isinstance(record, QueueCallerAbandon):
        return f"abandon {record.queue}".strip()
    return record.HOOK
