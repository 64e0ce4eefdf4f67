"""The call events seen per call, for the board's "path through the call machine".

Why it exists: a snapshot tells what a call is doing now, but the board
also shows how it got there, and keeps showing it for a while after the
call ended (the operator clicked it just before the hangup). The web
reporter files every call-event record here under (server, call id); the
path is the call-machine trigger of each record (``CallEvent.TRIGGER``),
the same steps ``cacofonisk replay --diagram`` draws.

Memory is bounded: at most ``max_records`` records per call and
``max_calls`` calls; past that the call that was least recently updated
is forgotten first (ended calls go before calls still in flight).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import attrs

from ..calls import CallEvent, Hangup

#: Default number of calls remembered (in flight and recently ended).
DEFAULT_MAX_CALLS = 2000
#: Default number of records kept per call.
DEFAULT_MAX_RECORDS = 64

Key = tuple[str, str]


@attrs.define(eq=False)
class CallTrace:
    """What the web reporter saw of one call.

    Attributes:
        server: the server name on its records.
        call_id: its call id.
        records: its call events, oldest first (at most ``max_records``).
        truncated: older records were left out.
        ended: an ``on_hangup`` was seen.
    """

    server: str
    call_id: str
    records: list[CallEvent] = attrs.Factory(list)
    truncated: bool = False
    ended: bool = False

    @property
    def path(self) -> list[str]:
        """The call-machine triggers of its records, in order."""
        return [record.TRIGGER for record in self.records if record.TRIGGER]

    def as_dict(self) -> dict[str, Any]:
        """The ``GET /calls/{server}/{call_id}/path`` shape."""
        return {"server": self.server, "call_id": self.call_id, "path": self.path,
                "ended": self.ended, "truncated": self.truncated,
                "events": [record.as_dict() for record in self.records]}


class CallHistories:
    """Bounded store of ``CallTrace`` by (server, call id)."""

    def __init__(self, max_calls: int = DEFAULT_MAX_CALLS,
                 max_records: int = DEFAULT_MAX_RECORDS) -> None:
        self.max_calls = max_calls
        self.max_records = max_records
        self._traces: OrderedDict[Key, CallTrace] = OrderedDict()

    def __len__(self) -> int:
        return len(self._traces)

    def add(self, record: CallEvent) -> None:
        """File one call event (user events without a call id are skipped)."""
        if not record.call_id:
            return
        key = (record.server, record.call_id)
        trace = self._traces.get(key)
        if trace is None or (trace.ended and not isinstance(record, Hangup)):
            trace = CallTrace(record.server, record.call_id)  # an id used again: a new call
            self._traces[key] = trace
        self._traces.move_to_end(key)
        trace.records.append(record)
        if len(trace.records) > self.max_records:
            del trace.records[0]
            trace.truncated = True
        if isinstance(record, Hangup):
            trace.ended = True
        self._evict()

    def get(self, server: str, call_id: str) -> CallTrace | None:
        """The trace of a call, or None when it was never seen or forgotten."""
        return self._traces.get((server, call_id))

    def _evict(self) -> None:
        while len(self._traces) > self.max_calls:
            ended = next((k for k, t in self._traces.items() if t.ended), None)
            self._traces.pop(ended if ended is not None else next(iter(self._traces)))
